"""The selection model: variants drawn at random in proportion to the weight the shop owner
gave them (`recommendation_weight`), and scoring by that weight.

Unlike the original (`ORDER BY random() * weight`, which over-favours heavy items and is not
proportional), retrieval is exact sequential proportional sampling without replacement.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import Catalogue, PredictContext, serves_all_retrieval, serves_all_scoring
from .ranking import catalogue_index, ranked
from .stateless import StatelessModel


def sampling_tiers(returnable: np.ndarray, in_stock: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Tier of each row for retrieval by a sampling weight: positive weight & in stock (0),
    positive & out of stock (1), weight <= 0 & in stock (2), weight <= 0 & out of stock (3),
    -1 = never. A weight of 0 means "do not push this", so it yields even to out-of-stock items:
    those only appear at all when the in-stock ones do not fill the list."""
    positive = np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0) > 0
    tiers = np.where(positive, 0, 2) + np.where(in_stock, 0, 1)
    return np.where(returnable, tiers, -1)


class WeightDrawnModel(StatelessModel):
    """Retrieval draws in proportion to a per-row catalogue weight (`weights`), tier by tier;
    scoring is that weight."""

    def weights(self, catalogue: Catalogue) -> np.ndarray:
        raise NotImplementedError

    def sampling_tiers(self, catalogue: Catalogue, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if rows is None:
            weights = self.weights(catalogue)
            return sampling_tiers(catalogue.is_available, catalogue.in_stock, weights), weights
        weights = self.weights(catalogue)[rows]
        return sampling_tiers(catalogue.is_available[rows], catalogue.in_stock[rows], weights), weights

    def retrieve(self, context: PredictContext, n: int) -> list[str]:
        return self.draw(context, n)

    def score_rows(self, context: PredictContext, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.weights(context.catalogue)[rows], dtype=np.float64)

    def score(self, context: PredictContext, candidates: Sequence[str]) -> list[tuple[str, float]]:
        index = catalogue_index(context.catalogue)
        weights = self.weights(context.catalogue)
        return ranked(candidates, {sku: float(weights[index[sku]]) for sku in candidates if sku in index})


class SelectionModel(WeightDrawnModel):
    name = "selection"
    title = "Selection"
    description = "Random variants drawn in proportion to their recommendation weight; scoring by that weight."
    supports = serves_all_retrieval() | serves_all_scoring()
    colour = "#0ea5e9"

    def weights(self, catalogue: Catalogue) -> np.ndarray:
        return catalogue.recommendation_weight
