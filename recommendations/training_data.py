"""Selectors that turn the stored catalogue and feedback into the arrays the algorithms train on.

Each builder reads what one model needs with a handful of set-based queries (no per-row
queries) and returns the algorithm's own input dataclass."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Max, Q
from django.utils import timezone

from feedback.models import ProductAddToCart, ProductDetailEnter, Review
from modelstore.config import EASEConfig
from products.models import (
    AttributeProductVariant,
    AttributeType,
    Order,
    OrderProductVariant,
    ProductPrice,
    ProductVariant,
)
from products.revision import catalogue_revision_current


def variant_skus() -> list[str]:
    """Every variant that is not soft-deleted, in a stable order."""
    return list(ProductVariant.objects.filter(deleted=False).order_by("sku").values_list("sku", flat=True))


def similarity_training_data():
    from recommendations.algorithms.similarity import SimilarityData

    skus = variant_skus()
    position = {sku: i for i, sku in enumerate(skus)}
    n = len(skus)

    prices: dict[str, np.ndarray] = {}
    for code, sku, price in ProductPrice.objects.filter(deleted=False, product_variant_sku__isnull=False).values_list(
        "price_list_code", "product_variant_sku", "price"
    ):
        row = position.get(sku)
        if row is None:
            continue
        column = prices.get(code)
        if column is None:
            # Not setdefault: its default would allocate an n-long array for every price row,
            # quadratic work (half an hour at a million variants).
            column = prices[code] = np.full(n, np.nan)
        column[row] = float(price)

    types = dict(AttributeType.objects.filter(deleted=False).values_list("id", "type"))
    numerical_ids = sorted(t for t, kind in types.items() if kind == AttributeType.Kind.NUMERICAL)
    categorical_ids = sorted(t for t, kind in types.items() if kind != AttributeType.Kind.NUMERICAL)
    numerical_column = {t: i for i, t in enumerate(numerical_ids)}
    categorical_column = {t: i for i, t in enumerate(categorical_ids)}
    numeric_sum = np.zeros((n, len(numerical_ids)))
    numeric_count = np.zeros((n, len(numerical_ids)))
    categorical: list[list[set[str]]] = [[set() for _ in range(n)] for _ in categorical_ids]

    links = AttributeProductVariant.objects.filter(attribute__deleted=False).values_list(
        "product_variant_id", "attribute__attribute_type_id", "attribute__raw_value", "attribute__numeric_value"
    )
    for sku, type_id, raw_value, numeric_value in links.iterator(chunk_size=10_000):
        row = position.get(sku)
        if row is None or type_id not in types:
            continue
        if type_id in numerical_column:
            if numeric_value is not None:
                numeric_sum[row, numerical_column[type_id]] += numeric_value
                numeric_count[row, numerical_column[type_id]] += 1
        elif raw_value is not None:
            categorical[categorical_column[type_id]][row].add(raw_value)

    with np.errstate(invalid="ignore", divide="ignore"):
        numerical = np.where(numeric_count > 0, numeric_sum / np.maximum(numeric_count, 1), np.nan)
    return SimilarityData(
        skus=skus,
        prices=prices,
        numerical=numerical,
        categorical=[[frozenset(values) for values in column] for column in categorical],
    )


@dataclass(frozen=True)
class Interactions:
    """Weighted (row, sku) interactions: a row is a user, or a session for anonymous traffic."""

    row_keys: list[str]
    skus: list[str]
    rows: np.ndarray
    columns: np.ndarray
    weights: np.ndarray
    timestamps: np.ndarray  # POSIX seconds


def requester_key(user_id: str | None, session_id: str | None) -> str:
    return f"user:{user_id}" if user_id else f"session:{session_id}"


def interactions(config: EASEConfig, *, until: datetime.datetime | None = None) -> Interactions:
    """Reviews (weight × rating / 5), orders, add-to-cart and detail views with the config's
    weights. A cell keeps the strongest signal seen (not the sum), so a shopper who views one
    item twenty times does not outweigh one who bought it."""
    known = set(variant_skus())
    cells: dict[tuple[str, str], tuple[float, float]] = {}

    def add(key: str, sku: str, weight: float, when: datetime.datetime) -> None:
        if sku not in known or weight <= 0:
            return
        stamp = when.timestamp()
        previous = cells.get((key, sku))
        if previous is None or weight > previous[0]:
            cells[(key, sku)] = (weight, max(stamp, previous[1]) if previous else stamp)
        else:
            cells[(key, sku)] = (previous[0], max(stamp, previous[1]))

    time_filter = Q(create_at__lt=until) if until else Q()
    for user_id, session_id, sku, when in ProductDetailEnter.objects.filter(time_filter).values_list(
        "user_id", "session_id", "product_variant_sku", "create_at"
    ).iterator(chunk_size=20_000):
        add(requester_key(user_id, session_id), sku, config.view_weight, when)
    for user_id, session_id, sku, when in ProductAddToCart.objects.filter(time_filter).values_list(
        "user_id", "session_id", "product_variant_sku", "create_at"
    ).iterator(chunk_size=20_000):
        add(requester_key(user_id, session_id), sku, config.cart_weight, when)
    orders = {
        token: (user_id, session_id, when)
        for token, user_id, session_id, when in Order.objects.filter(time_filter, deleted=False).values_list(
            "token", "user_id", "session_id", "create_at"
        )
    }
    for token, sku in OrderProductVariant.objects.values_list("order_id", "product_variant_sku").iterator(chunk_size=20_000):
        if token in orders:
            user_id, session_id, when = orders[token]
            add(requester_key(user_id, session_id), sku, config.order_weight, when)
    for user_id, session_id, sku, rating, when in Review.objects.filter(time_filter).values_list(
        "user_id", "session_id", "product_variant_sku", "rating", "create_at"
    ).iterator(chunk_size=20_000):
        add(requester_key(user_id, session_id), sku, config.review_weight * max(rating, 0) / 5.0, when)

    row_index: dict[str, int] = {}
    column_index: dict[str, int] = {}
    rows, columns, weights, stamps = [], [], [], []
    for (key, sku), (weight, stamp) in cells.items():
        rows.append(row_index.setdefault(key, len(row_index)))
        columns.append(column_index.setdefault(sku, len(column_index)))
        weights.append(weight)
        stamps.append(stamp)
    return Interactions(
        row_keys=list(row_index),
        skus=list(column_index),
        rows=np.asarray(rows, dtype=np.int64),
        columns=np.asarray(columns, dtype=np.int64),
        weights=np.asarray(weights, dtype=np.float32),
        timestamps=np.asarray(stamps, dtype=np.float64),
    )


def ease_training_data(config: EASEConfig, *, until: datetime.datetime | None = None):
    from recommendations.algorithms.ease import build_ease_data

    data = interactions(config, until=until)
    triplets = zip((data.row_keys[r] for r in data.rows), (data.skus[c] for c in data.columns), data.weights)
    return build_ease_data(triplets, aggregate="max", timestamps=data.timestamps)


@dataclass(frozen=True)
class SessionSequences:
    session_ids: list[str]
    skus: list[str]
    sequences: list[np.ndarray]
    start_times: np.ndarray  # POSIX seconds of each session's first event


def session_sequences(
    *, since: datetime.datetime | None = None, until: datetime.datetime | None = None
) -> SessionSequences:
    """Product-detail views grouped by session in time order (ties by arrival id)."""
    known = set(variant_skus())
    queryset = ProductDetailEnter.objects.all()
    if since:
        queryset = queryset.filter(create_at__gte=since)
    if until:
        queryset = queryset.filter(create_at__lt=until)
    item_index: dict[str, int] = {}
    grouped: dict[str, list[int]] = defaultdict(list)
    starts: dict[str, float] = {}
    for session_id, sku, when in queryset.order_by("session_id", "create_at", "id").values_list(
        "session_id", "product_variant_sku", "create_at"
    ).iterator(chunk_size=50_000):
        if sku not in known:
            continue
        grouped[session_id].append(item_index.setdefault(sku, len(item_index)))
        starts.setdefault(session_id, when.timestamp())
    session_ids = sorted(grouped, key=lambda s: (starts[s], s))
    return SessionSequences(
        session_ids=session_ids,
        skus=list(item_index),
        sequences=[np.asarray(grouped[s], dtype=np.int64) for s in session_ids],
        start_times=np.asarray([starts[s] for s in session_ids], dtype=np.float64),
    )


def gru4rec_training_data(*, since: datetime.datetime | None = None, until: datetime.datetime | None = None):
    from recommendations.algorithms.gru4rec import GRU4RecData

    sessions = session_sequences(since=since, until=until)
    return GRU4RecData(skus=sessions.skus, sessions=sessions.sequences, session_start_times=sessions.start_times)


def training_data_mark_current() -> dict[str, Any]:
    """Where the data stand now: the highest event ids, the review count (review ids come from
    the shop) and the catalogue revision."""
    return {
        "product_detail_enter_id": ProductDetailEnter.objects.aggregate(top=Max("id"))["top"] or 0,
        "product_add_to_cart_id": ProductAddToCart.objects.aggregate(top=Max("id"))["top"] or 0,
        "order_line_id": OrderProductVariant.objects.aggregate(top=Max("id"))["top"] or 0,
        "review_count": Review.objects.count(),
        "catalogue_revision": catalogue_revision_current(),
        "taken_at": timezone.now(),
    }
