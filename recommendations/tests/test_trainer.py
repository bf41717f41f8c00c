"""The trainer loop through `manage.py run_trainer --once`: claiming, coalescing, failures and
retries, claim timeouts, skipped models, scheduling and signals."""

import datetime
import io
import os
import signal

import pytest
from django.core.management import call_command
from django.utils import timezone

from conftest import ALL_DATABASES
from modelstore.models import (
    LatestIdentifier,
    TrainerQueueItem,
    TrainingDataMark,
    TrainingFinished,
    TrainingStarted,
    TrainingStatistics,
    TrainingStepFinished,
    TrainingStepStarted,
)
from modelstore.services import trainer_queue_item_create
from products.revision import catalogue_revision_bump
from recommendations.algorithms.base import TrainingData
from recommendations.services import config_version_create
from recommendations.tests.factories import (
    FIVE_ITEMS,
    FOUR_VARIANTS,
    TINY_GRU4REC,
    make_catalogue,
    make_five_item_shop,
    make_sessions,
)
from recommendations.training import data as training_data

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def run_trainer(*args: str) -> str:
    out = io.StringIO()
    call_command("run_trainer", "--once", "--name", "test-trainer", *args, stdout=out)
    return out.getvalue()


def queue(model_name: str, **fields) -> TrainerQueueItem:
    item = trainer_queue_item_create(model_name=model_name, requested_by="test")
    if fields:
        TrainerQueueItem.objects.filter(pk=item.pk).update(**fields)
    return item


def statuses() -> list[tuple[str, str]]:
    return list(TrainerQueueItem.objects.order_by("id").values_list("model_name", "status"))


def outcomes(model_name: str) -> list[str]:
    started = TrainingStarted.objects.filter(model_name=model_name).values_list("training_id", flat=True)
    return list(
        TrainingFinished.objects.filter(training_id__in=started).order_by("create_at").values_list("outcome", flat=True)
    )


def gru4rec_shop(trainer_config: dict | None = None, **config) -> None:
    """Five items, 40 sessions of four views; only gru4rec enabled besides the untrained ones."""
    make_five_item_shop()
    config_version_create(
        payload={
            "gru4recConfig": TINY_GRU4REC,
            "modelsDisabled": {"similarity": True, "ease": True, "sknn": True},
            "trainerConfig": trainer_config or {},
            **config,
        }
    )


def broken_similarity(monkeypatch, message: str = "disk on fire") -> None:
    def build_data(options, since=None, until=None):
        raise RuntimeError(message)

    monkeypatch.setitem(training_data.DATA_BUILDERS, TrainingData.CONTENT, build_data)


# --- a queued model ------------------------------------------------------------------------


def test_queued_model_is_trained_becomes_current_and_is_recorded():
    make_catalogue(FOUR_VARIANTS)
    item = queue("similarity")

    output = run_trainer("--no-schedule")

    item.refresh_from_db()
    assert (item.status, item.attempts, item.claimed_by, item.error) == ("COMPLETED", 1, "test-trainer", "")
    assert item.finished_at is not None and item.claimed_at <= item.finished_at
    started = TrainingStarted.objects.get()
    assert LatestIdentifier.objects.get(model_name="similarity").identifier == started.model_identifier
    assert TrainingFinished.objects.get(training_id=started.training_id).outcome == "COMPLETED"
    statistics = TrainingStatistics.objects.get()
    assert statistics.model_identifier == started.model_identifier and statistics.full_train is True
    assert statistics.duration > 0 and statistics.peak_memory > 0 and 0 < statistics.peak_memory_percentage < 100
    mark = TrainingDataMark.objects.get(model_name="similarity")
    assert (mark.model_identifier, mark.catalogue_revision) == (started.model_identifier, 1)
    assert f"#{item.pk} similarity COMPLETED in" in output
    assert f"{started.model_identifier} is current" in output


