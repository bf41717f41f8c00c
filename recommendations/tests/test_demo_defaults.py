"""The default configuration on the generated demo shop, through HTTP: a product page is about
its product, GRU4Rec answers for sessions it knows, and no answer repeats a product."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from feedback.models import Session
from products.models import ProductProductVariant
from recommendations.services import config_version_create
from recommendations.training.services import model_train

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _predict(body: dict) -> list[dict]:
    response = APIClient().post("/predict", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def demo_shop():
    call_command(
        "generate_demo_shop",
        "--products",
        "150",
        "--sessions",
        "1200",
        "--users",
        "150",
        "--categories",
        "6",
        "--end-date",
        "2026-06-01",
        stdout=StringIO(),
    )
    # The demo's defaults, but a GRU4Rec small enough for a test.
    config_version_create(
        payload={"gru4recConfig": {"numEpochsOptions": [3], "hiddenSizeOptions": [32], "eventsMultiplier": 1}}
    )
    for name in ("similarity", "ease", "gru4rec"):
        assert model_train(model_name=name).outcome == "COMPLETED", name


def test_a_product_page_is_about_its_product_not_the_session(demo_shop):
    product_of = dict(ProductProductVariant.objects.values_list("product_variant_id", "product_id"))
    variants_of: dict[int, list[str]] = {}
    for sku, product in sorted(product_of.items()):
        variants_of.setdefault(product, []).append(sku)
    sessions = list(Session.objects.exclude(visited_product_variants=[]).order_by("id")[:20])
    products = sorted(variants_of)
    overlaps = []
    for number, session in enumerate(sessions):
        seen = {product_of[sku] for sku in session.visited_product_variants if sku in product_of}
        product = next(p for p in products[number * 7 % len(products) :] + products if p not in seen)
        common = {"session_id": session.id, "user_id": session.user_id, "limit": 10}
        homepage = _predict({**common, "recommendation_type": "HOMEPAGE"})
        detail = _predict(
            {**common, "recommendation_type": "PRODUCT_DETAIL", "variants": ",".join(variants_of[product])}
        )

        assert len(homepage) == len(detail) == 10
        assert {item["rs_info"]["model_name"] for item in homepage} == {"gru4rec"}
        for answer in (homepage, detail):
            shown = [product_of[item["product_variant_sku"]] for item in answer]
            assert len(shown) == len(set(shown)), "one variant per product"
        assert product not in {product_of[item["product_variant_sku"]] for item in detail}
        overlaps.append(len({i["product_variant_sku"] for i in homepage} & {i["product_variant_sku"] for i in detail}))

    assert max(overlaps) <= 3, overlaps
