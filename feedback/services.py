"""Writes to the feedback database: bulk ingest of shopper events and reviews, and the sessions
they belong to.

Events are immutable and inserted in bulk. Every event makes sure its session exists; product
detail enters append their SKU to the session's visited list in arrival order. An event that
carries its own `create_at` (imported history) is stored once: sending it again is a no-op."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connections, transaction

from core.bulk import chunks, last_by_key, upsert_keeping_unsent_timestamps
from core.databases import database_for_app
from feedback.models import (
    EventBase,
    ProductAddToCart,
    ProductDetailEnter,
    ProductDetailLeave,
    RecommendationView,
    Review,
    Session,
)

DATABASE = database_for_app("feedback")
BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class EventData:
    """One shopper event. `create_at` is None when the client did not send it; `received_at`
    (the time the batch arrived) is used then. The attribution and `time_spent` fields are only
    meaningful for the event kinds that have them."""

    session_id: str | None  # None: an anonymous event, part of no session
    user_id: str | None
    product_id: int | None
    product_variant_sku: str
    received_at: datetime
    create_at: datetime | None = None
    recommendation_type: str | None = None
    model_identifier: str | None = None
    model_name: str | None = None
    position: int | None = None
    time_spent: float | None = None

    @property
    def occurred_at(self) -> datetime:
        return self.create_at or self.received_at


@dataclass(frozen=True, slots=True)
class ReviewData:
    id: int
    session_id: str
    user_id: str | None
    product_id: int | None
    product_variant_sku: str
    rating: int
    received_at: datetime
    create_at: datetime | None = None
    update_at: datetime | None = None


def _chunk_size() -> int:
    limit = connections[DATABASE].features.max_query_params
    return min(limit - 10, 5000) if limit else 5000


def _without_stored_history(model: type[EventBase], events: Sequence[EventData]) -> list[EventData]:
    """Drop events with their own `create_at` that are already stored (or repeated in the
    batch): imported history may be sent again without being counted twice."""
    historic = [e for e in events if e.create_at is not None]
    if not historic:
        return list(events)
    stored: set[tuple[str | None, str, datetime]] = set()
    since = min(e.create_at for e in historic)
    sessions = list({e.session_id for e in historic if e.session_id is not None})
    for chunk in chunks(sessions, _chunk_size()):
        stored.update(
            model.objects.using(DATABASE)
            .filter(session_id__in=chunk, create_at__gte=since)
            .values_list("session_id", "product_variant_sku", "create_at")
        )
    anonymous = {(e.product_variant_sku, e.create_at) for e in historic if e.session_id is None}
    if anonymous:
        skus = list({sku for sku, _ in anonymous})
        for chunk in chunks(skus, _chunk_size()):
            stored.update(
                model.objects.using(DATABASE)
                .filter(session_id__isnull=True, product_variant_sku__in=chunk, create_at__gte=since)
                .values_list("session_id", "product_variant_sku", "create_at")
            )
    kept: list[EventData] = []
    for event in events:
        if event.create_at is not None:
            key = (event.session_id, event.product_variant_sku, event.create_at)
            if key in stored:
                continue
            stored.add(key)
        kept.append(event)
    return kept


def _sessions_record(events: Sequence[EventData], *, append_visits: bool) -> None:
    """Create the events' missing sessions (user and time of their first event), keep each
    session's `update_at` at its latest event, fill a missing user id, and for detail enters
    append the SKUs to the visited lists in arrival order. One row per session and batch."""
    if not events:
        return
    changes: dict[str, _SessionChange] = {}
    for event in events:
        if event.session_id is None:
            continue  # an anonymous event belongs to no session
        change = changes.get(event.session_id)
        when = event.occurred_at
        if change is None:
            change = changes[event.session_id] = _SessionChange(first_at=when, last_at=when)
        elif when > change.last_at:
            change.last_at = when
        if change.user_id is None and event.user_id is not None:
            change.user_id = event.user_id
        if append_visits:
            change.visits.append(event.product_variant_sku)
    # Sorted: concurrent batches touching the same sessions lock their rows in one order.
    ordered = sorted(changes.items())
    if connections[DATABASE].vendor == "postgresql":
        _sessions_append_postgresql(ordered)
    else:
        _sessions_append_portable(ordered)


@dataclass(slots=True)
class _SessionChange:
    first_at: datetime
    last_at: datetime
    user_id: str | None = None
    visits: list[str] = field(default_factory=list)


def _sessions_append_postgresql(ordered: Sequence[tuple[str, _SessionChange]]) -> None:
    """One upsert that appends in SQL (`jsonb || jsonb`): no read, and each session row is
    locked only from this last statement to the commit, so concurrent batches of one session
    append in turn instead of waiting on each other for the whole request."""
    connection = connections[DATABASE]
    table = connection.ops.quote_name(Session._meta.db_table)
    per_statement = BATCH_SIZE
    with connection.cursor() as cursor:
        for chunk in chunks(ordered, per_statement):
            values = ", ".join(["(%s, %s, %s::jsonb, %s, %s)"] * len(chunk))
            params: list[object] = []
            for session_id, change in chunk:
                params += [session_id, change.user_id, json.dumps(change.visits), change.first_at, change.last_at]
            cursor.execute(
                f"INSERT INTO {table} AS s (id, user_id, visited_product_variants, create_at, update_at) "
                f"VALUES {values} ON CONFLICT (id) DO UPDATE SET "
                "visited_product_variants = s.visited_product_variants || EXCLUDED.visited_product_variants, "
                "update_at = GREATEST(s.update_at, EXCLUDED.update_at), "
                "user_id = COALESCE(s.user_id, EXCLUDED.user_id)",
                params,
            )


def _sessions_append_portable(ordered: Sequence[tuple[str, _SessionChange]]) -> None:
    """Read the batch's sessions once, append in Python, write them back in one upsert. (On
    SQLite a write transaction holds the database lock, so nothing interleaves.)"""
    manager = Session.objects.using(DATABASE)
    stored: dict[str, Session] = {}
    session_ids = [session_id for session_id, _ in ordered]
    for chunk in chunks(session_ids, _chunk_size()):
        stored.update((s.id, s) for s in manager.select_for_update().filter(id__in=chunk).order_by("id"))
    rows: list[Session] = []
    for session_id, change in ordered:
        session = stored.get(session_id)
        if session is None:
            session = Session(
                id=session_id,
                user_id=change.user_id,
                visited_product_variants=[],
                create_at=change.first_at,
                update_at=change.last_at,
            )
        elif (
            not change.visits
            and change.last_at <= session.update_at
            and (session.user_id is not None or change.user_id is None)
        ):
            continue
        session.visited_product_variants = [*(session.visited_product_variants or []), *change.visits]
        session.update_at = max(session.update_at, change.last_at)
        session.user_id = session.user_id if session.user_id is not None else change.user_id
        rows.append(session)
    manager.bulk_create(
        rows,
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["visited_product_variants", "update_at", "user_id"],
    )


def _insert_rows(model: type[EventBase], columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Plain multi-row INSERTs of already-typed values. Events are insert-only and carry no
    per-row logic, so Django's per-value compilation in `bulk_create`, which costs more than
    the database does on the ingest path, is skipped."""
    connection = connections[DATABASE]
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in columns]
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, min(BATCH_SIZE, (connection.features.max_query_params or 65535) // len(fields)))
    with connection.cursor() as cursor:
        for chunk in chunks(rows, per_statement):
            cursor.execute(head + ", ".join([placeholder] * len(chunk)), [value for row in chunk for value in row])


def _events_create(model: type[EventBase], events: Sequence[EventData], *, fields: Sequence[str]) -> int:
    events = _without_stored_history(model, events)
    if not events:
        return 0
    adapt = connections[DATABASE].ops.adapt_datetimefield_value
    adapted: dict[datetime, object] = {}  # most events of a batch share the receipt time
    columns = ("session_id", "user_id", "product_id", "product_variant_sku", "create_at", *fields)
    rows = []
    for e in events:
        when = e.create_at or e.received_at
        if when not in adapted:
            adapted[when] = adapt(when)
        rows.append(
            (
                e.session_id,
                e.user_id,
                e.product_id,
                e.product_variant_sku,
                adapted[when],
                *(getattr(e, f) for f in fields),
            )
        )
    _insert_rows(model, columns, rows)
    _sessions_record(events, append_visits=model is ProductDetailEnter)
    return len(rows)


_ATTRIBUTION = ("recommendation_type", "model_identifier", "model_name", "position")


@transaction.atomic(using=DATABASE, savepoint=False)
def product_detail_enter_create_many(*, events: Sequence[EventData]) -> int:
    """Store detail enters (with their attribution when the storefront echoed `rs_info`) and
    append them to their sessions' visited lists. Returns the number of events stored."""
    return _events_create(ProductDetailEnter, events, fields=_ATTRIBUTION)


@transaction.atomic(using=DATABASE, savepoint=False)
def product_detail_leave_create_many(*, events: Sequence[EventData]) -> int:
    return _events_create(ProductDetailLeave, events, fields=("time_spent",))


@transaction.atomic(using=DATABASE, savepoint=False)
def product_add_to_cart_create_many(*, events: Sequence[EventData]) -> int:
    return _events_create(ProductAddToCart, events, fields=())


@transaction.atomic(using=DATABASE, savepoint=False)
def recommendation_view_create_many(*, events: Sequence[EventData]) -> int:
    return _events_create(RecommendationView, events, fields=_ATTRIBUTION)


@transaction.atomic(using=DATABASE, savepoint=False)
def review_upsert_many(*, reviews: Sequence[ReviewData]) -> int:
    """Store reviews by their client-given id: a review sent again replaces the stored one
    (its timestamps are kept unless the client sends them)."""
    latest = last_by_key(reviews, "id")
    # A timestamp the client did not send is set on insert and kept when the review is re-sent.
    rows = [
        (
            Review(
                id=r.id,
                session_id=r.session_id,
                user_id=r.user_id,
                product_id=r.product_id,
                product_variant_sku=r.product_variant_sku,
                rating=r.rating,
                create_at=r.create_at or r.received_at,
                update_at=r.update_at or r.create_at or r.received_at,
            ),
            r,
        )
        for r in latest
    ]
    upsert_keeping_unsent_timestamps(
        Review,
        rows,
        using=DATABASE,
        key="id",
        fields=["session_id", "user_id", "product_id", "product_variant_sku", "rating"],
        batch_size=BATCH_SIZE,
    )
    session_events = [
        EventData(
            session_id=r.session_id,
            user_id=r.user_id,
            product_id=r.product_id,
            product_variant_sku=r.product_variant_sku,
            received_at=r.received_at,
            create_at=r.create_at,
        )
        for r in latest
        if r.session_id
    ]
    _sessions_record(session_events, append_visits=False)
    return len(latest)
