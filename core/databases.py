"""Which database alias holds an app's tables: `settings.DATABASE_APPS_MAPPING` is the one source
(the router and every service that names its database ask here). Also: which alias a database
error came from, and the statement timeout of the PostgreSQL sessions a process opens."""

from __future__ import annotations

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.utils import DatabaseErrorWrapper, InterfaceError, OperationalError

# The errors of a database that cannot be reached or does not answer in time (refused or dropped
# connections, timeouts, a statement cancelled by `statement_timeout`): answered 503.
UNREACHABLE_ERRORS = (OperationalError, InterfaceError)


def database_for_app(app_label: str) -> str:
    return settings.DATABASE_APPS_MAPPING.get(app_label, "default")


def database_alias_of(error: BaseException) -> str | None:
    """The alias of the connection a database error was raised in, read from the frames it went
    through (Django's connection, cursor and error wrappers all pass there); None when no
    connection is among them."""
    seen: set[int] = set()
    found = None
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        traceback = error.__traceback__
        while traceback is not None:
            alias = _alias_of(traceback.tb_frame.f_locals.get("self"))
            found = alias or found  # the innermost frame that knows wins
            traceback = traceback.tb_next
        if found:
            return found
        error = error.__cause__ or error.__context__
    return None


def _alias_of(owner: object) -> str | None:
    if isinstance(owner, BaseDatabaseWrapper):
        return owner.alias
    if isinstance(owner, CursorWrapper):
        return owner.db.alias
    if isinstance(owner, DatabaseErrorWrapper):
        return owner.wrapper.alias
    return None


def is_unreachable(error: BaseException) -> bool:
    return isinstance(error, UNREACHABLE_ERRORS)


def statement_timeout_use(seconds: float) -> None:
    """Make the PostgreSQL sessions this process opens from now on cancel a statement after
    `seconds` (0: never), and close the open ones so that they reopen with it. The trainer and the
    migrations call it with the long timeout of their expected long statements."""
    for alias in settings.DATABASE_ALIASES:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        connection.settings_dict.setdefault("OPTIONS", {})["options"] = postgresql_options(statement_timeout=seconds)
        if not connection.in_atomic_block:
            connection.close()


def postgresql_options(*, statement_timeout: float) -> str:
    """libpq's `options` (server settings for the session)."""
    return f"-c statement_timeout={round(statement_timeout * 1000)}"
