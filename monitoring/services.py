"""Writes the dashboard pages make: a training request ("Train now"). Config versions are saved
through `recommendations.services.config_version_create`."""

from __future__ import annotations

from modelstore.models import TrainerQueueItem
from modelstore.services import training_request
from recommendations.algorithms.registry import MODELS


class TrainingRequestError(ValueError):
    """The model is unknown or needs no training."""


def training_request_from_dashboard(*, model_name: str, requested_by: str) -> tuple[TrainerQueueItem, bool]:
    """Queue a training of `model_name` unless one is already waiting; returns the waiting item
    and whether it was created now. Pressing the button twice queues one training."""
    model = MODELS.get(model_name)
    if model is None or not model.needs_training:
        raise TrainingRequestError(f"{model_name!r} is not a model that can be trained.")
    return training_request(model_name=model_name, requested_by=requested_by)
