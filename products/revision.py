"""How servers learn that the catalogue changed: a revision counter bumped by every catalogue
write (one primary-key read tells a server whether its in-memory catalogue is stale), and the
change log of which variants, products and orders the write of each revision touched (so a
server applies just those).

The bump takes the counter's row lock until the writer commits, so revisions commit in their
order: a server that reads revision R sees every change logged for revisions up to R."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db.models import F
from django.utils import timezone

from products.models import CatalogueChange, CatalogueRevision

# Changes older than this are pruned; a server that looked longer ago rebuilds in full.
CHANGE_LOG_SECONDS = 3600


def catalogue_revision_bump() -> int:
    """Count one more catalogue write; returns the new revision."""
    now = timezone.now()
    if not CatalogueRevision.objects.filter(key="catalogue").update(revision=F("revision") + 1, update_at=now):
        CatalogueRevision.objects.get_or_create(key="catalogue", defaults={"revision": 0})
        CatalogueRevision.objects.filter(key="catalogue").update(revision=F("revision") + 1, update_at=now)
    return catalogue_revision_current()


def catalogue_revision_current() -> int:
    return CatalogueRevision.objects.filter(key="catalogue").values_list("revision", flat=True).first() or 0


def catalogue_changes_record(*, revision: int, changes: Iterable[tuple[str, str | int]]) -> None:
    """Log what the write of `revision` touched, as (kind, key); an empty log says `OTHER`."""
    now = timezone.now()
    rows = [
        CatalogueChange(revision=revision, kind=kind, key=str(key), create_at=now)
        for kind, key in dict.fromkeys(changes)
    ]
    if not rows:
        rows = [CatalogueChange(revision=revision, kind=CatalogueChange.Kind.OTHER, create_at=now)]
    CatalogueChange.objects.bulk_create(rows, batch_size=1000)


def catalogue_changes_between(after: int, upto: int) -> tuple[list[tuple[str, str]], bool]:
    """The (kind, key) changes of revisions after `after` up to `upto`, without repeats, and
    whether the log is complete for them (every revision logged; none pruned, none bumped by a
    write that did not log)."""
    rows = list(
        CatalogueChange.objects.filter(revision__gt=after, revision__lte=upto)
        .order_by("id")
        .values_list("revision", "kind", "key")
    )
    complete = {revision for revision, _, _ in rows} == set(range(after + 1, upto + 1))
    return list(dict.fromkeys((kind, key) for _, kind, key in rows)), complete


def catalogue_changes_prune(*, now: datetime.datetime | None = None) -> int:
    """Forget changes older than `CHANGE_LOG_SECONDS`; returns how many were removed."""
    cutoff = (now or timezone.now()) - datetime.timedelta(seconds=CHANGE_LOG_SECONDS)
    return CatalogueChange.objects.filter(create_at__lt=cutoff).delete()[0]
