"""Writes to the model storage: config versions, the trainer queue and the training data marks."""

from __future__ import annotations

import datetime
import zlib
from typing import Any

from django.db import connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from modelstore.config import RecommenderConfig, TrainerConfig, config_from_payload, known_model_names
from modelstore.models import ConfigVersion, TrainerQueueItem, TrainingDataMark
from modelstore.selectors import config_current

Status = TrainerQueueItem.Status

# Claims are serialised on PostgreSQL by this transaction-level advisory lock (see the claim).
_CLAIM_LOCK_KEY = zlib.crc32(b"modelstore.trainer_queue.claim")


@transaction.atomic(using="modelstore")
def config_version_create(*, payload: dict[str, Any] | RecommenderConfig, created_by: str = "") -> ConfigVersion:
    """Validate and store a new config version; it becomes the current config. A payload that
    omits fields keeps the current version's values for them (the ecoseller dashboard sends
    only the keys it knows).

    Raises `ConfigError` (nothing stored) when the payload is invalid."""
    if isinstance(payload, RecommenderConfig):
        config = payload
    else:
        config = config_from_payload(payload, base=config_current())
    return ConfigVersion.objects.create(data=config.to_data(), created_by=created_by)


def trainer_queue_item_create(
    *, model_name: str, requested_by: str = "", full_train: bool | None = None
) -> TrainerQueueItem:
    """Queue a training of `model_name`. Raises `ValueError` for a model the registry does not know."""
    if model_name not in known_model_names():
        raise ValueError(f"unknown model {model_name!r}; known: {', '.join(sorted(known_model_names()))}")
    return TrainerQueueItem.objects.create(model_name=model_name, full_train=full_train, requested_by=requested_by)


def trainer_queue_item_claim(
    *, claimed_by: str, config: TrainerConfig, now: datetime.datetime | None = None
) -> TrainerQueueItem | None:
    """Claim the oldest claimable item and coalesce the other pending items of its model into it.

    Claimable: pending and due (`not_before` passed), or running with a claim older than the claim
    timeout (its trainer was killed or stopped responding). A model with a live running item is
    never claimed twice, so two trainers never train the same model at once. A stale item that has
    used all its attempts is failed instead of claimed. Returns the claimed item (RUNNING, its
    `attempts` counted) or None when nothing is claimable."""
    now = now or timezone.now()
    stale_before = now - datetime.timedelta(seconds=config.claim_timeout_seconds)
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
                TrainerQueueItem.objects.filter(status=Status.RUNNING, claimed_at__gte=stale_before)
                .values_list("model_name", flat=True)
                .distinct()
            )
            candidates = (
                TrainerQueueItem.objects.filter(
                    Q(status=Status.PENDING, not_before__lte=now) | Q(status=Status.RUNNING, claimed_at__lt=stale_before)
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
            guard = TrainerQueueItem.objects.filter(pk=item.pk, status=item.status, claimed_at=item.claimed_at)
            if item.status == Status.RUNNING and item.attempts >= config.max_attempts:
                guard.update(
                    status=Status.FAILED,
                    finished_at=now,
                    error=(
                        f"{item.claimed_by or 'a trainer'} claimed it at {item.claimed_at:%Y-%m-%d %H:%M:%S} and stopped "
                        f"responding; given up after {item.attempts} attempts"
                    ),
                )
                continue
            others = TrainerQueueItem.objects.filter(model_name=item.model_name, status=Status.PENDING).exclude(pk=item.pk)
            full_train = True if others.filter(full_train=True).exists() else item.full_train
            if not guard.update(
                status=Status.RUNNING,
                claimed_at=now,
                claimed_by=claimed_by,
                attempts=F("attempts") + 1,
                full_train=full_train,
            ):
                continue
            others.update(status=Status.COALESCED, finished_at=now, error=f"coalesced into #{item.pk}")
            item.refresh_from_db()
            return item
    return None


def trainer_queue_item_heartbeat(*, item: TrainerQueueItem, claimed_by: str) -> bool:
    """Renew the claim of a long training so that it does not look abandoned. False when the item
    is no longer this trainer's (another trainer took it over after a timeout)."""
    now = timezone.now()
    updated = TrainerQueueItem.objects.filter(pk=item.pk, status=Status.RUNNING, claimed_by=claimed_by).update(claimed_at=now)
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
    *, item: TrainerQueueItem, claimed_by: str, error: str, config: TrainerConfig
) -> str:
    """After a failed attempt: back to PENDING with an exponential backoff while attempts remain,
    else FAILED. Returns the new status."""
    if item.attempts >= config.max_attempts:
        trainer_queue_item_finish(
            item=item, claimed_by=claimed_by, status=Status.FAILED, error=f"{error} (attempt {item.attempts} of {config.max_attempts})"
        )
        return Status.FAILED
    delay = config.retry_backoff_seconds * 2 ** max(item.attempts - 1, 0)
    TrainerQueueItem.objects.filter(pk=item.pk, status=Status.RUNNING, claimed_by=claimed_by).update(
        status=Status.PENDING,
        not_before=timezone.now() + datetime.timedelta(seconds=delay),
        claimed_at=None,
        error=f"{error} (attempt {item.attempts} of {config.max_attempts}; retried in {delay:g} s)",
    )
    return Status.PENDING


def trainer_queue_item_release(*, item: TrainerQueueItem, claimed_by: str, error: str) -> None:
    """Give a claimed item back untouched (the trainer is shutting down): the attempt is not counted."""
    TrainerQueueItem.objects.filter(pk=item.pk, status=Status.RUNNING, claimed_by=claimed_by).update(
        status=Status.PENDING, claimed_at=None, attempts=F("attempts") - 1, error=error
    )


def training_data_mark_record(*, model_name: str, model_identifier: str, mark: dict[str, Any]) -> TrainingDataMark:
    """Remember what data the training that produced `model_identifier` saw: `mark` holds the
    TrainingDataMark fields taken before the training read its data."""
    obj, _ = TrainingDataMark.objects.update_or_create(
        model_name=model_name, defaults={"model_identifier": model_identifier, **mark}
    )
    return obj
