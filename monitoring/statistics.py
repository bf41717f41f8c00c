"""The statistics of an experiment: a 95% confidence interval for each arm's proportion and a
two-proportion test of each arm against the control.

Intervals are Wilson score intervals: unlike the plain normal approximation (p ± 1.96·√(p(1−p)/n))
they stay inside [0, 1] and do not shrink to nothing at 0 or 1 hits, which small arms often have.
The test is the pooled two-proportion z-test (normal approximation), two-sided:
z = (p₁ − p₀) / √(p̂(1 − p̂)(1/n₀ + 1/n₁)) with p̂ the pooled proportion, p = erfc(|z|/√2)."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054  # the 97.5th percentile of the standard normal distribution
SIGNIFICANCE = 0.05


class Verdict:
    CONTROL = "control"
    BETTER = "better"
    WORSE = "worse"
    NO_DIFFERENCE = "no significant difference"
    NOT_ENOUGH_DATA = "not enough data"


@dataclass(frozen=True)
class Proportion:
    successes: int
    trials: int

    @property
    def value(self) -> float | None:
        return self.successes / self.trials if self.trials else None

    @property
    def is_proportion(self) -> bool:
        return 0 <= self.successes <= self.trials and self.trials > 0


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of successes/trials; None without trials or for a count
    outside 0..trials (clicks can outnumber the recommendation views they are divided by)."""
    if trials <= 0 or not 0 <= successes <= trials:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # At no hits or only hits the bound is exactly 0 or 1 (the formula leaves rounding noise).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Comparison:
    z: float | None
    p_value: float | None
    verdict: str


def two_proportion_test(control: Proportion, arm: Proportion, *, alpha: float = SIGNIFICANCE) -> Comparison:
    """Whether `arm`'s proportion differs from `control`'s (two-sided, pooled z-test). Equal
    proportions, and two arms with no hits or only hits, differ by nothing: p = 1."""
    if not (control.is_proportion and arm.is_proportion):
        return Comparison(z=None, p_value=None, verdict=Verdict.NOT_ENOUGH_DATA)
    pooled = (control.successes + arm.successes) / (control.trials + arm.trials)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / control.trials + 1 / arm.trials))
    difference = arm.successes / arm.trials - control.successes / control.trials
    if spread == 0:
        return Comparison(z=0.0, p_value=1.0, verdict=Verdict.NO_DIFFERENCE)
    z = difference / spread
    p_value = math.erfc(abs(z) / math.sqrt(2))
    if p_value >= alpha:
        verdict = Verdict.NO_DIFFERENCE
    else:
        verdict = Verdict.BETTER if difference > 0 else Verdict.WORSE
    return Comparison(z=z, p_value=p_value, verdict=verdict)
