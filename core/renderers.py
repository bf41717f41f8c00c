"""The API's JSON renderers.

`JSONRenderer`: UTF-8 as DRF writes it, except that an answer holding a string UTF-8 cannot
encode (a lone surrogate echoed from the client's input, "\ud800") is written with ASCII
escapes, which any JSON reader decodes the same way, instead of failing into a 500.

`PlainJSONRenderer`, for the prediction endpoints: their answers are plain strings, numbers,
lists and dicts, and product positions of a large category hold tens of thousands of entries
(17,000 at 100,000 variants: 6 ms in the standard library's encoder, under 1 ms in orjson). The
bytes are the same as `JSONRenderer` writes (compact, UTF-8, keys in order, an integer key as its
digits in quotes); anything orjson does not take as it is (a lone surrogate, a type of its own)
goes through `JSONRenderer`."""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            self.ensure_ascii = True
            return super().render(data, accepted_media_type, renderer_context)


class PlainJSONRenderer(JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        if data is None:
            return b""
        try:
            return orjson.dumps(data, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS)
        except TypeError:
            return super().render(data, accepted_media_type, renderer_context)
