"""Bounded waits on PostgreSQL in a server process.

libpq waits for an answer as long as the socket stays open: a database that stops answering
(stopped, overloaded, a proxy that hangs) would hold a request, and its gunicorn thread, for as
long as the client waits. `install()` (called by `rs_project/wsgi.py`) makes psycopg2 wait through
`_wait`, which gives up at the request's deadline (`database_deadline`, set per API request by
`core.middleware.RequestDeadlineMiddleware`) or, outside one, after
`settings.DATABASE_ANSWER_TIMEOUT`. Giving up shuts the socket down, so the connection is broken
for good (Django replaces it) and the error is an `OperationalError`, answered 503 naming the
database.

Only server processes install it: psycopg2 refuses COPY while a wait callback is set, and the
trainer and the importers use COPY."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator

import psycopg2
from django.conf import settings
from psycopg2 import extensions

_local = threading.local()


class DatabaseWaitTimeout(psycopg2.OperationalError):
    """The database did not answer before the deadline."""


@contextlib.contextmanager
def database_deadline(seconds: float) -> Iterator[None]:
    """Within the block, database waits of this thread end `seconds` from now (an enclosing,
    earlier deadline still holds)."""
    previous = getattr(_local, "deadline", None)
    deadline = time.monotonic() + seconds
    _local.deadline = deadline if previous is None else min(previous, deadline)
    try:
        yield
    finally:
        _local.deadline = previous


def install() -> None:
    """Route psycopg2's waits through `_wait` (when a database is PostgreSQL)."""
    if any(settings.DATABASES[alias]["ENGINE"].endswith("postgresql") for alias in settings.DATABASES):
        extensions.set_wait_callback(_wait)


def uninstall() -> None:
    extensions.set_wait_callback(None)


def _wait(connection) -> None:
    """psycopg2's wait callback: poll the connection until its operation completes, never past
    the deadline."""
    deadline = getattr(_local, "deadline", None)
    ceiling = settings.DATABASE_ANSWER_TIMEOUT
    if ceiling is not None:
        ceiling_at = time.monotonic() + ceiling
        deadline = ceiling_at if deadline is None else min(deadline, ceiling_at)
    while True:
        state = connection.poll()
        if state == extensions.POLL_OK:
            return
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        if state == extensions.POLL_READ:
            ready = select.select([connection.fileno()], [], [], remaining)[0]
        elif state == extensions.POLL_WRITE:
            ready = select.select([], [connection.fileno()], [], remaining)[1]
        else:
            raise psycopg2.OperationalError(f"unexpected state from poll(): {state}")
        if not ready:
            _break(connection)
            raise DatabaseWaitTimeout("the database did not answer in time")


def _break(connection) -> None:
    # The server may never read a cancel request (it is not answering at all), so the socket is
    # shut down instead: the connection is unusable from here on and Django opens a new one.
    wrapper = socket.socket(fileno=connection.fileno())
    try:
        wrapper.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        wrapper.detach()
