"""The trainer loop behind `manage.py run_trainer`: it claims one queue item at a time, trains it
outside any transaction through the same path as `manage.py train`, records the outcome, retries
failures with a backoff, and enqueues retrainings itself when enough new data arrived.

Several trainers may run at once against PostgreSQL; on SQLite run one."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import Max
from django.utils import timezone

from feedback import selectors as feedback_selectors
from modelstore.models import LatestIdentifier, TrainerQueueItem, TrainingDataMark, TrainingStarted
from modelstore.services import (
    trainer_queue_item_alive,
    trainer_queue_item_claim,
    trainer_queue_item_finish,
    trainer_queue_item_heartbeat,
    trainer_queue_item_release,
    trainer_queue_item_retry_or_fail,
    training_request,
)
from products import selectors as product_selectors
from products.revision import catalogue_changes_prune, catalogue_revision_current
from recommendations.algorithms.registry import MODELS
from recommendations.config import RecommenderConfig
from recommendations.selectors import config_current
from recommendations.training.data import RETRAIN_EVENTS
from recommendations.training.readiness import training_readiness
from recommendations.training.services import model_train

logger = logging.getLogger(__name__)

Status = TrainerQueueItem.Status

# How often the scheduling trainer prunes the catalogue change log.
CHANGE_LOG_PRUNE_SECONDS = 600.0
# A progress line at least every this many percent or seconds; the claim is renewed as often.
PROGRESS_STEP_PERCENT = 10
PROGRESS_STEP_SECONDS = 15.0
# Seconds between two heartbeats of a training trainer; well below the least heartbeat timeout
# of the config (10 s), so that a live trainer is never taken for a dead one.
HEARTBEAT_SECONDS = 3.0


class TrainingAbandoned(Exception):
    """Raised inside a running training when the trainer is told to stop a second time."""


def new_events_since(*, kinds: tuple[str, ...], mark: TrainingDataMark | None, enough: int) -> int:
    """How many events of `kinds` ("views", "carts", "order_lines", "reviews") arrived after
    `mark` (everything when there is no mark), counted up to `enough`: index range scans that
    stop early, never a full count of a big table."""
    enough = max(enough, 1)
    counted = 0
    for kind in kinds:
        if counted >= enough:
            break
        if kind == "reviews":
            counted += max(feedback_selectors.event_counts()["reviews"] - (mark.review_count if mark else 0), 0)
        elif kind == "order_lines":
            counted += product_selectors.order_lines_since(
                after_id=mark.order_line_id if mark else 0, enough=enough - counted
            )
        else:
            last_id = (mark.product_detail_enter_id if kind == "views" else mark.product_add_to_cart_id) if mark else 0
            counted += feedback_selectors.events_since(kind=kind, after_id=last_id, enough=enough - counted)
    return min(counted, enough)


class Trainer:
    """One trainer process. `run` loops; `claim`, `process` and `schedule` are its steps."""

    def __init__(self, *, name: str, write: Callable[[str], None] | None = None, is_scheduling: bool = True) -> None:
        self.name = name
        self.is_scheduling = is_scheduling
        self._write = write or logger.info
        self._stop = threading.Event()
        self._is_training = False
        self._pruned_at = 0.0

    # --- the loop ------------------------------------------------------------------------

    @property
    def is_stopping(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        self._stop.set()

    def handle_signal(self, signum: int, frame: Any) -> None:
        """SIGTERM/SIGINT: finish the current training, then exit. A second signal during a
        training abandons it: it is recorded as failed and its queue item is given back."""
        if self._stop.is_set() and self._is_training:
            self._is_training = False
            raise TrainingAbandoned(f"stopped by signal {signal.Signals(signum).name}")
        self._stop.set()
        if self._is_training:
            self._write(
                f"{signal.Signals(signum).name}: finishing the current training, then exiting (again to abandon it)"
            )

    def run(self, *, once: bool = False, interval: float = 30.0) -> int:
        """Loop until stopped; with `once`, until nothing is claimable. Returns the number of
        queue items processed."""
        processed = 0
        self._write(f"trainer {self.name} started" + (" (draining the queue once)" if once else ""))
        while not self.is_stopping:
            try:
                if self.is_scheduling:
                    self.schedule()
                item = self.claim()
            except Exception:
                if once:
                    raise
                # The database may be restarting: say so, wait, and try again.
                logger.exception("trainer %s cannot reach the queue", self.name)
                _close_old_connections()
                self._stop.wait(interval)
                continue
            if item is None:
                if once:
                    break
                _close_old_connections()
                self._stop.wait(interval)
                continue
            try:
                self.process(item)
            except Exception:
                # Recording the outcome failed; the claim times out and the item is taken again.
                logger.exception("trainer %s could not record the outcome of #%s", self.name, item.pk)
                if once:
                    raise
            processed += 1
            _close_old_connections()
        self._write(f"trainer {self.name} stopped after {processed} item(s)")
        return processed

    def claim(self) -> TrainerQueueItem | None:
        return trainer_queue_item_claim(claimed_by=self.name, config=config_current().trainer_config)

    def process(self, item: TrainerQueueItem) -> str:
        """Train the claimed item and record its outcome; returns the item's new status."""
        begin = time.monotonic()
        label = f"#{item.pk} {item.model_name}"
        model_class = MODELS.get(item.model_name)
        if model_class is None:
            error = f"unknown model {item.model_name!r}; known: {', '.join(sorted(MODELS))}"
            return self._finish(item, Status.FAILED, error, begin)
        if not model_class.needs_training or model_class.training_data is None:
            return self._finish(item, Status.SKIPPED, f"{item.model_name} needs no training", begin)

        config = config_current()
        requested = {True: "full training requested, ", False: "incremental training requested, ", None: ""}[
            item.full_train
        ]
        self._write(f"{label}: training ({requested}attempt {item.attempts} of {config.trainer_config.max_attempts})")
        progress = _ProgressReporter(label, self._write, lambda: self._heartbeat(item))
        self._is_training = True
        heartbeat = _Heartbeat(item, self.name)
        heartbeat.start()
        try:
            outcome = model_train(
                model_name=item.model_name,
                full_train=item.full_train,
                progress=progress,
                training_id=item.training_id,
            )
        except TrainingAbandoned as error:
            self._is_training = False
            trainer_queue_item_release(item=item, claimed_by=self.name, error=f"abandoned: {error}")
            self._write(f"{label} abandoned after {time.monotonic() - begin:.2f} s ({error}); given back to the queue")
            return Status.PENDING
        except Exception as error:
            self._is_training = False
            logger.exception("training %s failed", label)
            message = f"{type(error).__name__}: {error}"
            status = trainer_queue_item_retry_or_fail(
                item=item, claimed_by=self.name, error=message, config=config.trainer_config
            )
            retry = " (will be retried)" if status == Status.PENDING else ""
            self._write(f"{label} FAILED in {time.monotonic() - begin:.2f} s{retry}: {message}")
            return status
        finally:
            self._is_training = False
            heartbeat.stop()

        if outcome.outcome == "SKIPPED":
            return self._finish(item, Status.SKIPPED, outcome.reason, begin)
        kind = "full" if outcome.full_train else "incremental"
        return self._finish(
            item,
            Status.COMPLETED,
            "",
            begin,
            detail=f"{kind}, {outcome.identifier} is current, peak memory {outcome.peak_memory_mib:.0f} MiB, "
            f"metrics {outcome.metrics}",
        )

    def _finish(self, item: TrainerQueueItem, status: str, error: str, begin: float, detail: str = "") -> str:
        trainer_queue_item_finish(item=item, claimed_by=self.name, status=status, error=error)
        self._write(f"#{item.pk} {item.model_name} {status} in {time.monotonic() - begin:.2f} s ({detail or error})")
        return status

    def _heartbeat(self, item: TrainerQueueItem) -> None:
        if not trainer_queue_item_heartbeat(item=item, claimed_by=self.name):
            logger.warning("trainer %s lost the claim of #%s (claim timeout too short?)", self.name, item.pk)

    # --- scheduling ------------------------------------------------------------------------

    def schedule(self) -> list[TrainerQueueItem]:
        """Enqueue the retrainings that are due; returns the items created.

        A trainable, enabled model with no item pending or running, and whose last training began
        at least `min_retrain_interval_seconds` ago, is queued when it was never trained and is
        ready for training, or when enough new data arrived since its current training: at least
        `retrain_after_new_events` events it learns from (session models: views; interaction models:
        views, add-to-carts, order lines, reviews), or `retrain_after_catalogue_changes` catalogue
        revisions (content models)."""
        if time.monotonic() - self._pruned_at > CHANGE_LOG_PRUNE_SECONDS:
            # The catalogue change log only serves servers that looked within the last hour.
            catalogue_changes_prune()
            self._pruned_at = time.monotonic()
        config = config_current()
        settings = config.trainer_config
        active = set(
            TrainerQueueItem.objects.filter(status__in=[Status.PENDING, Status.RUNNING]).values_list(
                "model_name", flat=True
            )
        )
        current = dict(LatestIdentifier.objects.values_list("model_name", "identifier"))
        marks = {mark.model_name: mark for mark in TrainingDataMark.objects.all()}
        last_started = dict(
            TrainingStarted.objects.values("model_name")
            .annotate(last=Max("create_at"))
            .values_list("model_name", "last")
        )
        now = timezone.now()
        created = []
        for name in self._schedulable(config):
            if name in active:
                continue
            last = last_started.get(name)
            if last is not None and (now - last).total_seconds() < settings.min_retrain_interval_seconds:
                continue
            reason = self._retraining_reason(name, current.get(name), marks.get(name), config)
            if reason is None or training_readiness(model_name=name, config=config) is not None:
                continue
            item, _ = training_request(model_name=name, requested_by="scheduler")
            self._write(f"#{item.pk} {name} scheduled: {reason}")
            created.append(item)
        return created

    @staticmethod
    def _schedulable(config: RecommenderConfig) -> list[str]:
        return [
            name
            for name, model_class in MODELS.items()
            if model_class.needs_training and model_class.training_data is not None and not config.is_disabled(name)
        ]

    @staticmethod
    def _retraining_reason(
        name: str, identifier: str | None, mark: TrainingDataMark | None, config: RecommenderConfig
    ) -> str | None:
        if identifier is None:
            return "never trained"
        # A mark of another identifier (trained by `manage.py train`, or before marks existed)
        # says nothing about the current training: everything counts as new.
        if mark is not None and mark.model_identifier != identifier:
            mark = None
        settings = config.trainer_config
        kinds = RETRAIN_EVENTS[MODELS[name].training_data]
        if kinds:
            threshold = settings.retrain_after_new_events
            new = new_events_since(kinds=kinds, mark=mark, enough=threshold)
            return f"{new}+ new events since {identifier}" if new >= threshold else None
        changes = catalogue_revision_current() - (mark.catalogue_revision if mark else 0)
        threshold = max(settings.retrain_after_catalogue_changes, 1)
        return f"{changes} catalogue changes since {identifier}" if changes >= threshold else None


