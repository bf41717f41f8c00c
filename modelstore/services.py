"""Writes to the model storage: config versions, the trainer queue and the training data marks.

The model storage knows no model and no config schema: configs arrive validated (as their stored
JSON form) and model names are checked by the callers, which know the registry."""

from __future__ import annotations

import datetime
import uuid
import zlib
from collections.abc import Sequence
from typing import Any, Protocol

from django.db import connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.databases import database_for_app
from modelstore.models import ConfigVersion, TrainerQueueItem, TrainingDataMark, TrainingFinished, TrainingStarted
from modelstore.selectors import config_version_current

DATABASE = database_for_app("modelstore")
Status = TrainerQueueItem.Status

# Claims are serialised on PostgreSQL by this transaction-level advisory lock (see the claim).
_CLAIM_LOCK_KEY = zlib.crc32(b"modelstore.trainer_queue.claim")


class QueueSettings(Protocol):
    """The trainer settings the queue follows (the config's `trainerConfig` has them)."""

    claim_timeout_seconds: int
    heartbeat_timeout_seconds: int
    max_attempts: int
    retry_backoff_seconds: int


@transaction.atomic(using=DATABASE)
def config_version_store(*, data: dict[str, Any], created_by: str = "") -> ConfigVersion:
    """Store a validated config (its JSON form) as a new version; it becomes the current config."""
    return ConfigVersion.objects.create(data=data, created_by=created_by)


@transaction.atomic(using=DATABASE, savepoint=False)
def config_versions_store_many(*, datas: Sequence[dict[str, Any]], created_by: str = "api") -> int:
    """Store each validated config as a new version unless it equals the current one (so re-sending
    the dashboard's page state changes nothing). Returns the number of versions created."""
    created = 0
    for data in datas:
        current = config_version_current()
        if current is not None and current.data == data:
            continue
        config_version_store(data=data, created_by=created_by)
        created += 1
    return created


def trainer_queue_item_create(
    *, model_name: str, requested_by: str = "", full_train: bool | None = None
) -> TrainerQueueItem:
    """Add an item to the queue, whatever is already there (the claim coalesces duplicates)."""
    return TrainerQueueItem.objects.create(model_name=model_name, full_train=full_train, requested_by=requested_by)


@transaction.atomic(using=DATABASE)
def training_request(
    *, model_name: str, requested_by: str, full_train: bool | None = None
) -> tuple[TrainerQueueItem, bool]:
    """Ask for a training of `model_name` (the dashboard's button, the store API, the admin, the
    scheduler). A model that already has a pending item is already asked for: that item is
    returned, and a request for a full training makes it a full one. Returns the pending item and
    whether it was created now."""
    pending = (
        TrainerQueueItem.objects.select_for_update()
        .filter(model_name=model_name, status=Status.PENDING)
        .order_by("create_at", "id")
        .first()
    )
    if pending is None:
        return trainer_queue_item_create(model_name=model_name, requested_by=requested_by, full_train=full_train), True
    if full_train and not pending.full_train:
        pending.full_train = True
        pending.save(update_fields=["full_train"])
    return pending, False


def training_request_many(*, items: Sequence[dict[str, Any]], requested_by: str = "api") -> int:
    """`training_request` for each item (`model_name`, `full_train`); returns how many were queued."""
    return sum(
        training_request(model_name=item["model_name"], full_train=item["full_train"], requested_by=requested_by)[1]
        for item in items
    )


def trainer_queue_item_claim(
    *, claimed_by: str, config: QueueSettings, now: datetime.datetime | None = None
) -> TrainerQueueItem | None:
    """Claim the oldest claimable item and coalesce the other pending items of its model into it.

    Claimable: pending and due (`not_before` passed), or running with a dead trainer: no heartbeat
    for `heartbeat_timeout_seconds` (it was killed, or its machine went away), or, for a claim
    without heartbeats, a claim older than the claim timeout. A running item whose trainer beats
    is never taken, however long its training is silent. The training a dead trainer was running
    is recorded as failed. A model with a live running item is never claimed twice, so two
    trainers never train the same model at once. A stale item that has used all its attempts is
    failed instead of claimed. Returns the claimed item (RUNNING, its `attempts` counted, a new
    `training_id` for the training it is to run) or None when nothing is claimable."""
    now = now or timezone.now()
    stale_before = now - datetime.timedelta(seconds=config.claim_timeout_seconds)
    dead_before = now - datetime.timedelta(seconds=config.heartbeat_timeout_seconds)
    is_alive = Q(alive_at__gte=dead_before) | Q(alive_at__isnull=True, claimed_at__gte=stale_before)
    is_dead = Q(alive_at__lt=dead_before) | Q(alive_at__isnull=True, claimed_at__lt=stale_before)
    connection = connections[router.db_for_write(TrainerQueueItem)]
    with transaction.atomic(using=connection.alias):
        locking = connection.features.has_select_for_update_skip_locked
        if connection.vendor == "postgresql":
            # Choosing an item reads other rows (which models are busy, which items to coalesce)
            # that row locks alone do not protect: two claims at once could both start the same
            # model. Claims take milliseconds, so they simply take turns.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CLAIM_LOCK_KEY])
        for _ in range(100):
            busy = list(
                TrainerQueueItem.objects.filter(is_alive, status=Status.RUNNING)
                .values_list("model_name", flat=True)
                .distinct()
            )
            candidates = (
                TrainerQueueItem.objects.filter(
                    Q(status=Status.PENDING, not_before__lte=now) | (Q(status=Status.RUNNING) & is_dead)
                )
                .exclude(model_name__in=busy)
                .order_by("create_at", "id")
            )
            if locking:
                candidates = candidates.select_for_update(skip_locked=True)
            item = candidates.first()
            if item is None:
                return None
            # Without row locks (SQLite, one trainer) the update is guarded by the state just read.
            guard = TrainerQueueItem.objects.filter(
                pk=item.pk, status=item.status, claimed_at=item.claimed_at, alive_at=item.alive_at
            )
            if item.status == Status.RUNNING:
                silence = _silence(item)
                _training_of_dead_trainer_fail(item, reason=f"{silence}; taken over by {claimed_by}")
                if item.attempts >= config.max_attempts:
                    guard.update(
                        status=Status.FAILED,
                        finished_at=now,
                        error=f"{silence}; given up after {item.attempts} attempts",
                    )
                    continue
            others = TrainerQueueItem.objects.filter(model_name=item.model_name, status=Status.PENDING).exclude(
                pk=item.pk
            )
            full_train = True if others.filter(full_train=True).exists() else item.full_train
            if not guard.update(
                status=Status.RUNNING,
                claimed_at=now,
                claimed_by=claimed_by,
                alive_at=now,
                training_id=uuid.uuid4(),
                attempts=F("attempts") + 1,
                full_train=full_train,
            ):
                continue
            others.update(status=Status.COALESCED, finished_at=now, error=f"coalesced into #{item.pk}")
            item.refresh_from_db()
            return item
    return None


