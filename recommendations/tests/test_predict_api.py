"""/predict and /predict/product_positions through the HTTP API: cascades, filters, ordering,
the client's request forms, errors, the category-list cache and what is stored per prediction."""

import numpy as np
import pytest
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from feedback.models import PredictionResult
from recommendations.algorithms.popularity import PopularityModel
from recommendations.algorithms.selection import SelectionModel
from recommendations.pipeline import diversity_order
from recommendations.services import config_version_create
from recommendations.tests.factories import make_catalogue, make_orders, make_sessions, train_tiny_gru4rec
from recommendations.training.services import model_train

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

TYPES = ["HOMEPAGE", "CATEGORY_LIST", "PRODUCT_DETAIL", "CART"]


def _shop(**overrides):
    """12 variants, two per product; products 0-2 in category 1 (product 1 and 2 in its child 2)."""
    variants = {
        f"v{i}": {
            "product": i // 2,
            "price": 10 + 7 * i,
            "attributes": {1: float(i % 4), 2: "red" if i % 3 else "blue"},
        }
        for i in range(12)
    }
    for sku, spec in overrides.items():
        variants[sku].update(spec)
    make_catalogue(
        variants,
        products={0: {"category": 1}, 1: {"category": 2}, 2: {"category": 2}, 5: {"category": 3}},
        categories={1: None, 2: 1, 3: None},
    )
    # These tests look at variants; showing one variant per product has tests of its own.
    config_version_create(payload={"oneVariantPerProduct": False})


def _body(recommendation_type, **extra):
    body = {"recommendation_type": recommendation_type, "session_id": "s1", "user_id": None, "limit": 10}
    if recommendation_type == "CATEGORY_LIST":
        body["category_id"] = 1
    if recommendation_type == "PRODUCT_DETAIL":
        body["variants"] = ["v0", "v1"]
    if recommendation_type == "CART":
        body["variants_in_cart"] = ["v4"]
    body.update(extra)
    return body


