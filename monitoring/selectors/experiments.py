"""How each arm of each experiment performed in the date range, with 95% confidence intervals and
a verdict per metric against the control (the first arm), from the performance report's per-arm
figures (see `performance` for the definitions and `monitoring.statistics` for the tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitoring.selectors.performance import PerformanceFigures, PerformanceReport
from monitoring.statistics import Comparison, Proportion, Verdict, two_proportion_test, wilson_interval
from recommendations.config import RecommenderConfig

# metric key (as the dashboard API names it) → (successes, trials) of an arm's figures.
EXPERIMENT_METRICS: dict[str, Any] = {
    "hitRate": lambda f: (f.hits, f.predictions),
    "futureHitRate": lambda f: (f.future_hits, f.predictions),
    "clickThroughRate": lambda f: (f.clicks, f.recommendation_views),
    "coverage": lambda f: (f.recommended_variants, f.catalogue_variants),
}


@dataclass(frozen=True)
class MetricResult:
    successes: int
    trials: int
    interval: tuple[float, float] | None  # 95%, Wilson
    comparison: Comparison  # against the control; the control's own verdict is "control"

    @property
    def value(self) -> float | None:
        return self.successes / self.trials if self.trials else None


@dataclass(frozen=True)
class ArmReport:
    name: str
    weight: float | None  # None: the arm is no longer in the config
    overrides: dict[str, Any]
    is_control: bool
    figures: PerformanceFigures
    metrics: dict[str, MetricResult] = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentReport:
    name: str
    is_active: bool
    is_configured: bool  # False: only its predictions are left, the config no longer lists it
    arms: list[ArmReport]

    @property
    def predictions(self) -> int:
        return sum(arm.figures.predictions for arm in self.arms)


def _metrics(figures: PerformanceFigures, control: PerformanceFigures, *, is_control: bool) -> dict[str, MetricResult]:
    results = {}
    for key, counts in EXPERIMENT_METRICS.items():
        successes, trials = counts(figures)
        if is_control:
            has_data = Proportion(successes, trials).is_proportion
            comparison = Comparison(None, None, Verdict.CONTROL if has_data else Verdict.NOT_ENOUGH_DATA)
        else:
            comparison = two_proportion_test(Proportion(*counts(control)), Proportion(successes, trials))
        results[key] = MetricResult(successes, trials, wilson_interval(successes, trials), comparison)
    return results


def experiment_reports(*, report: PerformanceReport, config: RecommenderConfig) -> list[ExperimentReport]:
    """Every experiment of the config (running first, then stopped, each in config order) and any
    other experiment that served predictions in the range, each arm with its figures."""
    configured = sorted(config.experiments, key=lambda experiment: not experiment.active)
    seen: dict[str, list[str]] = {}
    for experiment, arm in report.arms:
        seen.setdefault(experiment, []).append(arm)
    result = []
    for experiment in configured:
        arms = [(arm.name, arm.weight, arm.overrides) for arm in experiment.arms]
        listed = {name for name, _, _ in arms}
        arms += [(name, None, {}) for name in seen.get(experiment.name, []) if name not in listed]
        result.append(_report(experiment.name, experiment.active, True, arms, report))
    names = {experiment.name for experiment in configured}
    for name in sorted(set(seen) - names):
        result.append(_report(name, False, False, [(arm, None, {}) for arm in seen[name]], report))
    return result


def _report(
    name: str, is_active: bool, is_configured: bool, arms: list[tuple[str, float | None, dict]], report
) -> ExperimentReport:
    figures = [report.arms.get((name, arm), PerformanceFigures()) for arm, _, _ in arms]
    return ExperimentReport(
        name=name,
        is_active=is_active,
        is_configured=is_configured,
        arms=[
            ArmReport(
                name=arm,
                weight=weight,
                overrides=overrides,
                is_control=index == 0,
                figures=figures[index],
                metrics=_metrics(figures[index], figures[0], is_control=index == 0),
            )
            for index, (arm, weight, overrides) in enumerate(arms)
        ],
    )
