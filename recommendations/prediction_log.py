"""Writing one PredictionResult per answer without making the answer wait for the database.

In a server process the rows go to a queue that a background thread writes in batches (every
`FLUSH_SECONDS` or `BATCH_SIZE` rows, and at exit), with PostgreSQL's synchronous commit off
for those inserts: a crash may lose the last fraction of a second of monitoring rows, never an
event or a catalogue row. With `RECOMMENDER["ASYNC_PREDICTION_LOG"]` off (tests, scripts) each
row is written before the answer.

A row the database refuses (a value too long for its column, say) is found by splitting the batch
and dropped alone, logged; the rest of the batch is written. A database that cannot be reached
loses the batch, logged with its size."""

from __future__ import annotations

import atexit
import logging
import queue
import threading

from django.conf import settings
from django.db import close_old_connections, connections, router, transaction

from core.databases import is_unreachable
from feedback.models import PredictionResult

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.2
BATCH_SIZE = 500

_queue: queue.Queue[PredictionResult] = queue.Queue(maxsize=100_000)
_writer: threading.Thread | None = None
_writer_lock = threading.Lock()


def prediction_result_record(**fields) -> None:
    row = PredictionResult(**fields)
    if not settings.RECOMMENDER["ASYNC_PREDICTION_LOG"]:
        _write([row])
        return
    _ensure_writer()
    try:
        _queue.put_nowait(row)
    except queue.Full:
        logger.warning("prediction log queue is full; writing in the request")
        _write([row])


def prediction_log_flush() -> None:
    """Write everything queued so far (called at exit; handy in scripts)."""
    batch: list[PredictionResult] = []
    while True:
        try:
            batch.append(_queue.get_nowait())
        except queue.Empty:
            break
    if batch:
        prediction_results_write(batch)


def prediction_results_write(rows: list[PredictionResult]) -> int:
    """Write a batch; a row the database refuses is isolated by halving the batch and dropped
    alone (logged), so that one bad row never costs the others. Returns the rows dropped. A
    database that cannot be reached raises."""
    try:
        _write(rows)
        return 0
    except Exception as error:
        if is_unreachable(error):
            raise
        if len(rows) == 1:
            logger.error("dropped a prediction result the database refuses: %s: %s", type(error).__name__, error)
            return 1
    middle = len(rows) // 2
    return prediction_results_write(rows[:middle]) + prediction_results_write(rows[middle:])


def _write(rows: list[PredictionResult]) -> None:
    using = router.db_for_write(PredictionResult)
    with transaction.atomic(using=using):
        if connections[using].vendor == "postgresql":
            with connections[using].cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        PredictionResult.objects.bulk_create(rows, batch_size=BATCH_SIZE)


def _ensure_writer() -> None:
    global _writer
    if _writer is not None and _writer.is_alive():
        return
    with _writer_lock:
        if _writer is None or not _writer.is_alive():
            _writer = threading.Thread(target=_run_writer, name="prediction-log", daemon=True)
            _writer.start()
            atexit.register(prediction_log_flush)


def _run_writer() -> None:
    while True:
        batch = [_queue.get()]
        try:
            while len(batch) < BATCH_SIZE:
                batch.append(_queue.get(timeout=FLUSH_SECONDS))
        except queue.Empty:
            pass
        try:
            close_old_connections()
            prediction_results_write(batch)
        except Exception:
            logger.exception("could not write %d prediction results", len(batch))
        if _queue.empty():
            # Idle: give the connection back rather than hold it open between bursts.
            connections[router.db_for_write(PredictionResult)].close()
