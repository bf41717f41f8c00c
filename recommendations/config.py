"""The recommender configuration as typed, frozen dataclasses.

`RecommenderConfig` holds the general options, the cascades, one section per registered model
that has options (the model's own `options` dataclass, under `<name>_config`) and the trainer's
schedule. It is composed from the registry, so a new model brings its section with it.

A config version is validated against these when it is saved and when it is loaded. The
dashboard sends its page state in camelCase (`retrievalSize`, `easeConfig`, ...), the admin and
the API may use snake_case; both are accepted, and a payload that omits fields keeps the base
config's values for them. `modelsDisabled` may be keyed by model name or, as the ecoseller
dashboard does, by the index of the model in its list. Every number has bounds.

`experiments` run configurations side by side on split traffic: each arm names the config keys it
overrides (a partial payload, validated by applying it to the config it belongs to); which arm a
session is served with is decided in `recommendations.experiments`."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from recommendations.algorithms.base import Phase, RecommendationType, option
from recommendations.algorithms.registry import DEFAULT_CASCADES, MODELS


class ConfigError(ValueError):
    """An invalid config; `errors` maps a field (camelCase, as the dashboard names it) to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def cascade_field(recommendation_type: RecommendationType, phase: Phase) -> str:
    """`product_detail_scoring_cascade` for (PRODUCT_DETAIL, SCORING)."""
    return f"{recommendation_type.value.lower()}_{phase.value.lower()}_cascade"


def cascade_situation(field_name: str) -> tuple[RecommendationType, Phase]:
    """`product_detail_scoring_cascade` → (PRODUCT_DETAIL, SCORING)."""
    situation, phase = field_name.removesuffix("_cascade").rsplit("_", 1)
    return RecommendationType(situation.upper()), Phase(phase.upper())


CASCADE_FIELDS = tuple(cascade_field(t, p) for t in RecommendationType for p in Phase)

_CASCADE_TITLES = {
    RecommendationType.HOMEPAGE: "Homepage",
    RecommendationType.CATEGORY_LIST: "Category list",
    RecommendationType.PRODUCT_DETAIL: "Product detail",
    RecommendationType.CART: "Cart",
}
_CASCADE_DESCRIPTIONS = {
    (
        RecommendationType.HOMEPAGE,
        Phase.RETRIEVAL,
    ): "Models that retrieve candidates for the homepage, first available wins.",
    (RecommendationType.HOMEPAGE, Phase.SCORING): "Models that score homepage candidates.",
    (RecommendationType.CATEGORY_LIST, Phase.RETRIEVAL): (
        "Category lists retrieve the variants of the category and its sub-categories; no model is used."
    ),
    (RecommendationType.CATEGORY_LIST, Phase.SCORING): "Models that order a category list.",
    (RecommendationType.PRODUCT_DETAIL, Phase.RETRIEVAL): "Models that retrieve candidates on a product page.",
    (RecommendationType.PRODUCT_DETAIL, Phase.SCORING): "Models that score candidates on a product page.",
    (RecommendationType.CART, Phase.RETRIEVAL): "Models that retrieve candidates for the cart.",
    (RecommendationType.CART, Phase.SCORING): "Models that score candidates for the cart.",
}


@dataclass(frozen=True)
class TrainerConfig:
    """The trainer's schedule (`trainerConfig`)."""

    retrain_after_new_events: int = option(
        1000,
        title="Retrain after new events",
        bounds=(1, 10**9),
        description="A model that learns from events is retrained once this many arrived since its training.",
    )
    retrain_after_catalogue_changes: int = option(
        100,
        title="Retrain after catalogue changes",
        bounds=(1, 10**9),
        description="A model that learns from the catalogue is retrained after this many catalogue writes.",
    )
    min_retrain_interval_seconds: int = option(
        3600,
        title="Minimum retrain interval (s)",
        bounds=(0, 365 * 86_400),
        description="No scheduled retraining of a model sooner than this after its last one.",
    )
    max_attempts: int = option(
        3, title="Maximum attempts", bounds=(1, 100), description="A failing training is tried this many times."
    )
    retry_backoff_seconds: int = option(
        60,
        title="Retry backoff (s)",
        bounds=(0, 86_400),
        description="Wait before the first retry of a failed training; doubled for each further one.",
    )
    served_evaluation_events: int = option(
        1000,
        title="Served evaluation events",
        bounds=(0, 1_000_000),
        description="After training a session or interaction model, this many next clicks of the latest sessions are "
        "predicted through the pipeline to show what shoppers get (0: not measured).",
    )
    claim_timeout_seconds: int = option(
        3600,
        title="Claim timeout (s)",
        bounds=(60, 7 * 86_400),
        description="A claimed training without heartbeats (claimed by a trainer of an older version) is taken over "
        "after this long.",
    )
    heartbeat_timeout_seconds: int = option(
        30,
        title="Heartbeat timeout (s)",
        bounds=(10, 3600),
        description="A trainer confirms every few seconds that it is alive while it trains; a training whose trainer "
        "has been silent this long (killed, its machine gone) is recorded as failed and taken over. A training that "
        "reports no progress is never taken over while its trainer lives.",
    )


