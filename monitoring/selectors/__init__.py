"""The monitoring figures (see `performance` for their definitions), the training records and
the models' states, always restricted to one date range."""

from monitoring.selectors.dates import DateRange
from monitoring.selectors.experiments import (
    EXPERIMENT_METRICS,
    ArmReport,
    ExperimentReport,
    MetricResult,
    experiment_reports,
)
from monitoring.selectors.models import ModelState, model_states
from monitoring.selectors.performance import (
    DailyFigures,
    DurationFigures,
    PerformanceFigures,
    PerformanceReport,
    percentile,
    performance_report,
)
from monitoring.selectors.texts import GENERAL, HIT_RATE_K, PERFORMANCE_INFO
from monitoring.selectors.training import (
    LatestTraining,
    TrainingFigures,
    TrainingRecord,
    TrainingReport,
    training_history,
    training_report,
)

__all__ = [
    "EXPERIMENT_METRICS",
    "ArmReport",
    "ExperimentReport",
    "MetricResult",
    "experiment_reports",
    "GENERAL",
    "HIT_RATE_K",
    "PERFORMANCE_INFO",
    "DailyFigures",
    "DateRange",
    "DurationFigures",
    "LatestTraining",
    "ModelState",
    "PerformanceFigures",
    "PerformanceReport",
    "TrainingFigures",
    "TrainingRecord",
    "TrainingReport",
    "model_states",
    "percentile",
    "performance_report",
    "training_history",
    "training_report",
]
