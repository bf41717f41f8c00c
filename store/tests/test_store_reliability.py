"""The inputs of issue 16 that used to answer 5xx or were stored when they should not be: each,
through HTTP with the exact payload, answers a JSON 400 naming the field and stores nothing."""

import json

import pytest
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from feedback.models import ProductDetailEnter
from store.tests.test_store_api import ENTER, ORDER, REVIEW, RS_INFO, VARIANT, snapshot

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

EVENTS = {
    "ProductDetailEnter": ENTER,
    "ProductDetailLeave": {**ENTER, "_model_class": "ProductDetailLeave", "time_spent": 12.5},
    "ProductAddToCart": {**ENTER, "_model_class": "ProductAddToCart"},
    "RecommendationView": {**ENTER, "_model_class": "RecommendationView", **RS_INFO},
}
EXTREME_TIMES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"]


def post(path: str, body):
    return APIClient().post(path, json.dumps(body), content_type="application/json")


def assert_rejected(path: str, body, expected: dict) -> None:
    before = snapshot()

    response = post(path, body)

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == expected
    assert snapshot() == before


@pytest.mark.parametrize("moment", EXTREME_TIMES)
@pytest.mark.parametrize("model_class", sorted(EVENTS))
def test_an_event_dated_beyond_what_utc_can_hold_is_rejected(model_class, moment):
    assert_rejected(
        "/store_objects",
        [{**EVENTS[model_class], "create_at": moment}],
        {"0": {"create_at": ["Datetime value out of range."]}},
    )


@pytest.mark.parametrize("moment", EXTREME_TIMES)
@pytest.mark.parametrize("key", ["create_at", "update_at"])
def test_a_review_dated_beyond_what_utc_can_hold_is_rejected(key, moment):
    assert_rejected("/store_objects", [{**REVIEW, key: moment}], {"0": {key: ["Datetime value out of range."]}})


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1899-12-31T23:59:59Z"])
def test_a_timestamp_outside_the_accepted_years_is_rejected(moment):
    assert_rejected(
        "/store_object",
        {**ENTER, "create_at": moment},
        {"create_at": ["Must be between 1900-01-01 and 3000-01-01 (UTC)."]},
    )


def test_a_timestamp_with_a_far_offset_is_stored_in_utc():
    response = post("/store_object", {**ENTER, "create_at": "2023-07-01T00:00:00+16:00"})

    assert response.status_code == 200
    assert ProductDetailEnter.objects.get().create_at.isoformat() == "2023-06-30T08:00:00+00:00"


@pytest.mark.parametrize("user_id", ["a\u0000b", "\udfff"])
@pytest.mark.parametrize("model_class", sorted(EVENTS))
def test_an_event_with_a_user_id_that_text_cannot_hold_is_rejected(model_class, user_id):
    message = "Null characters are not allowed." if "\x00" in user_id else "Lone surrogate characters are not allowed."
    assert_rejected("/store_objects", [{**EVENTS[model_class], "user_id": user_id}], {"0": {"user_id": [message]}})


@pytest.mark.parametrize("model_class", sorted(EVENTS))
def test_an_event_with_a_user_id_of_256_characters_is_rejected(model_class):
    assert_rejected(
        "/store_objects",
        [{**EVENTS[model_class], "user_id": "u" * 256}],
        {"0": {"user_id": ["Ensure this field has no more than 255 characters."]}},
    )


def test_a_recommendation_view_with_a_lone_surrogate_type_is_a_json_400():
    assert_rejected(
        "/store_object",
        {**EVENTS["RecommendationView"], "recommendation_type": "\ud800"},
        {"recommendation_type": ['"\ud800" is not a valid choice.']},
    )


def test_time_spent_true_is_not_a_number():
    assert_rejected(
        "/store_object",
        {**EVENTS["ProductDetailLeave"], "time_spent": True},
        {"time_spent": ["A valid number is required."]},
    )


@pytest.mark.parametrize("key", ["weight", "recommendation_weight"])
def test_a_variant_weight_true_is_not_a_number(key):
    assert_rejected("/store_object", {**VARIANT, key: True}, {key: ["A valid number is required."]})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("recommendation_weight", -0.5, "Ensure this value is greater than or equal to 0."),
        ("recommendation_weight", 1e300, "Ensure this value is less than or equal to 1000000.0."),
        ("weight", "NaN", "A valid number is required."),
    ],
)
def test_a_variant_weight_out_of_bounds_is_rejected(key, value, message):
    assert_rejected("/store_object", {**VARIANT, key: value}, {key: [message]})


def test_an_order_token_true_is_not_a_uuid():
    assert_rejected("/store_object", {**ORDER, "token": True}, {"token": ["Must be a valid UUID."]})


def test_an_order_token_given_as_an_integer_is_not_a_uuid():
    assert_rejected("/store_object", {**ORDER, "token": 12345}, {"token": ["Must be a valid UUID."]})


# --- Config: the fixes in recommendations/config.py, through HTTP -------------------------


def test_a_config_with_a_310_digit_retrieval_size_is_rejected():
    assert_rejected(
        "/store_object",
        {"_model_class": "Config", "retrievalSize": int("9" * 310)},
        {"retrievalSize": ["Must be between 1 and 100000."]},
    )


def test_a_config_whose_model_name_is_an_object_is_rejected():
    assert_rejected(
        "/store_object",
        {"_model_class": "Config", "models": [{"name": {}}], "modelsDisabled": {"0": True}},
        {"modelsDisabled": ["No model at index 0."]},
    )


@pytest.mark.parametrize("seconds", [10**12, -1, -3600])
def test_a_claim_timeout_out_of_bounds_is_rejected(seconds):
    assert_rejected(
        "/store_object",
        {"_model_class": "Config", "trainerConfig": {"claimTimeoutSeconds": seconds}},
        {"trainerConfig.claimTimeoutSeconds": ["Must be between 60 and 604800."]},
    )


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("trainerConfig", "maxAttempts", True),
        ("trainerConfig", "retryBackoffSeconds", 1e12),
        ("trainerConfig", "heartbeatTimeoutSeconds", 0),
        ("easeConfig", "maxItems", -1),
        ("similarityConfig", "neighbours", 10**9),
    ],
)
def test_every_config_number_has_bounds_and_a_strict_type(section, key, value):
    response = post("/store_object", {"_model_class": "Config", section: {key: value}})

    assert response.status_code == 400
    assert list(response.json()) == [f"{section}.{key}"]
