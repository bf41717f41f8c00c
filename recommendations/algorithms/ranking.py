"""Small helpers the models share: which catalogue rows may be returned, weighted sampling
without replacement, and turning per-candidate scores into the protocol's ranked answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .base import Catalogue, PredictContext


def catalogue_index(catalogue: Catalogue) -> Mapping[str, int]:
    """SKU → row; `Catalogue.build` fills `index`, a hand-made catalogue may not."""
    if catalogue.index or len(catalogue) == 0:
        return catalogue.index
    return {str(sku): i for i, sku in enumerate(catalogue.skus)}


def returnable_mask(context: PredictContext) -> np.ndarray:
    """Rows that retrieval may return: available and not excluded."""
    catalogue = context.catalogue
    mask = np.asarray(catalogue.is_available, dtype=bool).copy()
    if context.exclude:
        index = catalogue_index(catalogue)
        rows = [index[sku] for sku in context.exclude if sku in index]
        mask[rows] = False
    return mask


def make_rng(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(seed)


def weighted_order(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """A random order of all rows, drawn one by one without replacement with probability
    proportional to the remaining weights (Efraimidis & Spirakis 2006: sort by u^(1/w)).

    Rows with weight <= 0 (or NaN) always come after every positive one, in uniform random
    order among themselves. We sort by log(u)/w, which orders like u^(1/w) but does not
    underflow to 0 for small weights.
    """
    weights = np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0, posinf=np.finfo(np.float64).max)
    u = rng.random(len(weights))
    # 1 - u lies in (0, 1], so the log is finite; a key of 0 (u = 0) just ranks first.
    log_u = np.log1p(-u)
    positive = weights > 0
    keys = np.where(positive, log_u / np.where(positive, weights, 1.0), log_u)
    # Primary key: positive weights first; secondary: the random key, largest first.
    return np.lexsort((-keys, ~positive))


def tiered_sample(rng: np.random.Generator, weights: np.ndarray, tiers: np.ndarray, n: int) -> np.ndarray:
    """Up to `n` rows: every row of tier 0 before any row of tier 1 and so on, each tier in
    weighted random order (`weighted_order`). Rows with a negative tier are never returned."""
    order = weighted_order(rng, weights)
    tiers = np.asarray(tiers)[order]
    keep = tiers >= 0
    order, tiers = order[keep], tiers[keep]
    # A stable sort by tier keeps the weighted order inside each tier.
    return order[np.argsort(tiers, kind="stable")][: max(n, 0)]


def ranked(candidates: Sequence[str], scores: Mapping[str, float]) -> list[tuple[str, float]]:
    """The protocol's scoring answer: candidates with a score, best first (ties keep the given
    order), then those without one in their given order with -inf. Duplicates are collapsed to
    their first occurrence, as a ranked list holds each item once."""
    unique = list(dict.fromkeys(candidates))
    known = [sku for sku in unique if sku in scores]
    unknown = [sku for sku in unique if sku not in scores]
    values = np.asarray([scores[sku] for sku in known], dtype=np.float64)
    order = np.argsort(-values, kind="stable")
    return [(known[i], float(values[i])) for i in order] + [(sku, float("-inf")) for sku in unknown]


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the `n` largest finite scores, best first, ties by index; -inf never returned."""
    finite = np.flatnonzero(scores > -np.inf)
    if n <= 0 or len(finite) == 0:
        return np.zeros(0, dtype=np.int64)
    values = scores[finite]
    if n < len(finite):
        part = np.argpartition(-values, n - 1)[:n]
        # argpartition splits ties at the boundary arbitrarily; take every tie with the n-th
        # value so that the tie-break by index below is exact.
        threshold = values[part].min()
        part = np.flatnonzero(values >= threshold)
        finite, values = finite[part], values[part]
    order = np.lexsort((finite, -values))[:n]
    return finite[order]