def _silence(item: TrainerQueueItem) -> str:
    """Why a running item counts as abandoned, in words."""
    trainer = item.claimed_by or "a trainer"
    if item.alive_at is not None:
        return (
            f"{trainer} stopped its heartbeat at {item.alive_at:%Y-%m-%d %H:%M:%S} (killed, or its machine went away)"
        )
    return f"{trainer} claimed it at {item.claimed_at:%Y-%m-%d %H:%M:%S} and stopped responding"


def _training_of_dead_trainer_fail(item: TrainerQueueItem, *, reason: str) -> None:
    """Record the training a dead trainer left unfinished as failed, with the reason."""
    if item.training_id is None or not TrainingStarted.objects.filter(training_id=item.training_id).exists():
        return
    if TrainingFinished.objects.filter(training_id=item.training_id).exists():
        return
    TrainingFinished.objects.create(
        training_id=item.training_id, outcome=TrainingFinished.Outcome.FAILED, error=f"trainer died: {reason}"
    )


def trainer_queue_item_alive(*, item: TrainerQueueItem, claimed_by: str) -> bool:
    """The trainer's heartbeat while it runs the item (every few seconds, from its own thread).
    False when the item is no longer this trainer's (taken over after a silence, or finished)."""
    now = timezone.now()
    updated = TrainerQueueItem.objects.filter(pk=item.pk, status=Status.RUNNING, claimed_by=claimed_by).update(
        alive_at=now
    )
    return bool(updated)


def trainer_queue_item_heartbeat(*, item: TrainerQueueItem, claimed_by: str) -> bool:
    """Renew the claim when a long training reports progress (and count it as a heartbeat). False
    when the item is no longer this trainer's (another trainer took it over after a silence)."""
    now = timezone.now()
    updated = TrainerQueueItem.objects.filter(pk=item.pk, status=Status.RUNNING, claimed_by=claimed_by).update(
        claimed_at=now, alive_at=now
    )
    if updated:
        item.claimed_at = now
    return bool(updated)


def trainer_queue_item_finish(*, item: TrainerQueueItem, claimed_by: str, status: str, error: str = "") -> bool:
    """Record the outcome of a claimed item (COMPLETED, SKIPPED or FAILED)."""
    return bool(
        TrainerQueueItem.objects.filter(pk=item.pk, status=Status.RUNNING, claimed_by=claimed_by).update(
            status=status, finished_at=timezone.now(), error=error
        )
    )


def trainer_queue_item_retry_or_fail(
    *, item: TrainerQueueItem, claimed_by: str, error: str, config: QueueSettings
) -> str:
    """After a failed attempt: back to PENDING with an exponential backoff while attempts remain,
    else FAILED. Returns the new status."""
    if item.attempts >= config.max_attempts:
        trainer_queue_item_finish(
            item=item,
            claimed_by=claimed_by,
            status=Status.FAILED,
            error=f"{error} (attempt {item.attempts} of {config.max_attempts})",
        )
        return Status.FAILED
    delay = config.retry_backoff_seconds * 2 ** max(item.attempts - 1, 0)
    TrainerQueueItem.objects.filter(pk=item.pk, status=Status.RUNNING, claimed_by=claimed_by).update(
        status=Status.PENDING,
        not_before=timezone.now() + datetime.timedelta(seconds=delay),
        claimed_at=None,
        alive_at=None,
        error=f"{error} (attempt {item.attempts} of {config.max_attempts}; retried in {delay:g} s)",
    )
    return Status.PENDING


def trainer_queue_item_release(*, item: TrainerQueueItem, claimed_by: str, error: str) -> None:
    """Give a claimed item back untouched (the trainer is shutting down): the attempt is not counted."""
    TrainerQueueItem.objects.filter(pk=item.pk, status=Status.RUNNING, claimed_by=claimed_by).update(
        status=Status.PENDING, claimed_at=None, alive_at=None, attempts=F("attempts") - 1, error=error
    )


def training_data_mark_record(*, model_name: str, model_identifier: str, mark: dict[str, Any]) -> TrainingDataMark:
    """Remember what data the training that produced `model_identifier` saw: `mark` holds the
    TrainingDataMark fields taken before the training read its data."""
    obj, _ = TrainingDataMark.objects.update_or_create(
        model_name=model_name, defaults={"model_identifier": model_identifier, **mark}
    )
    return obj
