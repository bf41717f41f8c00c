"""The JSON parser of the store API: reads the body through Django, so a body larger than
`DATA_UPLOAD_MAX_MEMORY_SIZE` raises `RequestDataTooBig` (answered 413), and answers malformed
JSON (NaN and Infinity included) with a 400."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class BoundedJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        # DRF hands the HttpRequest itself as the stream; `.body` enforces the size limit,
        # which DRF's own stream reading skips.
        request = parser_context["request"]._request
        try:
            return json.loads(request.body, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(f"Malformed JSON: {error}") from error
