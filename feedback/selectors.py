"""Reads of the feedback database on the prediction hot path."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db import connections, router

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
    return RequesterActivity(visited=visited, carted=tuple(carted), user_views=tuple(user_views), reviews=tuple(reviews))
