"""The shared shape of the models that learn nothing: dummy, selection and popularity read the
catalogue snapshot at request time (drawing from tiers prepared once per catalogue), and their
artefact is only a manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .artefacts import write_manifest
from .base import Catalogue, PredictContext, PredictionModel
from .ranking import catalogue_index, make_rng
from .sampling import WeightedTiers


class StatelessModel(PredictionModel):
    needs_training = False

    def __init__(self) -> None:
        self.identifier = self.name

    def save(self, folder: Path) -> None:
        write_manifest(folder, self.name, 1)

    @classmethod
    def load(cls, folder: Path) -> StatelessModel:
        # Nothing to read, so a missing folder is not an error.
        return cls()

    # -- drawing from the catalogue ---------------------------------------------------------
    def sampling_tiers(self, catalogue: Catalogue, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(tier, weight) of every catalogue row (or of `rows`) for retrieval; a negative tier is
        never drawn."""
        raise NotImplementedError

    def prepare(
        self, catalogue: Catalogue, previous: Catalogue | None = None, changed_rows: np.ndarray | None = None
    ) -> None:
        tiers = previous.derived.get(self.name) if previous is not None and changed_rows is not None else None
        # Patching pays off while the change is small beside the catalogue.
        if tiers is None or len(changed_rows) > max(len(catalogue) // 8, 4096):
            catalogue.derived[self.name] = WeightedTiers.build(*self.sampling_tiers(catalogue))
            return
        tier_of, weights = self.sampling_tiers(catalogue, changed_rows)
        catalogue.derived[self.name] = tiers.patched(len(catalogue), changed_rows, tier_of, weights)

    def draw(self, context: PredictContext, n: int) -> list[str]:
        """Up to `n` available SKUs not excluded, drawn tier by tier in weighted random order."""
        catalogue = context.catalogue
        tiers = catalogue.derived.get(self.name)
        if tiers is None:
            self.prepare(catalogue)
            tiers = catalogue.derived[self.name]
        index = catalogue_index(catalogue)
        exclude = {index[sku] for sku in context.exclude if sku in index}
        rows = tiers.draw(make_rng(context.seed), n, exclude)
        return [str(catalogue.skus[i]) for i in rows]