class CatalogueRows:
    """Model row (-1 = unknown to the model) of every catalogue row, cached for the last SKU
    list seen. A stock, price or flag change gives a new catalogue with the same SKU array, so
    it costs nothing; a new variant is appended to the catalogue, and a model that grows (the
    session-kNN index extended with live sessions: pass its `skus` and the `previous` mapping)
    appends items, so only the new rows and items are looked up. A catalogue rebuilt from
    scratch costs one Python loop over it, which `prepare` runs in the server's refresher."""

    def __init__(
        self, index: Mapping[str, int], *, skus: Sequence[str] | None = None, previous: CatalogueRows | None = None
    ) -> None:
        self.index = index
        self.skus = skus  # the model's items in index order, for a model that grows
        # (catalogue SKU array, model row of each catalogue row, model items mapped)
        self._cached: tuple[np.ndarray, np.ndarray, int] | None = previous._cached if previous is not None else None
        # (the mapping it inverts, catalogue row of each model item)
        self._inverse: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, catalogue: Catalogue) -> np.ndarray:
        cached = self._cached
        skus = catalogue.skus
        known = len(self.index)
        if cached is not None and cached[0] is skus and cached[2] == known:
            return cached[1]
        if cached is not None and (cached[2] == known or self.skus is not None) and _extends(skus, cached[0]):
            before = len(cached[0])
            rows = np.concatenate((cached[1], self._lookup(skus[before:])))
            if cached[2] < known and self.skus is not None:  # items the model gained meanwhile
                for sku in self.skus[cached[2] :]:
                    row = catalogue.index.get(sku)
                    if row is not None and row < before:
                        rows[row] = self.index[sku]
        else:
            rows = self._lookup(skus)
        # One tuple assignment, so a concurrent reader sees either the old or the new triple.
        self._cached = (skus, rows, known)
        return rows

    def catalogue_row_of_items(self, catalogue: Catalogue) -> np.ndarray:
        """The inverse: the catalogue row (-1 = not in the catalogue) of each of the model's
        items, computed once per mapping (a stock or price change keeps it)."""
        rows = self(catalogue)
        inverse = self._inverse
        if inverse is not None and inverse[0] is rows:
            return inverse[1]
        known = np.flatnonzero(rows >= 0)
        items = np.full(len(self.index), -1, dtype=np.int64)
        items[rows[known]] = known
        self._inverse = (rows, items)
        return items

    def _lookup(self, skus: np.ndarray) -> np.ndarray:
        index = self.index
        return np.fromiter((index.get(str(sku), -1) for sku in skus), dtype=np.int64, count=len(skus))

    def scores_of(self, catalogue: Catalogue, rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """The model's `scores` (aligned with its items) of the catalogue `rows`; -inf for rows
        the model does not know."""
        model_rows = self(catalogue)[rows]
        values = np.asarray(scores, dtype=np.float64)
        if not len(values):
            return np.full(len(rows), -np.inf)
        return np.where(model_rows >= 0, values[np.maximum(model_rows, 0)], -np.inf)


def _extends(skus: np.ndarray, before: np.ndarray) -> bool:
    """Whether the SKU array `skus` is `before` with SKUs appended (one vectorised comparison)."""
    if skus is before:
        return True
    return len(skus) >= len(before) and bool(np.array_equal(skus[: len(before)], before))


def catalogue_top_n(context: PredictContext, catalogue_rows: CatalogueRows, scores: np.ndarray, n: int) -> list[str]:
    """The `n` returnable catalogue SKUs with the best model `scores` (aligned with the model's
    items; `catalogue_rows` maps catalogue rows to them), best first; SKUs the model does not
    know are never returned. One vectorised pass over the catalogue: a full-catalogue retrieval
    for any model that scores every item at once."""
    model_rows = catalogue_rows(context.catalogue)
    allowed = returnable_mask(context) & (model_rows >= 0)
    values = np.asarray(scores, dtype=np.float64)
    catalogue_scores = (
        np.where(allowed, values[np.maximum(model_rows, 0)], -np.inf)
        if len(values)
        else np.full(len(model_rows), -np.inf)
    )
    return [str(context.catalogue.skus[i]) for i in top_n(catalogue_scores, n)]
