"""Writes to the model storage."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from modelstore.config import RecommenderConfig, config_from_payload
from modelstore.models import ConfigVersion


@transaction.atomic(using="modelstore")
def config_version_create(*, payload: dict[str, Any] | RecommenderConfig, created_by: str = "") -> ConfigVersion:
    """Validate and store a new config version; it becomes the current config.

    Raises `ConfigError` (nothing stored) when the payload is invalid."""
    config = payload if isinstance(payload, RecommenderConfig) else config_from_payload(payload)
    return ConfigVersion.objects.create(data=config.to_data(), created_by=created_by)
