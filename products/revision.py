"""How servers learn that the catalogue changed: a revision counter bumped after every catalogue
write (one primary-key read tells a server whether its in-memory catalogue is stale), and the
change log of which variants, products and orders were written (so a server applies just those)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db.models import F
from django.utils import timezone

from products.models import CatalogueChange, CatalogueRevision

# Changes older than this are pruned; a server that looked longer ago rebuilds in full.
CHANGE_LOG_SECONDS = 3600


def catalogue_revision_bump() -> None:
    updated = CatalogueRevision.objects.filter(key="catalogue").update(
        revision=F("revision") + 1, update_at=timezone.now()
    )
    if not updated:
        CatalogueRevision.objects.get_or_create(key="catalogue", defaults={"revision": 1})


def catalogue_revision_current() -> int:
    return CatalogueRevision.objects.filter(key="catalogue").values_list("revision", flat=True).first() or 0


def catalogue_changes_record(*, kind: str, keys: Iterable[str | int]) -> None:
    """Log the written keys of one kind (in the writer's transaction)."""
    now = timezone.now()
    CatalogueChange.objects.bulk_create(
        [CatalogueChange(kind=kind, key=str(key), create_at=now) for key in dict.fromkeys(keys)], batch_size=1000
    )


def catalogue_changes_since(when: datetime.datetime) -> list[tuple[str, str]]:
    """(kind, key) of every change logged at or after `when`, oldest first, without repeats."""
    rows = CatalogueChange.objects.filter(create_at__gte=when).order_by("id").values_list("kind", "key")
    return list(dict.fromkeys(rows))


def catalogue_changes_prune(*, now: datetime.datetime | None = None) -> int:
    """Forget changes older than `CHANGE_LOG_SECONDS`; returns how many were removed."""
    cutoff = (now or timezone.now()) - datetime.timedelta(seconds=CHANGE_LOG_SECONDS)
    return CatalogueChange.objects.filter(create_at__lt=cutoff).delete()[0]
