"""Offline ranking metrics, vectorised over score matrices.

Next-item protocol (Hidasi et al., GRU4Rec): every next item of every test session is predicted
from its prefix and ranked against all items; one relevant item per event. The rank of the
target is 1 + the number of items scoring strictly higher, as the GRU4Rec authors compute it (a
tie with the target does not push it down). NaN scores count as -inf.

Leave-out protocol for user-item models (EASE): hold out part of each row's interactions, score
from the kept ones with the kept items masked out, and measure Recall@k normalised by
min(k, #held out) (Liang et al. 2018, Steck 2019) and NDCG@k with binary relevance.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp


def _clean(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    return np.where(np.isnan(scores), -np.inf, scores)


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based rank of `targets[e]` in row e of `scores` (events × items)."""
    scores = _clean(scores)
    targets = np.asarray(targets, dtype=np.int64)
    target_scores = scores[np.arange(len(targets)), targets]
    return 1 + np.count_nonzero(scores > target_scores[:, None], axis=1)


def recall_at_k(scores: np.ndarray, targets: np.ndarray, k: int) -> float:
    """Share of events whose target ranks in the top k (= hit rate@k with one target)."""
    ranks = target_ranks(scores, targets)
    return float(np.mean(ranks <= k)) if len(ranks) else 0.0


def mrr_at_k(scores: np.ndarray, targets: np.ndarray, k: int) -> float:
    """Mean reciprocal rank, counting 0 for a target outside the top k."""
    ranks = target_ranks(scores, targets)
    return float(np.mean(np.where(ranks <= k, 1.0 / ranks, 0.0))) if len(ranks) else 0.0


def ndcg_at_k(scores: np.ndarray, targets: np.ndarray, k: int) -> float:
    """NDCG with one relevant item: 1 / log2(rank + 1) inside the top k, else 0."""
    ranks = target_ranks(scores, targets)
    return float(np.mean(np.where(ranks <= k, 1.0 / np.log2(ranks + 1.0), 0.0))) if len(ranks) else 0.0