# Names of experiments and arms: recorded with every prediction and shown as metric labels.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_EXPERIMENTS = 100
MAX_ARMS = 10
ARM_WEIGHT_BOUNDS = (0.0, 1_000_000.0)  # a weight must be above the lower bound


@dataclass(frozen=True)
class ExperimentArm:
    """One arm: its share of the sessions (`weight`, relative to the other arms') and the config
    keys it overrides, camelCase as on the wire (an empty `overrides` is the base config)."""

    name: str
    weight: float = 1.0
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """Two or more arms served side by side while `active`; the first arm is the control the
    others are compared with. A stopped experiment stays in the config as a record of its arms."""

    name: str
    active: bool = True
    arms: tuple[ExperimentArm, ...] = ()

    @property
    def control(self) -> ExperimentArm:
        return self.arms[0]


class _ConfigMethods:
    """What every `RecommenderConfig` can say about itself."""

    def cascade(self, recommendation_type: str, phase: str) -> tuple[str, ...]:
        return getattr(self, f"{recommendation_type.lower()}_{phase.lower()}_cascade") or ()

    def is_disabled(self, model_name: str) -> bool:
        return bool(self.models_disabled.get(model_name, False))

    def options_of(self, model_name: str) -> Any:
        """The model's section of the config (None for a model without options)."""
        model = MODELS[model_name]
        return getattr(self, model.options_key(), None) if model.options is not None else None

    def active_experiment(self) -> Experiment | None:
        """The running experiment (at most one runs at a time), or None."""
        return next((experiment for experiment in self.experiments if experiment.active), None)

    def to_data(self) -> dict[str, Any]:
        """snake_case JSON form (lists, not tuples), exactly as a config version stores it."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def to_dashboard(self) -> dict[str, Any]:
        """camelCase form of the contract's `/dashboard/configuration` `config` key."""
        return _camelize(self)


def _general_fields() -> list[tuple[str, Any, Any]]:
    fields: list[tuple[str, Any, Any]] = [
        (
            "retrieval_size",
            int,
            option(
                1000,
                title="Retrieval size",
                bounds=(1, 100_000),
                description="How many variants the retrieval step hands to scoring.",
            ),
        ),
        (
            "ordering_size",
            int,
            option(
                50,
                title="Ordering size",
                bounds=(0, 1_000),
                description="How many of the best-scored variants the diversity ordering re-ranks.",
            ),
        ),
        (
            "diversity_weight",
            float,
            option(
                0.3,
                title="Diversity weight",
                bounds=(0.0, 1.0),
                description="0 keeps the scoring order; 1 orders the head by diversity alone. In between, each pick "
                "trades relevance for distance to what is already picked.",
            ),
        ),
        (
            "one_variant_per_product",
            bool,
            option(
                True,
                title="One variant per product",
                description="Show only the best variant of each product in a list (off: several variants of one product may appear).",
            ),
        ),
        (
            "models_disabled",
            dict[str, bool],
            field(default_factory=dict, metadata={"title": None, "description": None}),
        ),
    ]
    for (recommendation_type, phase), default in DEFAULT_CASCADES.items():
        annotation = tuple[str, ...] | None if default is None else tuple[str, ...]
        title = f"{_CASCADE_TITLES[recommendation_type]} {phase.value.lower()}"
        description = _CASCADE_DESCRIPTIONS[(recommendation_type, phase)]
        fields.append(
            (
                cascade_field(recommendation_type, phase),
                annotation,
                option(default, title=title, description=description),
            )
        )
    return fields


