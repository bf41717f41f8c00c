"""The recommender configuration as typed, frozen dataclasses.

A config version is validated against these when it is saved and when it is loaded. The
dashboard sends its whole page state in camelCase (`retrievalSize`, `easeConfig`, ...), the
admin and the API may use snake_case; both are accepted. `modelsDisabled` may be keyed by model
name or, as the ecoseller dashboard does, by the index of the model in its list."""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any

# The dashboard lists models in this order; it is also the order of `modelsDisabled` indices.
DASHBOARD_MODEL_ORDER = ("dummy", "selection", "popularity", "similarity", "gru4rec", "ease")

CASCADE_FIELDS = (
    "homepage_retrieval_cascade",
    "homepage_scoring_cascade",
    "category_list_retrieval_cascade",
    "category_list_scoring_cascade",
    "product_detail_retrieval_cascade",
    "product_detail_scoring_cascade",
    "cart_retrieval_cascade",
    "cart_scoring_cascade",
)


class ConfigError(ValueError):
    """An invalid config; `errors` maps a field (camelCase, as the dashboard names it) to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z0-9])", "_", name).lower().replace("gru4_rec", "gru4rec").replace("l_2", "l2")


@dataclass(frozen=True)
class EASEConfig:
    l2_options: tuple[float, ...] = (1.0, 10.0, 100.0)
    reviews_multiplier: float = 0.5
    max_items: int = 20000
    view_weight: float = 1.0
    cart_weight: float = 2.0
    order_weight: float = 4.0
    review_weight: float = 1.0


@dataclass(frozen=True)
class GRU4RecConfig:
    num_epochs_options: tuple[int, ...] = (10,)
    batch_size_options: tuple[int, ...] = (48,)
    # 0: the item embedding is tied to the output embedding (the measured best on rsc15); a
    # positive size trains a separate input embedding of that size.
    embedding_size_options: tuple[int, ...] = (0,)
    hidden_size_options: tuple[int, ...] = (128,)
    learning_rate_options: tuple[float, ...] = (0.07,)
    incremental_trainings: int = 10
    events_multiplier: float = 10.0


@dataclass(frozen=True)
class SimilarityConfig:
    neighbours: int = 100


@dataclass(frozen=True)
class PopularityConfig:
    half_life_days: float | None = None


@dataclass(frozen=True)
class TrainerConfig:
    retrain_after_new_events: int = 1000
    retrain_after_catalogue_changes: int = 100
    min_retrain_interval_seconds: int = 3600
    max_attempts: int = 3
    retry_backoff_seconds: int = 60
    claim_timeout_seconds: int = 3600


@dataclass(frozen=True)
class RecommenderConfig:
    retrieval_size: int = 1000
    ordering_size: int = 50
    diversity_weight: float = 0.3
    # Shops show a product once: only its best variant makes the list.
    one_variant_per_product: bool = True
    models_disabled: dict[str, bool] = field(default_factory=dict)
    # The session model comes first wherever it serves: it answers about what the shopper does
    # now; EASE (the shopper's whole history) answers when the session has nothing it knows. On
    # a product page, the product's neighbours come before the shopper's general tastes.
    homepage_retrieval_cascade: tuple[str, ...] = ("ease", "popularity", "selection")
    homepage_scoring_cascade: tuple[str, ...] = ("gru4rec", "ease", "popularity", "selection")
    category_list_retrieval_cascade: tuple[str, ...] | None = None
    category_list_scoring_cascade: tuple[str, ...] = ("gru4rec", "ease", "popularity", "selection")
    product_detail_retrieval_cascade: tuple[str, ...] = ("similarity", "popularity", "selection")
    product_detail_scoring_cascade: tuple[str, ...] = ("gru4rec", "similarity", "ease", "popularity", "selection")
    cart_retrieval_cascade: tuple[str, ...] = ("similarity", "popularity", "selection")
    cart_scoring_cascade: tuple[str, ...] = ("gru4rec", "ease", "similarity", "popularity", "selection")
    ease_config: EASEConfig = field(default_factory=EASEConfig)
    gru4rec_config: GRU4RecConfig = field(default_factory=GRU4RecConfig)
    similarity_config: SimilarityConfig = field(default_factory=SimilarityConfig)
    popularity_config: PopularityConfig = field(default_factory=PopularityConfig)
    trainer_config: TrainerConfig = field(default_factory=TrainerConfig)
    deleted: bool = False

    def cascade(self, recommendation_type: str, phase: str) -> tuple[str, ...]:
        return getattr(self, f"{recommendation_type.lower()}_{phase.lower()}_cascade") or ()

    def is_disabled(self, model_name: str) -> bool:
        return bool(self.models_disabled.get(model_name, False))

    def to_data(self) -> dict[str, Any]:
        """snake_case JSON form (lists, not tuples), exactly as a config version stores it."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def to_dashboard(self) -> dict[str, Any]:
        """camelCase form of the contract's `/dashboard/configuration` `config` key."""
        return _camelize(self)


