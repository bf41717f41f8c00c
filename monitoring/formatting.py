"""How the dashboard prints numbers: a fraction as a percentage, durations in ms or s, memory in
MiB, and a dash for "no data". Shared by the templates (through the template filters) and the
chart axes."""

from __future__ import annotations

NO_DATA = "–"


def percent(fraction: float | None, digits: int = 1) -> str:
    """0.1234 → "12.3 %". The values are fractions; the original printed them with a "%" unchanged."""
    if fraction is None:
        return NO_DATA
    return f"{fraction * 100:.{digits}f} %"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return NO_DATA
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def mebibytes(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:,.0f} MiB"


def percentage(value: float | None) -> str:
    """A value that already is a percentage (peak memory share)."""
    return NO_DATA if value is None else f"{value:.1f} %"


def count(value: int | None) -> str:
    return NO_DATA if value is None else f"{value:,}"
