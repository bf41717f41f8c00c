"""Small inline SVG charts for the dashboard pages, drawn on the server: no JavaScript library
and nothing fetched from the internet. Every point carries a `<title>`, which browsers show as a
tooltip."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from recommendations.algorithms.registry import MODELS

# One colour per series, stable across charts: each model's own, "general" is the dark line.
PALETTE = {
    "general": "#1f2937",
    "retrieval": "#0ea5e9",
    "scoring": "#8b5cf6",
    "ordering": "#f59e0b",
    "total p95": "#1f2937",
}
_EXTRA_COLOURS = ["#ec4899", "#14b8a6", "#84cc16", "#6366f1", "#f97316"]

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 52


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def colour(name: str) -> str:
    if name in PALETTE:
        return PALETTE[name]
    if name in MODELS:
        return MODELS[name].colour
    return _EXTRA_COLOURS[sum(map(ord, name)) % len(_EXTRA_COLOURS)]


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _frame(title: str, labels: Sequence[str], y_max: float, y_format: Callable[[float], str], kind: str) -> list[str]:
    plot_height = HEIGHT - TOP - BOTTOM
    opening = (
        f'<svg class="chart" data-chart="{escape(kind)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    )
    parts = [opening, f"<title>{escape(title)}</title>"]
    for tick in range(5):
        value = y_max * tick / 4
        y = TOP + plot_height - plot_height * tick / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(y_format(value))}</text>'
        )
    every = max(1, math.ceil(len(labels) / 10))
    for index, label in enumerate(labels):
        if index % every == 0 or index == len(labels) - 1:
            x = _x(index, len(labels))
            parts.append(
                f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>'
            )
    return parts


def _x(index: int, count: int) -> float:
    plot_width = WIDTH - LEFT - RIGHT
    if count <= 1:
        return LEFT + plot_width / 2
    return LEFT + plot_width * (index + 0.5) / count


def _y(value: float, y_max: float) -> float:
    plot_height = HEIGHT - TOP - BOTTOM
    return TOP + plot_height - plot_height * min(value, y_max) / y_max


def _legend(names: Sequence[str]) -> list[str]:
    parts, x = [], LEFT
    for name in names:
        parts.append(f'<rect x="{x}" y="{HEIGHT - 22}" width="10" height="10" rx="2" fill="{colour(name)}"/>')
        parts.append(f'<text class="legend" x="{x + 14}" y="{HEIGHT - 13}">{escape(name)}</text>')
        x += 22 + 7 * len(name)
    return parts


def line_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    y_format: Callable[[float], str],
    y_max: float | None = None,
) -> SafeString:
    """One line per series; a missing value (None) breaks the line."""
    present = [v for s in series for v in s.values if v is not None]
    y_max = y_max or _nice_ceiling(max(present, default=0.0))
    parts = _frame(title, labels, y_max, y_format, "line")
    for item in series:
        path, points = [], []
        pen_down = False
        for index, value in enumerate(item.values):
            if value is None:
                pen_down = False
                continue
            x, y = _x(index, len(labels)), _y(value, y_max)
            path.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            pen_down = True
            points.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour(item.name)}">'
                f"<title>{escape(item.name)}, {escape(labels[index])}: {escape(y_format(value))}</title></circle>"
            )
        if path:
            parts.append(f'<path class="series" d="{" ".join(path)}" stroke="{colour(item.name)}" fill="none"/>')
        parts.extend(points)
    if not present:
        parts.append(_empty_note())
    parts.extend(_legend([s.name for s in series]))
    parts.append("</svg>")
    return mark_safe("".join(parts))


def stacked_bar_chart(
    *, title: str, labels: Sequence[str], series: Sequence[Series], y_format: Callable[[float], str]
) -> SafeString:
    """Bars per label, one stacked segment per series."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    y_max = _nice_ceiling(max(totals, default=0))
    parts = _frame(title, labels, y_max, y_format, "bar")
    plot_width = WIDTH - LEFT - RIGHT
    bar_width = max(2.0, min(40.0, plot_width / max(len(labels), 1) * 0.7))
    for index, label in enumerate(labels):
        base = 0.0
        x = _x(index, len(labels)) - bar_width / 2
        for item in series:
            value = item.values[index] or 0
            if value <= 0:
                continue
            top, bottom = _y(base + value, y_max), _y(base, y_max)
            parts.append(
                f'<rect x="{x:.1f}" y="{top:.1f}" width="{bar_width:.1f}" height="{bottom - top:.1f}" '
                f'fill="{colour(item.name)}"><title>{escape(item.name)}, {escape(label)}: '
                f"{escape(y_format(value))}</title></rect>"
            )
            base += value
    if not any(totals):
        parts.append(_empty_note())
    parts.extend(_legend([s.name for s in series]))
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _empty_note() -> str:
    return (
        f'<text class="empty" x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{TOP + (HEIGHT - TOP - BOTTOM) / 2}" '
        'text-anchor="middle">No predictions in this range</text>'
    )


def performance_charts(report) -> dict[str, SafeString]:
    """The four charts of the performance page from a `PerformanceReport` built `with_daily`."""
    from monitoring.formatting import duration, percent

    days = report.daily
    labels = [d.day.strftime("%d %b") for d in days]
    active = [name for name, figures in report.model_specific.items() if figures.predictions]
    per_model = [Series(name, [d.predictions.get(name, 0) for d in days]) for name in active]
    return {
        "predictions": stacked_bar_chart(
            title="Predictions per day by scoring model", labels=labels, series=per_model, y_format=lambda v: f"{v:g}"
        ),
        "hit_rate": line_chart(
            title=f"Hit rate @ {report.k} per day",
            labels=labels,
            series=[Series(name, [d.hit_rate.get(name) for d in days]) for name in ["general", *active]],
            y_format=lambda v: percent(v, 0),
        ),
        "coverage": line_chart(
            title="Coverage per day",
            labels=labels,
            series=[Series(name, [d.coverage.get(name) for d in days]) for name in ["general", *active]],
            y_format=lambda v: percent(v, 0),
        ),
        "latency": line_chart(
            title="Latency per day (averages per phase, 95th percentile of the total)",
            labels=labels,
            series=[
                Series("retrieval", [d.retrieval_avg for d in days]),
                Series("scoring", [d.scoring_avg for d in days]),
                Series("ordering", [d.ordering_avg for d in days]),
                Series("total p95", [d.total_p95 for d in days]),
            ],
            y_format=duration,
        ),
    }
