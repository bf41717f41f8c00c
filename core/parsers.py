"""The JSON parser of the API: reads the body through Django, so a body larger than
`DATA_UPLOAD_MAX_MEMORY_SIZE` raises `RequestDataTooBig` (answered 413), and answers malformed
JSON (NaN and Infinity included) and JSON nested deeper than `MAX_DEPTH` with a 400."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

# No payload of the API nests deeper than 4 (a batch of objects holding lists); this leaves room
# and keeps every later step (validation, error messages) far from Python's recursion limit.
MAX_DEPTH = 32


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` nests lists and objects deeper than `limit` (a scalar has depth 0)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if type(node) is dict else node
        for child in children:
            if type(child) is dict or type(child) is list:
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


class BoundedJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        # DRF hands the HttpRequest itself as the stream; `.body` enforces the size limit,
        # which DRF's own stream reading skips.
        request = parser_context["request"]._request
        try:
            data = json.loads(request.body, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(f"Malformed JSON: {error}") from error
        except RecursionError:
            data = None
            is_too_deep = True
        else:
            is_too_deep = (type(data) is dict or type(data) is list) and nesting_exceeds(data, MAX_DEPTH)
        if is_too_deep:
            raise ParseError(f"Malformed JSON: nested deeper than {MAX_DEPTH} levels.")
        return data
