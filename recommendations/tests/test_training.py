"""Training from the stored data: records, atomic artefacts, publishing and clean-up."""

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from conftest import ALL_DATABASES
from modelstore.models import (
    LatestIdentifier,
    TrainingFinished,
    TrainingStarted,
    TrainingStatistics,
    TrainingStepFinished,
    TrainingStepStarted,
)
from recommendations.algorithms.base import TrainingData
from recommendations.algorithms.similarity import SimilarityModel
from recommendations.artefact_store import artefact_read
from recommendations.models import NeighbourList
from recommendations.services import config_version_create
from recommendations.tests.factories import (
    FIVE_ITEMS,
    FOUR_VARIANTS,
    make_catalogue,
    make_five_item_shop,
    make_reviews,
    make_sessions,
)
from recommendations.training import data as training_data
from recommendations.training import services as training_services
from recommendations.training.services import model_train

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

# The four variants, each with a price of 100.
PRICED_VARIANTS = {sku: {**spec, "price": 100} for sku, spec in FOUR_VARIANTS.items()}


def _artefacts(model_name: str) -> list[str]:
    root = Path(settings.MODEL_DIR) / model_name
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_similarity_training_publishes_neighbours_artefact_and_records():
    make_catalogue(PRICED_VARIANTS)

    outcome = model_train(model_name="similarity")

    assert outcome.outcome == "COMPLETED"
    assert LatestIdentifier.objects.get(model_name="similarity").identifier == outcome.identifier
    assert _artefacts("similarity") == [outcome.identifier]
    # One row per variant, nearest first; "2" and "3" tie for "1" and go in catalogue order.
    rows = NeighbourList.objects.filter(model_identifier=outcome.identifier).order_by("sku")
    assert [(row.sku, row.neighbours, row.distances) for row in rows] == [
        ("1", ["2", "3", "4"], [1, 1, 2.10818505]),
        ("2", ["1", "3", "4"], [1, 1.41421354, 2.40370083]),
        ("3", ["4", "1", "2"], [0.666666687, 1, 1.41421354]),
        ("4", ["3", "1", "2"], [0.666666687, 2.10818505, 2.40370083]),
    ]
    # Nine digits read back as the model's float32 distances.
    model = artefact_read(SimilarityModel, model_name="similarity", identifier=outcome.identifier)
    assert [np.float32(rows[3].distances).tolist()] == model.neighbour_distance[3:4].tolist()
    started = TrainingStarted.objects.get(model_identifier=outcome.identifier)
    assert TrainingFinished.objects.get(training_id=started.training_id).outcome == "COMPLETED"
    statistics = TrainingStatistics.objects.get(model_identifier=outcome.identifier)
    assert statistics.duration > 0 and statistics.peak_memory > 0 and 0 < statistics.peak_memory_percentage < 100
    assert statistics.full_train is True


def test_neighbour_lists_store_any_sku_text_exactly(monkeypatch):
    # Quotes, backslashes, tabs and newlines need escaping in JSON and in COPY's text format;
    # three chunks of two variants each.
    monkeypatch.setattr(training_services, "STORE_CHUNK_ROWS", 2)
    skus = ['a"1', "b\\2", "c\t3", "d\n4", "é5"]
    make_catalogue({sku: {"product": i, "price": 10 * i} for i, sku in enumerate(skus)})
    config_version_create(payload={"similarityConfig": {"neighbours": 1}})

    outcome = model_train(model_name="similarity")

    rows = NeighbourList.objects.filter(model_identifier=outcome.identifier).order_by("sku")
    # Prices 0, 10, 20, 30, 40 normalise to 0, 0.25, 0.5, 0.75, 1: ties go to the lower row.
    assert [(row.sku, row.neighbours, row.distances) for row in rows] == [
        ('a"1', ["b\\2"], [0.25]),
        ("b\\2", ['a"1'], [0.25]),
        ("c\t3", ["b\\2"], [0.25]),
        ("d\n4", ["c\t3"], [0.25]),
        ("é5", ["d\n4"], [0.25]),
    ]


def test_retraining_keeps_current_and_previous_and_removes_older_identifiers():
    make_catalogue(PRICED_VARIANTS)

    first = model_train(model_name="similarity").identifier
    second = model_train(model_name="similarity").identifier
    third = model_train(model_name="similarity").identifier

    latest = LatestIdentifier.objects.get(model_name="similarity")
    assert (latest.identifier, latest.previous_identifier) == (third, second)
    assert _artefacts("similarity") == sorted([second, third])
    assert sorted(NeighbourList.objects.values_list("model_identifier", flat=True)) == sorted([second, third] * 4)
    assert first not in _artefacts("similarity")


