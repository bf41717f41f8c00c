"""The small protocol every prediction model implements, and the typed values that cross it.

Nothing here imports Django: the Django side builds these dataclasses from the databases and
reads plain lists of SKUs and scores back.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

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


class TrainingData(str, enum.Enum):
    """What a trained model learns from; the Django side builds it (and counts what arrived since
    the last training) the same way for every model of a kind."""

    CONTENT = "content"  # the catalogue: prices and attribute values of the variants
    INTERACTIONS = "interactions"  # views, carts, orders and reviews per user (else session)
    SESSIONS = "sessions"  # product views per session, in time order


@dataclass(frozen=True)
class TrainingRequirement:
    """When the stored data suffice to train: at least `minimum` of the `counted` rows
    ("variants", "interactions" or "views"), and with `multiplier_option` (a field of the model's
    options) more than that multiple of the number of variants."""

    counted: str
    minimum: int = 1
    multiplier_option: str | None = None


def option(
    default: Any = dataclasses.MISSING,
    *,
    title: str,
    description: str,
    bounds: tuple[float, float] | None = None,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A field of a model's options (its section of the config): the dashboard's title and help
    text, and the bounds a number (or each number of a list) must stay within."""
    metadata = {"title": title, "description": description, "bounds": bounds}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class SessionData:
    """Product views grouped by session, the training input of the session models.
    `sessions[k]` holds indices into `skus`, oldest click first; `session_start_times[k]` (any
    monotone unit) orders sessions in time, else the list order is taken as time order;
    `session_ids[k]`, when given, names the session (so a later extension can continue it)."""

    skus: list[str]
    sessions: list[np.ndarray]
    session_start_times: np.ndarray | None = None
    session_ids: list[str] | None = None
    # The time of each session's last view, when known (same unit as the start times).
    session_end_times: np.ndarray | None = None


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
    # What models compute once per catalogue for their requests (`PredictionModel.prepare`),
    # by model name; a new catalogue starts empty.
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        skus: Sequence[str],
        is_available: Sequence[bool] | None = None,
        in_stock: Sequence[bool] | None = None,
        recommendation_weight: Sequence[float] | None = None,
        popularity: Sequence[float] | None = None,
    ) -> Catalogue:
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
class RequesterHistory:
    """What the requester (the user, else the session) did, as stored: SKUs viewed (this session's
    visits and, for a known user, other sessions' views), added to a cart and ordered, and the
    reviews with their rating (0..5)."""

    viewed: tuple[str, ...] = ()
    carted: tuple[str, ...] = ()
    ordered: tuple[str, ...] = ()
    reviewed: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class PredictContext:
    """Everything a model may use to answer one request.

    `session_history` are the SKUs the session visited, oldest first (on a product page the
    viewed variant is the latest). `requester` is what the requester did, given when a model of
    the request's cascades `uses_requester_history`; `user_history` are interactions already
    weighted as (sku, weight) (hand-built contexts: offline evaluation, tests), which such a
    model takes instead. `exclude` are SKUs that must not come back (already bought or reviewed,
    the viewed product's variants, the cart).
    """

    recommendation_type: RecommendationType
    catalogue: Catalogue
    session_history: tuple[str, ...] = ()
    user_history: tuple[tuple[str, float], ...] = ()
    viewed_variant: str | None = None
    cart: tuple[str, ...] = ()
    exclude: frozenset[str] = frozenset()
    seed: int | None = None
    requester: RequesterHistory | None = None
    # The request's own session (None: anonymous), so a model that indexes live sessions does not
    # take the session for its own neighbour.
    session_id: str | None = None


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
    """Base class of the models. A subclass says everything the rest of the service needs to
    know about it in its class attributes (the registry lists the classes); nothing outside the
    algorithms compares a model's name with a literal."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    # The (type, phase) pairs it serves.
    supports: ClassVar[frozenset[tuple[RecommendationType, Phase]]] = frozenset()
    needs_training: ClassVar[bool] = False
    # The end of every cascade: always ready, never disabled, answers whatever happens.
    is_last_resort: ClassVar[bool] = False
    # Its colour on the dashboard's charts.
    colour: ClassVar[str] = "#6b7280"
    # Its section of the config (a frozen dataclass of `option` fields), under `<name>_config`.
    options: ClassVar[type | None] = None
    # What it learns from and when the data suffice (trained models).
    training_data: ClassVar[TrainingData | None] = None
    training_requirement: ClassVar[TrainingRequirement | None] = None
    # It can continue training from its current weights on new data (`fit_incremental`).
    supports_incremental: ClassVar[bool] = False
    # It reads `context.requester`: the pipeline then fetches the requester's history and leaves
    # out what they bought or reviewed.
    uses_requester_history: ClassVar[bool] = False
    # It offers `distances(skus)`, which the diversity ordering uses.
    provides_distances: ClassVar[bool] = False
    # It offers `neighbours()`, stored in the similarity database when it is trained.
    provides_neighbours: ClassVar[bool] = False
    # It takes the sessions stored since its training (`extended_with(sessions)`), so that a
    # session from a minute ago already counts; the server calls it about once a second.
    follows_live_sessions: ClassVar[bool] = False

    identifier: str = ""
    # False when the trained model carries no information for its data (content similarity of a
    # catalogue without attributes or prices, where every variant is as near as any other): the
    # cascade passes it over instead of letting it answer arbitrarily.
    is_informative: bool = True

    @classmethod
    def options_key(cls) -> str:
        """The config key of its options: `ease_config` (`easeConfig` on the wire)."""
        return f"{cls.name}_config"

    @classmethod
    def params_from_options(cls, options: Any) -> Any:
        """The training params for the config's options of this model (trained models)."""
        raise NotImplementedError(f"{cls.__name__} needs no training")

    # -- training -------------------------------------------------------------------------
    @classmethod
    def fit(cls, data: Any, params: Any, progress: Progress | None = None) -> tuple[PredictionModel, TrainingResult]:
        raise NotImplementedError(f"{cls.__name__} needs no training")

    def save(self, folder: Path) -> None:
        """Write the artefact files into `folder` (which exists and is empty)."""

    @classmethod
    def load(cls, folder: Path) -> PredictionModel:
        raise NotImplementedError(f"{cls.__name__} has no artefact")

    # -- prediction -----------------------------------------------------------------------
    def prepare(
        self, catalogue: Catalogue, previous: Catalogue | None = None, changed_rows: np.ndarray | None = None
    ) -> None:
        """Compute once per catalogue what requests need (the server calls it when the catalogue
        changes, before requests see the new one), so no request does work proportional to the
        catalogue that a change could do once. When the catalogue was patched from `previous`
        (only `changed_rows` differ, new rows appended), a model may update what it derived from
        `previous` instead of starting afresh."""

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

    def score_rows(self, context: PredictContext, rows: np.ndarray) -> np.ndarray | None:
        """Scores of the catalogue `rows` (indices into `context.catalogue`), aligned with them,
        -inf for rows it cannot score: the values `score` gives those SKUs, in one vectorised
        pass. None when the model has no such pass; the pipeline then calls `score`. A category
        list scores a whole category with it."""
        return None

    def refit_params(self, params: Any) -> Any:
        """The params of a refit of this trained model on other data (the served evaluation's
        holdout): by default `params` as they are; a model that chose among options (EASE's λ)
        fixes its choice, so the refit does not choose again."""
        return params

    def known_item_scores(self, context: PredictContext) -> tuple[Sequence[str], np.ndarray] | None:
        """(the SKUs the model knows, in its own order; a score for each, as `score` would give
        them) when it scores everything it knows at once, else None. Offline evaluation ranks a
        whole catalogue with it instead of a Python loop over the catalogue per event."""
        return None
