"""Reads that span the databases: which of them answer."""

from __future__ import annotations

from django.conf import settings
from django.db import connections


def databases_unavailable() -> list[str]:
    """The aliases whose database does not answer a trivial query."""
    failing: list[str] = []
    for alias in settings.DATABASE_ALIASES:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception:
            failing.append(alias)
    return failing
