"""Reads of the feedback database: a requester's activity (on the prediction hot path), the
sessions and interactions the models learn from, and the counts the trainer schedules by."""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

import numpy as np
from django.db import connections, router
from django.db.models import Max, Q

from feedback.models import ProductAddToCart, ProductDetailEnter, Review, Session

# Caps that keep one request's history bounded whatever a shopper did.
MAX_VIEWS = 200
MAX_CARTS = 200
MAX_REVIEWS = 500


@dataclass(frozen=True)
class RequesterActivity:
    """What one requester did: the session's visited SKUs (oldest first), the SKUs the session
    (or the user) added to carts, and, for a known user, the SKUs they viewed in other sessions
    (newest first) and reviewed (with the rating)."""

    visited: tuple[str, ...] = ()
    carted: tuple[str, ...] = ()
    user_views: tuple[str, ...] = ()
    reviews: tuple[tuple[str, int], ...] = field(default_factory=tuple)


def requester_activity(*, session_id: str | None, user_id: str | None, with_history: bool) -> RequesterActivity:
    """One round trip: the session's visited list, and with `with_history` the requester's carts,
    and a known user's views and reviews. An anonymous shopper (no session, no user) did nothing."""
    if session_id is None and not user_id:
        return RequesterActivity()
    session_table = Session._meta.db_table
    parts = [f"SELECT 'visited', CAST(visited_product_variants AS TEXT), 0 FROM {session_table} WHERE id = %s"]
    params: list = [session_id]
    if with_history:
        cart_table = ProductAddToCart._meta.db_table
        key, value = ("user_id", user_id) if user_id else ("session_id", session_id)
        parts.append(
            f"SELECT * FROM (SELECT 'cart', product_variant_sku, 0 FROM {cart_table} WHERE {key} = %s LIMIT {MAX_CARTS}) carts"
        )
        params.append(value)
        if user_id:
            view_table = ProductDetailEnter._meta.db_table
            review_table = Review._meta.db_table
            parts.append(
                f"SELECT * FROM (SELECT 'view', product_variant_sku, 0 FROM {view_table} WHERE user_id = %s "
                f"ORDER BY create_at DESC LIMIT {MAX_VIEWS}) views"
            )
            parts.append(
                f"SELECT * FROM (SELECT 'review', product_variant_sku, rating FROM {review_table} WHERE user_id = %s "
                f"LIMIT {MAX_REVIEWS}) reviews"
            )
            params += [user_id, user_id]
    connection = connections[router.db_for_read(Session)]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    visited: tuple[str, ...] = ()
    carted, user_views, reviews = [], [], []
    for kind, value, rating in rows:
        if kind == "visited":
            visited = tuple(json.loads(value) if isinstance(value, str) else value or ())
        elif kind == "cart":
            carted.append(value)
        elif kind == "view":
            user_views.append(value)
        else:
            reviews.append((value, rating))
    return RequesterActivity(
        visited=visited, carted=tuple(carted), user_views=tuple(user_views), reviews=tuple(reviews)
    )


@dataclass(frozen=True)
class SessionSequences:
    session_ids: list[str]
    skus: list[str]
    sequences: list[np.ndarray]  # indices into `skus`, oldest view first
    start_times: np.ndarray  # POSIX seconds of each session's first view
    end_times: np.ndarray  # POSIX seconds of each session's last view


