"""Offline evaluation on a time-based holdout of the stored data.

Sessions (product-detail views grouped by session) are split by their start time: those that
start before the split train the model, the later ones test it. The protocol is the GRU4Rec
authors' one: every next item of every test session is predicted from the session's prefix and
ranked against all items of the training period; targets unseen in training are skipped.
Popularity (training-period interaction counts) is the reference row."""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from feedback.selectors import SessionSequences, session_sequences
from products.selectors import variant_skus
from recommendations.algorithms.base import (
    Catalogue,
    PredictContext,
    PredictionModel,
    RecommendationType,
    RequesterHistory,
    SessionData,
    TrainingData,
)
from recommendations.algorithms.evaluation import NextItemEvaluator
from recommendations.algorithms.registry import get_model_class
from recommendations.config import RecommenderConfig
from recommendations.selectors import config_current
from recommendations.training.data import training_data_build


class EvaluationError(ValueError):
    pass


@dataclass(frozen=True)
class Holdout:
    split_at: datetime.datetime
    train: SessionSequences
    test_sessions: list[list[str]]


def holdout_split(
    *, test_from: datetime.datetime | None = None, holdout_days: float | None = None, holdout_fraction: float = 0.1
) -> Holdout:
    sessions = session_sequences(known_skus=set(variant_skus()))
    if not sessions.session_ids:
        raise EvaluationError("there are no product-detail views to evaluate on")
    starts = sessions.start_times
    if test_from is not None:
        split = test_from.timestamp()
    elif holdout_days is not None:
        split = float(starts.max()) - holdout_days * 86_400
    else:
        split = float(np.quantile(starts, 1.0 - holdout_fraction))
    is_test = starts >= split
    if is_test.all() or not is_test.any():
        raise EvaluationError(
            "the split leaves no training or no test sessions; choose another --test-from or --holdout-days"
        )
    train_index = np.flatnonzero(~is_test)
    sku_of = sessions.skus
    # Re-index the training sessions on the items they contain, so the model sees only them.
    train_items: dict[str, int] = {}
    train_sequences = []
    for i in train_index:
        train_sequences.append(
            np.asarray(
                [train_items.setdefault(sku_of[j], len(train_items)) for j in sessions.sequences[i]], dtype=np.int64
            )
        )
    train = SessionSequences(
        session_ids=[sessions.session_ids[i] for i in train_index],
        skus=list(train_items),
        sequences=train_sequences,
        start_times=starts[train_index],
        end_times=sessions.end_times[train_index],
    )
    tests = [[sku_of[j] for j in sessions.sequences[i]] for i in np.flatnonzero(is_test)]
    return Holdout(split_at=datetime.datetime.fromtimestamp(split, tz=datetime.UTC), train=train, test_sessions=tests)


def fit_for_evaluation(
    model_name: str,
    config: RecommenderConfig,
    holdout: Holdout,
    *,
    quick: bool = False,
    trained: PredictionModel | None = None,
) -> PredictionModel:
    """The model trained on what happened before the split: the holdout's training sessions for
    a session model, interactions before the split for an interaction model, the catalogue as
    it is for a content model. `quick` skips the model's own validation split (the holdout is
    the validation), when its params have one; with the `trained` model, the refit takes the
    hyperparameters that training chose (`PredictionModel.refit_params`) instead of choosing
    again."""
    model_class = get_model_class(model_name)
    if not model_class.needs_training:
        return model_class()
    options = config.options_of(model_name)
    if model_class.training_data == TrainingData.SESSIONS:
        train = holdout.train
        data = SessionData(
            skus=train.skus,
            sessions=train.sequences,
            session_start_times=train.start_times,
            session_ids=train.session_ids,
            session_end_times=train.end_times,
        )
    else:
        data = training_data_build(model_class.training_data, options, until=holdout.split_at)
    params = model_class.params_from_options(options)
    if trained is not None:
        params = trained.refit_params(params)
    if (
        quick
        and dataclasses.is_dataclass(params)
        and any(f.name == "validation_fraction" for f in dataclasses.fields(params))
    ):
        try:
            params = dataclasses.replace(params, validation_fraction=0.0)
        except ValueError:  # a model that needs its validation split keeps it
            pass
    model, _ = model_class.fit(data, params)
    return model


