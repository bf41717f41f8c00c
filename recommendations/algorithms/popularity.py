"""The popularity model: best sellers, sampled in proportion to units ordered (optionally
time-decayed) so the homepage does not show the same list to everyone, and scoring by
popularity (the original sorted by SKU string by mistake)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from .base import Catalogue, PredictContext, option, serves_all_retrieval, serves_all_scoring
from .selection import WeightDrawnModel

SECONDS_PER_DAY = 86_400.0


def _as_seconds(values: Sequence[datetime | float] | np.ndarray) -> np.ndarray:
    """POSIX seconds from datetimes (aware or naive, as Python interprets them) or numbers."""
    array = np.asarray(values)
    if array.dtype == object:
        return np.asarray([v.timestamp() if isinstance(v, datetime) else float(v) for v in array], dtype=np.float64)
    if np.issubdtype(array.dtype, np.datetime64):
        return array.astype("datetime64[us]").astype(np.int64) / 1e6
    return array.astype(np.float64)


def popularity_from_orders(
    skus: Sequence[str],
    order_skus: Sequence[str],
    quantities: Sequence[float],
    timestamps: Sequence[datetime | float] | np.ndarray | None,
    now: datetime | float | None,
    half_life_days: float | None,
) -> np.ndarray:
    """Units ordered per SKU of `skus` (aligned), from one entry per order line.

    With `half_life_days`, a line of age a days counts quantity × 0.5^(a / half_life_days), so
    what sells now outranks what sold a year ago; lines dated after `now` count fully. Without
    it (None) every line counts fully and `timestamps`/`now` are ignored. Lines whose SKU is not
    in `skus` are ignored; negative quantities (returns) are counted as given.
    """
    position = {sku: i for i, sku in enumerate(skus)}
    rows = np.fromiter((position.get(sku, -1) for sku in order_skus), dtype=np.int64, count=len(order_skus))
    weights = np.asarray(quantities, dtype=np.float64)
    if len(weights) != len(rows):
        raise ValueError("order_skus and quantities must have the same length")
    if half_life_days is not None:
        if half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        if timestamps is None or now is None:
            raise ValueError("time decay needs the timestamps of the order lines and now")
        seconds = _as_seconds(timestamps)
        if len(seconds) != len(rows):
            raise ValueError("timestamps and order_skus must have the same length")
        now_seconds = now.timestamp() if isinstance(now, datetime) else float(now)
        age_days = np.maximum(now_seconds - seconds, 0.0) / SECONDS_PER_DAY
        weights = weights * np.exp2(-age_days / half_life_days)
    known = rows >= 0
    return np.bincount(rows[known], weights=weights[known], minlength=len(skus)).astype(np.float64)


@dataclass(frozen=True)
class PopularityOptions:
    """The `popularityConfig` section of the config (read when the catalogue snapshot is built)."""

    half_life_days: float | None = option(
        None,
        title="Half-life (days)",
        description="Popularity decays by half over this many days; empty for no decay.",
        bounds=(0.001, 1e6),
    )


class PopularityModel(WeightDrawnModel):
    name = "popularity"
    title = "Popularity"
    description = "Best-selling variants, sampled in proportion to units ordered; scoring by units ordered."
    supports = serves_all_retrieval() | serves_all_scoring()
    colour = "#f59e0b"
    options = PopularityOptions

    def is_ready(self, context: PredictContext) -> bool:
        # Without a single sale the model is a worse dummy; let the cascade move on.
        return bool(np.any(context.catalogue.popularity > 0))

    def weights(self, catalogue: Catalogue) -> np.ndarray:
        # Never-sold items (popularity 0) come after sold ones, in-stock before out-of-stock.
        return catalogue.popularity
