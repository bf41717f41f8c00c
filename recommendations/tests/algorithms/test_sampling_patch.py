"""Patched sampling tiers equal a full build: a stock update changes a few rows, and the tiers
a server updates for them must draw exactly what tiers built from scratch draw."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from recommendations.algorithms.base import Catalogue, PredictContext, RecommendationType
from recommendations.algorithms.dummy import DummyModel
from recommendations.algorithms.popularity import PopularityModel
from recommendations.algorithms.sampling import MAX_EXACT_GROUPS, MAX_INSERTS, WeightedTiers
from recommendations.algorithms.selection import SelectionModel


def _tiers_equal(a: WeightedTiers, b: WeightedTiers) -> None:
    assert len(a.tiers) == len(b.tiers)
    for left, right in zip(a.tiers, b.tiers):
        assert (left.ranked is None) == (right.ranked is None)
        if left.ranked is not None:
            np.testing.assert_array_equal(left.ranked, right.ranked)
            np.testing.assert_array_equal(left.ranked_weights, right.ranked_weights)
        else:
            np.testing.assert_array_equal(left.weights, right.weights)
            assert len(left.groups) == len(right.groups)
            for g, h in zip(left.groups, right.groups):
                np.testing.assert_array_equal(g, h)


def _random_catalogue(rng: np.random.Generator, n: int, distinct: int) -> Catalogue:
    return Catalogue.build(
        [f"S{i}" for i in range(n)],
        is_available=rng.random(n) > 0.1,
        in_stock=rng.random(n) > 0.3,
        recommendation_weight=rng.integers(0, distinct, n).astype(float),
        popularity=np.where(rng.random(n) > 0.5, rng.integers(0, distinct, n), 0).astype(float),
    )


def _changed(rng: np.random.Generator, catalogue: Catalogue, count: int, grow: int, distinct: int):
    n = len(catalogue)
    rows = np.unique(rng.integers(0, n, count))
    is_available = np.concatenate([catalogue.is_available, np.ones(grow, dtype=bool)])
    in_stock = np.concatenate([catalogue.in_stock, rng.random(grow) > 0.5])
    weight = np.concatenate([catalogue.recommendation_weight, rng.integers(0, distinct, grow).astype(float)])
    popularity = np.concatenate([catalogue.popularity, rng.integers(0, distinct, grow).astype(float)])
    is_available[rows] = rng.random(len(rows)) > 0.2
    in_stock[rows] = ~in_stock[rows]
    weight[rows] = rng.integers(0, distinct + 3, len(rows))
    popularity[rows] = rng.integers(0, distinct + 3, len(rows))
    skus = [f"S{i}" for i in range(n + grow)]
    after = Catalogue.build(skus, is_available, in_stock, weight, popularity)
    changed = np.concatenate([rows, np.arange(n, n + grow)])
    return after, changed


@pytest.mark.parametrize("model_class", [DummyModel, SelectionModel, PopularityModel])
@pytest.mark.parametrize("distinct", [5, MAX_EXACT_GROUPS + 40])
@pytest.mark.parametrize("count, grow", [(1, 0), (30, 0), (12, 7), (MAX_INSERTS + 50, 0)])
def test_patched_tiers_equal_a_full_build_and_draw_the_same(model_class, distinct, count, grow):
    rng = np.random.default_rng(count * 1000 + distinct + grow)
    model = model_class()
    catalogue = _random_catalogue(rng, 3000, distinct)
    model.prepare(catalogue)
    for _ in range(4):  # patch a patched catalogue again
        after, changed = _changed(rng, catalogue, count, grow, distinct)
        model.prepare(after, previous=catalogue, changed_rows=changed)
        patched = after.derived[model.name]
        fresh = replace(after, derived={})
        model.prepare(fresh)
        _tiers_equal(patched, fresh.derived[model.name])
        for seed in range(3):
            context = PredictContext(
                recommendation_type=RecommendationType.HOMEPAGE, catalogue=after, exclude=frozenset({"S3"}), seed=seed
            )
            fresh_context = replace(context, catalogue=fresh)
            assert model.draw(context, 50) == model.draw(fresh_context, 50)
        catalogue = after


def test_a_tier_crossing_the_exact_group_limit_changes_form_as_a_full_build_does():
    n = 500
    weights = np.arange(n, dtype=float) % (MAX_EXACT_GROUPS - 1) + 1  # exact groups
    tiers = WeightedTiers.build(np.zeros(n, dtype=int), weights)
    assert tiers.tiers[0].ranked is None
    rows = np.arange(0, 200, 2)
    new_weights = 1000.0 + rows  # many new distinct values: a ranked tier
    patched = tiers.patched(n, rows, np.zeros(len(rows), dtype=int), new_weights)
    weights[rows] = new_weights
    _tiers_equal(patched, WeightedTiers.build(np.zeros(n, dtype=int), weights))
    assert patched.tiers[0].ranked is not None
    # And back: the rows regain few distinct weights.
    back = patched.patched(n, rows, np.zeros(len(rows), dtype=int), np.ones(len(rows)))
    weights[rows] = 1.0
    _tiers_equal(back, WeightedTiers.build(np.zeros(n, dtype=int), weights))
    assert back.tiers[0].ranked is None


def test_a_row_leaving_the_last_tier_drops_the_empty_tier():
    tiers = WeightedTiers.build(np.array([0, 0, 1]), np.ones(3))
    patched = tiers.patched(3, np.array([2]), np.array([0]), np.ones(1))
    assert len(patched.tiers) == 1
    np.testing.assert_array_equal(patched.tiers[0].groups[0], [0, 1, 2])
