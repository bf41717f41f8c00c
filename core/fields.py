"""DRF fields shared by the store API and the prediction API, so both read a session id and a
user id the same way."""

from __future__ import annotations

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

    default_error_messages = {"invalid": "Must be an integer, a string or null."}
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
            self.fail("invalid")
        return value or None

    def to_representation(self, value: Any) -> Any:
        return value
