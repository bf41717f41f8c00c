"""Writing one PredictionResult per answer without making the answer wait for the database.

In a server process the rows go to a queue that a background thread writes in batches (every
`FLUSH_SECONDS` or `BATCH_SIZE` rows, and at exit), with PostgreSQL's synchronous commit off
for those inserts: a crash may lose the last fraction of a second of monitoring rows, never an
event or a catalogue row. With `RECOMMENDER["ASYNC_PREDICTION_LOG"]` off (tests, scripts) each
row is written before the answer."""

from __future__ import annotations

import atexit
import logging
import queue
import threading

from django.conf import settings
from django.db import close_old_connections, connections, router, transaction

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
        _write(batch)


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
            _write(batch)
        except Exception:
            logger.exception("could not write %d prediction results", len(batch))
        if _queue.empty():
            # Idle: give the connection back rather than hold it open between bursts.
            connections[router.db_for_write(PredictionResult)].close()
