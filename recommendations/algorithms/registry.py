"""The explicit registry of prediction models: model name → class, and where each model stands in
the default cascades. With each class's own attributes (base.py), this is the only place that
knows a model: the config, the pipeline, the trainer and the dashboard ask here.

To add a model: implement `PredictionModel` (base.py) in a module of this package, add its class
to `MODELS` below (or `register` it) and, if it should serve by default, to `DEFAULT_CASCADES`.
"""

from __future__ import annotations

from .base import Phase, PredictionModel, RecommendationType
from .dummy import DummyModel
from .ease import EASEModel
from .gru4rec import GRU4RecModel
from .popularity import PopularityModel
from .selection import SelectionModel
from .similarity import SimilarityModel
from .sknn import SKNNModel

# In the order the dashboard lists them (simplest first), as the original did.
MODELS: dict[str, type[PredictionModel]] = {
    model.name: model
    for model in (DummyModel, SelectionModel, PopularityModel, SimilarityModel, GRU4RecModel, EASEModel, SKNNModel)
}


_HOMEPAGE, _CATEGORY, _PRODUCT, _CART = (
    RecommendationType.HOMEPAGE,
    RecommendationType.CATEGORY_LIST,
    RecommendationType.PRODUCT_DETAIL,
    RecommendationType.CART,
)
_RETRIEVAL, _SCORING = Phase.RETRIEVAL, Phase.SCORING

# The default cascades, first tried first; the last resort (dummy) ends every cascade implicitly.
# The session models come first wherever they serve: they answer about what the shopper does now,
# retrieving over the whole catalogue (session-kNN's neighbours, then GRU4Rec's full ranking);
# EASE (the shopper's whole history) answers when the session has nothing they know. On a
# product page and for a cart, the product's content neighbours come next. Category lists
# retrieve by category, without a model.
_SESSION = (SKNNModel.name, GRU4RecModel.name)
DEFAULT_CASCADES: dict[tuple[RecommendationType, Phase], tuple[str, ...] | None] = {
    (_HOMEPAGE, _RETRIEVAL): (*_SESSION, EASEModel.name, PopularityModel.name, SelectionModel.name),
    (_HOMEPAGE, _SCORING): (*_SESSION, EASEModel.name, PopularityModel.name, SelectionModel.name),
    (_CATEGORY, _RETRIEVAL): None,
    (_CATEGORY, _SCORING): (*_SESSION, EASEModel.name, PopularityModel.name, SelectionModel.name),
    (_PRODUCT, _RETRIEVAL): (
        *_SESSION,
        SimilarityModel.name,
        EASEModel.name,
        PopularityModel.name,
        SelectionModel.name,
    ),
    (_PRODUCT, _SCORING): (*_SESSION, SimilarityModel.name, EASEModel.name, PopularityModel.name, SelectionModel.name),
    (_CART, _RETRIEVAL): (*_SESSION, SimilarityModel.name, EASEModel.name, PopularityModel.name, SelectionModel.name),
    (_CART, _SCORING): (*_SESSION, EASEModel.name, SimilarityModel.name, PopularityModel.name, SelectionModel.name),
}

# The reference row of offline evaluations.
EVALUATION_BASELINE = PopularityModel.name


def last_resort() -> type[PredictionModel]:
    """The model that ends every cascade."""
    (model,) = [model for model in MODELS.values() if model.is_last_resort]
    return model


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
