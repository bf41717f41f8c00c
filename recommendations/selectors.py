"""Reads of the recommender's own state: the current typed config."""

from __future__ import annotations

from modelstore.selectors import config_version_current
from recommendations.config import DEFAULT_CONFIG, RecommenderConfig, config_from_payload


def config_current() -> RecommenderConfig:
    """The current config, or the documented defaults when none is stored."""
    version = config_version_current()
    if version is None:
        return DEFAULT_CONFIG
    return config_from_payload(version.data)
