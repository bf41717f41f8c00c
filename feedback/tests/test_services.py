"""The feedback ingest services at importer scale: thousands of events of many sessions in one
call, several events of one session, history sent twice."""

import datetime as dt

import pytest

from conftest import ALL_DATABASES
from feedback.models import ProductDetailEnter, Review, Session
from store.services import store_objects

UTC = dt.UTC


def enter(session: str, sku: str, minute: int) -> dict:
    return {
        "_model_class": "ProductDetailEnter",
        "session_id": session,
        "user_id": None,
        "product_id": 1,
        "product_variant_sku": sku,
        "create_at": (dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=minute)).isoformat(),
    }


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_large_history_batch_keeps_every_session_in_arrival_order():
    payloads = [enter(f"s{i % 300}", f"sku-{i}", i) for i in range(6000)]

    result = store_objects(payloads=payloads)

    assert result.stored == {"ProductDetailEnter": 6000}
    assert ProductDetailEnter.objects.count() == 6000
    assert Session.objects.count() == 300
    session = Session.objects.get(id="s7")
    assert session.visited_product_variants == [f"sku-{i}" for i in range(7, 6000, 300)]
    assert (session.create_at, session.update_at) == (
        dt.datetime(2024, 1, 1, 0, 7, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 0, 7, tzinfo=UTC) + dt.timedelta(minutes=5700),
    )


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_history_sent_twice_is_stored_once():
    payloads = [enter("s1", "a", 1), enter("s1", "b", 2), enter("s1", "b", 2)]

    first = store_objects(payloads=payloads)
    second = store_objects(payloads=payloads)

    assert (first.stored, second.stored) == ({"ProductDetailEnter": 2}, {"ProductDetailEnter": 0})
    assert Session.objects.get().visited_product_variants == ["a", "b"]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_reviews_repeated_in_a_batch_keep_the_last_one():
    review = {
        "_model_class": "Review",
        "id": 1,
        "session_id": "s1",
        "user_id": "u1",
        "product_id": 1,
        "product_variant_sku": "a",
        "rating": 3,
    }

    result = store_objects(payloads=[review, {**review, "rating": 5}, {**review, "id": 2, "user_id": 9}])

    assert result.stored == {"Review": 2}
    assert sorted(Review.objects.values_list("id", "user_id", "rating")) == [(1, "u1", 5), (2, "9", 3)]
