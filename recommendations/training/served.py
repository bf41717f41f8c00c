"""What shoppers get from a model, measured at its training: the model refitted on the sessions
before a time-based holdout (the latest `holdout_fraction` of sessions), then every next click
of the held-out sessions predicted two ways:

* the model alone: the held-out item's rank among all items (as `manage.py evaluate`);
* served: through the pipeline `/predict` runs (the config's retrieval cascade, the scoring
  cascade, the filters, one variant per product, the diversity ordering and the limit), with the
  refitted model in its place, the models that need no training, and the content models (which
  learn nothing from sessions); other session and interaction models are left out, since they
  were trained on the held-out sessions. HOMEPAGE counts every next click; PRODUCT_DETAIL, with
  the clicked variant as the viewed one, the next clicks on another product.

The figures go into the training's statistics, so the dashboard shows beside each other what
the model scores and what the pipeline serves."""

from __future__ import annotations

from typing import Any

from modelstore.selectors import latest_identifiers
from recommendations.algorithms.base import (
    PredictContext,
    PredictionModel,
    RecommendationType,
    RequesterHistory,
    TrainingData,
)
from recommendations.algorithms.registry import MODELS
from recommendations.catalogue import catalogue_snapshot_build
from recommendations.config import RecommenderConfig
from recommendations.pipeline import PredictionRequest, prediction_answer
from recommendations.serving import ServingState, loaded_model
from recommendations.training.offline import Holdout, evaluate_model, fit_for_evaluation, holdout_split

CUTOFF = 20
SERVED_TYPES = (RecommendationType.HOMEPAGE, RecommendationType.PRODUCT_DETAIL)


def served_evaluation(
    *,
    model_name: str,
    config: RecommenderConfig,
    max_events: int,
    holdout_fraction: float = 0.1,
    trained: PredictionModel | None = None,
) -> dict[str, Any]:
    """{"events", "model": {recall@20, mrr@20}, "served": {type: {events, recall@20, mrr@20}}}."""
    holdout = holdout_split(holdout_fraction=holdout_fraction)
    model = fit_for_evaluation(model_name, config, holdout, quick=True, trained=trained)
    alone = evaluate_model(model_name, holdout, config=config, cutoff=CUTOFF, max_events=max_events, model=model)
    served = _served(model, config, holdout, max_events)
    return {
        "events": alone["events"],
        "model": {f"recall@{CUTOFF}": alone[f"recall@{CUTOFF}"], f"mrr@{CUTOFF}": alone[f"mrr@{CUTOFF}"]},
        "served": served,
    }


def _evaluation_state(model, config: RecommenderConfig, revision: int = 0) -> ServingState:
    snapshot = catalogue_snapshot_build(revision=revision, half_life_days=config.popularity_config.half_life_days)
    published = latest_identifiers()
    models = {}
    for name, model_class in MODELS.items():
        if name == model.name:
            models[name] = model
        elif not model_class.needs_training or model_class.training_data == TrainingData.CONTENT:
            other = loaded_model(name, published)
            if other is not None:
                models[name] = other
    for each in models.values():
        each.prepare(snapshot.catalogue)
    return ServingState(
        config=config,
        config_version_id=None,
        identifiers={name: each.identifier for name, each in models.items() if MODELS[name].needs_training},
        snapshot=snapshot,
        models=models,
    )


def _served(model, config: RecommenderConfig, holdout: Holdout, max_events: int) -> dict[str, dict[str, Any]]:
    state = _evaluation_state(model, config)
    snapshot = state.snapshot
    index = snapshot.catalogue.index
    results: dict[str, dict[str, Any]] = {}
    for situation in SERVED_TYPES:
        if not any(state.models.get(name) is model for name in _cascade_names(config, situation)):
            continue  # the model does not serve this situation in the config
        hits, reciprocal, events = 0, 0.0, 0
        for session in holdout.test_sessions:
            for position in range(1, len(session)):
                target, viewed = session[position], session[position - 1]
                if target not in index or (
                    situation == RecommendationType.PRODUCT_DETAIL and _same_product(snapshot, target, viewed)
                ):
                    continue  # a product page never shows its own product's variants
                prefix = tuple(session[:position])
                exclude: set[str] = set()
                if situation == RecommendationType.PRODUCT_DETAIL:
                    product = snapshot.product_of.get(viewed)
                    exclude = {viewed, *snapshot.variants_of.get(product, ())}
                context = PredictContext(
                    recommendation_type=situation,
                    catalogue=snapshot.catalogue,
                    session_history=prefix,
                    viewed_variant=viewed if situation == RecommendationType.PRODUCT_DETAIL else None,
                    exclude=frozenset(exclude),
                    requester=RequesterHistory(viewed=prefix),
                    seed=events,
                )
                request = PredictionRequest(recommendation_type=situation, session_id=None, limit=CUTOFF)
                items = prediction_answer(state, request, context).items
                events += 1
                if target in items:
                    hits += 1
                    reciprocal += 1.0 / (items.index(target) + 1)
                if events >= max_events:
                    break
            if events >= max_events:
                break
        results[situation.value] = {
            "events": events,
            f"recall@{CUTOFF}": round(hits / events, 4) if events else None,
            f"mrr@{CUTOFF}": round(reciprocal / events, 4) if events else None,
        }
    return results


def _same_product(snapshot, sku: str, other: str) -> bool:
    product = snapshot.product_of.get(sku)
    return sku == other or (product is not None and product == snapshot.product_of.get(other))


def _cascade_names(config: RecommenderConfig, situation: RecommendationType) -> set[str]:
    return set(config.cascade(situation.value, "retrieval")) | set(config.cascade(situation.value, "scoring"))
