"""Hand-built prediction results and events with explicit timestamps for the monitoring tests."""

from __future__ import annotations

import datetime
import itertools

from feedback.models import PredictionResult, ProductDetailEnter, RecommendationView
from recommendations.tests.factories import make_catalogue

T0 = datetime.datetime(2024, 3, 10, 12, 0, tzinfo=datetime.UTC)
_counter = itertools.count()


def at(seconds: float = 0, *, days: float = 0) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds, days=days)


def prediction(
    items: list[str],
    *,
    session: str = "s1",
    scoring: str = "similarity",
    retrieval: str = "selection",
    type: str = "CART",
    create_at: datetime.datetime | None = None,
    durations: tuple[float, float, float] = (1.0, 1.0, 1.0),
    experiment: str | None = None,
    arm: str | None = None,
) -> PredictionResult:
    return PredictionResult.objects.create(
        retrieval_model_name=retrieval,
        retrieval_model_identifier=retrieval,
        scoring_model_name=scoring,
        scoring_model_identifier=scoring,
        recommendation_type=type,
        session_id=session,
        retrieval_duration=durations[0],
        scoring_duration=durations[1],
        ordering_duration=durations[2],
        predicted_items=items,
        create_at=create_at or at(),
        experiment=experiment,
        arm=arm,
    )


def enter(
    sku: str,
    *,
    session: str = "s1",
    model: str | None = None,
    type: str | None = None,
    position: int | None = None,
    create_at: datetime.datetime | None = None,
) -> ProductDetailEnter:
    return ProductDetailEnter.objects.create(
        session_id=session,
        product_variant_sku=sku,
        model_name=model,
        model_identifier=model,
        recommendation_type=type,
        position=position,
        create_at=create_at or at(),
    )


def click(
    sku: str, *, model: str = "similarity", type: str = "CART", position: int = 0, **kwargs
) -> ProductDetailEnter:
    return enter(sku, model=model, type=type, position=position, **kwargs)


def recommendation_view(
    sku: str, *, model: str = "similarity", type: str = "CART", session: str = "s1", create_at=None
) -> RecommendationView:
    return RecommendationView.objects.create(
        session_id=session,
        product_variant_sku=sku,
        model_name=model,
        model_identifier=model,
        recommendation_type=type,
        position=0,
        create_at=create_at or at(),
    )


def original_scenario() -> None:
    """The original monitoring test's data: 4 variants, 4 predictions (3 scored by similarity),
    then 3 product views, 2 of them attributed to similarity at position 0."""
    make_catalogue({str(i): {} for i in range(4)})
    prediction(["1", "2"], session="1", scoring="similarity", type="CART", create_at=at(-4), durations=(0.1, 0.2, 0.3))
    prediction(["2", "3"], session="1", scoring="similarity", type="CART", create_at=at(-3), durations=(0.1, 0.4, 0.3))
    prediction(
        ["1", "2"], session="1", scoring="selection", retrieval="similarity", type="PRODUCT_DETAIL", create_at=at(-2)
    )
    prediction(
        ["3"], session="2", scoring="similarity", retrieval="similarity", type="PRODUCT_DETAIL", create_at=at(-1)
    )
    click("1", session="1", model="similarity", type="CART", position=0, create_at=at(0))
    enter("2", session="2", create_at=at(0))
    click("1", session="2", model="similarity", type="PRODUCT_DETAIL", position=0, create_at=at(0))