class _UniverseScores:
    """Scores of every universe item for one model: from the model's whole-catalogue scores
    mapped once onto the universe when it has them (one vector per event), else through
    `score` (a Python loop over the universe per event, fine for the small models)."""

    def __init__(self, universe: list[str], index: dict[str, int]) -> None:
        self.universe, self.index = universe, index
        self._known: Sequence[str] | None = None
        self._positions = self._rows = np.zeros(0, dtype=np.int64)

    def __call__(self, model: PredictionModel, context: PredictContext) -> np.ndarray:
        whole = model.known_item_scores(context)
        if whole is None:
            return _scores(model, context, self.universe, self.index)
        known, values = whole
        if known is not self._known:  # the model's item order, mapped once
            rows = [(self.index[sku], row) for row, sku in enumerate(known) if sku in self.index]
            self._positions = np.asarray([p for p, _ in rows], dtype=np.int64)
            self._rows = np.asarray([r for _, r in rows], dtype=np.int64)
            self._known = known
        scores = np.full(len(self.universe), -np.inf)
        scores[self._positions] = np.asarray(values, dtype=np.float64)[self._rows]
        return scores


def _scores(model: PredictionModel, context: PredictContext, universe: list[str], index: dict[str, int]) -> np.ndarray:
    scores = np.full(len(universe), -np.inf)
    ranked = model.score(context, universe)
    if ranked:
        skus, values = zip(*ranked)
        positions = np.fromiter((index[s] for s in skus), dtype=np.int64, count=len(skus))
        scores[positions] = np.asarray(values, dtype=np.float64)
    return scores


def evaluate_model(
    model_name: str,
    holdout: Holdout,
    *,
    config: RecommenderConfig | None = None,
    cutoff: int = 20,
    max_events: int | None = None,
    model: PredictionModel | None = None,
) -> dict[str, Any]:
    """Every next item of the test sessions ranked against all training-period items; `model`
    when it is fitted already, else fitted here on the holdout's training part."""
    config = config or config_current()
    universe = holdout.train.skus
    index = {sku: i for i, sku in enumerate(universe)}
    counts = np.zeros(len(universe))
    for sequence in holdout.train.sequences:
        np.add.at(counts, sequence, 1.0)
    catalogue = Catalogue.build(universe, popularity=counts)

    began = time.monotonic()
    if model is None:
        model = fit_for_evaluation(model_name, config, holdout)
    train_seconds = time.monotonic() - began

    universe_scores = _UniverseScores(universe, index)
    evaluator = NextItemEvaluator(cutoff, catalogue_size=len(universe))
    batch_scores, batch_targets = [], []
    events = 0
    began = time.monotonic()
    for session in holdout.test_sessions:
        for position in range(1, len(session)):
            target = session[position]
            if target not in index:
                continue
            prefix = tuple(session[:position])
            context = PredictContext(
                recommendation_type=RecommendationType.PRODUCT_DETAIL,
                catalogue=catalogue,
                session_history=prefix,
                requester=RequesterHistory(viewed=prefix),
                viewed_variant=prefix[-1],
                seed=events,
            )
            batch_scores.append(universe_scores(model, context))
            batch_targets.append(index[target])
            events += 1
            if len(batch_targets) == 256:
                evaluator.add(np.vstack(batch_scores), np.asarray(batch_targets))
                batch_scores, batch_targets = [], []
            if max_events and events >= max_events:
                break
        if max_events and events >= max_events:
            break
    if batch_targets:
        evaluator.add(np.vstack(batch_scores), np.asarray(batch_targets))
    result = evaluator.result()
    return {
        "model": model_name,
        **{key: round(value, 4) for key, value in result.items() if key != "events"},
        "events": int(result["events"]),
        "train_seconds": round(train_seconds, 2),
        "predict_seconds": round(time.monotonic() - began, 2),
    }
