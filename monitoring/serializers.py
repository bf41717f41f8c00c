"""The dashboard API's date-range input and the exact JSON shapes the ecoseller dashboard reads
(contract section 8), built from the selectors' dataclasses. Keys the dashboard does not know
(p95, ordering durations, click-through rate, skipped trainings, latest metrics) are additions;
no key it reads is renamed or removed."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers

from monitoring.selectors import (
    PERFORMANCE_INFO,
    ArmReport,
    DateRange,
    DurationFigures,
    ExperimentReport,
    MetricResult,
    ModelState,
    PerformanceFigures,
    PerformanceReport,
    TrainingFigures,
    TrainingReport,
)
from recommendations.algorithms.registry import MODELS
from recommendations.config import RecommenderConfig, config_info

DATE_HELP = "Use ISO 8601, e.g. 2023-07-01T00:00:00.000Z or 2023-07-01."


def parse_range_bound(value: str, *, is_end: bool) -> datetime.datetime:
    """An ISO 8601 date-time (JavaScript's `toISOString()` included) or a date. A date alone
    means the start of that day, or its end for the upper bound, so both bounds stay inclusive.
    A date-time without an offset is taken as UTC; one with an offset is returned in UTC. Raises
    ValueError."""
    value = value.strip()
    try:
        # A date first: parse_datetime would read "2024-03-10" as its midnight.
        day = parse_date(value)
        if day is not None:
            parsed = datetime.datetime.combine(day, datetime.time.max if is_end else datetime.time.min)
        else:
            parsed = parse_datetime(value)
    except ValueError:
        parsed = None  # well formed but impossible, e.g. month 13
    if parsed is None:
        raise ValueError(f"Not a date: {value!r}. {DATE_HELP}")
    if timezone.is_naive(parsed):
        return timezone.make_aware(parsed, datetime.UTC)
    # In UTC: PostgreSQL refuses offsets beyond ±15:59, which ISO 8601 allows ("+16:00").
    try:
        return parsed.astimezone(datetime.UTC)
    except OverflowError:
        raise ValueError(f"Out of range: {value!r}.") from None


class DateRangeSerializer(serializers.Serializer):
    date_from = serializers.CharField(help_text=DATE_HELP)
    date_to = serializers.CharField(help_text=DATE_HELP)

    def validate_date_from(self, value: str) -> datetime.datetime:
        try:
            return parse_range_bound(value, is_end=False)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None

    def validate_date_to(self, value: str) -> datetime.datetime:
        try:
            return parse_range_bound(value, is_end=True)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": ["Must not be before date_from."]})
        return attrs

    def to_date_range(self) -> DateRange:
        return DateRange(start=self.validated_data["date_from"], end=self.validated_data["date_to"])


# --- shapes -------------------------------------------------------------------------------


def model_dict(state: ModelState) -> dict[str, Any]:
    return {
        "name": state.name,
        "title": state.title,
        "description": state.description,
        "disabled": state.is_disabled,
        "canBeTrained": state.can_be_trained,
        "isReadyForTraining": state.is_ready_for_training,
        "isTrained": state.is_trained,
    }


def ordered_states(states: list[ModelState], *, with_dummy: bool) -> list[ModelState]:
    """The registry's order (dummy, selection, ... ease, as the dashboard lists them); the last
    resort (dummy) only `with_dummy`."""
    rank = {name: index for index, name in enumerate(MODELS)}
    chosen = [s for s in states if with_dummy or not (s.name in MODELS and MODELS[s.name].is_last_resort)]
    return sorted(chosen, key=lambda s: (rank.get(s.name, len(rank)), s.name))


def config_dict(config: RecommenderConfig) -> dict[str, Any]:
    data = config.to_dashboard()
    # The contract's key is `models_disabled`; the dashboard sends `modelsDisabled` back. Both.
    data["models_disabled"] = dict(config.models_disabled)
    return data


def configuration_body(*, config: RecommenderConfig, states: list[ModelState]) -> dict[str, Any]:
    """Contract 8.1."""
    info = config_info()
    info["models_disabled"] = {"title": None, "description": None}
    return {
        "models": [model_dict(s) for s in ordered_states(states, with_dummy=True)],
        "config": config_dict(config),
        "info": info,
    }


def _durations(figures: DurationFigures) -> dict[str, float | None]:
    return {"avg": figures.avg, "max": figures.max, "p95": figures.p95}


def performance_dict(figures: PerformanceFigures, k: int) -> dict[str, Any]:
    return {
        "k": k,
        "data": {
            "hitRate": figures.hit_rate,
            "futureHitRate": figures.future_hit_rate,
            "coverage": figures.coverage,
            "predictions": figures.predictions,
            "retrievalDuration": _durations(figures.retrieval_duration),
            "scoringDuration": _durations(figures.scoring_duration),
            "orderingDuration": _durations(figures.ordering_duration),
            "clickThroughRate": figures.click_through_rate,
            "clicks": figures.clicks,
            "recommendationViews": figures.recommendation_views,
        },
    }


def metric_result_dict(result: MetricResult) -> dict[str, Any]:
    comparison = result.comparison
    return {
        "value": result.value,
        "successes": result.successes,
        "trials": result.trials,
        "ci95": None if result.interval is None else list(result.interval),
        "z": comparison.z,
        "pValue": comparison.p_value,
        "verdict": comparison.verdict,
    }


def arm_dict(arm: ArmReport) -> dict[str, Any]:
    return {
        "name": arm.name,
        "weight": arm.weight,
        "overrides": arm.overrides,
        "control": arm.is_control,
        "predictions": arm.figures.predictions,
        "metrics": {key: metric_result_dict(result) for key, result in arm.metrics.items()},
    }


def experiment_dict(experiment: ExperimentReport) -> dict[str, Any]:
    return {
        "name": experiment.name,
        "active": experiment.is_active,
        "configured": experiment.is_configured,
        "predictions": experiment.predictions,
        "arms": [arm_dict(arm) for arm in experiment.arms],
    }


def performance_body(
    *, report: PerformanceReport, states: list[ModelState], experiments: list[ExperimentReport] = ()
) -> dict[str, Any]:
    """Contract 8.2, plus `experiments` (per arm: figures, 95% intervals, verdicts)."""
    models = ordered_states(states, with_dummy=False)
    return {
        "models": [model_dict(s) for s in models],
        "performance": {
            "general": performance_dict(report.general, report.k),
            "modelSpecific": {
                s.name: performance_dict(report.model_specific.get(s.name, PerformanceFigures()), report.k)
                for s in models
            },
        },
        "info": PERFORMANCE_INFO,
        "experiments": [experiment_dict(experiment) for experiment in experiments],
    }


def _pair(values: tuple[float | None, float | None]) -> dict[str, float | None]:
    return {"avg": values[0], "max": values[1]}


def training_dict(figures: TrainingFigures) -> dict[str, Any]:
    latest = figures.latest
    return {
        "data": {
            "trainings": {
                "started": figures.started,
                "completed": figures.completed,
                "failed": figures.failed,
                "skipped": figures.skipped,
                "unfinished": figures.unfinished,
            },
            "peakMemory": _pair(figures.peak_memory),
            "peakMemoryPercentage": _pair(figures.peak_memory_percentage),
            "duration": _pair(figures.duration),
            "latestMetrics": None
            if latest is None
            else {
                "modelIdentifier": latest.model_identifier,
                "createAt": latest.create_at.isoformat(),
                "fullTrain": latest.full_train,
                "metrics": latest.metrics,
                "hyperparameters": latest.hyperparameters,
            },
        }
    }


def training_body(*, report: TrainingReport, states: list[ModelState]) -> dict[str, Any]:
    """Contract 8.3."""
    models = ordered_states(states, with_dummy=False)
    return {
        "models": [model_dict(s) for s in models],
        "training": {
            "general": training_dict(report.general),
            "modelSpecific": {
                s.name: training_dict(report.model_specific.get(s.name, TrainingFigures())) for s in models
            },
        },
    }