def top_k_items(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of each row's k best items (unordered within the k)."""
    scores = _clean(scores)
    k = min(k, scores.shape[1])
    return np.argpartition(-scores, k - 1, axis=1)[:, :k]


def coverage(scores: np.ndarray, k: int, catalogue_size: int | None = None) -> float:
    """Distinct items appearing in some top-k list / catalogue size (default: all columns)."""
    size = scores.shape[1] if catalogue_size is None else catalogue_size
    if size == 0 or scores.shape[0] == 0:
        return 0.0
    return len(np.unique(top_k_items(scores, k))) / size


class NextItemEvaluator:
    """Accumulates next-item metrics over batches of (scores, targets), so a whole test set
    never needs one events × items matrix."""

    def __init__(self, k: int = 20, catalogue_size: int | None = None) -> None:
        self.k = k
        self.catalogue_size = catalogue_size
        self.events = 0
        self.hits = 0.0
        self.reciprocal = 0.0
        self.gain = 0.0
        self.recommended: set[int] = set()
        self.items_seen = 0

    def add(self, scores: np.ndarray, targets: np.ndarray) -> None:
        ranks = target_ranks(scores, targets)
        inside = ranks <= self.k
        self.events += len(ranks)
        self.hits += float(np.sum(inside))
        self.reciprocal += float(np.sum(np.where(inside, 1.0 / ranks, 0.0)))
        self.gain += float(np.sum(np.where(inside, 1.0 / np.log2(ranks + 1.0), 0.0)))
        if len(ranks):
            self.recommended.update(np.unique(top_k_items(scores, self.k)).tolist())
        self.items_seen = max(self.items_seen, np.asarray(scores).shape[1])

    def result(self) -> dict[str, float]:
        k = self.k
        size = self.catalogue_size if self.catalogue_size is not None else self.items_seen
        events = max(self.events, 1)
        return {
            f"recall@{k}": self.hits / events,
            f"mrr@{k}": self.reciprocal / events,
            f"ndcg@{k}": self.gain / events,
            f"coverage@{k}": len(self.recommended) / size if size else 0.0,
            "events": float(self.events),
        }


def next_item_metrics(scores: np.ndarray, targets: np.ndarray, k: int = 20) -> dict[str, float]:
    """Recall@k, MRR@k, NDCG@k and coverage@k of one score matrix."""
    evaluator = NextItemEvaluator(k)
    evaluator.add(scores, targets)
    return evaluator.result()


# -- leave-out evaluation of user-item models ------------------------------------------------
def leave_out_split(
    matrix: sp.csr_matrix, fraction: float, seed: int, timestamps: np.ndarray | None = None
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Split each row's stored entries into (kept, held out), both with the input's shape.

    A row with n >= 2 entries holds out round(fraction × n) of them, at least 1 and at most
    n − 1, so every evaluated row keeps something to predict from; rows with fewer entries are
    kept whole. Without timestamps the held-out entries are a seeded random choice; with
    `timestamps` (aligned with `matrix.data`) they are each row's most recent ones, which is
    closer to predicting what a customer does next.
    """
    if not 0 < fraction < 1:
        raise ValueError("fraction must lie strictly between 0 and 1")
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    counts = np.diff(matrix.indptr)
    row_of = np.repeat(np.arange(matrix.shape[0]), counts)
    if timestamps is None:
        order_key = np.random.default_rng(seed).random(matrix.nnz)
    else:
        timestamps = np.asarray(timestamps, dtype=np.float64)
        if len(timestamps) != matrix.nnz:
            raise ValueError("timestamps must be aligned with the matrix entries")
        order_key = -timestamps  # most recent first
    order = np.lexsort((order_key, row_of))
    position = np.empty(matrix.nnz, dtype=np.int64)
    position[order] = np.arange(matrix.nnz) - matrix.indptr[row_of[order]]
    held_count = np.where(counts >= 2, np.clip(np.rint(fraction * counts), 1, counts - 1), 0)
    held = position < held_count[row_of]

    def part(selected: np.ndarray) -> sp.csr_matrix:
        indptr = np.concatenate(([0], np.cumsum(np.bincount(row_of[selected], minlength=matrix.shape[0]))))
        return sp.csr_matrix((matrix.data[selected], matrix.indices[selected], indptr), shape=matrix.shape)

    return part(~held), part(held)


def evaluate_leave_out(
    predict: Callable[[sp.csr_matrix], np.ndarray],
    kept: sp.csr_matrix,
    held_out: sp.csr_matrix,
    k: int = 20,
    batch_size: int = 1000,
    max_rows: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Recall@k and NDCG@k of `predict(kept rows) -> scores (rows × items)` over the rows that
    have held-out entries (at most `max_rows` of them, a seeded sample, to bound the cost).
    Kept items are masked out of the ranking: they are known, not predictions."""
    rows = np.flatnonzero(np.diff(held_out.indptr) > 0)
    if max_rows is not None and len(rows) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=max_rows, replace=False))
    if len(rows) == 0:
        return {f"recall@{k}": 0.0, f"ndcg@{k}": 0.0, "rows": 0.0}
    name = k  # the keys keep the requested k even when there are fewer items
    k = min(k, kept.shape[1])
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recall_sum = 0.0
    ndcg_sum = 0.0
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        kept_rows = kept[batch]
        scores = _clean(predict(kept_rows))
        scores[kept_rows.nonzero()] = -np.inf
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        top = np.take_along_axis(top, np.argsort(-top_scores, axis=1, kind="stable"), axis=1)
        relevant = held_out[batch].toarray() != 0
        hits = np.take_along_axis(relevant, top, axis=1)
        relevant_count = relevant.sum(axis=1)
        recall_sum += float(np.sum(hits.sum(axis=1) / np.minimum(k, relevant_count)))
        ideal = np.cumsum(discounts)[np.minimum(k, relevant_count) - 1]
        ndcg_sum += float(np.sum((hits * discounts).sum(axis=1) / ideal))
    return {f"recall@{name}": recall_sum / len(rows), f"ndcg@{name}": ndcg_sum / len(rows), "rows": float(len(rows))}
