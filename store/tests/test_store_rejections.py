"""Everything the store API refuses: each answers a JSON 4xx naming the problem and stores
nothing. Also the token, the healthcheck and the service used inside a caller's transaction."""

import json

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from feedback.models import ProductDetailEnter, Session
from modelstore.models import ConfigVersion, TrainerQueueItem
from products.models import Product, ProductVariant
from store.services import StoreValidationError, store_objects
from store.tests.test_store_api import ENTER, PRODUCT, VARIANT


def post(path: str, body, **extra):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return APIClient().post(path, raw, content_type="application/json", **extra)


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_unknown_model_class_is_rejected():
    response = post("/store_object", {**ENTER, "_model_class": "Basket"})

    assert response.status_code == 400
    assert response.json() == {
        "_model_class": [
            "Unknown class 'Basket'; expected one of Attribute, AttributeType, Category, Config, Order, Product, "
            "ProductAddToCart, ProductDetailEnter, ProductDetailLeave, ProductPrice, ProductTranslation, ProductType, "
            "ProductVariant, RecommendationView, Review, TrainerQueueItem."
        ]
    }
    assert ProductDetailEnter.objects.count() == 0


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_missing_model_class_is_rejected():
    response = post("/store_object", {k: v for k, v in ENTER.items() if k != "_model_class"})

    assert response.status_code == 400
    assert response.json() == {"_model_class": ["This field is required."]}
    assert ProductDetailEnter.objects.count() == 0


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_missing_field_is_rejected():
    response = post("/store_object", {k: v for k, v in ENTER.items() if k != "product_variant_sku"})

    assert response.status_code == 400
    assert response.json() == {"product_variant_sku": ["This field is required."]}
    assert (ProductDetailEnter.objects.count(), Session.objects.count()) == (0, 0)


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_wrong_type_is_rejected():
    response = post("/store_object", {**PRODUCT, "id": "seven", "product_variants": "sku-1"})

    assert response.status_code == 400
    assert response.json() == {
        "id": ["A valid integer is required."],
        "product_variants": ['Expected a list of items but got type "str".'],
    }
    assert Product.objects.count() == 0


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_wrong_user_id_type_is_rejected():
    response = post("/store_objects", [{**ENTER, "user_id": {"email": "a@b.c"}}])

    assert response.status_code == 400
    assert response.json() == {"0": {"user_id": ["Must be an integer, a string or null."]}}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_bad_element_rejects_the_whole_batch_naming_every_bad_index():
    batch = [VARIANT, ENTER, {**ENTER, "product_id": "x"}, PRODUCT, "not an object", {**ENTER, "session_id": "s" * 101}]

    response = post("/store_objects", batch)

    assert response.status_code == 400
    assert response.json() == {
        "2": {"product_id": ["A valid integer is required."]},
        "4": {"non_field_errors": ["Expected an object."]},
        "5": {"session_id": ["Ensure this field has no more than 100 characters."]},
    }
    assert (
        ProductVariant.objects.count(),
        Product.objects.count(),
        ProductDetailEnter.objects.count(),
        Session.objects.count(),
    ) == (0, 0, 0, 0)


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_store_objects_requires_an_array_and_store_object_an_object():
    assert post("/store_objects", ENTER).json() == {"non_field_errors": ["Expected a JSON array of objects."]}
    assert post("/store_object", [ENTER]).json() == {"non_field_errors": ["Expected a JSON object."]}
    assert ProductDetailEnter.objects.count() == 0


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_malformed_json_is_rejected():
    response = post("/store_objects", '[{"_model_class": "ProductDetailEnter",')

    assert response.status_code == 400
    assert response.json()["detail"].startswith("Malformed JSON: ")
    assert ProductDetailEnter.objects.count() == 0


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_nan_is_malformed_json():
    response = post(
        "/store_objects",
        '[{"_model_class": "ProductDetailLeave", "session_id": "s", "product_variant_sku": "a", "time_spent": NaN}]',
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "Malformed JSON: NaN is not valid JSON"}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_an_oversized_body_is_rejected(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = post("/store_objects", [ENTER] * 20)

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 1000 bytes."}
    assert ProductDetailEnter.objects.count() == 0


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_unknown_model_name_of_a_trainer_queue_item_is_rejected():
    response = post("/store_object", {"_model_class": "TrainerQueueItem", "model_name": "word2vec"})

    assert response.status_code == 400
    assert response.json() == {
        "model_name": [
            "Unknown model 'word2vec'; expected one of dummy, ease, gru4rec, popularity, selection, similarity, sknn."
        ]
    }
    assert TrainerQueueItem.objects.count() == 0


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_an_invalid_config_is_rejected_with_its_field_errors():
    response = post(
        "/store_object",
        {"_model_class": "Config", "retrievalSize": "many", "homepageRetrievalCascade": ["ease", "bogus"]},
    )

    assert response.status_code == 400
    assert response.json() == {"retrievalSize": ["Must be an integer."]}
    assert ConfigVersion.objects.count() == 0


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_category_that_is_its_own_parent_is_rejected():
    response = post("/store_object", {"_model_class": "Category", "id": 4, "parent_id": 4, "deleted": False})

    assert response.status_code == 400
    assert response.json() == {"parent_id": ["A category cannot be its own parent."]}


# --- token --------------------------------------------------------------------------------


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_missing_token_is_rejected_when_one_is_set(settings):
    settings.RS_API_TOKEN = "s3cret"

    response = post("/store_objects", [ENTER])

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert ProductDetailEnter.objects.count() == 0


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_wrong_token_is_rejected(settings):
    settings.RS_API_TOKEN = "s3cret"

    response = post("/store_object", ENTER, HTTP_AUTHORIZATION="Bearer guess")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "Invalid token."}
    assert ProductDetailEnter.objects.count() == 0


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_the_right_token_is_accepted_and_health_stays_open(settings):
    settings.RS_API_TOKEN = "s3cret"

    response = post("/store_object", ENTER, HTTP_AUTHORIZATION="Bearer s3cret")

    assert response.status_code == 200
    assert ProductDetailEnter.objects.count() == 1
    assert APIClient().get("/").status_code == 200


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_without_a_token_setting_the_api_is_open(settings):
    settings.RS_API_TOKEN = ""

    response = post("/store_object", ENTER)

    assert response.status_code == 200


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_health_names_a_database_that_does_not_answer(monkeypatch):
    from django.db import connections

    def broken_cursor(*args, **kwargs):
        raise RuntimeError("down")

    assert APIClient().get("/").json() == {"status": "ok"}
    monkeypatch.setattr(connections["feedback"], "cursor", broken_cursor)

    response = APIClient().get("/")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "databases": ["feedback"]}


# --- the service ----------------------------------------------------------------------------


@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
def test_store_objects_inside_an_outer_transaction_rolls_back_only_its_batch():
    with transaction.atomic(using="products"), transaction.atomic(using="feedback"):
        store_objects(payloads=[VARIANT, ENTER])
        with pytest.raises(StoreValidationError) as raised:
            store_objects(
                payloads=[
                    ENTER,
                    {"_model_class": "Category", "id": 1, "parent_id": 2},
                    {"_model_class": "Category", "id": 2, "parent_id": 1},
                ]
            )
        store_objects(payloads=[{**ENTER, "product_variant_sku": "sku-2"}])

    assert raised.value.errors == {2: {"parent_id": ["Category 2 would become its own ancestor."]}}
    assert ProductVariant.objects.count() == 1
    assert list(ProductDetailEnter.objects.order_by("id").values_list("product_variant_sku", flat=True)) == [
        "sku-1",
        "sku-2",
    ]
    assert Session.objects.get().visited_product_variants == ["sku-1", "sku-2"]
