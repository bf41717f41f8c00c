"""/metrics: the Prometheus text format, what predictions and store calls count, the model
store's figures read at scrape time, the token, and sums over processes in multiprocess mode."""

import datetime
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from modelstore.models import TrainerQueueItem, TrainingFinished, TrainingStarted
from recommendations.services import config_version_create
from recommendations.tests.factories import make_catalogue, make_orders

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _scrape(client=None) -> dict[tuple[str, tuple], float]:
    response = (client or APIClient()).get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_predictions_are_counted_by_type_models_and_arm_and_timed_by_phase():
    make_catalogue({f"v{i}": {"product": i} for i in range(6)})
    make_orders([("buyer", "v2", 3)])
    config_version_create(
        payload={
            "homepageScoringCascade": ["selection"],
            "experiments": [
                {
                    "name": "homepage-popularity",
                    "arms": [
                        {"name": "control"},
                        {"name": "popular", "overrides": {"homepageScoringCascade": ["popularity"]}},
                    ],
                }
            ],
        }
    )
    popular = {
        "type": "HOMEPAGE",
        "retrieval_model": "popularity",
        "scoring_model": "popularity",
        "experiment": "homepage-popularity",
        "arm": "popular",
    }
    anonymous = {**popular, "scoring_model": "selection", "experiment": "", "arm": ""}
    before = {
        "popular": _value("rs_predictions_total", **popular),
        "anonymous": _value("rs_predictions_total", **anonymous),
        "scoring": _value("rs_predict_duration_seconds_count", type="HOMEPAGE", phase="scoring"),
        "total": _value("rs_predict_duration_seconds_count", type="HOMEPAGE", phase="total"),
    }

    for session in ["session-1", "session-1", "session-2", None]:  # both in the popular arm
        body = {"recommendation_type": "HOMEPAGE", "session_id": session, "user_id": None, "limit": 3}
        assert APIClient().post("/predict", body, format="json").status_code == 200

    assert _value("rs_predictions_total", **popular) - before["popular"] == 3
    assert _value("rs_predictions_total", **anonymous) - before["anonymous"] == 1
    assert _value("rs_predict_duration_seconds_count", type="HOMEPAGE", phase="scoring") - before["scoring"] == 4
    assert _value("rs_predict_duration_seconds_count", type="HOMEPAGE", phase="total") - before["total"] == 4
    scraped = _scrape()
    assert scraped[("rs_predictions_total", tuple(sorted(popular.items())))] == _value(
        "rs_predictions_total", **popular
    )


def test_a_cascade_fallback_is_counted_with_the_model_that_answered():
    make_catalogue({f"v{i}": {"product": i} for i in range(4)})  # nothing sold: popularity is not ready
    config_version_create(payload={"homepageScoringCascade": ["popularity", "selection"]})
    labels = {"type": "HOMEPAGE", "phase": "scoring", "model": "selection"}
    before = _value("rs_cascade_fallbacks_total", **labels)

    body = {"recommendation_type": "HOMEPAGE", "session_id": "s", "user_id": None, "limit": 3}
    APIClient().post("/predict", body, format="json")

    assert _value("rs_cascade_fallbacks_total", **labels) - before == 1


def test_store_calls_and_objects_are_counted_by_outcome_and_class():
    stored = {"endpoint": "/store_objects", "outcome": "stored"}
    rejected = {"endpoint": "/store_object", "outcome": "rejected"}
    before = (
        _value("rs_store_calls_total", **stored),
        _value("rs_store_calls_total", **rejected),
        _value("rs_store_objects_total", model_class="ProductDetailEnter"),
    )
    event = {"_model_class": "ProductDetailEnter", "session_id": "s", "product_id": 1, "product_variant_sku": "a"}

    APIClient().post("/store_objects", [event, event], format="json")
    APIClient().post("/store_object", {"_model_class": "Nonsense"}, format="json")

    after = (
        _value("rs_store_calls_total", **stored),
        _value("rs_store_calls_total", **rejected),
        _value("rs_store_objects_total", model_class="ProductDetailEnter"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 2]


def test_the_queue_and_the_trainings_are_read_from_the_model_store():
    TrainerQueueItem.objects.create(model_name="ease")
    TrainerQueueItem.objects.create(model_name="ease", status=TrainerQueueItem.Status.RUNNING)
    TrainerQueueItem.objects.create(model_name="gru4rec", status=TrainerQueueItem.Status.COMPLETED)
    start = datetime.datetime(2024, 3, 10, 12, 0, tzinfo=datetime.UTC)
    for seconds, outcome in [(30, "COMPLETED"), (90, "COMPLETED"), (5, "FAILED")]:
        training_id = uuid.uuid4()
        TrainingStarted.objects.create(
            training_id=training_id, model_name="ease", model_identifier="x", create_at=start
        )
        TrainingFinished.objects.create(
            training_id=training_id, outcome=outcome, create_at=start + datetime.timedelta(seconds=seconds)
        )
    TrainingStarted.objects.create(training_id=uuid.uuid4(), model_name="ease", model_identifier="y")  # running

    scraped = _scrape()

    def sample(name, **labels):
        return scraped.get((name, tuple(sorted(labels.items()))))

    assert sample("rs_trainer_queue_depth", model="ease", status="pending") == 1
    assert sample("rs_trainer_queue_depth", model="ease", status="running") == 1
    assert sample("rs_trainer_queue_depth", model="gru4rec", status="completed") is None
    assert sample("rs_trainings_total", model="ease", outcome="completed") == 2
    assert sample("rs_trainings_total", model="ease", outcome="failed") == 1
    assert sample("rs_training_duration_seconds_count", model="ease", outcome="completed") == 2
    assert sample("rs_training_duration_seconds_sum", model="ease", outcome="completed") == 120
    assert sample("rs_training_duration_seconds_sum", model="ease", outcome="failed") == 5


def test_metrics_need_the_api_token_when_one_is_set(settings):
    settings.RS_API_TOKEN = "secret"

    refused = APIClient().get("/metrics")
    scraped = APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer secret", HTTP_ACCEPT="text/plain")

    assert refused.status_code == 401
    assert refused.json() == {"detail": "Authentication credentials were not provided."}
    assert scraped.status_code == 200
    assert b"# TYPE rs_predictions_total counter" in scraped.content


WORKER = """
import sys
from core import metrics
for _ in range(int(sys.argv[1])):
    metrics.predictions.labels("CART", "similarity", "ease", "", "").inc()
metrics.predict_duration.labels("CART", "total").observe(0.02)
"""
SCRAPE = """
from core.metrics import metrics_exposition
print(metrics_exposition()[0].decode())
"""


def test_in_multiprocess_mode_a_scrape_sums_every_process(tmp_path):
    environment = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for count in (3, 4):  # two "workers", which then exit
        subprocess.run(
            [sys.executable, "-c", WORKER, str(count)], env=environment, cwd=settings.BASE_DIR, check=True, timeout=60
        )

    output = subprocess.run(
        [sys.executable, "-c", SCRAPE],
        env=environment,
        cwd=settings.BASE_DIR,
        check=True,
        timeout=60,
        text=True,
        capture_output=True,
    ).stdout

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(output)
        for sample in family.samples
    }
    labels = (
        ("arm", ""),
        ("experiment", ""),
        ("retrieval_model", "similarity"),
        ("scoring_model", "ease"),
        ("type", "CART"),
    )
    assert samples[("rs_predictions_total", labels)] == 7
    assert samples[("rs_predict_duration_seconds_count", (("phase", "total"), ("type", "CART")))] == 2