class _Heartbeat:
    """A thread that tells the queue every `HEARTBEAT_SECONDS` that this trainer is alive while
    it trains, whatever the training reports: a killed trainer falls silent and another takes its
    item over within the config's heartbeat timeout, while a live one with a long silent step
    (one big matrix inverse) keeps its item."""

    def __init__(self, item: TrainerQueueItem, claimed_by: str) -> None:
        self._item = item
        self._claimed_by = claimed_by
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{item.pk}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=HEARTBEAT_SECONDS + 30)

    def _run(self) -> None:
        try:
            while not self._done.wait(HEARTBEAT_SECONDS):
                try:
                    is_ours = trainer_queue_item_alive(item=self._item, claimed_by=self._claimed_by)
                except Exception as error:  # the database may be restarting; the next beat may pass
                    logger.warning("heartbeat of #%s failed: %s", self._item.pk, error)
                    _close_old_connections()
                    continue
                if not is_ours:
                    logger.warning("trainer %s no longer holds #%s", self._claimed_by, self._item.pk)
                    return
        finally:
            # This thread's own connections (Django's are per thread).
            connections.close_all()


class _ProgressReporter:
    """The progress callback given to a training: a line every few percent or seconds, and a
    renewed claim as often."""

    def __init__(self, label: str, write: Callable[[str], None], heartbeat: Callable[[], None]) -> None:
        self._label = label
        self._write = write
        self._heartbeat = heartbeat
        self._last_percent = -PROGRESS_STEP_PERCENT
        self._last_time = time.monotonic()

    def __call__(self, message: str, fraction: float) -> None:
        percent = round(100 * min(max(fraction, 0.0), 1.0))
        now = time.monotonic()
        is_done = percent == 100 and self._last_percent < 100
        if (
            is_done
            or percent - self._last_percent >= PROGRESS_STEP_PERCENT
            or now - self._last_time >= PROGRESS_STEP_SECONDS
        ):
            self._write(f"{self._label} {percent:3d}% {message}")
            self._last_percent = percent
            self._last_time = now
            self._heartbeat()


def _close_old_connections() -> None:
    """`django.db.close_old_connections`, except for connections inside a transaction: those are
    in use (a test wraps everything in one), not old."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
