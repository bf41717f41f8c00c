"""A catalogue write through the store API is seen by the next prediction without a restart."""

import pytest
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from products.revision import catalogue_revision_current

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _variant(sku, stock=5):
    return {
        "_model_class": "ProductVariant",
        "sku": sku,
        "ean": "",
        "weight": None,
        "stock_quantity": stock,
        "recommendation_weight": 0.5,
        "update_at": "2024-01-01T00:00:00",
        "create_at": "2024-01-01T00:00:00",
        "attributes": [],
        "deleted": False,
    }


def _product(product_id, skus, deleted=False):
    return {
        "_model_class": "Product",
        "id": product_id,
        "published": True,
        "type": None,
        "category_id": 1,
        "product_translations": [],
        "product_variants": skus,
        "update_at": "2024-01-01T00:00:00",
        "create_at": "2024-01-01T00:00:00",
        "deleted": deleted,
    }


def _homepage(client):
    response = client.post(
        "/predict", {"recommendation_type": "HOMEPAGE", "session_id": "s", "user_id": None}, format="json"
    )
    assert response.status_code == 200
    return sorted(item["product_variant_sku"] for item in response.json())


def test_catalogue_writes_bump_the_revision_and_reach_the_next_prediction():
    client = APIClient()
    before = catalogue_revision_current()
    assert (
        client.post(
            "/store_objects", [_variant("a"), _variant("b"), _product(1, ["a"]), _product(2, ["b"])], format="json"
        ).status_code
        == 200
    )
    assert catalogue_revision_current() > before
    assert _homepage(client) == ["a", "b"]

    assert client.post("/store_object", _product(2, ["b"], deleted=True), format="json").status_code == 200

    assert _homepage(client) == ["a"]


def test_event_writes_leave_the_revision_alone():
    client = APIClient()
    before = catalogue_revision_current()

    event = {
        "_model_class": "ProductDetailEnter",
        "session_id": "s",
        "user_id": None,
        "product_id": 1,
        "product_variant_sku": "a",
    }
    assert client.post("/store_objects", [event], format="json").status_code == 200

    assert catalogue_revision_current() == before
