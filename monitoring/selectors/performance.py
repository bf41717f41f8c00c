"""How the served recommendations performed, restricted to one date range (both bounds
inclusive, on `create_at`).

Definitions (also the `info` texts of the API, see `PERFORMANCE_INFO`):

* scope: "general" is every prediction in the range; a model's figures are the predictions it
  *scored* (`scoring_model_name`), except its retrieval durations, which are those of the
  predictions it *retrieved* for (`retrieval_model_name`).
* hit rate @ k: the share of predictions whose list got a click in its top k. A click is a
  `ProductDetailEnter` attributed to a recommendation (`model_name`, `recommendation_type` and
  `position` set) with `0 <= position < k`, inside the range. Each click is credited to one
  prediction: among the predictions of the same session, recommendation type and scoring model
  made at or before the click (and inside the range), the latest one whose top k holds the clicked
  variant, or the latest one when none does (the storefront shows the newest list it was served).
  A prediction with at least one credited click is a hit.
* future hit rate @ k: the share of predictions for which one of the top k variants was viewed
  (any `ProductDetailEnter`) later in the same session, at or after the prediction and inside
  the range. A view that the storefront attributes to a recommendation of *another* model or
  type is that recommendation's success and does not count; unattributed views and views through
  this prediction's own model and type do.
* coverage: distinct variants that appear in the predicted lists (all logged positions: up to
  `RS_MAX_LIMIT` of a whole-category answer) and are still in
  the catalogue, over the number of variants in the catalogue (not deleted).
* click-through rate: attributed clicks (as above, any position) over recommendation views
  (`RecommendationView` events), both inside the range; per model by the events' `model_name`.
* durations: average, 95th percentile (nearest rank) and maximum of each pipeline phase, seconds.

Per experiment arm (the predictions recorded with that experiment and arm): the same predictions,
hits, future hits and coverage; the clicks and recommendation views of a session count for the
arm of that session's latest prediction in an experiment made at or before them.

Counts, averages and maxima are aggregated in the database. Hits, coverage and percentiles need
the predicted lists: the range's predictions and the range's product-detail views are read in
two queries and matched in memory by session, so the work is bounded by the range."""

from __future__ import annotations

import bisect
import datetime
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Avg, Count, Max, Q
from django.utils import timezone

from feedback.models import PredictionResult, ProductDetailEnter, RecommendationView
from monitoring.selectors.dates import DateRange, in_range
from monitoring.selectors.texts import GENERAL, HIT_RATE_K
from products.models import ProductVariant
from recommendations.algorithms.registry import MODELS


@dataclass(frozen=True)
class DurationFigures:
    avg: float | None = None
    p95: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class PerformanceFigures:
    predictions: int = 0
    hits: int = 0
    future_hits: int = 0
    recommended_variants: int = 0
    catalogue_variants: int = 0
    clicks: int = 0
    recommendation_views: int = 0
    retrieval_duration: DurationFigures = DurationFigures()
    scoring_duration: DurationFigures = DurationFigures()
    ordering_duration: DurationFigures = DurationFigures()

    @property
    def hit_rate(self) -> float | None:
        return self.hits / self.predictions if self.predictions else None

    @property
    def future_hit_rate(self) -> float | None:
        return self.future_hits / self.predictions if self.predictions else None

    @property
    def coverage(self) -> float | None:
        # An empty catalogue has nothing to cover; the original divided by max(count, 1).
        return self.recommended_variants / self.catalogue_variants if self.catalogue_variants else None

    @property
    def click_through_rate(self) -> float | None:
        return self.clicks / self.recommendation_views if self.recommendation_views else None


@dataclass(frozen=True)
class DailyFigures:
    """One day of the performance charts; keys of the dicts are model names and `GENERAL`."""

    day: datetime.date
    predictions: dict[str, int]
    hit_rate: dict[str, float | None]
    coverage: dict[str, float | None]
    retrieval_avg: float | None
    scoring_avg: float | None
    ordering_avg: float | None
    total_p95: float | None


