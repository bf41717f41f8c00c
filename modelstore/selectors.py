"""Reads of the model storage: the newest config version and the latest identifiers."""

from __future__ import annotations

from modelstore.models import ConfigVersion, LatestIdentifier


def config_version_current() -> ConfigVersion | None:
    """The newest config version; ties on the timestamp are broken by id."""
    return ConfigVersion.objects.order_by("-create_at", "-id").first()


def latest_identifiers() -> dict[str, str]:
    return dict(LatestIdentifier.objects.values_list("model_name", "identifier"))