def test_model_without_enough_data_is_recorded_as_skipped_with_the_reason():
    make_catalogue(PRICED_VARIANTS)

    outcome = model_train(model_name="ease")

    assert outcome.outcome == "SKIPPED"
    assert "interactions" in outcome.reason
    finished = TrainingFinished.objects.get()
    assert finished.outcome == "SKIPPED" and finished.error == outcome.reason
    assert not LatestIdentifier.objects.exists()
    assert not TrainingStatistics.objects.exists()


def test_failing_training_is_recorded_as_failed_and_publishes_nothing(monkeypatch):
    make_catalogue(PRICED_VARIANTS)

    def broken(options, since=None, until=None):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(training_data.DATA_BUILDERS, TrainingData.CONTENT, broken)

    with pytest.raises(RuntimeError, match="disk on fire"):
        model_train(model_name="similarity")

    finished = TrainingFinished.objects.get()
    assert finished.outcome == "FAILED" and "disk on fire" in finished.error
    assert not LatestIdentifier.objects.exists()
    assert _artefacts("similarity") == []
    assert not NeighbourList.objects.exists()


def test_ease_chooses_lambda_from_the_options_and_records_one_step_per_option():
    make_catalogue({sku: {"product": i} for i, sku in enumerate("abcdef")})
    make_reviews([(f"u{u}", sku, 5) for u in range(12) for sku in ("ab" if u % 2 else "cd")] + [("u0", "e", 4)])
    config_version_create(payload={"easeConfig": {"l2Options": [0.5, 50.0]}})

    outcome = model_train(model_name="ease")

    assert outcome.outcome == "COMPLETED"
    assert outcome.hyperparameters["l2"] in (0.5, 50.0)
    steps = TrainingStepStarted.objects.filter(model_identifier=outcome.identifier)
    assert sorted(s.hyperparameters["l2"] for s in steps) == [0.5, 50.0]
    assert TrainingStepFinished.objects.filter(model_identifier=outcome.identifier).count() == 2


def test_gru4rec_alternates_full_and_incremental_trainings():
    make_five_item_shop()
    config_version_create(
        payload={
            "gru4recConfig": {
                "numEpochsOptions": [2],
                "hiddenSizeOptions": [16],
                "batchSizeOptions": [8],
                "incrementalTrainings": 1,
                "eventsMultiplier": 1,
            }
        }
    )

    first = model_train(model_name="gru4rec")
    make_sessions({f"new{n}": [FIVE_ITEMS[(n + k) % 5] for k in range(4)] for n in range(10)}, start=timezone.now())
    second = model_train(model_name="gru4rec")
    third = model_train(model_name="gru4rec")

    assert [first.outcome, second.outcome, third.outcome] == ["COMPLETED"] * 3
    assert [first.full_train, second.full_train, third.full_train] == [True, False, True]
    assert LatestIdentifier.objects.get(model_name="gru4rec").identifier == third.identifier
    assert list(TrainingStatistics.objects.order_by("create_at").values_list("full_train", flat=True)) == [
        True,
        False,
        True,
    ]


def test_train_command_rejects_unknown_and_untrainable_models():
    with pytest.raises(CommandError, match="unknown model"):
        call_command("train", "nonsense")
    with pytest.raises(CommandError, match="needs no training"):
        call_command("train", "popularity")


def test_incremental_training_without_new_sessions_is_skipped():
    make_five_item_shop()
    config_version_create(
        payload={"gru4recConfig": {"numEpochsOptions": [1], "hiddenSizeOptions": [8], "eventsMultiplier": 1}}
    )
    first = model_train(model_name="gru4rec")

    second = model_train(model_name="gru4rec", full_train=False)

    assert second.outcome == "SKIPPED" and "no new sessions" in second.reason
    assert LatestIdentifier.objects.get(model_name="gru4rec").identifier == first.identifier


@pytest.mark.parametrize(
    "sizes, expected",
    [
        ([0], [("constrained", 16)]),
        ([8], [("embedding", 8)]),
        ([0, 8, 12], [("constrained", 16), ("embedding", 8), ("embedding", 12)]),
    ],
)
def test_gru4rec_embedding_size_options_choose_a_tied_or_a_separate_input_embedding(sizes, expected):
    make_five_item_shop()
    config_version_create(
        payload={
            "gru4recConfig": {
                "numEpochsOptions": [1],
                "hiddenSizeOptions": [16],
                "batchSizeOptions": [8],
                "embeddingSizeOptions": sizes,
                "eventsMultiplier": 1,
            }
        }
    )

    outcome = model_train(model_name="gru4rec")

    steps = TrainingStepStarted.objects.filter(model_identifier=outcome.identifier).order_by("create_at")
    assert [(step.hyperparameters["input"], step.hyperparameters["embedding_size"]) for step in steps] == expected
