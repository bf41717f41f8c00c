"""What the real ecoseller backend sends and expects, through the HTTP API, with its payloads as
they reach the service: stock order after training, dashboard config saves, full lists for
returning shoppers, calls and events without a session, JSON errors on unknown paths, extension
attribute types; and the typo checks and defaults a new integrator meets first."""

import json

import pytest
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from feedback.models import PredictionResult, ProductDetailEnter, Session
from products.models import AttributeType, ExtensionAttributeType
from recommendations.selectors import config_current
from recommendations.services import config_version_create
from recommendations.tests.factories import make_catalogue, make_orders, make_reviews, make_sessions, train_tiny_gru4rec
from recommendations.training.services import model_train

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

TYPES = ["HOMEPAGE", "CATEGORY_LIST", "PRODUCT_DETAIL", "CART"]


def post(path: str, body):
    return APIClient().post(path, json.dumps(body), content_type="application/json")


def predict(body) -> list[dict]:
    response = post("/predict", body)
    assert response.status_code == 200, response.content
    return response.json()


def skus(items) -> list[str]:
    return [item["product_variant_sku"] for item in items]


def _shop(products: int = 12, variants_per_product: int = 1, **overrides):
    """Products 0..n-1 with `variants_per_product` variants `p<id>-<k>`, all in category 1."""
    variants = {
        f"p{p}-{k}": {
            "product": p,
            "price": 10 + 7 * p + k,
            "attributes": {1: float(p % 4), 2: "red" if p % 3 else "blue"},
        }
        for p in range(products)
        for k in range(variants_per_product)
    }
    for sku, spec in overrides.items():
        variants[sku].update(spec)
    make_catalogue(variants, products={p: {"category": 1} for p in range(products)}, categories={1: None})


def _body(recommendation_type: str, **extra) -> dict:
    body = {"recommendation_type": recommendation_type, "session_id": "s1", "user_id": None, "limit": 10}
    body |= {
        "CATEGORY_LIST": {"category_id": 1},
        "PRODUCT_DETAIL": {"variants": "p0-0"},
        "CART": {"variants_in_cart": "p5-0"},
    }.get(recommendation_type, {})
    return body | extra


# --- out-of-stock items after training (issue 18.1) ------------------------------------------


@pytest.mark.parametrize("recommendation_type", TYPES)
def test_out_of_stock_variants_stay_last_with_similarity_trained_and_diversity_on(recommendation_type):
    # The best sellers are out of stock and close to everything: diversity would pull them up.
    _shop(**{"p4-0": {"stock": 0}, "p7-0": {"stock": 0}})
    make_orders([("x", "p4-0", 50), ("x", "p7-0", 40), ("x", "p6-0", 1)])
    config_version_create(payload={"diversityWeight": 0.9})
    assert model_train(model_name="similarity").outcome == "COMPLETED"

    answer = skus(predict(_body(recommendation_type, limit=None)))

    out = [sku for sku in answer if sku in {"p4-0", "p7-0"}]
    assert out and answer[-len(out) :] == out


# --- dashboard config saves keep what the dashboard does not know (issue 18.2) ----------------


def test_the_dashboards_config_save_keeps_every_key_it_does_not_send():
    config_version_create(
        payload={
            "diversityWeight": 0.5,
            "similarityConfig": {"neighbours": 50},
            "popularityConfig": {"halfLifeDays": 30},
            "trainerConfig": {"maxAttempts": 5, "claimTimeoutSeconds": 900},
            "easeConfig": {"viewWeight": 0.5},
        }
    )
    before = config_current()
    shown = APIClient().get("/dashboard/configuration").json()
    page = shown["config"]
    # The ecoseller dashboard PUTs its page state: the keys it knows, with one value changed.
    body = {
        "_model_class": "Config",
        "models": shown["models"],
        "info": shown["info"],
        "retrievalSize": 800,
        "orderingSize": page["orderingSize"],
        **{key: page[key] for key in page if key.endswith("Cascade")},
        "easeConfig": {
            "l2Options": page["easeConfig"]["l2Options"],
            "reviewsMultiplier": page["easeConfig"]["reviewsMultiplier"],
        },
        "gru4recConfig": {
            key: page["gru4recConfig"][key]
            for key in (
                "numEpochsOptions",
                "batchSizeOptions",
                "embeddingSizeOptions",
                "hiddenSizeOptions",
                "learningRateOptions",
                "incrementalTrainings",
                "eventsMultiplier",
            )
        },
        "modelsDisabled": {"0": False, "1": False, "2": False, "3": False, "4": False, "5": False},
    }

    assert post("/store_object", body).status_code == 200

    after = config_current()
    assert after.retrieval_size == 800
    assert after == before.__class__(**{**before.__dict__, "retrieval_size": 800})
    assert (after.diversity_weight, after.similarity_config.neighbours, after.popularity_config.half_life_days) == (
        0.5,
        50,
        30,
    )
    assert (after.trainer_config.max_attempts, after.trainer_config.claim_timeout_seconds) == (5, 900)
    assert after.ease_config.view_weight == 0.5


