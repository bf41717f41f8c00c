"""Where trained models live on disk: one folder per identifier under `RS_MODEL_DIR/<model>/`,
written into a hidden temporary folder and renamed into place, so a reader never sees half an
artefact."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from django.conf import settings

from recommendations.algorithms.base import ArtefactError, PredictionModel


def artefact_folder(model_name: str, identifier: str) -> Path:
    if "/" in identifier or identifier.startswith("."):
        raise ArtefactError(f"invalid identifier {identifier!r}")
    return Path(settings.MODEL_DIR) / model_name / identifier


def artefact_write(model: PredictionModel, *, model_name: str, identifier: str) -> Path:
    final = artefact_folder(model_name, identifier)
    temporary = final.parent / f".tmp-{identifier}-{uuid.uuid4().hex[:8]}"
    temporary.mkdir(parents=True)
    try:
        model.save(temporary)
        os.replace(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


def artefact_read(model_class: type[PredictionModel], *, model_name: str, identifier: str) -> PredictionModel:
    folder = artefact_folder(model_name, identifier)
    if not folder.is_dir():
        raise ArtefactError(f"no artefact folder {folder}")
    model = model_class.load(folder)
    model.identifier = identifier
    return model


def artefacts_remove_except(model_name: str, keep: set[str]) -> list[str]:
    """Remove the artefact folders of `model_name` whose identifier is not in `keep`."""
    root = Path(settings.MODEL_DIR) / model_name
    removed: list[str] = []
    if not root.is_dir():
        return removed
    for folder in root.iterdir():
        if folder.name.startswith(".tmp-") or folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed
