"""Training a model from the stored data and publishing it: the one path used by
`manage.py train` and by the trainer loop.

A training writes its records (started, one step per hyperparameter combination, finished,
statistics), its artefact folder (atomically), the similarity neighbour lists, and then switches
the latest identifier in one transaction. Identifiers other than the current and the previous
one (kept for rollback) are removed afterwards."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connections, router, transaction
from django.utils import timezone

from modelstore.models import (
    LatestIdentifier,
    TrainingFinished,
    TrainingStarted,
    TrainingStatistics,
    TrainingStepFinished,
    TrainingStepStarted,
)
from modelstore.services import training_data_mark_record
from recommendations.algorithms.base import NotReadyForTraining, PredictionModel, Progress, TrainingData
from recommendations.algorithms.registry import get_model_class
from recommendations.artefact_store import artefact_read, artefact_write, artefacts_remove_except
from recommendations.config import RecommenderConfig
from recommendations.models import NeighbourList
from recommendations.selectors import config_current
from recommendations.training.data import training_data_build, training_data_mark_current
from recommendations.training.memory import PeakMemoryMonitor
from recommendations.training.readiness import training_readiness
from recommendations.training.served import served_evaluation

logger = logging.getLogger(__name__)


class NotTrainable(ValueError):
    """The model needs no training (dummy, selection, popularity)."""


@dataclass(frozen=True)
class TrainingOutcome:
    model_name: str
    identifier: str
    outcome: str  # TrainingFinished.Outcome
    full_train: bool
    reason: str = ""
    duration: float = 0.0
    peak_memory_mib: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)


def new_identifier(model_name: str) -> str:
    return f"{model_name}_{timezone.now():%Y%m%dT%H%M%S%f}"


def _last_full_training(model_name: str) -> TrainingStatistics | None:
    return (
        TrainingStatistics.objects.filter(model_name=model_name, full_train=True).order_by("-create_at", "-id").first()
    )


def _decide_full_train(model_name: str, config: RecommenderConfig, requested: bool | None) -> bool:
    """A model that can train incrementally alternates: `incremental_trainings` (an option of
    its) incremental trainings between two full ones. Other models always train fully."""
    if not get_model_class(model_name).supports_incremental:
        return True
    current = LatestIdentifier.objects.filter(model_name=model_name).first()
    if current is None:
        return True
    if requested is not None:
        return requested
    last_full = _last_full_training(model_name)
    if last_full is None:
        return True
    incremental_since = TrainingStatistics.objects.filter(
        model_name=model_name, full_train=False, create_at__gt=last_full.create_at
    ).count()
    return incremental_since >= config.options_of(model_name).incremental_trainings


def _fit(
    model_name: str, config: RecommenderConfig, full_train: bool, progress: Progress | None
) -> tuple[PredictionModel, Any]:
    model_class = get_model_class(model_name)
    options = config.options_of(model_name)
    if full_train:
        data = training_data_build(model_class.training_data, options)
        return model_class.fit(data, model_class.params_from_options(options), progress=progress)
    current = LatestIdentifier.objects.get(model_name=model_name)
    model = artefact_read(model_class, model_name=model_name, identifier=current.identifier)
    last = TrainingStatistics.objects.filter(model_name=model_name).order_by("-create_at", "-id").first()
    data = training_data_build(model_class.training_data, options, since=last.create_at if last else None)
    if not any(len(session) > 1 for session in data.sessions):
        raise NotReadyForTraining("no new sessions with two or more views since the last training")
    result = model.fit_incremental(data, progress=progress)
    return model, result


def _record_steps(training_id, model_name: str, identifier: str, steps) -> None:
    for hyperparameters, metrics in steps:
        step = TrainingStepStarted.objects.create(
            training_id=training_id, model_name=model_name, model_identifier=identifier, hyperparameters=hyperparameters
        )
        TrainingStepFinished.objects.create(
            step_id=step.step_id, model_name=model_name, model_identifier=identifier, metrics=metrics
        )


# Variants whose neighbour lists are formatted and sent to the database at once (about 3 kB each).
STORE_CHUNK_ROWS = 10_000
# Nine significant digits are enough for any float32 to read back exactly.
DISTANCE_FORMAT = "{:.9g}".format


def _store_neighbours(model: PredictionModel, identifier: str, progress: Progress | None = None) -> None:
    """Write each variant's neighbour list under `identifier`, one row per variant, in chunks:
    COPY on PostgreSQL, batched executemany elsewhere. The JSON texts are assembled from
    pre-quoted SKUs and the distances written with 9 significant digits, which read back as the
    same float32 (a million variants have 10⁸ of each, too many for a `json.dumps` per list;
    numpy's shortest float32 decimals cost three times as long)."""
    skus, neighbour_index, neighbour_distance = model.neighbours()
    table = NeighbourList._meta.db_table
    columns = ("model_identifier", "sku", "neighbours", "distances")
    connection = connections[router.db_for_write(NeighbourList)]
    is_copy = connection.vendor == "postgresql"
    escape = _copy_text if is_copy else str
    quoted = np.asarray([escape(json.dumps(sku)) for sku in skus], dtype=object)
    own = [escape(sku) for sku in skus]
    identifier_text = escape(identifier)
    with connection.cursor() as cursor:
        for start in range(0, len(skus), STORE_CHUNK_ROWS):
            stop = min(start + STORE_CHUNK_ROWS, len(skus))
            neighbours = ["[" + ",".join(row) + "]" for row in quoted[neighbour_index[start:stop]].tolist()]
            distances = [
                "[" + ",".join(map(DISTANCE_FORMAT, row)) + "]" for row in neighbour_distance[start:stop].tolist()
            ]
            if is_copy:
                buffer = io.StringIO()
                for sku, neighbour_text, distance_text in zip(own[start:stop], neighbours, distances):
                    buffer.write(f"{identifier_text}\t{sku}\t{neighbour_text}\t{distance_text}\n")
                buffer.seek(0)
                cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
            else:
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES (%s, %s, %s, %s)",
                    zip([identifier] * (stop - start), own[start:stop], neighbours, distances),
                )
            if progress is not None:
                progress(f"stored the neighbour lists of {stop} of {len(skus)} variants", stop / len(skus))


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def model_publish(*, model_name: str, identifier: str) -> None:
    """Make `identifier` current and remove what is neither current nor previous."""
    with transaction.atomic(using=router.db_for_write(LatestIdentifier)):
        current = LatestIdentifier.objects.select_for_update().filter(model_name=model_name).first()
        previous = current.identifier if current else None
        LatestIdentifier.objects.update_or_create(
            model_name=model_name,
            defaults={"identifier": identifier, "previous_identifier": previous, "update_at": timezone.now()},
        )
    keep = {identifier} | ({previous} if previous else set())
    artefacts_remove_except(model_name, keep)
    if get_model_class(model_name).provides_neighbours:
        NeighbourList.objects.filter(model_identifier__startswith=f"{model_name}_").exclude(
            model_identifier__in=keep
        ).delete()


def _served_metrics(
    model_class: type[PredictionModel],
    config: RecommenderConfig,
    progress: Progress | None,
    trained: PredictionModel | None = None,
) -> dict[str, Any]:
    """For a model that learns from sessions or interactions, what the pipeline serves with it on
    a time-based holdout (`recommendations.training.served`), under the key "served_evaluation";
    nothing when `trainerConfig.servedEvaluationEvents` is 0. A failure is recorded, not raised:
    the trained model is published already."""
    events = config.trainer_config.served_evaluation_events
    if events <= 0 or model_class.training_data not in (TrainingData.SESSIONS, TrainingData.INTERACTIONS):
        return {}
    if progress is not None:
        progress("measuring what the pipeline serves on the latest sessions", 1.0)
    try:
        evaluation = served_evaluation(model_name=model_class.name, config=config, max_events=events, trained=trained)
        return {"served_evaluation": evaluation}
    except Exception as error:  # the evaluation must not undo a published training
        logger.exception("served evaluation of %s failed", model_class.name)
        return {"served_evaluation": {"error": f"{type(error).__name__}: {error}"}}


def model_train(
    *,
    model_name: str,
    full_train: bool | None = None,
    progress: Progress | None = None,
    force: bool = False,
    training_id: uuid.UUID | None = None,
) -> TrainingOutcome:
    """Train `model_name` from the stored data now and publish it.

    Not ready for training (too little data): recorded as skipped, nothing published. A failing
    training is recorded as failed with its error and the exception is raised again for the
    caller (the trainer retries). `force` skips the readiness thresholds. `training_id` names the
    training's records (the trainer's claim knows it beforehand, so that a trainer killed during
    the training can have it recorded as failed)."""
    model_class = get_model_class(model_name)
    if not model_class.needs_training:
        raise NotTrainable(f"{model_name} needs no training")
    config = config_current()
    full = _decide_full_train(model_name, config, full_train)
    identifier = new_identifier(model_name)
    started = TrainingStarted.objects.create(
        training_id=training_id or uuid.uuid4(), model_name=model_name, model_identifier=identifier, full_train=full
    )

    reason = None if force else training_readiness(model_name=model_name, config=config)
    if reason is not None:
        TrainingFinished.objects.create(
            training_id=started.training_id, outcome=TrainingFinished.Outcome.SKIPPED, error=reason
        )
        logger.info("training skipped model=%s reason=%s", model_name, reason)
        return TrainingOutcome(model_name, identifier, TrainingFinished.Outcome.SKIPPED, full, reason=reason)

    mark = training_data_mark_current()
    begin = time.monotonic()
    try:
        with PeakMemoryMonitor() as memory:
            model, result = _fit(model_name, config, full, progress)
            model.identifier = identifier
            artefact_write(model, model_name=model_name, identifier=identifier)
            if model_class.provides_neighbours:
                _store_neighbours(model, identifier, progress)
    except NotReadyForTraining as error:
        TrainingFinished.objects.create(
            training_id=started.training_id, outcome=TrainingFinished.Outcome.SKIPPED, error=str(error)
        )
        return TrainingOutcome(model_name, identifier, TrainingFinished.Outcome.SKIPPED, full, reason=str(error))
    except Exception as error:
        TrainingFinished.objects.create(
            training_id=started.training_id,
            outcome=TrainingFinished.Outcome.FAILED,
            error=f"{type(error).__name__}: {error}",
        )
        artefacts_remove_except(model_name, _identifiers_in_use(model_name))
        NeighbourList.objects.filter(model_identifier=identifier).delete()
        raise
    duration = time.monotonic() - begin

    _record_steps(started.training_id, model_name, identifier, result.steps)
    model_publish(model_name=model_name, identifier=identifier)
    training_data_mark_record(model_name=model_name, model_identifier=identifier, mark=mark)
    metrics = {**result.metrics, **_served_metrics(model_class, config, progress, trained=model)}
    TrainingStatistics.objects.create(
        model_name=model_name,
        model_identifier=identifier,
        duration=duration,
        peak_memory=memory.result.peak_mib,
        peak_memory_percentage=memory.result.peak_percentage,
        full_train=full,
        metrics=metrics,
        hyperparameters=result.hyperparameters,
    )
    TrainingFinished.objects.create(training_id=started.training_id, outcome=TrainingFinished.Outcome.COMPLETED)
    logger.info("training completed model=%s identifier=%s duration=%.2fs", model_name, identifier, duration)
    return TrainingOutcome(
        model_name,
        identifier,
        TrainingFinished.Outcome.COMPLETED,
        full,
        duration=duration,
        peak_memory_mib=memory.result.peak_mib,
        metrics=metrics,
        hyperparameters=result.hyperparameters,
    )


def _identifiers_in_use(model_name: str) -> set[str]:
    current = LatestIdentifier.objects.filter(model_name=model_name).first()
    if current is None:
        return set()
    return {current.identifier} | ({current.previous_identifier} if current.previous_identifier else set())