# --- returning shoppers get full lists (issue 18.3) --------------------------------------------


def test_a_returning_shopper_gets_a_full_list_filled_from_the_next_models_of_the_cascade():
    _shop(products=20)
    # EASE learns from reviews of products 0..5 only, so it knows 6 variants.
    make_reviews([(f"u{n}", f"p{(n + k) % 6}-0", 5) for n in range(30) for k in range(3)])
    config_version_create(payload={"easeConfig": {"l2Options": [1.0], "reviewsMultiplier": 0.1}})
    assert model_train(model_name="ease").outcome == "COMPLETED"
    # The shopper reviewed one and bought one of what EASE knows.
    from feedback.models import Review
    from products.models import Order, OrderProductVariant

    Review.objects.create(id=10_000, user_id="shopper", session_id="old", product_variant_sku="p0-0", rating=5)
    order = Order.objects.create(session_id="old", user_id="shopper")
    OrderProductVariant.objects.create(order=order, product_variant_sku="p1-0", quantity=1)

    items = predict(_body("HOMEPAGE", user_id="shopper", session_id="new"))

    assert len(items) == 10
    answer = skus(items)
    assert not {"p0-0", "p1-0"} & set(answer)
    served_by = [item["rs_info"]["served_by"] for item in items]
    assert served_by[:4] == ["ease"] * 4  # p2..p5, the rest of what EASE knows
    assert set(served_by[4:]) == {"popularity"}  # the shopper's own order made popularity ready
    assert {item["rs_info"]["model_name"] for item in items} == {"ease"}


# --- calls and events without a session (issues 18.4, 18.5) ------------------------------------


def test_a_category_page_without_a_session_is_answered_for_an_anonymous_shopper():
    _shop()
    body = {"recommendation_type": "CATEGORY_LIST", "category_id": 1, "session_id": None, "user_id": None}

    positions = post("/predict/product_positions", body)
    listed = post("/predict", body)

    assert positions.status_code == 200 and len(positions.json()) == 12
    assert listed.status_code == 200 and len(listed.json()) == 12
    assert list(PredictionResult.objects.values_list("session_id", flat=True)) == [None, None]


def test_a_homepage_without_a_session_is_answered():
    _shop()

    items = predict({"recommendation_type": "HOMEPAGE", "limit": 10, "country": "cz", "pricelist": "CZK_retail"})

    assert len(items) == 10
    assert PredictionResult.objects.get().session_id is None


@pytest.mark.parametrize("placeholder", ["", "undefined"])
def test_placeholder_session_ids_are_anonymous_and_never_pool_newcomers(placeholder):
    _shop()
    train_tiny_gru4rec({f"t{n}": [f"p{(n + k) % 12}-0" for k in range(6)] for n in range(60)})
    # A first newcomer's views arrive with the placeholder...
    enter = {
        "_model_class": "ProductDetailEnter",
        "session_id": placeholder,
        "product_id": 3,
        "product_variant_sku": "p3-0",
    }
    assert post("/store_objects", [enter, enter]).status_code == 200

    # ...and a second newcomer's homepage must not be about them.
    items = predict(_body("HOMEPAGE", session_id=placeholder))

    assert {item["rs_info"]["model_name"] for item in items} == {"selection"}
    assert Session.objects.count() == 60
    assert list(
        ProductDetailEnter.objects.filter(session_id__isnull=True).values_list("product_variant_sku", flat=True)
    ) == ["p3-0", "p3-0"]


