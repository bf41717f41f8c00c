"""The API's JSON renderer: UTF-8 as DRF writes it, except that an answer holding a string UTF-8
cannot encode (a lone surrogate echoed from the client's input, "\ud800") is written with ASCII
escapes, which any JSON reader decodes the same way, instead of failing into a 500."""

from __future__ import annotations

from typing import Any

from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            self.ensure_ascii = True
            return super().render(data, accepted_media_type, renderer_context)
