"""The dummy model: a random sample of what can be sold now, and identity scoring.

It is the end of every cascade, so it must always answer: no training, no artefact, no data
beyond the catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import PredictContext, serves_all_retrieval, serves_all_scoring
from .ranking import make_rng, returnable_mask, tiered_sample
from .stateless import StatelessModel


class DummyModel(StatelessModel):
    name = "dummy"
    title = "Dummy"
    description = "Random available variants, in-stock ones first; keeps the given order when scoring."
    supports = serves_all_retrieval() | serves_all_scoring()
    is_last_resort = True
    colour = "#9ca3af"

    def retrieve(self, context: PredictContext, n: int) -> list[str]:
        catalogue = context.catalogue
        returnable = returnable_mask(context)
        # Tier 0: can be bought now; tier 1: available but out of stock, only to fill up.
        tiers = np.where(returnable, np.where(catalogue.in_stock, 0, 1), -1)
        rows = tiered_sample(make_rng(context.seed), np.ones(len(catalogue)), tiers, n)
        return [str(catalogue.skus[i]) for i in rows]

    def score(self, context: PredictContext, candidates: Sequence[str]) -> list[tuple[str, float]]:
        unique = list(dict.fromkeys(candidates))
        return [(sku, float(len(unique) - i)) for i, sku in enumerate(unique)]
