"""The catalogue revision: bumped after catalogue writes, read by the prediction hot path."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from products.models import CatalogueRevision


def catalogue_revision_bump() -> None:
    updated = CatalogueRevision.objects.filter(key="catalogue").update(
        revision=F("revision") + 1, update_at=timezone.now()
    )
    if not updated:
        CatalogueRevision.objects.get_or_create(key="catalogue", defaults={"revision": 1})


def catalogue_revision_current() -> int:
    return CatalogueRevision.objects.filter(key="catalogue").values_list("revision", flat=True).first() or 0