def test_anonymous_category_lists_are_not_cached():
    _shop()
    body = {"recommendation_type": "CATEGORY_LIST", "category_id": 1, "session_id": "undefined", "user_id": None}
    first = predict(body)

    from products.models import Product
    from products.revision import catalogue_revision_bump

    Product.objects.filter(id=int(skus(first)[0][1:].split("-")[0])).update(published=False)
    catalogue_revision_bump()
    second = predict(body)

    assert skus(first)[0] not in skus(second)
    assert all(item["rs_info"] for item in second)


def test_an_event_without_a_session_is_stored_as_anonymous():
    _shop()
    event = {"product_id": 1, "product_variant_sku": "p1-0", "user_id": None, "_model_class": "ProductDetailEnter"}

    response = post("/store_objects", [event])

    assert response.status_code == 200
    assert response.json() == {"stored": {"ProductDetailEnter": 1}}
    stored = ProductDetailEnter.objects.get()
    assert (stored.session_id, stored.product_variant_sku, stored.product_id) == (None, "p1-0", 1)
    assert Session.objects.count() == 0


def test_anonymous_events_form_no_training_session():
    from recommendations.training.data import session_data

    _shop()
    post("/store_objects", [{"_model_class": "ProductDetailEnter", "product_variant_sku": f"p{k}-0"} for k in range(3)])
    make_sessions({"real": ["p0-0", "p1-0"]})

    assert session_data().session_ids == ["real"]


# --- JSON errors everywhere under the API (issue 18.6) -------------------------------------------


@pytest.mark.parametrize("path", ["/dashboard/bogus", "/predict/bogus", "/no/such/path"])
def test_an_unknown_api_path_answers_a_json_404(path):
    response = APIClient().get(path, {"date_from": "2023-07-01T00:00:00.000Z", "date_to": "2023-07-08T00:00:00.000Z"})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": f"Not found: {path}"}


def test_a_wrong_method_answers_a_json_405():
    response = APIClient().get("/predict")

    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.'}


