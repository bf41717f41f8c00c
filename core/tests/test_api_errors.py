"""The one error path: JSON too deep for any parser answers 400 on every endpoint, and an error
answer is never much larger than the request."""

import json

import pytest
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from core.parsers import MAX_DEPTH

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

POST_ENDPOINTS = ["/store_object", "/store_objects", "/predict", "/predict/product_positions"]


def post(path: str, raw: str):
    return APIClient().post(path, raw, content_type="application/json")


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_json_nested_too_deep_is_a_400_on_every_endpoint(path, depth):
    response = post(path, "[" * depth + "]" * depth)

    assert response.status_code == 400
    assert response.json() == {"detail": f"Malformed JSON: nested deeper than {MAX_DEPTH} levels."}


@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_json_nested_deep_inside_a_field_is_a_400(path):
    nested = "[" * 999 + "]" * 999
    response = post(path, f'{{"_model_class": "Config", "recommendation_type": "HOMEPAGE", "easeConfig": {nested}}}')

    assert response.status_code == 400
    assert response.json() == {"detail": f"Malformed JSON: nested deeper than {MAX_DEPTH} levels."}


def test_json_as_deep_as_allowed_is_parsed():
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    response = post("/store_object", f'{{"_model_class": "Config", "easeConfig": {nested}}}')

    assert response.status_code == 400
    assert response.json() == {"easeConfig": ["Must be an object."]}


def test_an_error_answer_to_a_thousand_unknown_keys_is_no_larger_than_the_request():
    body = {"recommendation_type": "HOMEPAGE", **{f"k{n}": 1 for n in range(1_000)}}
    raw = json.dumps(body)

    response = post("/predict", raw)

    assert response.status_code == 400
    answer = response.json()
    assert len(response.content) <= max(4096, len(raw))
    assert answer["detail"].startswith("1000 entries have errors; the first ")
    assert answer["k0"] == [
        "Unknown field; a prediction request takes recommendation_type, session_id, user_id, category_id, "
        "variants, variants_in_cart, limit, country, pricelist, product_id."
    ]


def test_an_error_answer_to_a_batch_of_bad_classes_is_no_larger_than_the_request():
    raw = json.dumps([{"_model_class": "X"}] * 2_000)

    response = post("/store_objects", raw)

    assert response.status_code == 400
    assert len(response.content) <= max(4096, len(raw))
    assert response.json()["detail"].startswith("2000 entries have errors; the first ")


def test_an_echoed_value_is_cut_in_the_error_answer():
    response = post("/predict", json.dumps({"recommendation_type": "H" * 100_000}))

    assert response.status_code == 400
    (message,) = response.json()["recommendation_type"]
    assert len(message) == 300 and message.endswith("…")
