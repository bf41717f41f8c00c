"""Which database alias holds an app's tables: `settings.DATABASE_APPS_MAPPING` is the one source
(the router and every service that names its database ask here)."""

from __future__ import annotations

from django.conf import settings


def database_for_app(app_label: str) -> str:
    return settings.DATABASE_APPS_MAPPING.get(app_label, "default")