def test_pages_for_people_keep_their_html_404(admin_client):
    response = admin_client.get("/monitoring/bogus/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- extension attribute types (issue 18.7) ---------------------------------------------------


def test_an_extension_attribute_type_does_not_overwrite_the_base_type_of_the_same_id():
    base = {"_model_class": "AttributeType", "id": 1, "type": "CATEGORICAL", "type_name": "genre", "unit": None}
    extension = {
        "_model_class": "AttributeType",
        "id": 1,
        "type": "CATEGORICAL",
        "type_name": "lang",
        "unit": None,
        "deleted": False,
    }

    assert post("/store_object", base).status_code == 200
    assert post("/store_object", extension).status_code == 200

    assert list(AttributeType.objects.values_list("id", "type_name", "deleted")) == [(1, "genre", False)]
    assert list(ExtensionAttributeType.objects.values_list("id", "type_name", "deleted")) == [(1, "lang", False)]


def test_a_client_says_explicitly_which_kind_of_attribute_type_it_sends():
    post("/store_object", {"_model_class": "AttributeType", "id": 1, "type_name": "genre"})

    post(
        "/store_object",
        {"_model_class": "AttributeType", "id": 1, "type_name": "genre", "deleted": True, "extension": False},
    )

    assert list(AttributeType.objects.values_list("id", "deleted")) == [(1, True)]
    assert ExtensionAttributeType.objects.count() == 0


# --- typos and the backend's own keys (issue 12.3) -------------------------------------------


@pytest.mark.parametrize(
    "body, errors",
    [
        (
            {"recommendation_type": "PRODUCT_DETAIL", "session_id": "s", "variant": "p1-0"},
            {"variant": "Unknown field; a prediction request takes "},
        ),
        (
            {"recommendation_type": "CART", "session_id": "s", "variants": "p1-0"},
            {"variants": "Not used by CART requests; only PRODUCT_DETAIL requests take it."},
        ),
        (
            {"recommendation_type": "HOMEPAGE", "session_id": "s", "variants_in_cart": ["p1-0"]},
            {"variants_in_cart": "Not used by HOMEPAGE requests; only CART requests take it."},
        ),
        (
            {"recommendation_type": "HOMEPAG", "session_id": "s"},
            {
                "recommendation_type": '"HOMEPAG" is not a recommendation type; expected one of HOMEPAGE, CATEGORY_LIST, PRODUCT_DETAIL, CART.'
            },
        ),
    ],
)
def test_typos_answer_400_naming_the_key(body, errors):
    _shop()

    response = post("/predict", body)

    assert response.status_code == 400
    assert set(response.json()) == set(errors)
    for key, message in errors.items():
        assert response.json()[key][0].startswith(message)
    assert PredictionResult.objects.count() == 0


def test_the_backends_own_request_forms_are_accepted():
    """The three storefront situations as the backend builds them from URLSearchParams (contract
    2.4), and the category ordering call (2.5)."""
    _shop(variants_per_product=2)
    common = {"limit": 10, "country": "cz", "pricelist": "CZK_retail", "session_id": "f0e1", "user_id": None}
    bodies = [
        {**common, "recommendation_type": "HOMEPAGE"},
        {**common, "recommendation_type": "PRODUCT_DETAIL", "product_id": 3, "variants": "p3-0,p3-1"},
        {**common, "recommendation_type": "CART", "variants_in_cart": ""},
        {**common, "recommendation_type": "CART", "variants_in_cart": "p1-0,p2-1"},
    ]
    for body in bodies:
        assert len(predict(body)) == 10
    positions = post(
        "/predict/product_positions",
        {"recommendation_type": "CATEGORY_LIST", "category_id": 1, "session_id": "f0e1", "user_id": None},
    )
    assert positions.status_code == 200


# --- defaults (issue 12.4) -------------------------------------------------------------------


@pytest.mark.parametrize("recommendation_type", TYPES)
def test_by_default_no_two_items_of_an_answer_belong_to_one_product(recommendation_type):
    _shop(products=8, variants_per_product=3)
    make_orders([("x", f"p{p}-{k}", 1 + p + k) for p in range(8) for k in range(3)])

    answer = skus(predict(_body(recommendation_type, limit=None)))

    products = [sku.split("-")[0] for sku in answer]
    assert len(products) == len(set(products))
    assert len(answer) == {"PRODUCT_DETAIL": 7, "CART": 7}.get(recommendation_type, 8)


def test_one_variant_per_product_prefers_a_variant_in_stock():
    _shop(products=3, variants_per_product=2, **{"p1-0": {"stock": 0}})
    make_orders([("x", "p1-0", 9), ("x", "p2-0", 2), ("x", "p1-1", 1)])

    answer = skus(predict(_body("HOMEPAGE", limit=None)))

    # p1-0 sells best but is out of stock: its in-stock sibling stands for product 1.
    assert answer[:2] == ["p2-0", "p1-1"] and "p1-0" not in answer


def test_one_variant_per_product_keeps_the_best_variant():
    _shop(products=4, variants_per_product=3)
    make_orders([("x", "p2-1", 9), ("x", "p2-0", 5), ("x", "p1-2", 3)])

    answer = skus(predict(_body("HOMEPAGE", limit=2)))

    assert answer == ["p2-1", "p1-2"]


def test_several_variants_of_a_product_when_the_switch_is_off():
    _shop(products=4, variants_per_product=3)
    make_orders([("x", "p2-1", 9), ("x", "p2-0", 5), ("x", "p1-2", 3)])
    config_version_create(payload={"oneVariantPerProduct": False})

    assert skus(predict(_body("HOMEPAGE", limit=3))) == ["p2-1", "p2-0", "p1-2"]


def test_product_positions_are_numbered_from_0_without_gaps():
    _shop(products=6, variants_per_product=3)
    make_orders([("x", "p4-2", 9), ("x", "p1-0", 5)])
    config_version_create(payload={"oneVariantPerProduct": False})

    positions = post("/predict/product_positions", {"category_id": 1, "session_id": "s"}).json()

    assert sorted(positions.values()) == list(range(6))
    assert positions["4"] == 0 and positions["1"] == 1
