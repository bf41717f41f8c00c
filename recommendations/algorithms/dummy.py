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

    def sampling_tiers(self, catalogue: Catalogue) -> tuple[np.ndarray, np.ndarray]:
        # Tier 0: can be bought now; tier 1: available but out of stock, only to fill up.
        tiers = np.where(catalogue.is_available, np.where(catalogue.in_stock, 0, 1), -1)
        return tiers, np.ones(len(catalogue))

    def retrieve(self, context: PredictContext, n: int) -> list[str]:
        return self.draw(context, n)

    def score(self, context: PredictContext, candidates: Sequence[str]) -> list[tuple[str, float]]:
        unique = list(dict.fromkeys(candidates))
        return [(sku, float(len(unique) - i)) for i, sku in enumerate(unique)]
