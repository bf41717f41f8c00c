"""The prediction API's share of issue 16: inputs that used to answer 5xx (or 200 and then cost
the prediction log a batch) answer a JSON 4xx naming the field; an unknown category is a 404;
product positions only for products a shopper can see; the log writer isolates a bad row."""

import json

import pytest
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from feedback.models import PredictionResult
from products.models import Product, ProductVariant
from recommendations import prediction_log
from recommendations.tests.factories import make_catalogue, make_orders
from recommendations.tests.test_predict_api import _body, _shop

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def post(path: str, body):
    return APIClient().post(path, json.dumps(body), content_type="application/json")


def assert_rejected(path: str, body, status: int, expected: dict) -> None:
    response = post(path, body)

    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == expected
    assert PredictionResult.objects.count() == 0


@pytest.mark.parametrize("path", ["/predict", "/predict/product_positions"])
def test_a_lone_surrogate_recommendation_type_is_a_json_400(path):
    _shop()
    response = post(path, {**_body("CATEGORY_LIST"), "recommendation_type": "\ud800"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()) == ["recommendation_type"]
    assert response.json()["recommendation_type"][0].startswith('"\ud800" is not')
    assert PredictionResult.objects.count() == 0


@pytest.mark.parametrize(
    ("user_id", "message"),
    [
        ("a\u0000b", "Null characters are not allowed."),
        ("\udfff", "Lone surrogate characters are not allowed."),
        ("u" * 256, "Ensure this field has no more than 255 characters."),
    ],
)
def test_a_user_id_that_the_log_cannot_hold_is_rejected_at_the_door(user_id, message):
    _shop()
    assert_rejected("/predict", _body("HOMEPAGE", user_id=user_id), 400, {"user_id": [message]})


def test_a_user_id_of_255_characters_is_answered_and_logged():
    _shop()
    response = post("/predict", _body("HOMEPAGE", user_id="u" * 255))

    assert response.status_code == 200
    assert PredictionResult.objects.get().user_id == "u" * 255


@pytest.mark.parametrize("variants", [["v0", "a\u0000b"], "v0,\ud800"])
def test_a_sku_that_text_cannot_hold_is_rejected(variants):
    _shop()
    response = post("/predict", _body("PRODUCT_DETAIL", variants=variants))

    assert response.status_code == 400
    assert list(response.json()) == ["variants"]


@pytest.mark.parametrize("path", ["/predict", "/predict/product_positions"])
def test_a_category_list_of_a_category_that_does_not_exist_is_a_404_naming_it(path):
    _shop()
    assert_rejected(
        path,
        _body("CATEGORY_LIST", category_id=999),
        404,
        {"category_id": ["No category 999 is known to the service."]},
    )


@pytest.mark.parametrize("category_id", [2**31, -(2**31) - 1, 10**30])
def test_a_category_id_beyond_the_column_is_a_400(category_id):
    _shop()
    response = post("/predict", _body("CATEGORY_LIST", category_id=category_id))

    assert response.status_code == 400
    assert list(response.json()) == ["category_id"]


def test_a_category_known_only_from_its_products_is_served():
    make_catalogue({"a": {"product": 1}, "b": {"product": 2}}, products={1: {"category": 77}, 2: {"category": 77}})

    response = post("/predict/product_positions", {"recommendation_type": "CATEGORY_LIST", "category_id": 77})

    assert response.status_code == 200
    assert sorted(response.json()) == ["1", "2"]


def test_product_positions_leave_out_unpublished_deleted_and_variantless_products():
    variants = {f"v{i}": {"product": i} for i in range(5)}
    variants["v4b"] = {"product": 4}
    make_catalogue(variants, products={i: {"category": 1} for i in range(5)}, categories={1: None})
    make_orders([("x", f"v{i}", 10 - i) for i in range(5)])
    Product.objects.filter(id=1).update(published=False)  # unpublished
    Product.objects.filter(id=2).update(deleted=True)  # soft-deleted
    ProductVariant.objects.filter(sku="v3").update(deleted=True)  # every variant of product 3 deleted
    ProductVariant.objects.filter(sku="v4").update(deleted=True)  # product 4 keeps v4b

    response = post(
        "/predict/product_positions",
        {"recommendation_type": "CATEGORY_LIST", "category_id": 1, "session_id": "s1", "user_id": None},
    )

    assert response.status_code == 200
    assert response.json() == {"0": 0, "4": 1}


def test_the_log_writer_drops_the_row_the_database_refuses_and_writes_the_rest(caplog):
    fields = {
        "retrieval_model_name": "popularity",
        "retrieval_model_identifier": "popularity",
        "scoring_model_name": "popularity",
        "scoring_model_identifier": "popularity",
        "recommendation_type": "HOMEPAGE",
        "retrieval_duration": 0.0,
        "scoring_duration": 0.0,
        "ordering_duration": 0.0,
        "predicted_items": ["v1"],
    }
    rows = [PredictionResult(session_id=f"s{n}", **fields) for n in range(500)]
    rows[321].recommendation_type = None  # refused by SQLite and PostgreSQL alike (NOT NULL)

    dropped = prediction_log.prediction_results_write(rows)

    assert dropped == 1
    assert PredictionResult.objects.count() == 499
    assert not PredictionResult.objects.filter(session_id="s321").exists()
    assert "dropped a prediction result the database refuses" in caplog.text
