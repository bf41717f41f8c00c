"""How the trainings went, restricted to one date range (both bounds inclusive, on `create_at`)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, Max, OuterRef, Subquery

from modelstore.models import TrainingFinished, TrainingStarted, TrainingStatistics
from monitoring.selectors.dates import DateRange, in_range
from monitoring.selectors.texts import GENERAL
from recommendations.algorithms.registry import MODELS


@dataclass(frozen=True)
class LatestTraining:
    model_identifier: str
    create_at: datetime.datetime
    full_train: bool
    metrics: dict[str, Any]
    hyperparameters: dict[str, Any]


@dataclass(frozen=True)
class TrainingFigures:
    started: int = 0
    completed: int = 0
    failed: int = 0
    skipped: int = 0
    duration: tuple[float | None, float | None] = (None, None)  # avg, max
    peak_memory: tuple[float | None, float | None] = (None, None)
    peak_memory_percentage: tuple[float | None, float | None] = (None, None)
    latest: LatestTraining | None = None

    @property
    def unfinished(self) -> int:
        """Started without a finished record: running now, or the trainer died during it."""
        return self.started - self.completed - self.failed - self.skipped


@dataclass(frozen=True)
class TrainingReport:
    general: TrainingFigures
    model_specific: dict[str, TrainingFigures]


def training_report(*, date_range: DateRange) -> TrainingReport:
    """Training counts by outcome (trainings started in the range), durations and peak memory
    (statistics written in the range), and each model's latest statistics in the range."""
    outcome = TrainingFinished.objects.filter(training_id=OuterRef("training_id")).values("outcome")[:1]
    counts: dict[str, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    for row in (
        TrainingStarted.objects.filter(in_range(date_range))
        .annotate(outcome=Subquery(outcome))
        .values("model_name", "outcome")
        .annotate(n=Count("training_id"))
        .order_by()
    ):
        counts[row["model_name"]][row["outcome"]] += row["n"]
        counts[GENERAL][row["outcome"]] += row["n"]

    statistics = TrainingStatistics.objects.filter(in_range(date_range))
    aggregates = {
        "d_avg": Avg("duration"),
        "d_max": Max("duration"),
        "m_avg": Avg("peak_memory"),
        "m_max": Max("peak_memory"),
        "p_avg": Avg("peak_memory_percentage"),
        "p_max": Max("peak_memory_percentage"),
    }
    stats = {row["model_name"]: row for row in statistics.values("model_name").annotate(**aggregates).order_by()}
    stats[GENERAL] = statistics.aggregate(**aggregates)

    latest: dict[str, LatestTraining] = {}
    newest_first = statistics.order_by("model_name", "-create_at", "-id").values(
        "model_name", "model_identifier", "create_at", "full_train", "metrics", "hyperparameters"
    )
    for row in newest_first.iterator():
        # One row per model would need DISTINCT ON (PostgreSQL only); the range holds few trainings.
        latest.setdefault(
            row["model_name"],
            LatestTraining(
                row["model_identifier"], row["create_at"], row["full_train"], row["metrics"], row["hyperparameters"]
            ),
        )

    def figures(scope: str) -> TrainingFigures:
        by_outcome = counts.get(scope, {})
        row = stats.get(scope) or {}
        return TrainingFigures(
            started=sum(by_outcome.values()),
            completed=by_outcome.get(TrainingFinished.Outcome.COMPLETED, 0),
            failed=by_outcome.get(TrainingFinished.Outcome.FAILED, 0),
            skipped=by_outcome.get(TrainingFinished.Outcome.SKIPPED, 0),
            duration=(row.get("d_avg"), row.get("d_max")),
            peak_memory=(row.get("m_avg"), row.get("m_max")),
            peak_memory_percentage=(row.get("p_avg"), row.get("p_max")),
            latest=latest.get(scope),
        )

    return TrainingReport(general=figures(GENERAL), model_specific={name: figures(name) for name in MODELS})


@dataclass(frozen=True)
class TrainingRecord:
    """One training for the history page."""

    training_id: str
    model_name: str
    model_identifier: str
    full_train: bool
    started_at: datetime.datetime
    outcome: str | None
    finished_at: datetime.datetime | None
    error: str
    duration: float | None
    peak_memory: float | None
    metrics: dict[str, Any]
    hyperparameters: dict[str, Any]


def training_history(*, date_range: DateRange, model_name: str | None = None, limit: int = 200) -> list[TrainingRecord]:
    """The newest trainings started in the range, with their outcome and statistics."""
    started = TrainingStarted.objects.filter(in_range(date_range)).order_by("-create_at")
    if model_name:
        started = started.filter(model_name=model_name)
    rows = list(started[:limit])
    finished = {
        f.training_id: f for f in TrainingFinished.objects.filter(training_id__in=[r.training_id for r in rows])
    }
    statistics = {
        s.model_identifier: s
        for s in TrainingStatistics.objects.filter(model_identifier__in=[r.model_identifier for r in rows])
    }
    history = []
    for row in rows:
        end = finished.get(row.training_id)
        stats = statistics.get(row.model_identifier)
        history.append(
            TrainingRecord(
                training_id=str(row.training_id),
                model_name=row.model_name,
                model_identifier=row.model_identifier,
                full_train=row.full_train,
                started_at=row.create_at,
                outcome=end.outcome if end else None,
                finished_at=end.create_at if end else None,
                error=end.error if end else "",
                duration=stats.duration if stats else None,
                peak_memory=stats.peak_memory if stats else None,
                metrics=stats.metrics if stats else {},
                hyperparameters=stats.hyperparameters if stats else {},
            )
        )
    return history
