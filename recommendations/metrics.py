"""What one answered prediction adds to the Prometheus metrics (`core.metrics`)."""

from __future__ import annotations

from typing import Protocol

from core import metrics
from recommendations.algorithms.base import Phase, RecommendationType
from recommendations.config import RecommenderConfig

PHASES = ("retrieval", "scoring", "ordering")


class _Answer(Protocol):
    recommendation_type: RecommendationType
    retrieval_model: tuple[str, str]
    scoring_model: tuple[str, str]
    durations: dict[str, float]
    from_cache: bool
    experiment: str | None
    arm: str | None


def _first_enabled(config: RecommenderConfig, recommendation_type: RecommendationType, phase: Phase) -> str | None:
    return next(
        (name for name in config.cascade(recommendation_type.value, phase.value) if not config.is_disabled(name)),
        None,
    )


def prediction_metrics_record(*, answer: _Answer, config: RecommenderConfig, seconds: float) -> None:
    """Count the answer and observe its durations. `config` is the one it was served with (the
    arm's, in an experiment): a fallback is an answer from another model than the first enabled
    one of that config's cascade. A cached answer counts, with its total time only."""
    kind = answer.recommendation_type.value
    metrics.predictions.labels(
        kind,
        answer.retrieval_model[0],
        answer.scoring_model[0],
        answer.experiment or metrics.NO_EXPERIMENT,
        answer.arm or metrics.NO_EXPERIMENT,
    ).inc()
    metrics.predict_duration.labels(kind, "total").observe(seconds)
    if answer.from_cache:
        return
    for phase in PHASES:
        if phase in answer.durations:
            metrics.predict_duration.labels(kind, phase).observe(answer.durations[phase])
    for phase, (model, _identifier) in (
        (Phase.RETRIEVAL, answer.retrieval_model),
        (Phase.SCORING, answer.scoring_model),
    ):
        wanted = _first_enabled(config, answer.recommendation_type, phase)
        if wanted is not None and model != wanted:
            metrics.cascade_fallbacks.labels(kind, phase.value.lower(), model).inc()
