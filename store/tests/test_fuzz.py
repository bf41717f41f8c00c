"""A fuzz test of the two write/read entry points (hypothesis): payloads of every store class and
of /predict, each a valid client payload with one to three keys replaced by hostile values (the
forms of issue 16 among them: booleans for numbers, NUL and lone surrogates, 256-character ids,
dates UTC cannot hold, offsets PostgreSQL refuses, 310-digit numbers, deep nesting). Every answer
is a 2xx or a 4xx JSON, never a 5xx, and a 4xx leaves every stored row as it was."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from store.tests import test_store_api as examples
from store.tests.test_store_api import snapshot
from store.tests.test_store_reliability import EVENTS

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

PAYLOADS = {
    "AttributeType": examples.ATTRIBUTE_TYPE,
    "Attribute": examples.ATTRIBUTE,
    "Category": examples.CATEGORY,
    "Config": examples.DASHBOARD_CONFIG,
    "Order": examples.ORDER,
    "Product": examples.PRODUCT,
    "ProductPrice": examples.PRICE,
    "ProductTranslation": examples.TRANSLATION,
    "ProductType": examples.PRODUCT_TYPE,
    "ProductVariant": examples.VARIANT,
    "Review": examples.REVIEW,
    "TrainerQueueItem": {"_model_class": "TrainerQueueItem", "model_name": "ease", "full_train": True},
    **EVENTS,
}
PREDICT = {
    "recommendation_type": "PRODUCT_DETAIL",
    "session_id": "fuzz",
    "user_id": 42,
    "variants": "sku-1,sku-2",
    "limit": 10,
    "country": "cz",
}

HOSTILE_TEXT = [
    "\x00",
    "a\u0000b",
    "\ud800",
    "\udfff",
    "u" * 256,
    "x" * 5000,
    "",
    " ",
    "undefined",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-05:00",
    "2023-07-01T00:00:00+16:00",
    "1e999",
    "NaN",
    "-1",
    "true",
    "HOMEPAGE",
    "CATEGORY_LIST",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.just(int("9" * 310)),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=12),
)
HOSTILE = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["name", "id", "", "\ud800"]), inner, max_size=2)
    ),
    max_leaves=6,
) | st.just(json.loads("[" * 40 + "]" * 40))


def mutations(base: dict) -> st.SearchStrategy[dict]:
    keys = [key for key in base if key != "_model_class"] + ["unknown_key"]
    changes = st.dictionaries(st.sampled_from(keys), HOSTILE, min_size=1, max_size=3)
    return changes.map(lambda change: {**base, **change})


FUZZ = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def assert_sound(response, before) -> None:
    assert response.status_code < 500, response.content[:500]
    assert response["Content-Type"] == "application/json", response.content[:500]
    json.loads(response.content)
    if response.status_code >= 400:
        assert snapshot() == before


@pytest.mark.parametrize("model_class", sorted(PAYLOADS))
def test_store_object_answers_2xx_or_a_json_4xx_that_stores_nothing(model_class):
    @FUZZ
    @given(payload=mutations(PAYLOADS[model_class]))
    def check(payload):
        before = snapshot()
        response = APIClient().post("/store_object", json.dumps(payload), content_type="application/json")
        assert_sound(response, before)

    check()


def test_store_objects_answers_2xx_or_a_json_4xx_that_stores_nothing():
    batch = st.lists(st.sampled_from(sorted(PAYLOADS)).flatmap(lambda name: mutations(PAYLOADS[name])), max_size=4)

    @FUZZ
    @given(payloads=batch.map(lambda bad: [examples.VARIANT, *bad, examples.ENTER]))
    def check(payloads):
        before = snapshot()
        response = APIClient().post("/store_objects", json.dumps(payloads), content_type="application/json")
        assert_sound(response, before)

    check()


@pytest.mark.parametrize("path", ["/predict", "/predict/product_positions"])
def test_predict_answers_2xx_or_a_json_4xx(path):
    base = PREDICT if path == "/predict" else {**PREDICT, "recommendation_type": "CATEGORY_LIST", "category_id": 2}
    base = {key: value for key, value in base.items() if path == "/predict" or key != "variants"}

    @FUZZ
    @given(body=mutations(base))
    def check(body):
        before = snapshot()
        response = APIClient().post(path, json.dumps(body), content_type="application/json")
        assert_sound(response, before)

    check()
