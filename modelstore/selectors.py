"""Reads of the model storage: the current config and the latest identifiers."""

from __future__ import annotations

from modelstore.config import DEFAULT_CONFIG, RecommenderConfig, config_from_payload
from modelstore.models import ConfigVersion, LatestIdentifier


def config_version_current() -> ConfigVersion | None:
    """The newest config version; ties on the timestamp are broken by id."""
    return ConfigVersion.objects.order_by("-create_at", "-id").first()


def config_current() -> RecommenderConfig:
    """The current config, or the documented defaults when none is stored."""
    version = config_version_current()
    if version is None:
        return DEFAULT_CONFIG
    return config_from_payload(version.data)


def latest_identifiers() -> dict[str, str]:
    return dict(LatestIdentifier.objects.values_list("model_name", "identifier"))
