"""Which arm of the running experiment a session is served with, and that arm's config.

A session is placed by a stable hash: sha256 of `"<experiment>:<session id>"`, its first eight
bytes read as a number in [0, 1), and the arms laid side by side on [0, 1) in their order, each
as wide as its share of the weights. The same session lands in the same arm on every request
and in every server process; another experiment splits the sessions independently. Anonymous
requests (no session) are served the base config and belong to no arm."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from recommendations.config import Experiment, ExperimentArm, RecommenderConfig, config_from_payload


@dataclass(frozen=True)
class Assignment:
    """The config a request is served with, and the experiment and arm it belongs to (None
    outside any experiment)."""

    config: RecommenderConfig
    experiment: str | None = None
    arm: str | None = None


def session_position(experiment_name: str, session_id: str) -> float:
    """Where the session falls on [0, 1) for this experiment: uniform, stable and independent
    between experiments."""
    digest = hashlib.sha256(f"{experiment_name}:{session_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def arm_for_session(experiment: Experiment, session_id: str) -> ExperimentArm:
    """The arm whose stretch of [0, 1), in proportion to the weights, holds the session."""
    point = session_position(experiment.name, session_id) * sum(arm.weight for arm in experiment.arms)
    reached = 0.0
    for arm in experiment.arms:
        reached += arm.weight
        if point < reached:
            return arm
    return experiment.arms[-1]  # rounding at the very end of the line


class _ArmConfigs:
    """The effective config of each arm, computed once per base config object (a server process
    keeps one until a new config version is current)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._base: RecommenderConfig | None = None
        self._configs: dict[tuple[str, str], RecommenderConfig] = {}

    def get(self, base: RecommenderConfig, experiment: Experiment, arm: ExperimentArm) -> RecommenderConfig:
        key = (experiment.name, arm.name)
        with self._lock:
            if self._base is not base:
                self._base, self._configs = base, {}
            config = self._configs.get(key)
        if config is None:
            config = arm_config(base, arm)
            with self._lock:
                if self._base is base:
                    self._configs[key] = config
        return config


_arm_configs = _ArmConfigs()


def arm_config(base: RecommenderConfig, arm: ExperimentArm) -> RecommenderConfig:
    """The base config with the arm's overrides applied (validated when the config was saved)."""
    return config_from_payload(arm.overrides, base=base) if arm.overrides else base


def experiment_assignment(config: RecommenderConfig, session_id: str | None) -> Assignment:
    """The config, experiment and arm of a request of `session_id` under the current `config`."""
    experiment = config.active_experiment()
    if experiment is None or session_id is None:
        return Assignment(config=config)
    arm = arm_for_session(experiment, session_id)
    return Assignment(config=_arm_configs.get(config, experiment, arm), experiment=experiment.name, arm=arm.name)
