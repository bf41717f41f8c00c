"""Batch helpers the write services share: chunking, last-one-wins de-duplication and the
bulk upsert that leaves unsent timestamps alone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import models


def chunks(values: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def last_by_key(items: Iterable, key: str) -> list:
    """One item per key, the last one sent, in order of first appearance."""
    latest: dict = {}
    for item in items:
        latest[getattr(item, key)] = item
    return list(latest.values())


def upsert_keeping_unsent_timestamps(
    model: type[models.Model],
    rows: Sequence[tuple[models.Model, object | None]],
    *,
    using: str,
    key: str,
    fields: Sequence[str],
    batch_size: int,
) -> None:
    """Insert or update `rows` (instance, what the client sent) on `key`. `fields` are always
    updated; `create_at`/`update_at` only when the client sent them (not None on the second
    element), so rows are grouped by which ones it sent."""
    groups: dict[tuple[str, ...], list[models.Model]] = {}
    for instance, sent_by_client in rows:
        sent: tuple[str, ...] = ()
        if sent_by_client is not None:
            sent = tuple(name for name in ("create_at", "update_at") if getattr(sent_by_client, name) is not None)
        groups.setdefault(sent, []).append(instance)
    for sent, instances in groups.items():
        update_fields = [*fields, *sent]
        if not update_fields:
            model.objects.using(using).bulk_create(instances, batch_size=batch_size, ignore_conflicts=True)
            continue
        model.objects.using(using).bulk_create(
            instances,
            batch_size=batch_size,
            update_conflicts=True,
            unique_fields=[key],
            update_fields=update_fields,
        )
