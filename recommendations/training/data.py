"""The training input of each kind of model (`TrainingData`), built from the catalogue's and the
feedback's selectors; every model of a kind gets the same input, so the builders know data
kinds, never a model."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import numpy as np
from django.utils import timezone

from feedback import selectors as feedback_selectors
from products import selectors as product_selectors
from products.revision import catalogue_revision_current
from recommendations.algorithms.base import SessionData, TrainingData
from recommendations.algorithms.ease import EASEData, build_ease_data
from recommendations.algorithms.similarity import SimilarityData


def content_data(
    options: Any = None, *, since: datetime.datetime | None = None, until: datetime.datetime | None = None
) -> SimilarityData:
    """The catalogue's prices and attribute values (`since`/`until` do not apply)."""
    content = product_selectors.catalogue_content()
    return SimilarityData(
        skus=content.skus, prices=content.prices, numerical=content.numerical, categorical=content.categorical
    )


def requester_key(user_id: str | None, session_id: str | None) -> str | None:
    """The interaction row of an event: its user, else its session; None for an anonymous event
    (no user, no session), which belongs to nobody's history."""
    if user_id:
        return f"user:{user_id}"
    return f"session:{session_id}" if session_id else None


def interaction_data(
    options: Any, *, since: datetime.datetime | None = None, until: datetime.datetime | None = None
) -> EASEData:
    """Reviews (`review_weight` × rating / 5), orders, add-to-carts and detail views with the
    weights of `options`, one row per user (else session). A cell keeps the strongest signal seen
    (not the sum), so a shopper who views one item twenty times does not outweigh one who bought
    it. `since` does not apply (the matrix is always whole)."""
    known = set(product_selectors.variant_skus())
    weight_of = {"view": options.view_weight, "cart": options.cart_weight}
    cells: dict[tuple[str, str], tuple[float, float]] = {}

    def add(key: str | None, sku: str, weight: float, when: datetime.datetime) -> None:
        if key is None or sku not in known or weight <= 0:
            return
        stamp = when.timestamp()
        previous = cells.get((key, sku))
        if previous is None or weight > previous[0]:
            cells[(key, sku)] = (weight, max(stamp, previous[1]) if previous else stamp)
        else:
            cells[(key, sku)] = (previous[0], max(stamp, previous[1]))

    reviews = []
    for kind, user_id, session_id, sku, when, rating in feedback_selectors.interaction_events(until=until):
        if kind == "review":
            reviews.append((user_id, session_id, sku, when, rating))
        else:
            add(requester_key(user_id, session_id), sku, weight_of[kind], when)
    for user_id, session_id, sku, when in product_selectors.ordered_lines(until=until):
        add(requester_key(user_id, session_id), sku, options.order_weight, when)
    for user_id, session_id, sku, when, rating in reviews:
        add(requester_key(user_id, session_id), sku, options.review_weight * max(rating, 0) / 5.0, when)

    keys = list(cells)
    return build_ease_data(
        ((key, sku, weight) for (key, sku), (weight, _) in zip(keys, cells.values())),
        aggregate="max",
        timestamps=np.asarray([stamp for _, stamp in cells.values()], dtype=np.float64),
    )


def session_data(
    options: Any = None, *, since: datetime.datetime | None = None, until: datetime.datetime | None = None
) -> SessionData:
    """Product views per session in time order, of variants that are not deleted."""
    sessions = feedback_selectors.session_sequences(
        known_skus=set(product_selectors.variant_skus()), since=since, until=until
    )
    return session_data_of(sessions)


def session_data_of(sessions: feedback_selectors.SessionSequences) -> SessionData:
    """The algorithms' session input from the feedback selectors' sessions."""
    return SessionData(
        skus=sessions.skus,
        sessions=sessions.sequences,
        session_start_times=sessions.start_times,
        session_ids=sessions.session_ids,
        session_end_times=sessions.end_times,
    )


# How each kind of training input is built: (options of the model, since, until) → data.
DATA_BUILDERS: dict[TrainingData, Callable[..., Any]] = {
    TrainingData.CONTENT: content_data,
    TrainingData.INTERACTIONS: interaction_data,
    TrainingData.SESSIONS: session_data,
}

# Which new rows make a model of each kind worth retraining: events (views, carts, order lines,
# reviews) or catalogue changes.
RETRAIN_EVENTS: dict[TrainingData, tuple[str, ...]] = {
    TrainingData.CONTENT: (),
    TrainingData.INTERACTIONS: ("views", "carts", "order_lines", "reviews"),
    TrainingData.SESSIONS: ("views",),
}


def training_data_build(
    kind: TrainingData, options: Any, *, since: datetime.datetime | None = None, until: datetime.datetime | None = None
) -> Any:
    return DATA_BUILDERS[kind](options, since=since, until=until)


def training_data_mark_current() -> dict[str, Any]:
    """Where the data stand now: the highest event ids, the review count and the catalogue
    revision."""
    return {
        **feedback_selectors.event_marks(),
        "order_line_id": product_selectors.order_line_id_top(),
        "catalogue_revision": catalogue_revision_current(),
        "taken_at": timezone.now(),
    }
