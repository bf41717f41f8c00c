"""Template filters for the dashboard's numbers (see `monitoring.formatting`)."""

from __future__ import annotations

import json

from django import template

from monitoring import formatting

register = template.Library()

register.filter("percent", formatting.percent)
register.filter("duration", formatting.duration)
register.filter("mebibytes", formatting.mebibytes)
register.filter("percentage", formatting.percentage)
register.filter("count", formatting.count)


@register.filter
def compact_json(value) -> str:
    if not value:
        return formatting.NO_DATA
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))