# Bounds that make a config safe to run: (minimum, maximum) per numeric field name.
_BOUNDS: dict[str, tuple[float, float]] = {
    "retrieval_size": (1, 100_000),
    "ordering_size": (0, 1_000),
    "diversity_weight": (0.0, 1.0),
    "reviews_multiplier": (0.0, 1e6),
    "max_items": (1, 200_000),
    "incremental_trainings": (0, 10_000),
    "events_multiplier": (0.0, 1e6),
    "neighbours": (1, 1_000),
    "half_life_days": (0.001, 1e6),
    "num_epochs_options": (1, 1_000),
    "batch_size_options": (1, 100_000),
    "embedding_size_options": (0, 10_000),
    "hidden_size_options": (1, 10_000),
    "learning_rate_options": (1e-9, 100.0),
    "l2_options": (0.0, 1e9),
    "max_attempts": (1, 100),
}


def _camelize(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {to_camel(f.name) if f.name != "models_disabled" else "modelsDisabled": _camelize(getattr(value, f.name))
                for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_camelize(v) for v in value]
    if isinstance(value, dict):
        return {k: _camelize(v) for k, v in value.items()}
    return value


def _coerce(name: str, annotation: Any, raw: Any, errors: dict[str, list[str]], path: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if raw is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(name, inner, raw, errors, path)
    if annotation is bool:
        if isinstance(raw, bool):
            return raw
        errors.setdefault(path, []).append("Must be true or false.")
        return None
    if annotation in (int, float):
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or (annotation is int and not float(raw).is_integer()):
            errors.setdefault(path, []).append(f"Must be {'an integer' if annotation is int else 'a number'}.")
            return None
        value = annotation(raw)
        _check_bounds(name, value, errors, path)
        return value
    if annotation is str:
        if not isinstance(raw, str):
            errors.setdefault(path, []).append("Must be a string.")
        return raw
    if origin is tuple:
        if not isinstance(raw, (list, tuple)):
            errors.setdefault(path, []).append("Must be a list.")
            return None
        items = tuple(_coerce(name, args[0], item, errors, path) for item in raw)
        if name.endswith("_options") and not items:
            errors.setdefault(path, []).append("Give at least one option.")
        return items
    raise TypeError(f"unsupported config annotation {annotation!r}")


def _check_bounds(name: str, value: float, errors: dict[str, list[str]], path: str) -> None:
    low, high = _BOUNDS.get(name, (None, None))
    if low is not None and not (low <= value <= high):
        errors.setdefault(path, []).append(f"Must be between {low:g} and {high:g}.")


def _build(cls: type, payload: dict[str, Any], errors: dict[str, list[str]], base: Any, prefix: str = "") -> Any:
    """An instance of the config dataclass `cls` from `payload`; a field the payload does not
    give keeps its value in `base`."""
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        camel = to_camel(f.name)
        key = f.name if f.name in payload else camel if camel in payload else None
        if key is None or f.name == "models_disabled":
            continue
        path = f"{prefix}{camel}"
        annotation = hints[f.name]
        raw = payload[key]
        if dataclasses.is_dataclass(annotation):
            if not isinstance(raw, dict):
                errors.setdefault(path, []).append("Must be an object.")
                continue
            kwargs[f.name] = _build(annotation, raw, errors, getattr(base, f.name), prefix=f"{path}.")
        else:
            kwargs[f.name] = _coerce(f.name, annotation, raw, errors, path)
    if errors:
        return None
    return dataclasses.replace(base, **kwargs)


def _models_disabled(payload: dict[str, Any], errors: dict[str, list[str]], base: dict[str, bool]) -> dict[str, bool]:
    if "modelsDisabled" not in payload and "models_disabled" not in payload:
        return dict(base)
    raw = payload.get("modelsDisabled", payload.get("models_disabled", {})) or {}
    if not isinstance(raw, dict):
        errors.setdefault("modelsDisabled", []).append("Must be an object of model name to true/false.")
        return {}
    listed = payload.get("models")
    order = (
        [m.get("name") for m in listed if isinstance(m, dict)]
        if isinstance(listed, list) and listed
        else list(DASHBOARD_MODEL_ORDER)
    )
    known = known_model_names()
    result: dict[str, bool] = {}
    for key, flag in raw.items():
        name = key
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            index = int(key)
            if index >= len(order):
                errors.setdefault("modelsDisabled", []).append(f"No model at index {index}.")
                continue
            name = order[index]
        if name not in known:
            errors.setdefault("modelsDisabled", []).append(f"Unknown model {name!r}.")
            continue
        if not isinstance(flag, bool):
            errors.setdefault("modelsDisabled", []).append(f"The flag of {name!r} must be true or false.")
            continue
        if name == "dummy" and flag:
            errors.setdefault("modelsDisabled", []).append("dummy is the last resort and cannot be disabled.")
            continue
        if flag:  # enabled is the default: only the disabled ones are kept
            result[name] = True
    return result


def known_model_names() -> frozenset[str]:
    from recommendations.algorithms.registry import MODELS

    return frozenset(MODELS)


def config_from_payload(payload: dict[str, Any], base: RecommenderConfig | None = None) -> RecommenderConfig:
    """Validate a dashboard, API, admin or stored payload; a field it does not give (at any
    depth: `{"trainerConfig": {"maxAttempts": 5}}` gives one field) keeps its value in `base`,
    the defaults by default. Raises `ConfigError` naming every bad field."""
    if not isinstance(payload, dict):
        raise ConfigError({"non_field_errors": ["A config must be a JSON object."]})
    base = base or DEFAULT_CONFIG
    errors: dict[str, list[str]] = {}
    disabled = _models_disabled(payload, errors, base.models_disabled)
    config = _build(RecommenderConfig, payload, errors, base)
    if config is not None:
        known = known_model_names()
        for name in CASCADE_FIELDS:
            for model_name in getattr(config, name) or ():
                if model_name not in known:
                    errors.setdefault(to_camel(name), []).append(f"Unknown model {model_name!r}.")
            cascade = getattr(config, name) or ()
            if len(set(cascade)) != len(cascade):
                errors.setdefault(to_camel(name), []).append("A model may appear only once in a cascade.")
    if errors:
        raise ConfigError(errors)
    return dataclasses.replace(config, models_disabled=disabled)


DEFAULT_CONFIG = RecommenderConfig()

# Titles and descriptions the dashboard shows next to each field (contract section 4.5).
FIELD_INFO: dict[str, tuple[str, str]] = {
    "retrieval_size": ("Retrieval size", "How many variants the retrieval step hands to scoring."),
    "ordering_size": ("Ordering size", "How many of the best-scored variants the diversity ordering re-ranks."),
    "diversity_weight": (
        "Diversity weight",
        "0 keeps the scoring order; 1 orders the head by diversity alone. In between, each pick trades relevance for distance to what is already picked.",
    ),
    "one_variant_per_product": (
        "One variant per product",
        "Show only the best variant of each product in a list (off: several variants of one product may appear).",
    ),
    "homepage_retrieval_cascade": ("Homepage retrieval", "Models that retrieve candidates for the homepage, first available wins."),
    "homepage_scoring_cascade": ("Homepage scoring", "Models that score homepage candidates."),
    "category_list_retrieval_cascade": (
        "Category list retrieval",
        "Category lists retrieve the variants of the category and its sub-categories; no model is used.",
    ),
    "category_list_scoring_cascade": ("Category list scoring", "Models that order a category list."),
    "product_detail_retrieval_cascade": ("Product detail retrieval", "Models that retrieve candidates on a product page."),
    "product_detail_scoring_cascade": ("Product detail scoring", "Models that score candidates on a product page."),
    "cart_retrieval_cascade": ("Cart retrieval", "Models that retrieve candidates for the cart."),
    "cart_scoring_cascade": ("Cart scoring", "Models that score candidates for the cart."),
    "l2_options": ("L2 options", "Regularisation strengths tried; the best on a validation split is used."),
    "reviews_multiplier": ("Reviews multiplier", "EASE trains once interactions exceed this multiple of the variant count."),
    "max_items": ("Maximum items", "Only this many most-interacted variants get an EASE column."),
    "view_weight": ("View weight", "Weight of a product detail view in the EASE matrix."),
    "cart_weight": ("Cart weight", "Weight of an add-to-cart in the EASE matrix."),
    "order_weight": ("Order weight", "Weight of an ordered variant in the EASE matrix."),
    "review_weight": ("Review weight", "Weight of a review (times rating / 5) in the EASE matrix."),
    "num_epochs_options": ("Number of epochs options", "Epoch counts tried."),
    "batch_size_options": ("Batch size options", "Mini-batch sizes tried."),
    "embedding_size_options": (
        "Embedding size options",
        "Item embedding sizes tried: 0 ties the item embedding to the output embedding (its size is the hidden size); "
        "a positive size trains a separate input embedding of that size.",
    ),
    "hidden_size_options": ("Hidden size options", "GRU hidden state sizes tried."),
    "learning_rate_options": ("Learning rate options", "Learning rates tried."),
    "incremental_trainings": ("Incremental trainings", "Incremental trainings between two full trainings."),
    "events_multiplier": ("Events multiplier", "GRU4Rec trains once product views exceed this multiple of the variant count."),
    "neighbours": ("Neighbours", "Nearest variants stored per variant."),
    "half_life_days": ("Half-life (days)", "Popularity decays by half over this many days; empty for no decay."),
}


def config_info(cls: type = RecommenderConfig) -> dict[str, Any]:
    info: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        annotation = hints[f.name]
        if dataclasses.is_dataclass(annotation):
            info[to_camel(f.name)] = config_info(annotation)
            continue
        title, description = FIELD_INFO.get(f.name, (None, None))
        info["modelsDisabled" if f.name == "models_disabled" else to_camel(f.name)] = {
            "title": title,
            "description": description,
        }
    return info
