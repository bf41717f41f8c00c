"""The dashboard API through HTTP: the exact JSON shapes the ecoseller dashboard reads (contract
section 8), the date parameters and their 400s, and the token."""

import pytest
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from modelstore.models import LatestIdentifier, TrainingFinished, TrainingStarted, TrainingStatistics
from monitoring.tests.factories import at, original_scenario
from recommendations.services import config_version_create

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

RANGE = {"date_from": "2024-03-10T11:58:00.000Z", "date_to": "2024-03-10T12:00:01.000Z"}
MODEL_KEYS = {"name", "title", "description", "disabled", "canBeTrained", "isReadyForTraining", "isTrained"}
# The contract's five, in its order, then the models this service added (session-kNN).
FIVE = ["selection", "popularity", "similarity", "gru4rec", "ease", "sknn"]
PERFORMANCE_KEYS = {
    "hitRate",
    "futureHitRate",
    "coverage",
    "predictions",
    "retrievalDuration",
    "scoringDuration",
    # additions
    "orderingDuration",
    "clickThroughRate",
    "clicks",
    "recommendationViews",
}


def _get(path, params=None, **headers):
    return APIClient().get(path, params or {}, **headers)


def test_configuration_has_the_contract_shape():
    config_version_create(payload={"retrievalSize": 500, "modelsDisabled": {"ease": True}})
    LatestIdentifier.objects.create(model_name="similarity", identifier="similarity_1")

    response = _get("/dashboard/configuration")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"models", "config", "info"}
    assert [m["name"] for m in body["models"]] == ["dummy", *FIVE]
    assert all(set(m) == MODEL_KEYS for m in body["models"])
    models = {m["name"]: m for m in body["models"]}
    assert models["dummy"]["canBeTrained"] is False and models["dummy"]["isTrained"] is True
    assert models["dummy"]["isReadyForTraining"] is False
    assert models["similarity"]["canBeTrained"] is True and models["similarity"]["isTrained"] is True
    assert models["gru4rec"]["isTrained"] is False
    assert models["ease"]["disabled"] is True and models["popularity"]["disabled"] is False
    config = body["config"]
    assert {
        "retrievalSize",
        "orderingSize",
        "models_disabled",
        "homepageRetrievalCascade",
        "homepageScoringCascade",
        "categoryListRetrievalCascade",
        "categoryListScoringCascade",
        "productDetailRetrievalCascade",
        "productDetailScoringCascade",
        "cartRetrievalCascade",
        "cartScoringCascade",
        "easeConfig",
        "gru4recConfig",
        "deleted",
    } <= set(config)
    assert "id" not in config and "create_at" not in config
    assert config["retrievalSize"] == 500
    assert config["models_disabled"] == {"ease": True}
    assert config["categoryListRetrievalCascade"] is None
    assert {"l2Options", "reviewsMultiplier"} <= set(config["easeConfig"])
    assert {
        "numEpochsOptions",
        "batchSizeOptions",
        "embeddingSizeOptions",
        "hiddenSizeOptions",
        "learningRateOptions",
        "incrementalTrainings",
        "eventsMultiplier",
    } <= set(config["gru4recConfig"])
    assert body["info"]["retrievalSize"] == {
        "title": "Retrieval size",
        "description": body["info"]["retrievalSize"]["description"],
    }
    assert body["info"]["easeConfig"]["l2Options"]["title"] == "L2 options"


def test_performance_has_the_contract_shape_and_the_corrected_values():
    original_scenario()

    response = _get("/dashboard/performance", RANGE)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"models", "performance", "info", "experiments"}
    assert [m["name"] for m in body["models"]] == FIVE
    assert set(body["performance"]) == {"general", "modelSpecific"}
    assert list(body["performance"]["modelSpecific"]) == FIVE
    general = body["performance"]["general"]
    assert general["k"] == 10
    assert set(general["data"]) == PERFORMANCE_KEYS
    assert general["data"]["hitRate"] == 0.5
    assert general["data"]["futureHitRate"] == 0.25
    assert general["data"]["coverage"] == 0.75
    assert general["data"]["predictions"] == 4
    assert general["data"]["scoringDuration"] == {"avg": pytest.approx(0.65), "max": 1.0, "p95": 1.0}
    similarity = body["performance"]["modelSpecific"]["similarity"]["data"]
    assert similarity["hitRate"] == pytest.approx(2 / 3)
    assert similarity["futureHitRate"] == pytest.approx(1 / 3)
    assert similarity["scoringDuration"]["max"] == 1.0
    assert similarity["retrievalDuration"]["avg"] == 1.0  # the lists similarity retrieved for
    gru4rec = body["performance"]["modelSpecific"]["gru4rec"]["data"]
    assert (gru4rec["predictions"], gru4rec["hitRate"], gru4rec["retrievalDuration"]) == (
        0,
        None,
        {"avg": None, "max": None, "p95": None},
    )
    assert {"hitRate", "futureHitRate", "coverage"} <= set(body["info"])
    assert body["info"]["hitRate"]["title"] == "Hit rate @ %k%"
    assert body["info"]["futureHitRate"]["title"] == "Future hit rate @ %k%"


