"""The prediction endpoints' renderer writes the bytes the API's standard renderer writes."""

from __future__ import annotations

import datetime
import decimal
import json

import pytest
from rest_framework.exceptions import ErrorDetail

from core.renderers import JSONRenderer, PlainJSONRenderer

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
