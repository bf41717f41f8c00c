"""The small protocol every prediction model implements, and the typed values that cross it.

Nothing here imports Django: the Django side builds these dataclasses from the databases and
reads plain lists of SKUs and scores back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np


class RecommendationType(str, enum.Enum):
    HOMEPAGE = "HOMEPAGE"
    CATEGORY_LIST = "CATEGORY_LIST"
    PRODUCT_DETAIL = "PRODUCT_DETAIL"
    CART = "CART"


class Phase(str, enum.Enum):
    RETRIEVAL = "RETRIEVAL"
    SCORING = "SCORING"


ALL_TYPES = tuple(RecommendationType)
RETRIEVAL_TYPES = (RecommendationType.HOMEPAGE, RecommendationType.PRODUCT_DETAIL, RecommendationType.CART)


def serves(*pairs: tuple[RecommendationType, Phase]) -> frozenset[tuple[RecommendationType, Phase]]:
    return frozenset(pairs)


def serves_all_scoring() -> frozenset[tuple[RecommendationType, Phase]]:
    return frozenset((t, Phase.SCORING) for t in ALL_TYPES)


def serves_all_retrieval() -> frozenset[tuple[RecommendationType, Phase]]:
    return frozenset((t, Phase.RETRIEVAL) for t in RETRIEVAL_TYPES)


class ArtefactError(Exception):
    """An artefact folder is missing, incomplete or corrupt."""


class NotReadyForTraining(Exception):
    """The data do not suffice to train this model; the message says why."""


@dataclass(frozen=True)
class Catalogue:
    """The recommendable catalogue as the server sees it now.

    `skus[i]` is available (published, not deleted product, variant not deleted) when
    `is_available[i]`; `in_stock[i]` when its stock is positive. `recommendation_weight` feeds
    the selection model and `popularity` (units ordered, possibly time-decayed) the popularity
    model. Arrays are aligned and read-only.
    """

    skus: np.ndarray  # object array of str
    is_available: np.ndarray  # bool
    in_stock: np.ndarray  # bool
    recommendation_weight: np.ndarray  # float64
    popularity: np.ndarray  # float64
    index: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        skus: Sequence[str],
        is_available: Sequence[bool] | None = None,
        in_stock: Sequence[bool] | None = None,
        recommendation_weight: Sequence[float] | None = None,
        popularity: Sequence[float] | None = None,
    ) -> "Catalogue":
        n = len(skus)
        ones = np.ones(n, dtype=bool)
        return cls(
            skus=np.asarray(list(skus), dtype=object),
            is_available=ones if is_available is None else np.asarray(is_available, dtype=bool),
            in_stock=ones.copy() if in_stock is None else np.asarray(in_stock, dtype=bool),
            recommendation_weight=(
                np.ones(n) if recommendation_weight is None else np.asarray(recommendation_weight, dtype=np.float64)
            ),
            popularity=np.zeros(n) if popularity is None else np.asarray(popularity, dtype=np.float64),
            index={sku: i for i, sku in enumerate(skus)},
        )

    def __len__(self) -> int:
        return len(self.skus)


@dataclass(frozen=True)
class PredictContext:
    """Everything a model may use to answer one request.

    `session_history` are the SKUs the session visited, oldest first. `user_history` are the
    requester's (user's, else session's) implicit and explicit interactions as (sku, weight),
    for collaborative models. `exclude` are SKUs that must not come back (already bought or
    reviewed, the viewed product's variants, the cart).
    """

    recommendation_type: RecommendationType
    catalogue: Catalogue
    session_history: tuple[str, ...] = ()
    user_history: tuple[tuple[str, float], ...] = ()
    viewed_variant: str | None = None
    cart: tuple[str, ...] = ()
    exclude: frozenset[str] = frozenset()
    seed: int | None = None


Progress = Callable[[str, float], None]
"""Progress callback: (message, fraction done in [0, 1])."""


@dataclass
class TrainingResult:
    """What `fit` reports besides the fitted model: the chosen hyperparameters, the validation
    metrics of the chosen configuration, and one entry per tried combination (hyperparameters,
    metrics) for the training-step records."""

    hyperparameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    steps: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)


class PredictionModel:
    """Base class of the six models. Subclasses set the class attributes and override what they
    support; the pipeline never special-cases a model by name."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    supports: ClassVar[frozenset[tuple[RecommendationType, Phase]]] = frozenset()
    needs_training: ClassVar[bool] = False

    identifier: str = ""

    # -- training -------------------------------------------------------------------------
    @classmethod
    def fit(cls, data: Any, params: Any, progress: Progress | None = None) -> tuple["PredictionModel", TrainingResult]:
        raise NotImplementedError(f"{cls.__name__} needs no training")

    def save(self, folder: Path) -> None:
        """Write the artefact files into `folder` (which exists and is empty)."""

    @classmethod
    def load(cls, folder: Path) -> "PredictionModel":
        raise NotImplementedError(f"{cls.__name__} has no artefact")

    # -- prediction -----------------------------------------------------------------------
    def can_serve(self, recommendation_type: RecommendationType, phase: Phase) -> bool:
        return (recommendation_type, phase) in self.supports

    def is_ready(self, context: PredictContext) -> bool:
        """Whether this model can give a meaningful answer for this request."""
        return True

    def retrieve(self, context: PredictContext, n: int) -> list[str]:
        raise TypeError(f"{self.name} does not retrieve")

    def score(self, context: PredictContext, candidates: Sequence[str]) -> list[tuple[str, float]]:
        """Return the candidates it can rank, best first, with a score (higher is better).
        Candidates unknown to the model come last, in their given order, with score -inf."""
        raise TypeError(f"{self.name} does not score")