def _predict(body):
    response = APIClient().post("/predict", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _skus(items):
    return [item["product_variant_sku"] for item in items]


def _model(items):
    assert items
    return {item["rs_info"]["model_name"] for item in items}


# --- cascades ------------------------------------------------------------------------------


@pytest.mark.parametrize("recommendation_type", TYPES)
def test_untrained_models_are_skipped_and_popularity_serves_once_there_are_orders(recommendation_type):
    _shop()
    assert _model(_predict(_body(recommendation_type))) == {"selection"}  # popularity: nothing sold yet

    make_orders([("x", "v6", 3), ("x", "v7", 1)])

    items = _predict(_body(recommendation_type))
    assert _model(items) == {"popularity"}
    if recommendation_type in ("HOMEPAGE", "CART"):
        assert _skus(items)[:2] == ["v6", "v7"]


@pytest.mark.parametrize("recommendation_type", TYPES)
def test_disabled_model_is_skipped(recommendation_type):
    _shop()
    make_orders([("x", "v6", 3)])
    config_version_create(payload={"modelsDisabled": {"popularity": True}})

    assert _model(_predict(_body(recommendation_type))) == {"selection"}


@pytest.mark.parametrize("recommendation_type", TYPES)
def test_a_raising_model_is_logged_and_the_cascade_goes_on(recommendation_type, monkeypatch, caplog):
    _shop()
    make_orders([("x", "v6", 3)])

    def broken(self, context, candidates):
        raise RuntimeError("boom")

    # Both scoring passes: `score`, and the vectorised one a category list uses.
    monkeypatch.setattr(PopularityModel, "score", broken)
    monkeypatch.setattr(PopularityModel, "score_rows", broken)
    items = _predict(_body(recommendation_type))

    assert _model(items) == {"selection"}
    assert "model popularity failed" in caplog.text


@pytest.mark.parametrize("recommendation_type", TYPES)
def test_when_every_model_raises_dummy_still_answers(recommendation_type, monkeypatch):
    _shop()

    def broken(self, context, candidates):
        raise RuntimeError("boom")

    monkeypatch.setattr(SelectionModel, "score", broken)
    monkeypatch.setattr(SelectionModel, "score_rows", broken)
    monkeypatch.setattr(SelectionModel, "retrieve", broken)

    items = _predict(_body(recommendation_type))
    assert _model(items) == {"dummy"}
    assert items[0]["rs_info"]["model_identifier"] == "dummy"


@pytest.mark.parametrize("recommendation_type", TYPES)
def test_gru4rec_serves_only_sessions_with_history(recommendation_type):
    _shop()
    train_tiny_gru4rec({f"t{n}": [f"v{(n + k) % 12}" for k in range(6)] for n in range(60)})

    with_history = _predict(_body(recommendation_type, session_id="t3"))
    # A product page's viewed variant is part of the session's history: here one unknown to
    # the model, so that the session has no known history at all.
    unknown = {"variants": ["nope"]} if recommendation_type == "PRODUCT_DETAIL" else {}
    without_history = _predict(_body(recommendation_type, session_id="unknown-session", **unknown))

    assert _model(with_history) == {"gru4rec"}
    assert _model(without_history) == {"selection"}


def test_similarity_serves_product_detail_and_cart_and_not_when_the_variant_is_unknown():
    _shop()
    identifier = model_train(model_name="similarity").identifier

    detail = _predict(_body("PRODUCT_DETAIL"))
    cart = _predict(_body("CART"))
    unknown = _predict(_body("PRODUCT_DETAIL", variants=["nope"]))

    assert _model(detail) == {"similarity"} and detail[0]["rs_info"]["model_identifier"] == identifier
    assert _model(cart) == {"similarity"}
    assert _model(unknown) == {"selection"}


# --- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize("recommendation_type", TYPES)
def test_deleted_and_unpublished_products_are_never_recommended(recommendation_type):
    _shop()
    from products.models import Product, ProductVariant
    from products.revision import catalogue_revision_bump

    Product.objects.filter(id=1).update(published=False)  # v2, v3
    Product.objects.filter(id=2).update(deleted=True)  # v4, v5
    ProductVariant.objects.filter(sku="v0").update(deleted=True)
    catalogue_revision_bump()

    skus = _skus(_predict(_body(recommendation_type, limit=None)))

    assert skus and not {"v0", "v2", "v3", "v4", "v5"} & set(skus)


def test_product_detail_excludes_the_viewed_variant_and_its_siblings():
    _shop()
    model_train(model_name="similarity")

    skus = _skus(_predict(_body("PRODUCT_DETAIL", variants=["v2"], limit=None)))

    assert "v2" not in skus and "v3" not in skus
    assert len(skus) == 10


def test_cart_excludes_what_is_already_in_the_cart_and_the_other_variants_of_its_products():
    _shop()

    skus = _skus(_predict(_body("CART", variants_in_cart=["v1", "v8"], limit=None)))

    assert set(skus) == {f"v{i}" for i in range(12)} - {"v0", "v1", "v8", "v9"}


@pytest.mark.parametrize("recommendation_type", TYPES)
def test_out_of_stock_variants_come_after_in_stock_ones(recommendation_type):
    _shop(v0={"stock": 0}, v2={"stock": 0}, v3={"stock": -1})
    make_orders([("x", "v2", 50)])  # the best seller is out of stock

    viewed = {"variants": ["v10"]} if recommendation_type == "PRODUCT_DETAIL" else {}
    skus = _skus(_predict(_body(recommendation_type, limit=None, **viewed)))

    out = [s for s in skus if s in {"v0", "v2", "v3"}]
    assert out and skus[-len(out) :] == out


def test_limit_cuts_the_list():
    _shop()

    assert len(_predict(_body("HOMEPAGE", limit=3))) == 3


# --- ordering ------------------------------------------------------------------------------


def test_diversity_order_keeps_the_best_first_and_raises_the_mean_distance_of_the_head():
    # a and b are near-duplicates, c is far from both.
    distances = np.array([[0.0, 0.1, 1.0, 0.9], [0.1, 0.0, 1.0, 0.9], [1.0, 1.0, 0.0, 0.5], [0.9, 0.9, 0.5, 0.0]])
    ranked = ["a", "b", "c", "d"]

    ordered = diversity_order(ranked, distances, diversity_weight=0.7)

    assert ordered[0] == "a"
    assert ordered[:2] == ["a", "c"]
    assert diversity_order(ranked, distances, diversity_weight=0.0) == ranked


def test_ordering_through_the_api_raises_the_intra_list_distance_of_the_head():
    _shop()
    make_orders([(f"x{i}", f"v{i}", 12 - i) for i in range(12)])  # popularity: v0 > v1 > ... > v11
    model = model_train(model_name="similarity")
    config_version_create(payload={"diversityWeight": 0.0})
    plain = _skus(_predict(_body("HOMEPAGE", limit=4)))
    config_version_create(payload={"diversityWeight": 0.8})
    diverse = _skus(_predict(_body("HOMEPAGE", limit=4)))

    from recommendations.serving import loaded_model

    similarity = loaded_model("similarity", {"similarity": model.identifier})

    def mean_distance(skus):
        matrix = np.asarray(similarity.distances(skus))
        return matrix[np.triu_indices(len(skus), 1)].mean()

    assert plain[0] == diverse[0]
    assert mean_distance(diverse) > mean_distance(plain)


# --- the client's forms and errors -----------------------------------------------------------


def test_the_clients_string_forms_of_variants_give_the_same_answer_as_lists():
    _shop()
    model_train(model_name="similarity")

    as_list = _skus(_predict(_body("PRODUCT_DETAIL", variants=["v4", "v5"])))
    as_string = _skus(_predict(_body("PRODUCT_DETAIL", variants="v4,v5")))
    cart_list = _skus(_predict(_body("CART", variants_in_cart=["v4", "v9"])))
    cart_string = _skus(_predict(_body("CART", variants_in_cart="v4,v9")))
    empty_cart = _predict(_body("CART", variants_in_cart=""))

    assert as_list == as_string
    assert cart_list == cart_string
    assert empty_cart and _model(empty_cart) == {"selection"}


def test_a_bare_int_sku_and_any_user_id_form_are_accepted():
    make_catalogue({"12345": {"product": 1}, "777": {"product": 2}})

    for user_id in (7, "someone@example.com", None):
        items = _predict(_body("PRODUCT_DETAIL", variants=12345, user_id=user_id))
        assert _skus(items) == ["777"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"recommendation_type": "FRONTPAGE", "session_id": "s"}, "recommendation_type"),
        ({"session_id": "s"}, "recommendation_type"),
        ({"recommendation_type": "CATEGORY_LIST", "session_id": "s"}, "category_id"),
        ({"recommendation_type": "HOMEPAGE", "session_id": "s", "limit": 0}, "limit"),
        ({"recommendation_type": "HOMEPAGE", "session_id": "s", "limit": "ten"}, "limit"),
        ({"recommendation_type": "HOMEPAGE", "session_id": "s", "limit": 1001}, "limit"),
        ({"recommendation_type": "HOMEPAGE", "session_id": "s", "variants": {"a": 1}}, "variants"),
        ({"recommendation_type": "HOMEPAGE", "session_id": "s", "user_id": [1]}, "user_id"),
    ],
)
def test_bad_requests_answer_400_naming_the_field(body, field):
    response = APIClient().post("/predict", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not PredictionResult.objects.exists()


def test_product_positions_require_a_category():
    response = APIClient().post("/predict/product_positions", {"session_id": "s"}, format="json")

    assert response.status_code == 400
    assert "category_id" in response.json()


# --- product positions, cache, stored results ----------------------------------------------


def test_product_positions_cover_the_category_and_its_sub_categories_best_first():
    _shop()
    make_orders([("x", "v5", 9), ("x", "v3", 4)])

    response = APIClient().post(
        "/predict/product_positions",
        {"recommendation_type": "CATEGORY_LIST", "category_id": 1, "session_id": "s1", "user_id": None},
        format="json",
    )

    assert response.status_code == 200
    positions = response.json()
    assert list(positions) == ["2", "1", "0"]  # v5 (product 2) sells best, then v3 (product 1)
    assert positions == {"2": 0, "1": 1, "0": 2}  # unsold v0 follows v5, v3 in candidate order


def test_category_list_is_cached_per_session_and_dropped_after_a_new_model_identifier():
    _shop()
    body = _body("CATEGORY_LIST")

    first = _predict(body)
    second = _predict(body)
    assert first == second
    assert PredictionResult.objects.count() == 1  # the repeat was a cache hit

    _predict(_body("CATEGORY_LIST", category_id=2))  # another category replaces the cached one
    assert PredictionResult.objects.count() == 2

    model_train(model_name="similarity")
    _predict(_body("CATEGORY_LIST", category_id=2))
    assert PredictionResult.objects.count() == 3  # new identifier: a miss


def test_every_prediction_stores_its_result():
    _shop()
    make_orders([("x", "v6", 3)])

    items = _predict(_body("HOMEPAGE", user_id=42, limit=5))

    result = PredictionResult.objects.get()
    assert result.predicted_items == _skus(items)
    assert (result.retrieval_model_name, result.scoring_model_name) == ("popularity", "popularity")
    assert (result.recommendation_type, result.session_id, result.user_id) == ("HOMEPAGE", "s1", "42")
    assert result.retrieval_duration >= 0 and result.scoring_duration >= 0 and result.ordering_duration >= 0
    assert [item["rs_info"]["position"] for item in items] == list(range(5))


def test_the_log_keeps_at_most_the_largest_limit_of_a_whole_category_answer(settings):
    _shop()
    settings.RECOMMENDER = {**settings.RECOMMENDER, "MAX_LIMIT": 4}

    response = APIClient().post("/predict/product_positions", _body("CATEGORY_LIST", limit=None), format="json")

    assert response.status_code == 200, response.content
    assert len(response.json()) == 3  # every product of category 1 and its child has a position
    result = PredictionResult.objects.get()
    assert len(result.predicted_items) == 4  # of the 6 variants answered, the first 4


def test_prediction_endpoints_require_the_token_when_one_is_set(settings):
    _shop()
    settings.RS_API_TOKEN = "s3cret"
    client = APIClient()

    assert client.post("/predict", _body("HOMEPAGE"), format="json").status_code == 401
    assert client.post("/predict/product_positions", _body("CATEGORY_LIST"), format="json").status_code == 401
    wrong = client.post("/predict", _body("HOMEPAGE"), format="json", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401
    right = client.post("/predict", _body("HOMEPAGE"), format="json", HTTP_AUTHORIZATION="Bearer s3cret")
    assert right.status_code == 200 and right.json()


@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
def test_a_process_picks_up_a_new_model_in_the_background_after_the_state_check_interval(settings):
    import time

    _shop()
    settings.RECOMMENDER = {**settings.RECOMMENDER, "STATE_CHECK_SECONDS": 0.1}
    assert _model(_predict(_body("PRODUCT_DETAIL"))) == {"selection"}

    model_train(model_name="similarity")

    # The refresher thread loads it; requests meanwhile answer from the current state.
    deadline = time.monotonic() + 10
    while _model(answer := _predict(_body("PRODUCT_DETAIL"))) != {"similarity"} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _model(answer) == {"similarity"}


@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
def test_prediction_results_are_written_in_the_background_when_asynchronous(settings):
    import time

    _shop()
    settings.RECOMMENDER = {**settings.RECOMMENDER, "ASYNC_PREDICTION_LOG": True}

    items = _predict(_body("HOMEPAGE", limit=3))

    deadline = time.monotonic() + 10
    while not PredictionResult.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert PredictionResult.objects.get().predicted_items == _skus(items)
    time.sleep(0.5)  # let the writer close its connection before the test databases go


def test_ease_serves_known_users_and_sessions_from_their_current_history_and_skips_what_they_bought():
    from recommendations.tests.factories import make_reviews

    _shop()
    # Two tastes: v0..v3 go together, v6..v9 go together.
    make_reviews(
        [(f"a{u}", f"v{i}", 5) for u in range(15) for i in range(4)]
        + [(f"b{u}", f"v{i}", 5) for u in range(15) for i in range(6, 10)]
    )
    config_version_create(payload={"easeConfig": {"l2Options": [1.0]}})
    assert model_train(model_name="ease").outcome == "COMPLETED"
    # A new user who reviewed v6 and bought v7: more of the second taste, without v6 and v7.
    from feedback.models import Review
    from products.models import Order, OrderProductVariant

    Review.objects.create(id=9999, user_id="newcomer", session_id="n1", product_variant_sku="v6", rating=5)
    order = Order.objects.create(session_id="n1", user_id="newcomer")
    OrderProductVariant.objects.create(order=order, product_variant_sku="v7", quantity=1)

    known_user = _predict(_body("HOMEPAGE", user_id="newcomer", session_id="n2", limit=2))
    assert _model(known_user) == {"ease"}
    assert set(_skus(known_user)) == {"v8", "v9"}

    # An anonymous session that viewed v0 and v1 gets the first taste.
    make_sessions({"anon": ["v0", "v1"]})
    anonymous = _predict(_body("HOMEPAGE", session_id="anon", limit=2))
    assert _model(anonymous) == {"ease"}
    assert set(_skus(anonymous)) == {"v2", "v3"}


def _redis_answers() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason="no Redis on 127.0.0.1:6379")
def test_category_list_cache_works_on_redis_when_rs_cache_url_is_set(settings):
    import uuid

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    _shop()
    body = _body("CATEGORY_LIST")

    assert _predict(body) == _predict(body)
    assert PredictionResult.objects.count() == 1

    model_train(model_name="similarity")
    _predict(body)
    assert PredictionResult.objects.count() == 2


@pytest.mark.parametrize("one_per_product", [False, True])
def test_product_positions_follow_the_items_after_the_ordering_moved_the_head(monkeypatch, one_per_product):
    from recommendations import pipeline
    from recommendations.algorithms.base import RecommendationType

    _shop()
    config_version_create(payload={"oneVariantPerProduct": one_per_product})
    make_orders([("x", "v5", 9), ("x", "v3", 4), ("x", "v0", 1)])
    # An ordering that turns the head around: the positions must follow what it did.
    monkeypatch.setattr(pipeline, "_order", lambda state, items: list(reversed(items[:4])) + items[4:])
    request = pipeline.PredictionRequest(RecommendationType.CATEGORY_LIST, session_id="s9", category_id=1)

    answer = pipeline.prediction_run(request)

    in_stock = answer.items
    assert len(in_stock) == (3 if one_per_product else 6)
    numbered: dict[str, int] = {}
    for sku in answer.items:
        numbered.setdefault(str(int(sku[1:]) // 2), len(numbered))
    assert answer.product_positions == numbered
    assert list(answer.product_positions.values()) == list(range(3))
    # The cached answer numbers the products the same way.
    again = pipeline.prediction_run(request)
    assert again.from_cache and again.items == answer.items and again.product_positions == numbered


def test_cached_product_positions_keep_the_ranked_products_and_never_answer_a_list_request():
    _shop()
    make_orders([("x", "v5", 9), ("x", "v3", 4)])
    body = {"recommendation_type": "CATEGORY_LIST", "category_id": 1, "session_id": "s1", "user_id": None}

    first = APIClient().post("/predict/product_positions", body, format="json").json()
    second = APIClient().post("/predict/product_positions", body, format="json").json()
    assert first == second == {"2": 0, "1": 1, "0": 2}
    assert list(second) == ["2", "1", "0"]
    assert PredictionResult.objects.count() == 1  # the repeat was a cache hit

    # The same session and category through /predict needs the variants: not from that entry.
    items = _predict({**body, "limit": None})
    assert _skus(items)[:2] == ["v5", "v3"] and len(items) == 6
    assert PredictionResult.objects.count() == 2


@pytest.mark.parametrize("one_per_product", [False, True])
def test_a_category_list_with_a_limit_is_the_head_of_the_whole_list_when_its_best_rows_are_out_of_stock(
    monkeypatch, one_per_product
):
    from recommendations import pipeline

    # The best sellers are out of stock: the best rows cannot fill the list, the whole category
    # is ranked.
    _shop(v5={"stock": 0}, v3={"stock": 0}, v4={"stock": 0})
    config_version_create(payload={"oneVariantPerProduct": one_per_product, "orderingSize": 0})
    make_orders([("x", "v5", 9), ("x", "v3", 8), ("x", "v4", 7), ("x", "v2", 1)])
    monkeypatch.setattr(pipeline, "PREFIX_PER_ANSWER", 1)

    whole = _skus(_predict(_body("CATEGORY_LIST", limit=None, session_id="a")))
    for limit in (1, 2, 3, 5):
        assert _skus(_predict(_body("CATEGORY_LIST", limit=limit, session_id=f"b{limit}"))) == whole[:limit]
    assert whole[0] == "v2"  # the best seller in stock, and the out-of-stock ones last
    assert whole[-1:] == ["v5"] if one_per_product else whole[-3:] == ["v5", "v3", "v4"]