@dataclass(frozen=True)
class PerformanceReport:
    k: int
    date_range: DateRange
    general: PerformanceFigures
    model_specific: dict[str, PerformanceFigures]
    daily: list[DailyFigures] = field(default_factory=list)
    # (experiment, arm) → the figures of the predictions served in that arm.
    arms: dict[tuple[str, str], PerformanceFigures] = field(default_factory=dict)


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of the values at or
    below it. None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _duration_aggregates(date_range: DateRange, *, group_by: str, phase: str) -> dict[str, tuple[float, float]]:
    """{scope: (avg, max)} of one phase's duration, general under `GENERAL`."""
    predictions = PredictionResult.objects.filter(in_range(date_range))
    result = {
        row[group_by]: (row["avg"], row["max"])
        for row in predictions.values(group_by).annotate(avg=Avg(phase), max=Max(phase)).order_by()
    }
    overall = predictions.aggregate(avg=Avg(phase), max=Max(phase))
    result[GENERAL] = (overall["avg"], overall["max"])
    return result


def _click_counts(date_range: DateRange) -> tuple[dict[str, int], dict[str, int]]:
    """Attributed clicks and recommendation views in the range, by model and in total."""
    clicks = {
        row["model_name"]: row["n"]
        for row in ProductDetailEnter.objects.filter(in_range(date_range), _attributed())
        .values("model_name")
        .annotate(n=Count("id"))
        .order_by()
    }
    views = {
        row["model_name"]: row["n"]
        for row in RecommendationView.objects.filter(in_range(date_range))
        .values("model_name")
        .annotate(n=Count("id"))
        .order_by()
    }
    clicks[GENERAL] = sum(clicks.values())
    views[GENERAL] = sum(views.values())
    return clicks, views


def _attributed() -> Q:
    return Q(model_name__isnull=False, recommendation_type__isnull=False, position__isnull=False) & ~Q(model_name="")


@dataclass
class _ScopeAccumulator:
    predictions: int = 0
    hits: int = 0
    future_hits: int = 0
    variants: set[str] = field(default_factory=set)
    retrieval: list[float] = field(default_factory=list)
    scoring: list[float] = field(default_factory=list)
    ordering: list[float] = field(default_factory=list)


@dataclass
class _DayAccumulator:
    predictions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    variants: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    retrieval: list[float] = field(default_factory=list)
    scoring: list[float] = field(default_factory=list)
    ordering: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _Prediction:
    id: int
    session_id: str
    scoring_model: str
    retrieval_model: str
    recommendation_type: str
    create_at: datetime.datetime
    items: tuple[str, ...]
    retrieval_duration: float
    scoring_duration: float
    ordering_duration: float
    experiment: str | None = None
    arm: str | None = None


@dataclass(frozen=True)
class _View:
    create_at: datetime.datetime
    sku: str
    model_name: str | None
    recommendation_type: str | None
    position: int | None


def _load_predictions(date_range: DateRange) -> list[_Prediction]:
    rows = (
        PredictionResult.objects.filter(in_range(date_range))
        .order_by("create_at", "id")
        .values_list(
            "id",
            "session_id",
            "scoring_model_name",
            "retrieval_model_name",
            "recommendation_type",
            "create_at",
            "predicted_items",
            "retrieval_duration",
            "scoring_duration",
            "ordering_duration",
            "experiment",
            "arm",
        )
    )
    return [
        _Prediction(row[0], row[1], row[2], row[3], row[4], row[5], tuple(str(sku) for sku in (row[6] or ())), *row[7:])
        for row in rows.iterator(chunk_size=2000)
    ]


