"""What the dashboard shows about each registered model: enabled, trainable, ready, trained."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from modelstore.models import LatestIdentifier
from recommendations.algorithms.registry import MODELS
from recommendations.config import RecommenderConfig
from recommendations.selectors import config_current
from recommendations.training.readiness import training_readiness


@dataclass(frozen=True)
class ModelState:
    name: str
    title: str
    description: str
    is_disabled: bool
    can_be_trained: bool
    readiness_reason: str | None  # None: ready for training (trainable models only)
    is_trained: bool
    identifier: str | None

    @property
    def is_ready_for_training(self) -> bool:
        return self.can_be_trained and self.readiness_reason is None

    @property
    def is_last_resort(self) -> bool:
        """The model that ends every cascade (it cannot be disabled)."""
        return self.name in MODELS and MODELS[self.name].is_last_resort


def model_states(*, config: RecommenderConfig | None = None, names: Iterable[str] | None = None) -> list[ModelState]:
    """Every registered model (or `names`) with what the dashboard shows about it."""

    config = config or config_current()
    identifiers = dict(LatestIdentifier.objects.values_list("model_name", "identifier"))
    states = []
    for name in names if names is not None else MODELS:
        model = MODELS[name]
        trainable = bool(model.needs_training)
        states.append(
            ModelState(
                name=name,
                title=model.title,
                description=model.description,
                is_disabled=config.is_disabled(name),
                can_be_trained=trainable,
                readiness_reason=training_readiness(model_name=name, config=config)
                if trainable
                else "needs no training",
                is_trained=(name in identifiers) if trainable else True,
                identifier=identifiers.get(name),
            )
        )
    return states