def _model_sections() -> list[tuple[str, Any, Any]]:
    return [
        (model.options_key(), model.options, field(default_factory=model.options))
        for model in MODELS.values()
        if model.options is not None
    ]


RecommenderConfig = dataclasses.make_dataclass(
    "RecommenderConfig",
    [
        *_general_fields(),
        *_model_sections(),
        ("trainer_config", TrainerConfig, field(default_factory=TrainerConfig)),
        (
            "experiments",
            tuple[Experiment, ...],
            field(
                default=(),
                metadata={
                    "title": "Experiments",
                    "description": "Configurations served side by side on split traffic: each experiment has a "
                    "name, an active flag and two or more arms, each with a name, a weight and the config keys it "
                    "overrides. A session is served by one arm of the active experiment, always the same.",
                },
            ),
        ),
        ("deleted", bool, field(default=False, metadata={"title": None, "description": None})),
    ],
    bases=(_ConfigMethods,),
    frozen=True,
)
RecommenderConfig.__module__ = __name__
RecommenderConfig.__doc__ = "The whole recommender configuration (see the module docstring)."


def _all_fields(cls: type = RecommenderConfig) -> dict[str, dataclasses.Field]:
    """Every leaf field of the config by name (section fields included)."""
    found: dict[str, dataclasses.Field] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            for name, inner in _all_fields(hints[f.name]).items():
                if name in found:
                    raise TypeError(f"config field name {name!r} is used twice: options must have unique names")
                found[name] = inner
        else:
            found[f.name] = f
    return found


_LEAF_FIELDS = _all_fields()
_SNAKE = {to_camel(name): name for name in _LEAF_FIELDS}


def to_snake(name: str) -> str:
    """The config field name of a camelCase key (`l2Options` → `l2_options`)."""
    return _SNAKE.get(name, name)


def field_info(name: str) -> tuple[str | None, str | None]:
    """(title, description) of a config field, section fields included."""
    f = _LEAF_FIELDS.get(name)
    return (f.metadata.get("title"), f.metadata.get("description")) if f is not None else (None, None)


