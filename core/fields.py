"""DRF fields shared by the store API and the prediction API, so both read a session id, a user
id and a timestamp the same way."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import serializers

# What a storefront sends as a session id before its session cookie exists: not a session.
ANONYMOUS_SESSION_IDS = frozenset({"", "undefined", "null"})


def session_id_or_none(value: str | None) -> str | None:
    """The session id, or None for an anonymous shopper."""
    if value is None:
        return None
    value = value.strip()
    return None if value in ANONYMOUS_SESSION_IDS else value


def text_problem(value: str) -> str | None:
    """Why a client's string cannot be stored as text (PostgreSQL refuses NUL, UTF-8 has no lone
    surrogates), or None when it can."""
    if value.isascii():
        return "Null characters are not allowed." if "\x00" in value else None
    if "\x00" in value:
        return "Null characters are not allowed."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Lone surrogate characters are not allowed."
    return None


class SessionIdField(serializers.CharField):
    """A session id; missing, null or a placeholder (`ANONYMOUS_SESSION_IDS`) gives None, an
    anonymous shopper whose events and requests are attributed to no session."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", None)
        super().__init__(allow_null=True, allow_blank=True, max_length=100, **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> str | None:
        # After the length check, so a placeholder maps to None only once it is known valid.
        value = super().run_validation(data)
        return session_id_or_none(value) if isinstance(value, str) else value


class UserIdField(serializers.Field):
    """A user id as the client sends it: an int, a string (the ecoseller user's key is an email)
    or null; stored as a string of at most 255 characters, or None ("" counts as none)."""

    default_error_messages = {
        "invalid": "Must be an integer, a string or null.",
        "max_length": "Ensure this field has no more than {max_length} characters.",
        "text": "{problem}",
    }
    MAX_LENGTH = 255

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("default", None)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str | None:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        value = str(data).strip()
        if len(value) > self.MAX_LENGTH:
            self.fail("max_length", max_length=self.MAX_LENGTH)
        problem = text_problem(value)
        if problem:
            self.fail("text", problem=problem)
        return value or None

    def to_representation(self, value: Any) -> Any:
        return value


# Timestamps a client may send: imported history reaches back decades, nothing is dated centuries
# ahead, and within these bounds no date arithmetic (a window, a UTC conversion) overflows.
TIMESTAMP_MIN = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
TIMESTAMP_MAX = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)


def timestamp_in_range(value: dt.datetime) -> bool:
    return TIMESTAMP_MIN <= value < TIMESTAMP_MAX


class TimestampField(serializers.DateTimeField):
    """An ISO 8601 date-time, optional and nullable; naive means UTC; returned in UTC; between
    `TIMESTAMP_MIN` and `TIMESTAMP_MAX`."""

    default_error_messages = {"range": "Must be between 1900-01-01 and 3000-01-01 (UTC)."}

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("default", None)
        super().__init__(default_timezone=dt.UTC, **kwargs)

    def to_internal_value(self, value: Any) -> dt.datetime:
        parsed = super().to_internal_value(value)
        if not timestamp_in_range(parsed):
            self.fail("range")
        return parsed