def test_training_has_the_contract_shape():
    started = TrainingStarted.objects.create(model_name="ease", model_identifier="ease_1", create_at=at(-10))
    TrainingFinished.objects.create(training_id=started.training_id, create_at=at(-5))
    TrainingStatistics.objects.create(
        model_name="ease",
        model_identifier="ease_1",
        duration=4.0,
        peak_memory=120.0,
        peak_memory_percentage=1.5,
        metrics={"ndcg@10": 0.3},
        create_at=at(-5),
    )

    response = _get("/dashboard/training", RANGE)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"models", "training"}
    assert [m["name"] for m in body["models"]] == FIVE
    assert list(body["training"]["modelSpecific"]) == FIVE
    ease = body["training"]["modelSpecific"]["ease"]
    assert set(ease) == {"data"}
    assert set(ease["data"]) == {"trainings", "peakMemory", "peakMemoryPercentage", "duration", "latestMetrics"}
    assert ease["data"]["trainings"] == {"started": 1, "completed": 1, "failed": 0, "skipped": 0, "unfinished": 0}
    assert ease["data"]["peakMemory"] == {"avg": 120.0, "max": 120.0}
    assert ease["data"]["peakMemoryPercentage"] == {"avg": 1.5, "max": 1.5}
    assert ease["data"]["duration"] == {"avg": 4.0, "max": 4.0}
    assert ease["data"]["latestMetrics"]["metrics"] == {"ndcg@10": 0.3}
    assert ease["data"]["latestMetrics"]["modelIdentifier"] == "ease_1"
    general = body["training"]["general"]["data"]
    assert general["trainings"]["started"] == 1
    assert general["latestMetrics"] is None
    similarity = body["training"]["modelSpecific"]["similarity"]["data"]
    assert similarity["duration"] == {"avg": None, "max": None}


def test_dashboard_answers_everything_in_one_body():
    original_scenario()

    response = _get("/dashboard", RANGE)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"dateFrom", "dateTo", "configuration", "performance", "training"}
    assert body["dateFrom"] == "2024-03-10T11:58:00+00:00"
    assert set(body["configuration"]) == {"models", "config", "info"}
    assert body["performance"]["performance"]["general"]["data"]["hitRate"] == 0.5
    assert set(body["training"]) == {"models", "training"}


@pytest.mark.parametrize(
    "date_from, date_to, predictions",
    [
        ("2024-03-10T11:58:00.000Z", "2024-03-10T12:00:01.000Z", 4),  # JavaScript's toISOString()
        ("2024-03-10T13:58:00+02:00", "2024-03-10T14:00:01+02:00", 4),  # an offset
        ("2024-03-10T11:58:00", "2024-03-10T12:00:01", 4),  # naive: UTC
        ("2024-03-10", "2024-03-10", 4),  # dates: the whole day
        ("2024-03-10T11:59:58Z", "2024-03-10T11:59:59Z", 2),  # inclusive bounds
        ("2024-03-11", "2024-03-12", 0),
        # Offsets PostgreSQL refuses (beyond ±15:59) are valid ISO 8601: read in UTC.
        ("2024-03-11T03:58:00+16:00", "2024-03-10T00:00:01-16:00", 4),
        ("2024-03-11T03:58:00+23:59", "2024-03-11T03:58:00+16:00", 0),
    ],
)
def test_dates_in_iso_8601(date_from, date_to, predictions):
    original_scenario()

    response = _get("/dashboard/performance", {"date_from": date_from, "date_to": date_to})

    assert response.status_code == 200, response.json()
    assert response.json()["performance"]["general"]["data"]["predictions"] == predictions


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/performance", "/dashboard/training"])
def test_offsets_python_takes_and_postgresql_does_not_are_read_in_utc(path):
    # Found by schemathesis: PostgreSQL refuses a -17:50 offset, which Python accepts.
    params = {"date_from": "0092-10-26T21:40:09.0-17:50", "date_to": "2391-05-28T23:58:30.8+00:00"}

    response = _get(path, params)

    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/performance", "/dashboard/training"])
def test_a_date_beyond_the_calendar_in_utc_answers_400(path):
    response = _get(path, {"date_from": "0001-01-01T00:00:00+05:00", "date_to": "2024-03-10"})

    assert response.status_code == 400
    assert list(response.json()) == ["date_from"]


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/performance", "/dashboard/training"])
@pytest.mark.parametrize(
    "params, field",
    [
        ({"date_to": "2024-03-10T12:00:00.000Z"}, "date_from"),
        ({"date_from": "2024-03-10T12:00:00.000Z"}, "date_to"),
        ({"date_from": "yesterday", "date_to": "2024-03-10T12:00:00.000Z"}, "date_from"),
        ({"date_from": "2024-13-10T12:00:00.000Z", "date_to": "2024-03-10T12:00:00.000Z"}, "date_from"),
        ({"date_from": "2024-03-11T00:00:00Z", "date_to": "2024-03-10T00:00:00Z"}, "date_to"),
    ],
)
def test_missing_or_bad_dates_answer_400_naming_the_field(path, params, field):
    response = _get(path, params)

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert isinstance(response.json()[field], list) and response.json()[field]


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard?date_from=2024-03-10&date_to=2024-03-10",
        "/dashboard/configuration",
        "/dashboard/training?date_from=2024-03-10&date_to=2024-03-10",
    ],
)
def test_the_token_protects_the_dashboard_api(settings, path):
    settings.RS_API_TOKEN = "secret"

    assert APIClient().get(path).status_code == 401
    assert APIClient().get(path, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert APIClient().get(path, HTTP_AUTHORIZATION="Bearer secret").status_code == 200


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/performance", "/dashboard/training"])
def test_the_issues_offset_beyond_postgresqls_range_answers_200(path):
    response = _get(path, {"date_from": "2023-07-01T00:00:00+16:00", "date_to": "2023-07-31T00:00:00+16:00"})

    assert response.status_code == 200, response.content