def _camelize(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {to_camel(f.name): _camelize(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_camelize(v) for v in value]
    if isinstance(value, dict):
        return {k: _camelize(v) for k, v in value.items()}
    return value


def _coerce(f: dataclasses.Field, annotation: Any, raw: Any, errors: dict[str, list[str]], path: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if raw is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(f, inner, raw, errors, path)
    if annotation is bool:
        if isinstance(raw, bool):
            return raw
        errors.setdefault(path, []).append("Must be true or false.")
        return None
    if annotation in (int, float):
        is_number = isinstance(raw, int | float) and not isinstance(raw, bool)
        if is_number and isinstance(raw, float) and not math.isfinite(raw):
            is_number = False
        if not is_number or (annotation is int and isinstance(raw, float) and not raw.is_integer()):
            errors.setdefault(path, []).append(f"Must be {'an integer' if annotation is int else 'a number'}.")
            return None
        low, high = f.metadata["bounds"]
        # Compared before converting: a 310-digit integer is out of bounds, not an overflow.
        if not (low <= raw <= high):
            errors.setdefault(path, []).append(f"Must be between {low:g} and {high:g}.")
            return None
        return annotation(raw)
    if annotation is str:
        if not isinstance(raw, str):
            errors.setdefault(path, []).append("Must be a string.")
        return raw
    if origin is tuple:
        if not isinstance(raw, list | tuple):
            errors.setdefault(path, []).append("Must be a list.")
            return None
        items = tuple(_coerce(f, args[0], item, errors, path) for item in raw)
        if f.name.endswith("_options") and not items:
            errors.setdefault(path, []).append("Give at least one option.")
        return items
    raise TypeError(f"unsupported config annotation {annotation!r}")


def _build(cls: type, payload: dict[str, Any], errors: dict[str, list[str]], base: Any, prefix: str = "") -> Any:
    """An instance of the config dataclass `cls` from `payload`; a field the payload does not
    give keeps its value in `base`."""
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        camel = to_camel(f.name)
        key = f.name if f.name in payload else camel if camel in payload else None
        if key is None or f.name in _VALIDATED_APART:
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
            kwargs[f.name] = _coerce(f, annotation, raw, errors, path)
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
    # The dashboard keys `modelsDisabled` by the index of each model in its `models` list.
    order = (
        [m.get("name") if isinstance(m, dict) and isinstance(m.get("name"), str) else None for m in listed]
        if isinstance(listed, list) and listed
        else list(MODELS)
    )
    known = known_model_names()
    result: dict[str, bool] = {}
    for key, flag in raw.items():
        name = key
        if isinstance(key, str) and key.isdigit():
            index = int(key)
            if index >= len(order) or order[index] is None:
                errors.setdefault("modelsDisabled", []).append(f"No model at index {index}.")
                continue
            name = order[index]
        if name not in known:
            errors.setdefault("modelsDisabled", []).append(f"Unknown model {name!r}.")
            continue
        if not isinstance(flag, bool):
            errors.setdefault("modelsDisabled", []).append(f"The flag of {name!r} must be true or false.")
            continue
        if MODELS[name].is_last_resort and flag:
            errors.setdefault("modelsDisabled", []).append(f"{name} is the last resort and cannot be disabled.")
            continue
        if flag:  # enabled is the default: only the disabled ones are kept
            result[name] = True
    return result


# Fields `_build` leaves to their own validators.
_VALIDATED_APART = ("models_disabled", "experiments")


def _overridable_fields() -> dict[str, str]:
    """camelCase key → field name of what an arm may override: the general options a prediction
    reads (sizes, weights, cascades, disabled models). Model options are applied when a model is
    trained and one trained model serves every arm, and the trainer's schedule is not per session."""
    # A field whose default is None (the category list's retrieval cascade) is not in use.
    return {to_camel(name): name for name, _annotation, default in _general_fields() if default.default is not None}


OVERRIDABLE_FIELDS = _overridable_fields()


def _not_overridable(key: Any) -> str:
    if key in {to_camel(model.options_key()) for model in MODELS.values() if model.options is not None}:
        reason = "model options apply when the model is trained, and one trained model serves every arm."
    elif key == "trainerConfig":
        reason = "the trainer's schedule is not chosen per session."
    elif key == "experiments":
        reason = "experiments do not nest."
    else:
        reason = "it is not a config key an arm can override."
    return f"An arm cannot override this key: {reason} An arm may override {', '.join(OVERRIDABLE_FIELDS)}."


def _name_errors(raw: Any, what: str) -> list[str]:
    if not isinstance(raw, str) or not NAME_PATTERN.fullmatch(raw):
        return [f"The {what} name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit."]
    return []


def _named_object(raw: Any, path: str, what: str, fields: tuple[str, ...], errors: dict[str, list[str]]) -> bool:
    """Whether `raw` is an object (an arm or an experiment); records its unknown fields and a
    bad `name` (the first of `fields`) in `errors`."""
    listed = f"{', '.join(fields[:-1])} and {fields[-1]}"
    if not isinstance(raw, dict):
        errors.setdefault(path, []).append(f"Must be an object with {listed}.")
        return False
    for key in raw:
        if key not in fields:
            errors.setdefault(f"{path}.{key}", []).append(f"Unknown field; an {what} has {listed}.")
    for message in _name_errors(raw.get("name"), what):
        errors.setdefault(f"{path}.name", []).append(message)
    return True


def _arm(raw: Any, path: str, base: RecommenderConfig, errors: dict[str, list[str]]) -> ExperimentArm | None:
    if not _named_object(raw, path, "arm", ("name", "weight", "overrides"), errors):
        return None
    name = raw.get("name")
    weight = raw.get("weight", 1.0)
    low, high = ARM_WEIGHT_BOUNDS
    is_number = isinstance(weight, int | float) and not isinstance(weight, bool) and math.isfinite(weight)
    if not is_number or not (low < weight <= high):
        errors.setdefault(f"{path}.weight", []).append(f"Must be a number above {low:g} and at most {high:g}.")
    raw_overrides = raw.get("overrides", {})
    if not isinstance(raw_overrides, dict):
        errors.setdefault(f"{path}.overrides", []).append("Must be an object of config keys to values.")
        return None
    given: dict[str, Any] = {}
    for key, value in raw_overrides.items():
        camel = to_camel(key) if isinstance(key, str) else key
        if camel not in OVERRIDABLE_FIELDS:
            errors.setdefault(f"{path}.overrides.{key}", []).append(_not_overridable(camel))
            continue
        if camel in given:
            errors.setdefault(f"{path}.overrides.{key}", []).append("Given twice (camelCase and snake_case).")
            continue
        given[camel] = value
    try:
        effective = config_from_payload(given, base=base)
    except ConfigError as error:
        for key, messages in error.errors.items():
            errors.setdefault(f"{path}.overrides.{key}", []).extend(messages)
        return None
    if not is_number or errors.get(f"{path}.name"):
        return None
    # Stored normalised (camelCase keys, the config's own types), as the base config would store them.
    overrides = {key: _camelize(getattr(effective, OVERRIDABLE_FIELDS[key])) for key in given}
    return ExperimentArm(name=name, weight=float(weight), overrides=overrides)


def _experiment(raw: Any, path: str, base: RecommenderConfig, errors: dict[str, list[str]]) -> Experiment | None:
    if not _named_object(raw, path, "experiment", ("name", "active", "arms"), errors):
        return None
    name = raw.get("name")
    active = raw.get("active", True)
    if not isinstance(active, bool):
        errors.setdefault(f"{path}.active", []).append("Must be true or false.")
    raw_arms = raw.get("arms")
    if not isinstance(raw_arms, list) or not 2 <= len(raw_arms) <= MAX_ARMS:
        errors.setdefault(f"{path}.arms", []).append(f"Give a list of 2 to {MAX_ARMS} arms.")
        return None
    arms = [_arm(item, f"{path}.arms.{index}", base, errors) for index, item in enumerate(raw_arms)]
    seen: set[str] = set()
    for index, arm in enumerate(arms):
        if arm is not None and arm.name in seen:
            errors.setdefault(f"{path}.arms.{index}.name", []).append(f"Another arm is named {arm.name!r}.")
        if arm is not None:
            seen.add(arm.name)
    if any(arm is None for arm in arms) or not isinstance(active, bool) or errors.get(f"{path}.name"):
        return None
    return Experiment(name=name, active=active, arms=tuple(arms))


def _experiments(
    payload: dict[str, Any], errors: dict[str, list[str]], base: RecommenderConfig
) -> tuple[Experiment, ...]:
    """The payload's experiments, each arm's overrides validated against `base` (the config being
    built); a payload without the key keeps the base's experiments (the ecoseller dashboard does
    not know them)."""
    if "experiments" not in payload:
        return base.experiments
    raw = payload["experiments"]
    if not isinstance(raw, list):
        errors.setdefault("experiments", []).append("Must be a list of experiments.")
        return ()
    if len(raw) > MAX_EXPERIMENTS:
        errors.setdefault("experiments", []).append(f"At most {MAX_EXPERIMENTS} experiments; remove old ones.")
        return ()
    plain = dataclasses.replace(base, experiments=())
    experiments = [_experiment(item, f"experiments.{index}", plain, errors) for index, item in enumerate(raw)]
    found = [experiment for experiment in experiments if experiment is not None]
    seen: set[str] = set()
    for index, experiment in enumerate(experiments):
        if experiment is not None and experiment.name in seen:
            errors.setdefault(f"experiments.{index}.name", []).append(
                f"Another experiment is named {experiment.name!r}."
            )
        if experiment is not None:
            seen.add(experiment.name)
    active = [experiment.name for experiment in found if experiment.active]
    if len(active) > 1:
        errors.setdefault("experiments", []).append(
            f"Only one experiment can be active at a time; active here: {', '.join(active)}."
        )
    return tuple(found)


def known_model_names() -> frozenset[str]:
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
            cascade = getattr(config, name) or ()
            for model_name in cascade:
                if model_name not in known:
                    errors.setdefault(to_camel(name), []).append(f"Unknown model {model_name!r}.")
            if len(set(cascade)) != len(cascade):
                errors.setdefault(to_camel(name), []).append("A model may appear only once in a cascade.")
    if errors:
        raise ConfigError(errors)
    config = dataclasses.replace(config, models_disabled=disabled)
    experiments = _experiments(payload, errors, config)
    if errors:
        raise ConfigError(errors)
    return dataclasses.replace(config, experiments=experiments)


DEFAULT_CONFIG = RecommenderConfig()


def config_info(cls: type = RecommenderConfig) -> dict[str, Any]:
    """Title and description of every field, camelCase, sections nested (contract section 4.5)."""
    info: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            info[to_camel(f.name)] = config_info(hints[f.name])
            continue
        info[to_camel(f.name)] = {"title": f.metadata.get("title"), "description": f.metadata.get("description")}
    return info
