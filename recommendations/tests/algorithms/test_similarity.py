"""Similarity: hand-computed distances, neighbours, retrieval, scoring and readiness."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recommendations.algorithms.base import Catalogue, PredictContext, RecommendationType
from recommendations.algorithms.similarity import SimilarityData, SimilarityModel, SimilarityParams, neighbour_recall

NAN = float("nan")
SKUS = ["1", "2", "3", "4"]


def numerical_data() -> SimilarityData:
    # The contract's numerical fixture, under our definition: one price list where everyone
    # costs the same (column → 0.5), a1 ∈ {10, 20} (→ 0/1), a2 missing on "4" (→ mean 1/3),
    # a3 only on "4" (constant → 0.5, mean 0.5 elsewhere).
    return SimilarityData(
        skus=SKUS,
        prices={"CZK": np.array([100.0, 100.0, 100.0, 100.0])},
        numerical=np.array([[10, 0, NAN], [10, 4, NAN], [20, 0, NAN], [20, NAN, 7]], dtype=float),
        categorical=[],
    )


def categorical_data() -> SimilarityData:
    return SimilarityData(
        skus=SKUS,
        prices={},
        numerical=np.zeros((4, 0)),
        categorical=[
            [frozenset({"rock"}), frozenset({"rock", "pop"}), frozenset(), frozenset({"jazz"})],
            [frozenset({"red"}), frozenset({"red"}), frozenset({"blue"}), frozenset()],
        ],
    )


# Masks: "1".."3" define {price, a1, a2}, "4" {price, a1, a3}: among "1".."3" the factor is
# (3+3−3)/3 = 1; with "4" k = 2 and the factor (3+3−2)/2 = 2.
NUMERICAL = {
    ("1", "2"): 1.0,
    ("1", "3"): 1.0,
    ("2", "3"): math.sqrt(2),
    ("1", "4"): 2 * math.sqrt(1 + 1 / 9),
    ("2", "4"): 2 * math.sqrt(1 + 4 / 9),
    ("3", "4"): 2 * (1 / 3),
}
# Blocks of norm 1/√2: genre columns (jazz, pop, rock), "3" gets rock (most common);
# colour (blue, red), "4" gets red. Factors: "1"/"2" share both types (1); "1"–"3", "1"–"4",
# "2"–"3", "2"–"4" share one of two types ((2+1−1)/1 = 2); "3"–"4" share none (1+1 = 2).
CATEGORICAL = {
    ("1", "2"): math.sqrt(1 - 1 / math.sqrt(2)),
    ("1", "3"): 2 * 1.0,
    ("1", "4"): 2 * 1.0,
    ("2", "3"): 2 * math.sqrt(2 - 1 / math.sqrt(2)),
    ("2", "4"): 2 * 1.0,
    ("3", "4"): 2 * math.sqrt(2),
}


def matrix_of(pairs: dict[tuple[str, str], float]) -> np.ndarray:
    expected = np.zeros((4, 4))
    for (a, b), value in pairs.items():
        expected[SKUS.index(a), SKUS.index(b)] = expected[SKUS.index(b), SKUS.index(a)] = value
    return expected


@pytest.mark.parametrize(
    "data, pairs",
    [
        (numerical_data(), NUMERICAL),
        (categorical_data(), CATEGORICAL),
    ],
    ids=["numerical", "categorical"],
)
def test_distances_match_the_hand_computation(data, pairs):
    model, _ = SimilarityModel.fit(data, SimilarityParams(neighbours=3))

    assert model.distances(SKUS) == pytest.approx(matrix_of(pairs), abs=1e-12)


def test_distance_is_the_sum_of_both_spaces():
    numerical, categorical = numerical_data(), categorical_data()
    both = SimilarityData(SKUS, numerical.prices, numerical.numerical, categorical.categorical)

    model, _ = SimilarityModel.fit(both, SimilarityParams(neighbours=3))

    expected = matrix_of(NUMERICAL) + matrix_of(CATEGORICAL)
    assert model.distances(SKUS) == pytest.approx(expected, abs=1e-12)


def test_neighbours_are_sorted_exact_and_exclude_the_variant_itself():
    model, result = SimilarityModel.fit(numerical_data(), SimilarityParams(neighbours=5, chunk_size=3))

    skus, index, distance = model.neighbours()

    assert skus == SKUS
    assert index.dtype == np.int32 and distance.dtype == np.float32
    # "1": "2" and "3" tie at 1, the lower index first.
    assert index.tolist() == [[1, 2, 3], [0, 2, 3], [3, 0, 1], [2, 0, 1]]
    assert distance[0] == pytest.approx([1.0, 1.0, NUMERICAL[("1", "4")]])
    assert distance[3] == pytest.approx([2 / 3, NUMERICAL[("1", "4")], NUMERICAL[("2", "4")]])
    assert result.metrics["mean_distance"] == pytest.approx(sum(NUMERICAL.values()) / 6, rel=1e-5)


def test_unknown_skus_get_the_mean_distance():
    model, _ = SimilarityModel.fit(numerical_data(), SimilarityParams(neighbours=3))
    mean = sum(NUMERICAL.values()) / 6

    matrix = model.distances(["1", "new", "4"])

    assert matrix == pytest.approx(
        np.array([[0, mean, NUMERICAL[("1", "4")]], [mean, 0, mean], [NUMERICAL[("1", "4")], mean, 0]]), rel=1e-5
    )


def request(kind, catalogue=None, **fields):
    return PredictContext(recommendation_type=kind, catalogue=catalogue or Catalogue.build(SKUS), **fields)


def test_product_detail_retrieval_returns_the_closest_available_not_excluded_variants():
    model, _ = SimilarityModel.fit(numerical_data(), SimilarityParams(neighbours=3))
    catalogue = Catalogue.build(SKUS + ["new"], is_available=[True, True, False, True, True])

    result = model.retrieve(request(RecommendationType.PRODUCT_DETAIL, catalogue, viewed_variant="1"), 10)
    excluded = model.retrieve(
        request(RecommendationType.PRODUCT_DETAIL, catalogue, viewed_variant="1", exclude=frozenset({"2"})), 10
    )

    assert result == ["2", "4"]  # "1" is the viewed one, "3" unavailable, "new" unknown
    assert excluded == ["4"]


def test_cart_retrieval_uses_the_nearest_cart_item():
    model, _ = SimilarityModel.fit(numerical_data(), SimilarityParams(neighbours=3))

    result = model.retrieve(request(RecommendationType.CART, cart=("1", "4", "gone")), 10)

    # "3": min(1, 2/3) = 2/3; "2": min(1, 2.40) = 1
    assert result == ["3", "2"]


def test_scoring_ranks_by_ascending_distance_and_puts_unknown_last():
    model, _ = SimilarityModel.fit(numerical_data(), SimilarityParams(neighbours=3))

    scored = model.score(request(RecommendationType.PRODUCT_DETAIL, viewed_variant="4"), ["1", "x", "2", "3"])

    assert scored == [
        ("3", pytest.approx(-2 / 3)),
        ("1", pytest.approx(-NUMERICAL[("1", "4")])),
        ("2", pytest.approx(-NUMERICAL[("2", "4")])),
        ("x", float("-inf")),
    ]


def test_readiness_needs_a_known_viewed_variant_or_cart_item():
    model, _ = SimilarityModel.fit(numerical_data(), SimilarityParams(neighbours=3))

    assert model.is_ready(request(RecommendationType.PRODUCT_DETAIL, viewed_variant="2"))
    assert not model.is_ready(request(RecommendationType.PRODUCT_DETAIL, viewed_variant="unknown"))
    assert not model.is_ready(request(RecommendationType.PRODUCT_DETAIL))
    assert model.is_ready(request(RecommendationType.CART, cart=("zz", "3")))
    assert not model.is_ready(request(RecommendationType.CART, cart=()))
    assert not model.is_ready(request(RecommendationType.HOMEPAGE, viewed_variant="2"))
    with pytest.raises(TypeError):
        model.retrieve(request(RecommendationType.HOMEPAGE), 3)


def kernel_data(n: int = 60) -> SimilarityData:
    rng = np.random.default_rng(0)
    values = [f"v{i}" for i in range(12)]
    many = [f"w{i}" for i in range(40)]
    return SimilarityData(
        skus=[f"s{i}" for i in range(n)],
        prices={"A": np.where(rng.random(n) < 0.2, np.nan, rng.random(n) * 100)},
        numerical=np.where(rng.random((n, 3)) < 0.3, np.nan, rng.random((n, 3))),
        categorical=[
            [frozenset(rng.choice(values, size=rng.integers(0, 3), replace=False).tolist()) for _ in range(n)],
            # Single-valued with many values: compared by value code in the kernel.
            [frozenset() if rng.random() < 0.3 else frozenset({str(rng.choice(many))}) for _ in range(n)],
        ],
    )


@pytest.mark.parametrize(
    "setting, value",
    [
        ("DENSE_CATEGORICAL_BYTES", 0),  # sparse categorical product
        ("MAX_MASK_PATTERNS", 0),  # mask matmul instead of the pattern table
        ("CODED_TYPE_MIN_VALUES", 10**9),  # wide type multiplied as one-hot
    ],
)
def test_every_kernel_path_gives_the_same_exact_neighbours(monkeypatch, setting, value):
    data = kernel_data()
    n = len(data.skus)
    reference, _ = SimilarityModel.fit(data, SimilarityParams(neighbours=n, chunk_size=n))
    monkeypatch.setattr(f"recommendations.algorithms.similarity.{setting}", value)

    chunked, _ = SimilarityModel.fit(data, SimilarityParams(neighbours=n, chunk_size=7))

    # All neighbours kept: the kernel's float32 choice cannot matter, only exactness and order.
    assert chunked.neighbour_index.tolist() == reference.neighbour_index.tolist()
    assert chunked.mean_distance == pytest.approx(reference.mean_distance, rel=1e-5)
    full = reference.distances(data.skus)
    expected = np.take_along_axis(full, reference.neighbour_index.astype(np.int64), axis=1)
    assert reference.neighbour_distance == pytest.approx(expected.astype(np.float32))


def test_kernel_choice_matches_exact_nearest_neighbours():
    data = kernel_data(200)
    model, _ = SimilarityModel.fit(data, SimilarityParams(neighbours=5, chunk_size=64))

    full = model.distances(data.skus)
    np.fill_diagonal(full, np.inf)

    # The chosen 5 are the exact 5 nearest (up to float32 ties at the boundary).
    fifth = np.sort(full, axis=1)[:, 4]
    assert np.all(model.neighbour_distance[:, -1] <= fifth + 1e-5)


def grouped_data(n: int = 600) -> SimilarityData:
    # Few groups (brand × colour × which values are missing), continuous prices: no exact ties.
    rng = np.random.default_rng(3)
    brands = ["a", "b", "c"]
    return SimilarityData(
        skus=[f"s{i:03d}" for i in range(n)],
        prices={"A": rng.lognormal(3, 0.5, n)},
        numerical=np.column_stack([rng.random(n), np.where(rng.random(n) < 0.3, np.nan, rng.random(n))]),
        categorical=[
            [frozenset() if rng.random() < 0.2 else frozenset({str(rng.choice(brands))}) for _ in range(n)],
            [frozenset({str(rng.choice(["red", "blue"]))}) for _ in range(n)],
        ],
    )


def brute_force_neighbours(model: SimilarityModel, k: int) -> tuple[np.ndarray, np.ndarray]:
    full = model.distances(model.skus)
    np.fill_diagonal(full, np.inf)
    columns = np.broadcast_to(np.arange(len(full)), full.shape)
    order = np.lexsort((columns, full), axis=1)[:, :k]
    return order, np.take_along_axis(full, order, axis=1)


def test_grouped_search_finds_the_exact_nearest_neighbours(monkeypatch):
    from recommendations.algorithms import similarity

    monkeypatch.setattr(similarity, "GROUP_CHUNK_ROWS", 50)  # several chunks per group
    data = grouped_data()

    model, _ = SimilarityModel.fit(data, SimilarityParams(neighbours=20))

    assert similarity._VariantGroups.of(model) is not None  # 24 groups or fewer for 600 rows
    index, distance = brute_force_neighbours(model, 20)
    # Exact, unlike the float32 blocked kernel, which may swap near-ties at the K-th place.
    assert model.neighbour_index.tolist() == index.tolist()
    assert model.neighbour_distance.tolist() == distance.astype(np.float32).tolist()


def test_blocked_kernel_is_used_when_there_are_many_groups(monkeypatch):
    from recommendations.algorithms import similarity

    monkeypatch.setattr(similarity, "MAX_NEIGHBOUR_GROUPS", 0)
    data = grouped_data()

    model, _ = SimilarityModel.fit(data, SimilarityParams(neighbours=20))

    assert similarity._VariantGroups.of(model) is None
    _, distance = brute_force_neighbours(model, 20)
    # The float32 kernel chooses the candidates: a near-tie at the K-th place may go either way.
    assert model.neighbour_distance[:, -1] == pytest.approx(distance[:, -1], rel=1e-3)


def test_grouped_search_keeps_ties_exact_and_the_variant_out_of_its_own_list():
    # Eight identical variants and two others: every list of K = 7 is at distance 0.
    data = SimilarityData(
        skus=[f"s{i}" for i in range(10)],
        prices={"A": np.array([1.0] * 8 + [5.0, 9.0])},
        numerical=np.zeros((10, 0)),
        categorical=[[frozenset({"x"})] * 10],
    )

    model, result = SimilarityModel.fit(data, SimilarityParams(neighbours=7))

    assert model.neighbour_distance[:8].tolist() == [[0.0] * 7] * 8
    for row in range(8):
        assert sorted(model.neighbour_index[row].tolist()) == [other for other in range(8) if other != row]
    # Six of the eight tied at distance 1: which six is the search's choice, any is as near.
    assert model.neighbour_index[9, 0] == 8 and len(set(model.neighbour_index[9, 1:].tolist()) & set(range(8))) == 6
    assert model.neighbour_distance[9].tolist() == [0.5] + [1.0] * 6
    # All 45 pairs: 28 at 0, 8 at 0.5 (s8 to s0..s7), 8 at 1 (s9 to s0..s7), 1 at 0.5 (s8–s9).
    assert result.metrics["mean_distance"] == pytest.approx((8 * 0.5 + 8 * 1.0 + 0.5) / 45)


def test_neighbours_of_returns_the_stored_lists_of_the_rows():
    model, _ = SimilarityModel.fit(numerical_data(), SimilarityParams(neighbours=2))

    index, distance = model.neighbours_of([3, 0])

    assert index.tolist() == [[2, 0], [1, 2]]
    assert distance[0].tolist() == pytest.approx([2 / 3, NUMERICAL[("1", "4")]])
    assert distance[1].tolist() == [1.0, 1.0]


def test_neighbour_recall_counts_ties_at_the_kth_distance_as_hits():
    # Row 0's exact distances to rows 1..4 are 1, 2, 2, 3: with K = 2 the K-th distance is 2, so
    # row 3 is as good a second neighbour as row 2.
    rows = np.array([0, 0, 0, 0, 0])
    found_index = np.array([[1, 2], [1, 3], [1, 4], [0, 1], [1, 1]])
    found_distance = np.array([[1, 2], [1, 2], [1, 3], [0, 1], [1, 1]], dtype=float)
    exact_kth = np.full(5, 2.0)

    per_list = [
        neighbour_recall(rows[i : i + 1], found_index[i : i + 1], found_distance[i : i + 1], exact_kth[i : i + 1])
        for i in range(5)
    ]

    # exact; tie; one too far; itself listed; one listed twice
    assert per_list == [1.0, 1.0, 0.5, 0.5, 0.5]
    assert neighbour_recall(rows, found_index, found_distance, exact_kth) == 0.7


def test_exact_kth_distances_are_the_brute_force_kth():
    model, _ = SimilarityModel.fit(numerical_data(), SimilarityParams(neighbours=3))

    assert model.exact_kth_distances([0, 3], 2).tolist() == pytest.approx([1.0, NUMERICAL[("1", "4")]])


@pytest.mark.parametrize("dense", [True, False])
def test_distances_of_a_few_skus_equal_the_pair_by_pair_distances(monkeypatch, dense):
    from recommendations.algorithms import similarity

    if not dense:
        monkeypatch.setattr(similarity, "DENSE_CATEGORICAL_LIMIT", 0)
    model, _ = SimilarityModel.fit(grouped_data(300), SimilarityParams(neighbours=5))
    assert (model.categorical_dense is not None) == dense
    rows = np.random.default_rng(5).choice(len(model.skus), size=60, replace=False)
    skus = [model.skus[row] for row in rows]

    matrix = model.distances([*skus[:30], "unknown", *skus[30:]])

    # The unknown SKU sits at the mean distance from everyone; the others as pair_distances says.
    assert matrix[30, :30].tolist() == [model.mean_distance] * 30
    assert matrix[30, 30] == 0.0
    known = np.delete(np.delete(matrix, 30, axis=0), 30, axis=1)
    left, right = np.meshgrid(rows, rows, indexing="ij")
    expected = model.pair_distances(left.ravel(), right.ravel()).reshape(60, 60)
    assert known == pytest.approx(expected, abs=1e-12)
    assert np.all(np.diag(known) == 0.0)
