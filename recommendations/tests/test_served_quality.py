"""What the served-quality issue asks of the pipeline: session models retrieve over the whole
catalogue, session-kNN counts the sessions stored since its training, an uninformative content
model is passed over, the cascade still falls back, and each training records what the pipeline
serves beside what the model scores."""

import json

import numpy as np
import pytest
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from modelstore.models import TrainingStatistics
from recommendations.algorithms.base import Catalogue, PredictContext, RecommendationType, SessionData
from recommendations.algorithms.ease import EASEModel, EASEParams, build_ease_data
from recommendations.algorithms.gru4rec import GRU4RecModel, GRU4RecParams
from recommendations.services import config_version_create
from recommendations.tests.factories import make_catalogue, make_orders, make_sessions
from recommendations.training.services import model_train

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

ITEMS = [f"i{k}" for k in range(8)]


def _predict(body: dict) -> list[dict]:
    response = APIClient().post("/predict", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def _top(scores: dict[str, float], n: int) -> list[str]:
    return [sku for sku, _ in sorted(scores.items(), key=lambda item: (-item[1], item[0]))][:n]


def test_gru4rec_retrieves_its_own_top_n_over_the_whole_catalogue():
    data = SessionData(skus=ITEMS[:6], sessions=[np.array([k % 6, (k + 1) % 6, (k + 2) % 6]) for k in range(60)])
    params = GRU4RecParams(
        num_epochs_options=(2,), batch_size_options=(8,), hidden_size_options=(8,), validation_fraction=0.0
    )
    model, _ = GRU4RecModel.fit(data, params)
    # The catalogue holds two SKUs the model never saw and one unavailable one it knows.
    catalogue = Catalogue.build(ITEMS, is_available=[True, True, False, True, True, True, True, True])
    context = PredictContext(
        RecommendationType.HOMEPAGE, catalogue, session_history=("i0", "i1"), exclude=frozenset({"i3"})
    )

    retrieved = model.retrieve(context, 3)

    scores = model.score_all(model.history_indices(("i0", "i1")))
    allowed = {sku: float(scores[model.sku_index[sku]]) for sku in ITEMS[:6] if sku not in ("i2", "i3")}
    assert retrieved == _top(allowed, 3)


def test_ease_retrieves_its_own_top_n_over_the_whole_catalogue_for_every_type():
    triplets = [(f"u{n}", ITEMS[(n + k) % 6], 1.0) for n in range(30) for k in range(3)]
    model, _ = EASEModel.fit(build_ease_data(triplets), EASEParams(l2_options=(1.0,)))
    catalogue = Catalogue.build(ITEMS)
    for situation in (RecommendationType.HOMEPAGE, RecommendationType.PRODUCT_DETAIL, RecommendationType.CART):
        context = PredictContext(situation, catalogue, user_history=(("i0", 1.0),), exclude=frozenset({"i0"}))

        retrieved = model.retrieve(context, 4)

        scores = {sku: score for sku, score in model.score(context, ITEMS[:6]) if sku != "i0"}
        assert retrieved == _top(scores, 4)


def _shop():
    make_catalogue({sku: {"product": k} for k, sku in enumerate(ITEMS)})


def test_session_knn_counts_a_session_stored_after_its_training():
    _shop()
    make_sessions({f"old{n}": ["i0", "i1"] for n in range(5)})
    assert model_train(model_name="sknn").outcome == "COMPLETED"
    # After the training, a shopper goes from i6 to i7: nothing the index knew.
    enter = [
        {"_model_class": "ProductDetailEnter", "session_id": "fresh", "product_variant_sku": sku}
        for sku in ("i6", "i7")
    ]
    assert APIClient().post("/store_objects", json.dumps(enter), content_type="application/json").status_code == 200

    items = _predict({"recommendation_type": "PRODUCT_DETAIL", "session_id": "next", "variants": "i6", "limit": 3})

    assert items[0]["product_variant_sku"] == "i7"
    assert items[0]["rs_info"]["model_name"] == "sknn"


def test_session_knn_never_takes_the_session_itself_for_its_neighbour():
    _shop()
    make_sessions({f"old{n}": ["i0", "i1"] for n in range(5)})
    assert model_train(model_name="sknn").outcome == "COMPLETED"
    enter = [
        {"_model_class": "ProductDetailEnter", "session_id": "me", "product_variant_sku": sku} for sku in ("i4", "i5")
    ]
    APIClient().post("/store_objects", json.dumps(enter), content_type="application/json")

    # Its own stored copy would make i4 its best answer; no other session holds i5.
    items = _predict({"recommendation_type": "HOMEPAGE", "session_id": "me", "limit": 3})

    assert {item["rs_info"]["model_name"] for item in items} != {"sknn"}


def test_the_cascade_falls_back_when_the_session_model_is_not_ready():
    _shop()
    make_sessions({f"old{n}": ["i0", "i1"] for n in range(5)})
    make_orders([("x", "i5", 3)])
    assert model_train(model_name="sknn").outcome == "COMPLETED"

    items = _predict({"recommendation_type": "HOMEPAGE", "session_id": "stranger", "limit": 3})

    assert {item["rs_info"]["model_name"] for item in items} == {"popularity"}


def test_content_similarity_of_a_catalogue_without_attributes_is_passed_over():
    _shop()  # no price, no attribute: every variant is as near as any other
    outcome = model_train(model_name="similarity")

    items = _predict({"recommendation_type": "PRODUCT_DETAIL", "session_id": "s", "variants": "i0", "limit": 3})

    assert outcome.metrics["informative"] is False
    assert "uninformative" in outcome.metrics["note"]
    assert {item["rs_info"]["model_name"] for item in items} == {"selection"}


def test_a_training_records_what_the_pipeline_serves_beside_what_the_model_scores():
    _shop()
    # Sessions walk the items in order; the latest 10% are held out.
    make_sessions({f"s{n}": [ITEMS[(n + k) % 8] for k in range(4)] for n in range(60)})
    config_version_create(payload={"trainerConfig": {"servedEvaluationEvents": 50}})

    outcome = model_train(model_name="sknn")

    evaluation = TrainingStatistics.objects.get(model_identifier=outcome.identifier).metrics["served_evaluation"]
    assert evaluation["events"] == 18  # 6 held-out sessions x 3 next clicks
    assert evaluation["model"]["recall@20"] == 1.0
    assert set(evaluation["served"]) == {"HOMEPAGE", "PRODUCT_DETAIL"}
    homepage = evaluation["served"]["HOMEPAGE"]
    assert homepage["events"] == 18 and 0.0 <= homepage["recall@20"] <= 1.0
    assert evaluation["served"]["PRODUCT_DETAIL"]["events"] == 18


def test_the_served_product_page_figures_leave_out_next_clicks_on_the_viewed_product():
    # Two variants per product (i0 and i1 are one product, ...): a product page never shows its
    # own product's variants, so a next click on a sibling variant is not an event it can hit.
    make_catalogue({sku: {"product": k // 2} for k, sku in enumerate(ITEMS)})
    make_sessions({f"s{n}": [ITEMS[(n + k) % 8] for k in range(4)] for n in range(60)})
    config_version_create(payload={"trainerConfig": {"servedEvaluationEvents": 50}})

    outcome = model_train(model_name="sknn")

    served = TrainingStatistics.objects.get(model_identifier=outcome.identifier).metrics["served_evaluation"]["served"]
    assert served["HOMEPAGE"]["events"] == 18
    # Of each held-out session's three steps, one or two (alternately) change product: 9 in all.
    assert served["PRODUCT_DETAIL"]["events"] == 9


def test_an_ease_training_records_its_served_figures_too():
    # EASE needs its validation split to choose λ; the quick refit for the served evaluation
    # used to drop it and fail, so EASE trainings had no served figures.
    _shop()
    make_sessions({f"s{n}": [ITEMS[(n + k) % 8] for k in range(4)] for n in range(60)})
    config_version_create(payload={"trainerConfig": {"servedEvaluationEvents": 50}})

    outcome = model_train(model_name="ease", force=True)

    evaluation = TrainingStatistics.objects.get(model_identifier=outcome.identifier).metrics["served_evaluation"]
    assert evaluation["events"] == 18
    assert evaluation["served"]["HOMEPAGE"]["events"] == 18
