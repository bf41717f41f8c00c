"""Writes of the recommender's own state: config versions, validated against the typed config,
and the experiments they carry (started and stopped by saving a new version)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from modelstore.models import ConfigVersion
from modelstore.services import config_version_store
from recommendations.config import ConfigError, ExperimentArm, RecommenderConfig, config_from_payload
from recommendations.selectors import config_current


def config_version_create(*, payload: dict[str, Any] | RecommenderConfig, created_by: str = "") -> ConfigVersion:
    """Validate and store a new config version; it becomes the current config. A payload that
    omits fields keeps the current version's values for them (the ecoseller dashboard sends
    only the keys it knows).

    Raises `ConfigError` (nothing stored) when the payload is invalid."""
    config = payload if isinstance(payload, RecommenderConfig) else config_from_payload(payload, base=config_current())
    return config_version_store(data=config.to_data(), created_by=created_by)


def experiment_start(*, name: str, arms: Sequence[ExperimentArm], created_by: str = "") -> ConfigVersion:
    """Save a new config version that runs a new experiment; the first arm is the control.
    Raises `ConfigError` (nothing stored) for a taken name, bad arms or another running experiment."""
    current = config_current()
    experiments = [*current.to_data()["experiments"]]
    experiments.append({"name": name, "active": True, "arms": [dataclasses.asdict(arm) for arm in arms]})
    return config_version_create(payload={"experiments": experiments}, created_by=created_by)


def experiment_stop(*, name: str, created_by: str = "") -> ConfigVersion:
    """Save a new config version in which the experiment no longer runs: every session is served
    the base config again. The experiment stays in the config as a record of its arms."""
    experiments = config_current().to_data()["experiments"]
    if not any(experiment["name"] == name and experiment["active"] for experiment in experiments):
        raise ConfigError({"experiments": [f"No running experiment is named {name!r}."]})
    for experiment in experiments:
        if experiment["name"] == name:
            experiment["active"] = False
    return config_version_create(payload={"experiments": experiments}, created_by=created_by)
