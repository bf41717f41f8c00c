"""The API's JSON renderers.

`JSONRenderer`: UTF-8 as DRF writes it, except that an answer holding a string UTF-8 cannot
encode (a lone surrogate echoed from the client's input, "\ud800") is written with ASCII
escapes, which any JSON reader decodes the same way, instead of failing into a 500.

`PlainJSONRenderer`, for the prediction endpoints: their answers are plain strings, numbers,
lists and dicts, and product positions of a large category hold tens of thousands of entries
(17,000 at 100,000 variants: 6 ms in the standard library's encoder, under 1 ms in orjson). The
bytes are the same as `JSONRenderer` writes (compact, UTF-8, keys in order, an integer key as its
digits in quotes); anything orjson does not take as it is (a lone surrogate, a type of its own)
goes through `JSONRenderer`.

`Positions`: product positions given as the ranked ids themselves; `PlainJSONRenderer` writes
`{"id": position, ...}` straight from the array, with numpy, in the bytes the dict would give
(a root category of a million-variant shop has 230,000 products: 45 ms to build the dict and
encode it, 18 ms this way)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from rest_framework import renderers


@dataclass(frozen=True, eq=False)
class Positions:
    """The JSON object {id: position} of distinct integer ids, given best first."""

    ids: np.ndarray

    def as_dict(self) -> dict[int, int]:
        return dict(zip(self.ids.tolist(), range(len(self.ids))))


def _group_table(prefix: bytes) -> np.ndarray:
    """(3000, 4) uint8 cells for a number's three-digit groups, indexed by kind * 1000 + group:
    kind 0, a group below the leading one (all three digits); 1, the leading group of a number
    with more groups (`prefix` and its digits, nothing for 0); 2, the units group leading
    (`prefix` and its digits, "0" for 0). Cells are right-aligned; the 0 bytes left of them
    are dropped when the answer is joined."""
    cells = []
    for kind in range(3):
        for group in range(1000):
            if kind == 0:
                cell = b"%03d" % group
            elif kind == 1 and group == 0:
                cell = b""
            else:
                cell = prefix + str(group).encode()
            cells.append(list(cell.rjust(4, b"\0")))
    return np.array(cells, dtype=np.uint8)


_KEY_CELLS = _group_table(b'"')  # an object key opens its quote before its first digit
_NUMBER_CELLS = _group_table(b"")


def _cells(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """(len(values), 4 * groups) uint8: each non-negative value written with `table`, its
    groups most significant first."""
    largest = int(values.max()) if len(values) else 0
    groups = max(1, (len(str(largest)) + 2) // 3)
    out = np.empty((len(values), 4 * groups), dtype=np.uint8)
    rest = values
    for group in range(groups):
        digits = rest % 1000
        rest = rest // 1000
        kind = (rest == 0).astype(np.int64) * (2 if group == 0 else 1)
        column = 4 * (groups - 1 - group)
        out[:, column : column + 4] = np.take(table, kind * 1000 + digits, axis=0)
    return out


# The positions 0..n-1 written once for the largest n asked yet (a wider cell than a smaller n
# needs only adds 0 bytes, which are dropped): every large answer needs the same ones.
_position_cells = np.zeros((0, 4), dtype=np.uint8)


def _positions_cells(count: int) -> np.ndarray:
    global _position_cells
    cells = _position_cells
    if len(cells) < count:
        cells = _cells(np.arange(max(count, 2 * len(cells)), dtype=np.int64), _NUMBER_CELLS)
        _position_cells = cells
    return cells[:count]


def positions_json(ids: np.ndarray) -> bytes:
    """`{"<id>":0,"<id>":1,...}` for distinct integer ids best first: the bytes of
    `orjson.dumps(dict(zip(ids, range(n))), option=OPT_NON_STR_KEYS)`, written as arrays (a
    negative id, which no shop sends, goes through that dict)."""
    ids = np.asarray(ids, dtype=np.int64)
    count = len(ids)
    if count == 0:
        return b"{}"
    if ids.min() < 0:
        return orjson.dumps(Positions(ids).as_dict(), option=orjson.OPT_NON_STR_KEYS)
    keys = _cells(ids, _KEY_CELLS)
    positions = _positions_cells(count)
    key_width, position_width = keys.shape[1], positions.shape[1]
    # One row per entry: "key":position, ; the 0 bytes are padding, dropped when joined.
    rows = np.empty((count, key_width + 2 + position_width + 1), dtype=np.uint8)
    rows[:, :key_width] = keys
    rows[:, key_width] = ord('"')
    rows[:, key_width + 1] = ord(":")
    rows[:, key_width + 2 : -1] = positions
    rows[:, -1] = ord(",")
    flat = rows.ravel()
    body = flat[flat != 0]
    body[-1] = ord("}")  # the last comma
    return b"{" + body.tobytes()


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
        if isinstance(data, Positions):
            return positions_json(data.ids)
        try:
            return orjson.dumps(data, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS)
        except TypeError:
            return super().render(data, accepted_media_type, renderer_context)
