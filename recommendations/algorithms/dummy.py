"""The dummy model: a random sample of what can be sold now, and identity scoring.

It is the end of every cascade, so it must always answer: no training, no artefact, no data
beyond the catalogue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .artefacts import write_manifest
from .base import PredictContext, PredictionModel, serves_all_retrieval, serves_all_scoring
from .ranking import make_rng, returnable_mask, tiered_sample


class DummyModel(PredictionModel):
    name = "dummy"
    title = "Dummy"
    description = "Random available variants, in-stock ones first; keeps the given order when scoring."
    supports = serves_all_retrieval() | serves_all_scoring()
    needs_training = False

    def __init__(self) -> None:
        self.identifier = self.name

    def save(self, folder: Path) -> None:
        write_manifest(folder, self.name, 1)

    @classmethod
    def load(cls, folder: Path) -> "DummyModel":
        # Stateless: nothing to read, so a missing folder is not an error.
        return cls()

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
