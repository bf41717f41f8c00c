"""How the dashboard prints numbers: a fraction as a percentage, durations in ms or s, memory in
MiB, and a dash for "no data". Shared by the templates (through the template filters) and the
chart axes."""

from __future__ import annotations

import json

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


def number(value: float, digits: int = 4) -> str:
    """4 significant digits for floats (0.35412345 → "0.3541"), integers as they are."""
    if value is None:
        return NO_DATA
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return str(value) if isinstance(value, int) else f"{value:.{digits}g}"


def metric_lines(values: dict | None) -> list[str]:
    """A training's metrics or hyperparameters as "name: value" lines, sorted by name, numbers
    to 4 significant digits, lists as comma-separated values."""
    if not values:
        return []

    def shown(value) -> str:
        if isinstance(value, (list, tuple)):
            return ", ".join(shown(v) for v in value)
        if isinstance(value, dict):
            return "; ".join(f"{k} {shown(v)}" for k, v in sorted(value.items()))
        return number(value)

    served = values.get("served_evaluation")
    lines = [f"{name}: {shown(value)}" for name, value in sorted(values.items()) if name != "served_evaluation"]
    return lines + served_lines(served) if isinstance(served, dict) else lines


def served_lines(evaluation: dict) -> list[str]:
    """What a training measured the pipeline to serve beside the model alone (see
    `recommendations.training.served`), one line per metric:
    "Recall@20: model alone 0.555 · served HOMEPAGE 0.26 · PRODUCT_DETAIL 0.241 (1,000 clicks)"."""
    model = evaluation.get("model") or {}
    served = evaluation.get("served") or {}
    lines = []
    for key, title in (("recall@20", "Recall@20"), ("mrr@20", "MRR@20")):
        parts = [f"model alone {number(model.get(key))}"]
        parts += [
            f"{'served ' if i == 0 else ''}{situation} {number(figures.get(key))}"
            for i, (situation, figures) in enumerate(sorted(served.items()))
        ]
        lines.append(f"{title}: " + " · ".join(parts))
    events = evaluation.get("events")
    if lines and isinstance(events, int):
        lines[0] += f" ({events:,} held-out clicks)"
    return lines


def interval(bounds: tuple[float, float] | None) -> str:
    """A 95% interval of fractions: (0.1334, 0.2888) → "13.3–28.9 %"."""
    if bounds is None:
        return NO_DATA
    return f"{bounds[0] * 100:.1f}–{bounds[1] * 100:.1f} %"


def p_value(value: float | None) -> str:
    if value is None:
        return NO_DATA
    return "p < 0.0001" if value < 0.0001 else f"p = {value:.4f}"


def overrides(value: dict | None) -> str:
    """An arm's overrides as compact JSON; none is the base config."""
    return json.dumps(value, separators=(", ", ": ")) if value else "the base config"
