"""A shortcut through DRF's per-field machinery for the store payloads that arrive by the tens of
thousands (events, reviews): for values that already have their final type the result is what
DRF would produce, anything else goes the full DRF way."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from rest_framework import serializers

from core.fields import SessionIdField, UserIdField, session_id_or_none, timestamp_in_range

_MISSING = object()


class FastPathMixin:
    """A shortcut through DRF's per-field machinery for payloads whose values already have
    their final type (ASCII strings without surrounding blanks or NUL, ints, floats within
    bounds, timestamps within `core.fields` bounds, null): the
    result is what DRF would produce. Anything else (a missing required key, a string to
    coerce, a timestamp) goes the full DRF way, so error messages and coercions are DRF's.
    Events and reviews arrive by the tens of thousands, where DRF's generic path dominates."""

    def _fast_plan(self) -> list[tuple] | None:
        plan = getattr(self, "_plan", None)
        if plan is None:
            plan = []
            for name, field in self.fields.items():
                if isinstance(field, serializers.ChoiceField):
                    kind, extra = "choice", frozenset(field.choices)
                elif isinstance(field, SessionIdField):
                    kind, extra = "session", None
                elif isinstance(field, serializers.CharField):
                    kind, extra = "text", (field.max_length or math.inf, field.allow_blank)
                elif isinstance(field, serializers.IntegerField):
                    low = -math.inf if field.min_value is None else field.min_value
                    high = math.inf if field.max_value is None else field.max_value
                    kind, extra = "int", (low, high)
                elif isinstance(field, serializers.FloatField):
                    low = -math.inf if field.min_value is None else field.min_value
                    high = math.inf if field.max_value is None else field.max_value
                    kind, extra = "float", (low, high)
                elif isinstance(field, UserIdField):
                    kind, extra = "user", None
                elif isinstance(field, serializers.DateTimeField):
                    kind, extra = "datetime", None
                else:
                    return None
                default = _MISSING if field.default is serializers.empty else field.default
                plan.append((name, kind, extra, field.required, field.allow_null, default))
            self._plan = plan
        return plan

    def _fast_values(self, data: Any) -> dict[str, Any] | None:
        if type(data) is not dict:
            return None
        values: dict[str, Any] = {}
        for name, kind, extra, required, allow_null, default in self._fast_plan():
            value = data.get(name, _MISSING)
            if value is _MISSING:
                if required:
                    return None
                if default is not _MISSING:
                    values[name] = default
                continue
            if value is None:
                if not allow_null:
                    return None
                values[name] = None
                continue
            kind_of_value = type(value)
            if kind == "text":
                if (
                    kind_of_value is not str
                    or len(value) > extra[0]
                    or not value.isascii()
                    or "\x00" in value
                    or (not value and not extra[1])
                    or (value and (value[0].isspace() or value[-1].isspace()))
                ):
                    return None
            elif kind == "int":
                if kind_of_value is not int or not extra[0] <= value <= extra[1]:
                    return None
            elif kind == "float":
                if kind_of_value not in (int, float) or not math.isfinite(value) or not extra[0] <= value <= extra[1]:
                    return None
                value = float(value)
            elif kind == "choice":
                if kind_of_value is not str or value not in extra:
                    return None
            elif kind == "session":
                if kind_of_value is not str or len(value) > 100 or not value.isascii() or "\x00" in value:
                    return None
                value = session_id_or_none(value)
            elif kind == "user":
                if kind_of_value is int:
                    value = str(value)
                elif (
                    kind_of_value is not str
                    or len(value) > 255
                    or value != value.strip()
                    or not value.isascii()
                    or "\x00" in value
                ):
                    return None
                value = value or None
            else:  # a timestamp: ISO 8601 as DRF reads it (Django's parse_datetime), naive = UTC
                if kind_of_value is not str:
                    return None
                try:
                    value = dt.datetime.fromisoformat(value)
                    value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
                except (ValueError, OverflowError):
                    return None
                if not timestamp_in_range(value):
                    return None
            values[name] = value
        return values

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        values = self._fast_values(data)
        if values is not None:
            return values
        return super().to_internal_value(data)
