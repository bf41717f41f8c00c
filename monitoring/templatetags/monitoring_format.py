"""Template filters for the dashboard's numbers (see `monitoring.formatting`)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from monitoring import formatting

register = template.Library()

register.filter("percent", formatting.percent)
register.filter("duration", formatting.duration)
register.filter("mebibytes", formatting.mebibytes)
register.filter("percentage", formatting.percentage)
register.filter("interval", formatting.interval)
register.filter("p_value", formatting.p_value)
register.filter("overrides", formatting.overrides)
register.filter("count", formatting.count)


@register.filter
def metric_lines(value) -> SafeString | str:
    """One escaped line per metric (see `formatting.metric_lines`)."""
    lines = formatting.metric_lines(value)
    if not lines:
        return formatting.NO_DATA
    return format_html_join("", '<span class="line">{}</span>', ((line,) for line in lines))