def test_gru4rec_records_a_step_per_combination_with_its_metrics():
    gru4rec_shop(gru4recConfig={**TINY_GRU4REC, "hiddenSizeOptions": [4, 8]})
    item = queue("gru4rec")

    output = run_trainer()

    assert statuses() == [("gru4rec", "COMPLETED")]
    identifier = LatestIdentifier.objects.get(model_name="gru4rec").identifier
    steps = TrainingStepStarted.objects.filter(model_identifier=identifier)
    assert sorted(step.hyperparameters["hidden_size"] for step in steps) == [4, 8]
    finished = TrainingStepFinished.objects.filter(step_id__in=[step.step_id for step in steps])
    assert len(finished) == 2 and all("recall@20" in step.metrics for step in finished)
    statistics = TrainingStatistics.objects.get(model_identifier=identifier)
    assert statistics.hyperparameters["hidden_size"] in (4, 8) and "recall@20" in statistics.metrics
    assert f"#{item.pk} gru4rec 100%" in output  # progress lines while training


def test_model_not_ready_for_training_is_recorded_as_skipped_with_the_reason():
    make_catalogue(FOUR_VARIANTS)
    item = queue("ease")

    run_trainer("--no-schedule")

    item.refresh_from_db()
    assert item.status == "SKIPPED" and "interactions" in item.error
    finished = TrainingFinished.objects.get()
    assert (finished.outcome, finished.error) == ("SKIPPED", item.error)
    assert not LatestIdentifier.objects.exists() and not TrainingStatistics.objects.exists()


def test_unknown_and_untrainable_models_are_recorded_without_stopping_the_loop():
    make_catalogue(FOUR_VARIANTS)
    unknown = TrainerQueueItem.objects.create(model_name="word2vec")  # e.g. inserted by hand
    untrainable = queue("popularity")
    trainable = queue("similarity")

    run_trainer("--no-schedule")

    unknown.refresh_from_db()
    untrainable.refresh_from_db()
    assert (unknown.status, untrainable.status) == ("FAILED", "SKIPPED")
    assert unknown.error.startswith("unknown model 'word2vec'; known: dummy, ease, gru4rec")
    assert untrainable.error == "popularity needs no training"
    assert TrainerQueueItem.objects.get(pk=trainable.pk).status == "COMPLETED"
    assert list(TrainingStarted.objects.values_list("model_name", flat=True)) == ["similarity"]


def test_pending_duplicates_of_a_model_are_coalesced_into_the_claimed_item():
    make_catalogue(FOUR_VARIANTS)
    first = queue("similarity")
    second = queue("similarity", full_train=True)
    third = queue("similarity")

    run_trainer("--no-schedule")

    assert statuses() == [("similarity", "COMPLETED"), ("similarity", "COALESCED"), ("similarity", "COALESCED")]
    assert set(TrainerQueueItem.objects.filter(status="COALESCED").values_list("error", flat=True)) == {
        f"coalesced into #{first.pk}"
    }
    assert TrainerQueueItem.objects.get(pk=first.pk).full_train is True  # a full request is kept
    assert (
        TrainerQueueItem.objects.get(pk=third.pk).attempts == TrainerQueueItem.objects.get(pk=second.pk).attempts == 0
    )
    assert TrainingStarted.objects.count() == 1


# --- failures ------------------------------------------------------------------------------


def test_failing_training_is_retried_up_to_max_attempts_and_the_loop_goes_on(monkeypatch):
    gru4rec_shop({"maxAttempts": 2, "retryBackoffSeconds": 0})
    broken_similarity(monkeypatch)
    failing = queue("similarity")
    following = queue("gru4rec")

    output = run_trainer("--no-schedule")

    failing.refresh_from_db()
    assert (failing.status, failing.attempts) == ("FAILED", 2)
    assert failing.error == "RuntimeError: disk on fire (attempt 2 of 2)"
    assert outcomes("similarity") == ["FAILED", "FAILED"]
    assert {f.error for f in TrainingFinished.objects.filter(outcome="FAILED")} == {"RuntimeError: disk on fire"}
    assert not LatestIdentifier.objects.filter(model_name="similarity").exists()
    assert TrainerQueueItem.objects.get(pk=following.pk).status == "COMPLETED"
    assert LatestIdentifier.objects.filter(model_name="gru4rec").exists()
    assert "(will be retried)" in output


