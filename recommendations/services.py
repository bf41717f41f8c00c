"""Writes of the recommender's own state: config versions, validated against the typed config."""

from __future__ import annotations

from typing import Any

from modelstore.models import ConfigVersion
from modelstore.services import config_version_store
from recommendations.config import RecommenderConfig, config_from_payload
from recommendations.selectors import config_current


def config_version_create(*, payload: dict[str, Any] | RecommenderConfig, created_by: str = "") -> ConfigVersion:
    """Validate and store a new config version; it becomes the current config. A payload that
    omits fields keeps the current version's values for them (the ecoseller dashboard sends
    only the keys it knows).

    Raises `ConfigError` (nothing stored) when the payload is invalid."""
    config = payload if isinstance(payload, RecommenderConfig) else config_from_payload(payload, base=config_current())
    return config_version_store(data=config.to_data(), created_by=created_by)
