"""The explicit registry of prediction models: model name → class.

To add a model: implement `PredictionModel` (base.py) in a module of this package, `register`
its class (or add it to `MODELS` below), and put its name in a cascade of the configuration.
"""

from __future__ import annotations

from .base import PredictionModel
from .dummy import DummyModel
from .ease import EASEModel
from .gru4rec import GRU4RecModel
from .popularity import PopularityModel
from .selection import SelectionModel
from .similarity import SimilarityModel

# In the order the dashboard lists them (simplest first), as the original did.
MODELS: dict[str, type[PredictionModel]] = {
    model.name: model
    for model in (DummyModel, SelectionModel, PopularityModel, SimilarityModel, GRU4RecModel, EASEModel)
}


def get_model_class(name: str) -> type[PredictionModel]:
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown prediction model {name!r}; known models: {', '.join(MODELS)}") from None


def register(model: type[PredictionModel]) -> type[PredictionModel]:
    """Add a model class under its `name` (usable as a class decorator). Registering another
    class under a taken name is refused, so a typo cannot silently replace a model."""
    name = getattr(model, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{model.__name__} has no model name")
    existing = MODELS.get(name)
    if existing is not None and existing is not model:
        raise ValueError(f"model name {name!r} is already registered by {existing.__name__}")
    MODELS[name] = model
    return model