def test_failed_attempt_waits_for_an_exponential_backoff(monkeypatch):
    make_catalogue(FOUR_VARIANTS)
    config_version_create(payload={"trainerConfig": {"maxAttempts": 3, "retryBackoffSeconds": 60}})
    broken_similarity(monkeypatch)
    item = queue("similarity")

    before = timezone.now()
    run_trainer("--no-schedule")
    after = timezone.now()

    item.refresh_from_db()
    assert (item.status, item.attempts, item.claimed_at) == ("PENDING", 1, None)
    assert before + datetime.timedelta(seconds=60) <= item.not_before <= after + datetime.timedelta(seconds=60)
    assert item.error == "RuntimeError: disk on fire (attempt 1 of 3; retried in 60 s)"

    TrainerQueueItem.objects.filter(pk=item.pk).update(not_before=timezone.now())
    before = timezone.now()
    run_trainer("--no-schedule")

    item.refresh_from_db()
    assert (item.status, item.attempts) == ("PENDING", 2)
    assert item.not_before >= before + datetime.timedelta(seconds=120)
    assert outcomes("similarity") == ["FAILED", "FAILED"]


def test_item_of_a_killed_trainer_is_taken_again_after_the_claim_timeout():
    gru4rec_shop({"claimTimeoutSeconds": 600})
    long_ago = timezone.now() - datetime.timedelta(seconds=601)
    abandoned = queue("similarity", status="RUNNING", claimed_at=long_ago, claimed_by="gone:1", attempts=1)
    given_up = queue("ease", status="RUNNING", claimed_at=long_ago, claimed_by="gone:1", attempts=3)
    alive = queue("gru4rec", status="RUNNING", claimed_at=timezone.now(), claimed_by="alive:2", attempts=1)
    waiting = queue("gru4rec")  # its model is being trained by a live trainer

    run_trainer("--no-schedule")

    abandoned.refresh_from_db()
    given_up.refresh_from_db()
    assert (abandoned.status, abandoned.attempts, abandoned.claimed_by) == ("COMPLETED", 2, "test-trainer")
    assert given_up.status == "FAILED" and "gone:1 claimed it at" in given_up.error
    assert given_up.error.endswith("stopped responding; given up after 3 attempts")
    assert TrainerQueueItem.objects.get(pk=alive.pk).status == "RUNNING"
    assert TrainerQueueItem.objects.get(pk=waiting.pk).status == "PENDING"
    assert list(TrainingStarted.objects.values_list("model_name", flat=True)) == ["similarity"]


def test_item_of_a_trainer_whose_heartbeat_stopped_is_taken_over_and_its_training_recorded_failed():
    gru4rec_shop({"heartbeatTimeoutSeconds": 30})
    now = timezone.now()
    silent = now - datetime.timedelta(seconds=31)
    killed = TrainingStarted.objects.create(model_name="similarity", model_identifier="similarity_killed")
    dead = queue(
        "similarity",
        status="RUNNING",
        claimed_at=silent,
        alive_at=silent,
        claimed_by="killed:1",
        attempts=1,
        training_id=killed.training_id,
    )
    # A live trainer whose training has reported no progress for two hours keeps its item.
    quiet = queue(
        "gru4rec",
        status="RUNNING",
        claimed_at=now - datetime.timedelta(hours=2),
        alive_at=now,
        claimed_by="alive:2",
        attempts=1,
    )

    run_trainer("--no-schedule")

    dead.refresh_from_db()
    assert (dead.status, dead.attempts, dead.claimed_by) == ("COMPLETED", 2, "test-trainer")
    assert TrainerQueueItem.objects.get(pk=quiet.pk).status == "RUNNING"
    finished = TrainingFinished.objects.get(training_id=killed.training_id)
    assert finished.outcome == "FAILED"
    assert finished.error.startswith("trainer died: killed:1 stopped its heartbeat at ")
    assert finished.error.endswith("(killed, or its machine went away); taken over by test-trainer")
    assert outcomes("similarity") == ["FAILED", "COMPLETED"]
    # The training the new claim ran is the one its claim named.
    assert TrainingStarted.objects.filter(training_id=dead.training_id, model_name="similarity").exists()