def session_sequences(
    *, known_skus: Collection[str], since: datetime.datetime | None = None, until: datetime.datetime | None = None
) -> SessionSequences:
    """Product-detail views of `known_skus` grouped by session in time order (ties by arrival
    id), sessions ordered by their first view. Anonymous views (no session) form no sequence."""
    queryset = ProductDetailEnter.objects.filter(session_id__isnull=False)
    if since:
        queryset = queryset.filter(create_at__gte=since)
    if until:
        queryset = queryset.filter(create_at__lt=until)
    item_index: dict[str, int] = {}
    grouped: dict[str, list[int]] = defaultdict(list)
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    for session_id, sku, when in (
        queryset.order_by("session_id", "create_at", "id")
        .values_list("session_id", "product_variant_sku", "create_at")
        .iterator(chunk_size=50_000)
    ):
        if sku not in known_skus:
            continue
        grouped[session_id].append(item_index.setdefault(sku, len(item_index)))
        stamp = when.timestamp()
        starts.setdefault(session_id, stamp)
        ends[session_id] = stamp
    session_ids = sorted(grouped, key=lambda s: (starts[s], s))
    return SessionSequences(
        session_ids=session_ids,
        skus=list(item_index),
        sequences=[np.asarray(grouped[s], dtype=np.int64) for s in session_ids],
        start_times=np.asarray([starts[s] for s in session_ids], dtype=np.float64),
        end_times=np.asarray([ends[s] for s in session_ids], dtype=np.float64),
    )


def interaction_events(
    *, until: datetime.datetime | None = None
) -> Iterator[tuple[str, str | None, str | None, str, datetime.datetime, int | None]]:
    """(kind, user id, session id, sku, time, rating) of every view, add-to-cart and review
    (kind "view", "cart", "review"; the rating only for reviews), before `until` when given."""
    time_filter = Q(create_at__lt=until) if until else Q()
    for kind, model in (("view", ProductDetailEnter), ("cart", ProductAddToCart)):
        for user_id, session_id, sku, when in (
            model.objects.filter(time_filter)
            .values_list("user_id", "session_id", "product_variant_sku", "create_at")
            .iterator(chunk_size=20_000)
        ):
            yield kind, user_id, session_id, sku, when, None
    for user_id, session_id, sku, rating, when in (
        Review.objects.filter(time_filter)
        .values_list("user_id", "session_id", "product_variant_sku", "rating", "create_at")
        .iterator(chunk_size=20_000)
    ):
        yield "review", user_id, session_id, sku, when, rating


def event_counts() -> dict[str, int]:
    """How many views, add-to-carts and reviews are stored."""
    return {
        "views": ProductDetailEnter.objects.count(),
        "carts": ProductAddToCart.objects.count(),
        "reviews": Review.objects.count(),
    }


def event_marks() -> dict[str, int]:
    """The highest view and add-to-cart ids and the review count (review ids come from the shop,
    so they say nothing about arrival)."""
    return {
        "product_detail_enter_id": ProductDetailEnter.objects.aggregate(top=Max("id"))["top"] or 0,
        "product_add_to_cart_id": ProductAddToCart.objects.aggregate(top=Max("id"))["top"] or 0,
        "review_count": Review.objects.count(),
    }


def events_since(*, kind: str, after_id: int, enough: int) -> int:
    """How many views ("views") or add-to-carts ("carts") have an id above `after_id`, counted
    up to `enough` (an index range scan that stops early, never a full count)."""
    model = {"views": ProductDetailEnter, "carts": ProductAddToCart}[kind]
    return model.objects.filter(id__gt=after_id).order_by()[:enough].count()


def sessions_updated_since(when: datetime.datetime) -> SessionSequences:
    """Every session updated at or after `when` with what it visited, oldest view first, for the
    models that follow live sessions (a continued session comes whole, to replace its old self)."""
    item_index: dict[str, int] = {}
    session_ids, sequences, starts, ends = [], [], [], []
    rows = (
        Session.objects.filter(update_at__gte=when)
        .order_by("update_at", "id")
        .values_list("id", "visited_product_variants", "create_at", "update_at")
    )
    for session_id, visited, create_at, update_at in rows.iterator(chunk_size=5000):
        if not visited:
            continue
        session_ids.append(session_id)
        sequences.append(
            np.asarray([item_index.setdefault(str(sku), len(item_index)) for sku in visited], dtype=np.int64)
        )
        starts.append(create_at.timestamp())
        ends.append(update_at.timestamp())
    return SessionSequences(
        session_ids=session_ids,
        skus=list(item_index),
        sequences=sequences,
        start_times=np.asarray(starts, dtype=np.float64),
        end_times=np.asarray(ends, dtype=np.float64),
    )
