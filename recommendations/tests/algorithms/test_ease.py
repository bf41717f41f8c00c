"""EASE: the closed form against a hand inverse, λ selection, prediction and the data builder."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.algorithms.base import Catalogue, NotReadyForTraining, PredictContext, RecommendationType
from recommendations.algorithms.ease import EASEData, EASEModel, EASEParams, build_ease_data, ease_weights


def test_two_items_by_hand():
    # X = [[1, 1]], λ = 1: G = [[2, 1], [1, 2]], P = [[2, −1], [−1, 2]] / 3,
    # B_01 = −P_01 / P_11 = (1/3) / (2/3) = 0.5.
    weights = ease_weights(sp.csr_matrix(np.array([[1.0, 1.0]], dtype=np.float32)), 1.0)

    assert weights == pytest.approx(np.array([[0.0, 0.5], [0.5, 0.0]]))


def test_three_items_against_numpy_inverse():
    x = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 0], [1, 1, 1]], dtype=np.float32)
    l2 = 2.0
    gram = x.T.astype(np.float64) @ x + l2 * np.eye(3)
    p = np.linalg.inv(gram)
    expected = -p / np.diag(p)[None, :]
    np.fill_diagonal(expected, 0.0)

    weights = ease_weights(sp.csr_matrix(x), l2)

    assert weights == pytest.approx(expected, abs=1e-6)
    assert weights.flags.c_contiguous and weights.dtype == np.float32


def clustered_data(users: int = 60) -> EASEData:
    # Users of group A interact with items a0..a4, group B with b0..b4; each user with 3 of 5.
    rng = np.random.default_rng(0)
    triplets = []
    for user in range(users):
        group = "a" if user % 2 == 0 else "b"
        for item in rng.choice(5, size=3, replace=False):
            triplets.append((f"u{user}", f"{group}{item}", 1.0))
    return build_ease_data(triplets, skus=[f"{g}{i}" for g in "ab" for i in range(5)])


def test_fit_records_a_step_per_l2_option_and_recommends_the_right_cluster():
    model, result = EASEModel.fit(clustered_data(), EASEParams(l2_options=(0.5, 5.0, 50.0)))

    assert [step[0] for step in result.steps] == [{"l2": 0.5}, {"l2": 5.0}, {"l2": 50.0}]
    assert all({"recall@20", "ndcg@20"} <= set(metrics) for _, metrics in result.steps)
    best = max(result.steps, key=lambda step: step[1]["ndcg@20"])
    assert result.hyperparameters["l2"] == best[0]["l2"] == model.l2
    catalogue = Catalogue.build([f"{g}{i}" for g in "ab" for i in range(5)] + ["new"])
    # A requester never seen in training: only its history matters.
    context = PredictContext(
        recommendation_type=RecommendationType.HOMEPAGE,
        catalogue=catalogue,
        user_history=(("a0", 1.0), ("a1", 1.0), ("unknown", 3.0)),
        exclude=frozenset({"a0", "a1", "a2"}),
    )

    assert model.is_ready(context)
    assert sorted(model.retrieve(context, 2)) == ["a3", "a4"]
    assert len(model.retrieve(context, 100)) == 7  # 10 trained − 3 excluded; "new" is unknown


def test_retrieval_is_the_sorted_true_top_n():
    x = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [1, 0, 1, 1]], dtype=np.float32))
    data = EASEData(row_keys=["u0", "u1", "u2", "u3"], skus=["p", "q", "r", "s"], matrix=x)
    model, _ = EASEModel.fit(data, EASEParams(l2_options=(1.0,)))
    context = PredictContext(
        recommendation_type=RecommendationType.HOMEPAGE,
        catalogue=Catalogue.build(["p", "q", "r", "s"]),
        user_history=(("p", 1.0),),
    )
    scores = model.weights[0]  # x = e_p, so x·B is B's first row

    expected = [["p", "q", "r", "s"][i] for i in np.argsort(-scores, kind="stable")]

    assert model.retrieve(context, 2) == expected[:2]
    assert [sku for sku, _ in model.score(context, ["s", "zz", "r", "q"])] == [
        sku for sku in expected if sku in {"s", "r", "q"}
    ] + ["zz"]
    assert dict(model.score(context, ["s", "r"]))["s"] == pytest.approx(float(scores[3]))


def test_readiness_needs_a_known_history_item():
    model, _ = EASEModel.fit(clustered_data(), EASEParams(l2_options=(10.0,)))
    catalogue = Catalogue.build(["a0"])

    assert not model.is_ready(PredictContext(RecommendationType.HOMEPAGE, catalogue, user_history=(("zz", 1.0),)))
    assert not model.is_ready(PredictContext(RecommendationType.HOMEPAGE, catalogue))


def test_only_the_most_interacted_items_get_columns():
    data = build_ease_data(
        [("u1", "a", 1), ("u2", "a", 1), ("u3", "a", 1), ("u1", "b", 1), ("u2", "b", 1), ("u3", "c", 1)]
    )

    model, result = EASEModel.fit(data, EASEParams(l2_options=(1.0,), max_items=2))

    assert model.skus == ["a", "b"]
    assert result.metrics["items"] == 2


def test_too_few_items_is_not_ready_for_training():
    with pytest.raises(NotReadyForTraining):
        EASEModel.fit(build_ease_data([("u1", "a", 1.0), ("u2", "a", 1.0)]))


def test_build_ease_data_combines_repeated_cells_and_keeps_timestamps_aligned():
    triplets = [("u1", "a", 1.0), ("u1", "a", 3.0), ("u1", "b", 2.0), ("u2", "a", 1.0)]

    maxed = build_ease_data(triplets, timestamps=[10.0, 5.0, 7.0, 1.0])
    summed = build_ease_data(triplets, aggregate="sum")
    fixed = build_ease_data(triplets, skus=["b", "z"])

    assert (maxed.row_keys, maxed.skus) == (["u1", "u2"], ["a", "b"])
    assert maxed.matrix.toarray().tolist() == [[3.0, 2.0], [1.0, 0.0]]
    assert maxed.timestamps.tolist() == [10.0, 7.0, 1.0]
    assert summed.matrix.toarray().tolist() == [[4.0, 2.0], [1.0, 0.0]]
    assert fixed.matrix.toarray().tolist() == [[2.0, 0.0]]
