"""The experiment statistics on hand-computed numbers: Wilson 95% intervals and the pooled
two-proportion z-test."""

import math

import pytest

from monitoring.statistics import Comparison, Proportion, Verdict, two_proportion_test, wilson_interval


def test_wilson_interval_of_20_in_100():
    # centre = (0.2 + 1.96²/200) / (1 + 1.96²/100) = 0.211099; half = 1.96·√(0.0016 + 0.000096)/1.038415
    low, high = wilson_interval(20, 100)

    assert low == pytest.approx(0.133367, abs=1e-6)
    assert high == pytest.approx(0.288829, abs=1e-6)


def test_wilson_interval_ends_exactly_at_0_and_1_and_is_none_without_trials():
    assert wilson_interval(0, 50) == (0.0, pytest.approx(0.071348, abs=1e-6))
    assert wilson_interval(50, 50) == (pytest.approx(0.928652, abs=1e-6), 1.0)
    assert wilson_interval(0, 0) is None
    assert wilson_interval(5, 4) is None  # more clicks than views is not a proportion


def test_a_clear_improvement_is_better():
    # pooled 55/200 = 0.275; se = √(0.275·0.725·(1/100 + 1/100)) = 0.063147; z = 0.15/0.063147
    result = two_proportion_test(Proportion(20, 100), Proportion(35, 100))

    assert result.z == pytest.approx(2.375423, abs=1e-6)
    assert result.p_value == pytest.approx(0.017529, abs=1e-6)
    assert result.p_value == pytest.approx(math.erfc(result.z / math.sqrt(2)))
    assert result.verdict == Verdict.BETTER


def test_a_clear_loss_is_worse_and_a_small_difference_is_not_significant():
    worse = two_proportion_test(Proportion(30, 100), Proportion(15, 100))
    small = two_proportion_test(Proportion(20, 100), Proportion(25, 100))

    assert (round(worse.z, 6), round(worse.p_value, 6), worse.verdict) == (-2.540003, 0.011085, Verdict.WORSE)
    assert (round(small.z, 6), round(small.p_value, 6), small.verdict) == (0.846668, 0.39718, Verdict.NO_DIFFERENCE)


def test_equal_extremes_do_not_differ_and_empty_arms_have_no_verdict():
    assert two_proportion_test(Proportion(0, 40), Proportion(0, 60)) == Comparison(0.0, 1.0, Verdict.NO_DIFFERENCE)
    assert two_proportion_test(Proportion(0, 0), Proportion(3, 10)).verdict == Verdict.NOT_ENOUGH_DATA
    assert two_proportion_test(Proportion(3, 10), Proportion(0, 0)).p_value is None