def test_sigterm_finishes_the_current_training_and_exits(monkeypatch):
    make_catalogue(FOUR_VARIANTS)
    build_content = training_data.DATA_BUILDERS[TrainingData.CONTENT]

    def build_data_then_terminate(options, since=None, until=None):
        os.kill(os.getpid(), signal.SIGTERM)
        return build_content(options, since=since, until=until)

    monkeypatch.setitem(training_data.DATA_BUILDERS, TrainingData.CONTENT, build_data_then_terminate)
    queue("similarity")
    queue("ease")

    output = run_trainer("--no-schedule")

    assert statuses() == [("similarity", "COMPLETED"), ("ease", "PENDING")]
    assert "SIGTERM: finishing the current training, then exiting" in output
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))


def test_second_signal_abandons_the_training_and_gives_the_item_back(monkeypatch):
    make_catalogue(FOUR_VARIANTS)
    build_content = training_data.DATA_BUILDERS[TrainingData.CONTENT]

    def build_data_interrupted_twice(options, since=None, until=None):
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        return build_content(options, since=since, until=until)

    monkeypatch.setitem(training_data.DATA_BUILDERS, TrainingData.CONTENT, build_data_interrupted_twice)
    item = queue("similarity")

    run_trainer("--no-schedule")

    item.refresh_from_db()
    assert (item.status, item.attempts, item.claimed_at) == ("PENDING", 0, None)
    assert item.error == "abandoned: stopped by signal SIGINT"
    assert outcomes("similarity") == ["FAILED"]
    assert not LatestIdentifier.objects.exists()


# --- scheduling ----------------------------------------------------------------------------


def test_retraining_is_scheduled_once_enough_new_events_arrived():
    gru4rec_shop({"retrainAfterNewEvents": 10, "minRetrainIntervalSeconds": 0})
    queue("gru4rec")
    run_trainer()
    first = LatestIdentifier.objects.get(model_name="gru4rec").identifier

    make_sessions({"new1": FIVE_ITEMS + FIVE_ITEMS[:4]}, start=timezone.now())  # 9 new views: not enough
    run_trainer()
    assert LatestIdentifier.objects.get(model_name="gru4rec").identifier == first
    assert TrainerQueueItem.objects.count() == 1

    make_sessions({"new2": ["i0"]}, start=timezone.now())  # the 10th
    output = run_trainer()

    scheduled = TrainerQueueItem.objects.get(requested_by="scheduler")
    assert (scheduled.model_name, scheduled.status) == ("gru4rec", "COMPLETED")
    assert f"#{scheduled.pk} gru4rec scheduled: 10+ new events since {first}" in output
    latest = LatestIdentifier.objects.get(model_name="gru4rec")
    assert (latest.previous_identifier, latest.identifier != first) == (first, True)
    # incremental_trainings (10 by default) incremental trainings follow a full one
    assert list(TrainingStatistics.objects.order_by("create_at").values_list("full_train", flat=True)) == [True, False]


def test_no_retraining_before_the_minimum_interval():
    gru4rec_shop({"retrainAfterNewEvents": 1, "minRetrainIntervalSeconds": 3600})
    queue("gru4rec")
    run_trainer()

    make_sessions({"new": FIVE_ITEMS}, start=timezone.now())
    run_trainer()

    assert statuses() == [("gru4rec", "COMPLETED")]


def test_first_training_is_scheduled_when_ready_and_similarity_after_catalogue_changes():
    make_catalogue(FOUR_VARIANTS)  # ready: similarity; not ready: ease and gru4rec (no events)
    config_version_create(
        payload={"trainerConfig": {"retrainAfterCatalogueChanges": 2, "minRetrainIntervalSeconds": 0}}
    )

    run_trainer()

    assert list(TrainerQueueItem.objects.values_list("model_name", "status", "requested_by")) == [
        ("similarity", "COMPLETED", "scheduler")
    ]
    catalogue_revision_bump()
    run_trainer()
    assert TrainerQueueItem.objects.count() == 1

    catalogue_revision_bump()
    run_trainer()

    assert statuses() == [("similarity", "COMPLETED"), ("similarity", "COMPLETED")]
    assert TrainingDataMark.objects.get(model_name="similarity").catalogue_revision == 3
    assert not TrainingStarted.objects.exclude(model_name="similarity").exists()


def test_disabled_models_are_not_scheduled():
    make_catalogue(FOUR_VARIANTS)
    config_version_create(payload={"modelsDisabled": {"similarity": True}})

    run_trainer()

    assert not TrainerQueueItem.objects.exists()
