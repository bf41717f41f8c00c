"""The date range every figure is restricted to."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone


@dataclass(frozen=True)
class DateRange:
    """Both bounds inclusive, aware datetimes."""

    start: datetime.datetime
    end: datetime.datetime

    @classmethod
    def last_days(cls, days: int = 7, *, now: datetime.datetime | None = None) -> DateRange:
        now = now or timezone.now()
        return cls(start=now - datetime.timedelta(days=days), end=now)


def in_range(date_range: DateRange) -> Q:
    return Q(create_at__gte=date_range.start, create_at__lte=date_range.end)
