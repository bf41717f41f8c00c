"""The shared shape of the models that learn nothing: dummy, selection and popularity read the
catalogue snapshot at request time, and their artefact is only a manifest."""

from __future__ import annotations

from pathlib import Path

from .artefacts import write_manifest
from .base import PredictionModel


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
