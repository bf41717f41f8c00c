"""The prediction endpoints' renderer writes the bytes the API's standard renderer writes."""

from __future__ import annotations

import datetime
import decimal
import json

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ErrorDetail

from core.renderers import JSONRenderer, PlainJSONRenderer, Positions, positions_json

PLAIN = [
    {"12": 0, "7": 1, "100000": 2},
    [{"product_variant_sku": "ř-1", "rs_info": {"position": 0, "served_by": "sknn", "model_name": "x"}}],
    {"recommendation_type": [ErrorDetail('"HOMEPAG" is not a recommendation type.', code="invalid_choice")]},
    {"nested": [[], {}, None, True, False, 2**40, -3, 0.25, "emoji 🛒"]},
    {12: 0, 7: 1, 100000: 2},  # product positions keyed by integer ids
    [],
]


@pytest.mark.parametrize("data", PLAIN)
def test_plain_answers_are_written_byte_for_byte_as_the_standard_renderer_writes_them(data):
    assert PlainJSONRenderer().render(data) == JSONRenderer().render(data)


@pytest.mark.parametrize(
    "data",
    [
        {"echo": "\ud800"},  # a lone surrogate from the client's input
        {"at": datetime.datetime(2026, 12, 6, 7, 0, 0, 123456, tzinfo=datetime.UTC)},
        {"price": decimal.Decimal("1.50")},
    ],
)
def test_what_orjson_does_not_take_as_it_is_goes_through_the_standard_renderer(data):
    assert PlainJSONRenderer().render(data) == JSONRenderer().render(data)
    json.loads(PlainJSONRenderer().render(data))


def test_no_data_is_an_empty_body():
    assert PlainJSONRenderer().render(None) == b""


@settings(max_examples=300, deadline=None)
@given(ids=st.lists(st.integers(min_value=-(2**62), max_value=2**62), unique=True, max_size=300))
def test_positions_are_written_as_the_dict_of_ids_to_positions(ids):
    positions = Positions(np.array(ids, dtype=np.int64))
    expected = orjson.dumps(positions.as_dict(), option=orjson.OPT_NON_STR_KEYS)

    written = PlainJSONRenderer().render(positions)

    assert written == expected
    assert json.loads(written) == {str(key): position for position, key in enumerate(ids)}


def test_positions_past_ten_and_a_hundred_entries_and_of_every_digit_count():
    positions_json(np.arange(5000, dtype=np.int64))  # positions written for a larger answer first
    ids = np.array([10**k for k in range(18)] + [9, 99, 999, 0, -1, -10] + list(range(2000, 2200)), dtype=np.int64)
    written = positions_json(ids)
    assert written == orjson.dumps(Positions(ids).as_dict(), option=orjson.OPT_NON_STR_KEYS)
    assert list(json.loads(written).values()) == list(range(len(ids)))
    assert positions_json(np.zeros(0, dtype=np.int64)) == b"{}"