def _arm_event_counts(
    predictions: list[_Prediction], views_by_session: dict[str, list[_View]], date_range: DateRange
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """Attributed clicks and recommendation views per (experiment, arm): an event counts for the
    arm of its session's latest experiment prediction made at or before it."""
    served: dict[str, list[_Prediction]] = defaultdict(list)
    for prediction in predictions:  # in time order
        if prediction.experiment and prediction.arm and prediction.session_id is not None:
            served[prediction.session_id].append(prediction)
    clicks: dict[tuple[str, str], int] = defaultdict(int)
    views: dict[tuple[str, str], int] = defaultdict(int)
    if not served:
        return clicks, views
    times = {session_id: [p.create_at for p in listed] for session_id, listed in served.items()}

    def arm_at(session_id: str, moment: datetime.datetime) -> tuple[str, str] | None:
        listed = served.get(session_id)
        if not listed:
            return None
        position = bisect.bisect_right(times[session_id], moment)
        return (listed[position - 1].experiment, listed[position - 1].arm) if position else None

    for session_id in served:
        for view in views_by_session.get(session_id, ()):
            if view.model_name is not None and view.recommendation_type is not None and view.position is not None:
                arm = arm_at(session_id, view.create_at)
                if arm is not None:
                    clicks[arm] += 1
    sessions = PredictionResult.objects.filter(in_range(date_range), experiment__isnull=False).values("session_id")
    for session_id, create_at in (
        RecommendationView.objects.filter(in_range(date_range), session_id__in=sessions)
        .values_list("session_id", "create_at")
        .iterator(chunk_size=5000)
    ):
        arm = arm_at(session_id, create_at)
        if arm is not None:
            views[arm] += 1
    return clicks, views


def _load_views_by_session(date_range: DateRange) -> dict[str, list[_View]]:
    """Every product-detail view in the range of a session that got a prediction in the range,
    per session, in time order. The session filter is a subquery: both tables are in the
    feedback database."""
    views: dict[str, list[_View]] = defaultdict(list)
    sessions = PredictionResult.objects.filter(in_range(date_range)).values("session_id")
    rows = (
        ProductDetailEnter.objects.filter(in_range(date_range), session_id__in=sessions)
        .order_by("create_at", "id")
        .values_list("session_id", "create_at", "product_variant_sku", "model_name", "recommendation_type", "position")
    )
    for session_id, create_at, sku, model_name, recommendation_type, position in rows.iterator(chunk_size=5000):
        views[session_id].append(_View(create_at, sku, model_name or None, recommendation_type or None, position))
    return views


def _credited_predictions(predictions: list[_Prediction], views_by_session: dict[str, list[_View]], k: int) -> set[int]:
    """Ids of the predictions credited with at least one top-k click (see the module docstring)."""
    by_list: dict[tuple[str, str, str], list[_Prediction]] = defaultdict(list)
    for prediction in predictions:  # already in time order
        by_list[(prediction.session_id, prediction.scoring_model, prediction.recommendation_type)].append(prediction)
    times = {key: [c.create_at for c in candidates] for key, candidates in by_list.items()}
    credited: set[int] = set()
    for session_id, views in views_by_session.items():
        for view in views:
            if view.model_name is None or view.recommendation_type is None or view.position is None:
                continue
            if not 0 <= view.position < k:
                continue
            key = (session_id, view.model_name, view.recommendation_type)
            candidates = by_list.get(key)
            if not candidates:
                continue
            served = bisect.bisect_right(times[key], view.create_at)
            if served == 0:
                continue
            chosen = candidates[served - 1]
            for candidate in reversed(candidates[:served]):
                if view.sku in candidate.items[:k]:
                    chosen = candidate
                    break
            credited.add(chosen.id)
    return credited


def _is_future_hit(prediction: _Prediction, views: list[_View], view_times: list[datetime.datetime], k: int) -> bool:
    top = set(prediction.items[:k])
    if not top:
        return False
    start = bisect.bisect_left(view_times, prediction.create_at)
    for view in views[start:]:
        if view.sku not in top:
            continue
        if view.model_name is None or (
            view.model_name == prediction.scoring_model and view.recommendation_type == prediction.recommendation_type
        ):
            return True
    return False


def _catalogue_skus() -> set[str]:
    return set(ProductVariant.objects.filter(deleted=False).values_list("sku", flat=True).iterator(chunk_size=10000))


def performance_report(*, date_range: DateRange, k: int = HIT_RATE_K, with_daily: bool = False) -> PerformanceReport:
    """Every performance figure for the range, general and per registered model."""
    predictions = _load_predictions(date_range)
    views_by_session = _load_views_by_session(date_range)
    credited = _credited_predictions(predictions, views_by_session, k)
    view_times = {session_id: [v.create_at for v in views] for session_id, views in views_by_session.items()}
    catalogue = _catalogue_skus()

    scopes: dict[str, _ScopeAccumulator] = defaultdict(_ScopeAccumulator)
    arm_scopes: dict[tuple[str, str], _ScopeAccumulator] = defaultdict(_ScopeAccumulator)
    days: dict[datetime.date, _DayAccumulator] = defaultdict(_DayAccumulator)
    for prediction in predictions:
        is_hit = prediction.id in credited
        is_future_hit = _is_future_hit(
            prediction, views_by_session.get(prediction.session_id, []), view_times.get(prediction.session_id, []), k
        )
        if prediction.experiment and prediction.arm:
            arm = arm_scopes[(prediction.experiment, prediction.arm)]
            arm.predictions += 1
            arm.hits += is_hit
            arm.future_hits += is_future_hit
            arm.variants.update(prediction.items)
        for scope in (GENERAL, prediction.scoring_model):
            figures = scopes[scope]
            figures.predictions += 1
            figures.hits += is_hit
            figures.future_hits += is_future_hit
            figures.variants.update(prediction.items)
            figures.scoring.append(prediction.scoring_duration)
            figures.ordering.append(prediction.ordering_duration)
        scopes[GENERAL].retrieval.append(prediction.retrieval_duration)
        scopes[prediction.retrieval_model].retrieval.append(prediction.retrieval_duration)
        if with_daily:
            day = days[timezone.localtime(prediction.create_at).date()]
            for scope in (GENERAL, prediction.scoring_model):
                day.predictions[scope] += 1
                day.hits[scope] += is_hit
                day.variants[scope].update(prediction.items)
            day.retrieval.append(prediction.retrieval_duration)
            day.scoring.append(prediction.scoring_duration)
            day.ordering.append(prediction.ordering_duration)
            day.total.append(prediction.retrieval_duration + prediction.scoring_duration + prediction.ordering_duration)

    durations = {
        phase: _duration_aggregates(date_range, group_by=group_by, phase=f"{phase}_duration")
        for phase, group_by in (
            ("retrieval", "retrieval_model_name"),
            ("scoring", "scoring_model_name"),
            ("ordering", "scoring_model_name"),
        )
    }
    clicks, views = _click_counts(date_range)

    def figures(scope: str) -> PerformanceFigures:
        accumulated = scopes.get(scope, _ScopeAccumulator())

        def phase_figures(phase: str) -> DurationFigures:
            avg, maximum = durations[phase].get(scope, (None, None))
            return DurationFigures(avg=avg, p95=percentile(getattr(accumulated, phase), 0.95), max=maximum)

        return PerformanceFigures(
            predictions=accumulated.predictions,
            hits=accumulated.hits,
            future_hits=accumulated.future_hits,
            recommended_variants=len(accumulated.variants & catalogue),
            catalogue_variants=len(catalogue),
            clicks=clicks.get(scope, 0),
            recommendation_views=views.get(scope, 0),
            retrieval_duration=phase_figures("retrieval"),
            scoring_duration=phase_figures("scoring"),
            ordering_duration=phase_figures("ordering"),
        )

    model_names = list(MODELS) + sorted(set(scopes) - set(MODELS) - {GENERAL})
    daily = _daily_figures(days, catalogue, date_range) if with_daily else []
    arm_clicks, arm_views = _arm_event_counts(predictions, views_by_session, date_range) if arm_scopes else ({}, {})
    return PerformanceReport(
        k=k,
        date_range=date_range,
        general=figures(GENERAL),
        model_specific={name: figures(name) for name in model_names},
        daily=daily,
        arms={
            key: PerformanceFigures(
                predictions=accumulated.predictions,
                hits=accumulated.hits,
                future_hits=accumulated.future_hits,
                recommended_variants=len(accumulated.variants & catalogue),
                catalogue_variants=len(catalogue),
                clicks=arm_clicks.get(key, 0),
                recommendation_views=arm_views.get(key, 0),
            )
            for key, accumulated in sorted(arm_scopes.items())
        },
    )


def _average(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _daily_figures(
    days: dict[datetime.date, _DayAccumulator], catalogue: set[str], date_range: DateRange
) -> list[DailyFigures]:
    """One entry per calendar day of the range, days without predictions included, so the
    charts keep a true time axis."""
    first = timezone.localtime(date_range.start).date()
    last = timezone.localtime(date_range.end).date()
    result = []
    for offset in range((last - first).days + 1):
        day = first + datetime.timedelta(days=offset)
        accumulated = days.get(day, _DayAccumulator())
        result.append(
            DailyFigures(
                day=day,
                predictions=dict(accumulated.predictions),
                hit_rate={s: accumulated.hits[s] / n for s, n in accumulated.predictions.items()},
                coverage={
                    s: (len(items & catalogue) / len(catalogue) if catalogue else None)
                    for s, items in accumulated.variants.items()
                },
                retrieval_avg=_average(accumulated.retrieval),
                scoring_avg=_average(accumulated.scoring),
                ordering_avg=_average(accumulated.ordering),
                total_p95=percentile(accumulated.total, 0.95),
            )
        )
    return result
