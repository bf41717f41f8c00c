"""Dummy, selection and popularity: availability, stock, exclusion, weights and orderings."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from recommendations.algorithms.base import Catalogue, PredictContext, RecommendationType
from recommendations.algorithms.dummy import DummyModel
from recommendations.algorithms.popularity import PopularityModel, popularity_from_orders
from recommendations.algorithms.selection import SelectionModel


def context(catalogue: Catalogue, seed: int | None = 0, exclude=frozenset(), kind=RecommendationType.HOMEPAGE):
    return PredictContext(recommendation_type=kind, catalogue=catalogue, exclude=frozenset(exclude), seed=seed)


def test_dummy_returns_in_stock_first_then_fills_with_out_of_stock_and_honours_exclusion():
    catalogue = Catalogue.build(
        ["a", "b", "c", "d", "e"],
        is_available=[True, True, True, False, True],
        in_stock=[True, False, True, True, True],
    )

    result = DummyModel().retrieve(context(catalogue, exclude={"e"}), 10)

    assert sorted(result[:2]) == ["a", "c"]
    assert result[2:] == ["b"]  # d is unavailable, e excluded


def test_dummy_is_seeded_and_scores_in_the_given_order():
    catalogue = Catalogue.build([f"s{i}" for i in range(50)])
    model = DummyModel()

    first = model.retrieve(context(catalogue, seed=7), 10)

    assert first == model.retrieve(context(catalogue, seed=7), 10)
    assert len(set(first)) == 10
    assert model.score(context(catalogue), ["x", "s3", "s1"]) == [("x", 3.0), ("s3", 2.0), ("s1", 1.0)]


def test_selection_first_draw_frequencies_match_the_weights():
    # Given weights 1:2:3:4, the first draw must pick each item with probability w / 10.
    catalogue = Catalogue.build(["a", "b", "c", "d"], recommendation_weight=[1.0, 2.0, 3.0, 4.0])
    model = SelectionModel()
    draws = 20_000

    orders = [model.retrieve(context(catalogue, seed=seed), 4) for seed in range(draws)]

    first = Counter(order[0] for order in orders)
    for sku, expected in zip("abcd", (0.1, 0.2, 0.3, 0.4)):
        # The standard deviation of each frequency is at most 0.0035; 0.015 is over 4 of them.
        assert first[sku] / draws == pytest.approx(expected, abs=0.015)
    # Sequential sampling without replacement: P(d then c) = 0.4 × 3/6 = 0.2.
    assert sum(order[:2] == ["d", "c"] for order in orders) / draws == pytest.approx(0.2, abs=0.015)


def test_selection_never_samples_non_positive_weights_before_positive_ones():
    catalogue = Catalogue.build(
        ["zero", "one", "two", "negative", "gone"],
        recommendation_weight=[0.0, 1.0, 1.0, -1.0, 5.0],
        is_available=[True, True, True, True, False],
    )
    model = SelectionModel()

    for seed in range(200):
        order = model.retrieve(context(catalogue, seed=seed), 10)
        assert sorted(order[:2]) == ["one", "two"]
        assert sorted(order[2:]) == ["negative", "zero"]


def test_selection_puts_in_stock_items_first_and_scores_by_weight_stably():
    catalogue = Catalogue.build(
        ["a", "b", "c", "d"], in_stock=[False, True, True, True], recommendation_weight=[9.0, 1.0, 2.0, 1.0]
    )
    model = SelectionModel()

    assert model.retrieve(context(catalogue, exclude={"c"}), 10)[-1] == "a"
    assert model.score(context(catalogue), ["d", "b", "zz", "a", "c"]) == [
        ("a", 9.0),
        ("c", 2.0),
        ("d", 1.0),
        ("b", 1.0),
        ("zz", float("-inf")),
    ]


def test_popularity_scores_by_popularity_not_by_sku():
    catalogue = Catalogue.build(["a", "b", "c", "d"], popularity=[5.0, 0.0, 10.0, 1.0])

    scored = PopularityModel().score(context(catalogue), ["a", "b", "c", "d"])

    assert [sku for sku, _ in scored] == ["c", "a", "d", "b"]


def test_popularity_samples_sold_items_before_never_sold_ones():
    catalogue = Catalogue.build(["a", "b", "c", "d"], popularity=[5.0, 0.0, 10.0, 1.0])
    model = PopularityModel()

    for seed in range(100):
        order = model.retrieve(context(catalogue, seed=seed), 4)
        assert order[-1] == "b"
        assert sorted(order) == ["a", "b", "c", "d"]


def test_popularity_is_ready_only_with_a_sale():
    model = PopularityModel()

    assert not model.is_ready(context(Catalogue.build(["a", "b"])))
    assert model.is_ready(context(Catalogue.build(["a", "b"], popularity=[0.0, 0.5])))


def test_popularity_from_orders_sums_units_with_optional_half_life():
    now = datetime(2024, 1, 31, tzinfo=UTC)
    days = [0, 10, 20, 0]
    timestamps = [now - timedelta(days=d) for d in days]

    plain = popularity_from_orders(["a", "b"], ["a", "a", "b", "zz"], [1, 2, 3, 9], timestamps, now, None)
    decayed = popularity_from_orders(["a", "b"], ["a", "a", "b", "zz"], [1, 2, 3, 9], timestamps, now, 10.0)

    assert plain.tolist() == [3.0, 3.0]
    # a: 1 + 2 × 0.5; b: 3 × 0.25
    assert decayed.tolist() == pytest.approx([2.0, 0.75])


def test_weighted_order_is_reproducible_with_a_seed():
    from recommendations.algorithms.ranking import weighted_order

    first = weighted_order(np.random.default_rng(3), np.array([1.0, 0.0, 2.0]))

    assert first.tolist() == weighted_order(np.random.default_rng(3), np.array([1.0, 0.0, 2.0])).tolist()
    assert first[-1] == 1
