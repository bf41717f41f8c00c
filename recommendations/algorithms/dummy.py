"""The dummy model: a random sample of what can be sold now, and identity scoring.

It is the end of every cascade, so it must always answer: no training, no artefact, no data
beyond the catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import Catalogue, PredictContext, serves_all_retrieval, serves_all_scoring
from .stateless import StatelessModel


class DummyModel(StatelessModel):
    name = "dummy"
    title = "Dummy"
    description = "Random available variants, in-stock ones first; keeps the given order when scoring."
    supports = serves_all_retrieval() | serves_all_scoring()
    is_last_resort = True
    colour = "#9ca3af"

    def sampling_tiers(self, catalogue: Catalogue, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        # Tier 0: can be bought now; tier 1: available but out of stock, only to fill up.
        is_available, in_stock = catalogue.is_available, catalogue.in_stock
        if rows is not None:
            is_available, in_stock = is_available[rows], in_stock[rows]
        tiers = np.where(is_available, np.where(in_stock, 0, 1), -1)
        return tiers, np.ones(len(tiers))

    def retrieve(self, context: PredictContext, n: int) -> list[str]:
        return self.draw(context, n)

    def score(self, context: PredictContext, candidates: Sequence[str]) -> list[tuple[str, float]]:
        unique = list(dict.fromkeys(candidates))
        return [(sku, float(len(unique) - i)) for i, sku in enumerate(unique)]
