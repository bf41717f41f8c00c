"""Offline metrics on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.algorithms.evaluation import (
    NextItemEvaluator,
    coverage,
    evaluate_leave_out,
    leave_out_split,
    mrr_at_k,
    ndcg_at_k,
    next_item_metrics,
    recall_at_k,
    target_ranks,
)

# Row 0: target item 2 scores 0.5; only 0.9 is strictly higher (the tie with item 3 does not
# count) → rank 2. Row 1: target item 0 is the best → rank 1.
SCORES = np.array([[0.1, 0.9, 0.5, 0.5], [0.3, 0.2, 0.1, 0.0]])
TARGETS = np.array([2, 0])


def test_ranks_and_next_item_metrics():
    assert target_ranks(SCORES, TARGETS).tolist() == [2, 1]
    assert recall_at_k(SCORES, TARGETS, 1) == 0.5
    assert recall_at_k(SCORES, TARGETS, 2) == 1.0
    assert mrr_at_k(SCORES, TARGETS, 2) == 0.75
    assert mrr_at_k(SCORES, TARGETS, 1) == 0.5
    assert ndcg_at_k(SCORES, TARGETS, 2) == pytest.approx((1 / math.log2(3) + 1) / 2)
    assert coverage(SCORES, 1) == 0.5  # items 1 and 0 of 4


def test_evaluator_accumulates_batches_like_one_matrix():
    evaluator = NextItemEvaluator(k=2)
    evaluator.add(SCORES[:1], TARGETS[:1])
    evaluator.add(SCORES[1:], TARGETS[1:])

    assert evaluator.result() == pytest.approx(next_item_metrics(SCORES, TARGETS, k=2))
    assert evaluator.result()["coverage@2"] == 0.75  # items {1, 2 or 3, 0, 1}: three distinct


def test_nan_scores_count_as_minus_infinity():
    assert target_ranks(np.array([[np.nan, 0.2]]), np.array([1])).tolist() == [1]


def test_leave_out_split_holds_out_a_fraction_of_each_row():
    matrix = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=np.float32))
    timestamps = np.array([0, 5, 9, 1, 2, 3, 4, 8], dtype=float)  # aligned with matrix.data

    kept, held = leave_out_split(matrix, 0.2, seed=0)
    kept_by_time, held_by_time = leave_out_split(matrix, 0.2, seed=0, timestamps=timestamps)

    assert np.diff(held.indptr).tolist() == [0, 1, 1]  # a single entry is never held out
    assert (kept + held).toarray().tolist() == matrix.toarray().tolist()
    assert held_by_time.toarray().tolist() == [[0, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 1]]


def test_leave_out_metrics_mask_kept_items():
    kept = sp.csr_matrix(np.array([[1, 0, 0, 0]], dtype=np.float32))
    held = sp.csr_matrix(np.array([[0, 0, 1, 0]], dtype=np.float32))

    first = evaluate_leave_out(lambda rows: np.array([[5.0, 1.0, 3.0, 2.0]]), kept, held, k=1)
    second = evaluate_leave_out(lambda rows: np.array([[5.0, 4.0, 3.0, 2.0]]), kept, held, k=2)

    assert first == {"recall@1": 1.0, "ndcg@1": 1.0, "rows": 1.0}
    assert second == pytest.approx({"recall@2": 1.0, "ndcg@2": 1 / math.log2(3), "rows": 1.0})
