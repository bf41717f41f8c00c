"""Reads of the model storage: the newest config version, the latest identifiers, the trainer's
queue and the trainings' totals."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count

from modelstore.models import ConfigVersion, LatestIdentifier, TrainerQueueItem, TrainingFinished, TrainingStarted


def config_version_current() -> ConfigVersion | None:
    """The newest config version; ties on the timestamp are broken by id."""
    return ConfigVersion.objects.order_by("-create_at", "-id").first()


def latest_identifiers() -> dict[str, str]:
    return dict(LatestIdentifier.objects.values_list("model_name", "identifier"))


def trainer_queue_depth() -> dict[tuple[str, str], int]:
    """Waiting and running queue items by (model name, status)."""
    waiting = (TrainerQueueItem.Status.PENDING, TrainerQueueItem.Status.RUNNING)
    rows = (
        TrainerQueueItem.objects.filter(status__in=waiting)
        .values_list("model_name", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(model_name, status): n for model_name, status, n in rows}


@dataclass(frozen=True)
class TrainingOutcomeTotal:
    model_name: str
    outcome: str
    trainings: int
    seconds: float  # summed from start to finish


def training_outcome_totals() -> list[TrainingOutcomeTotal]:
    """Every finished training ever recorded, counted by model and outcome, with the seconds
    they took (from the started to the finished record). Running trainings are not counted."""
    started = {
        training_id: (model_name, create_at)
        for training_id, model_name, create_at in TrainingStarted.objects.values_list(
            "training_id", "model_name", "create_at"
        ).iterator(chunk_size=5000)
    }
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    for training_id, outcome, finished_at in TrainingFinished.objects.values_list(
        "training_id", "outcome", "create_at"
    ).iterator(chunk_size=5000):
        if training_id not in started:
            continue
        model_name, started_at = started[training_id]
        total = totals[(model_name, outcome)]
        total[0] += 1
        total[1] += max((finished_at - started_at).total_seconds(), 0.0)
    return [
        TrainingOutcomeTotal(model_name=name, outcome=outcome, trainings=int(count), seconds=seconds)
        for (name, outcome), (count, seconds) in sorted(totals.items())
    ]
