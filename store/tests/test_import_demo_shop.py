"""`generate_demo_shop`: a small shop is complete, deterministic for a seed, carries the signal
the models learn from, and a second run changes nothing."""

from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from conftest import ALL_DATABASES
from feedback.models import ProductAddToCart, ProductDetailEnter, Review, Session
from products.models import AttributeType, CategoryAncestor, Order, Product, ProductPrice, ProductVariant

SMALL = [
    "--categories",
    "4",
    "--products",
    "40",
    "--variants-per-product",
    "2",
    "--users",
    "20",
    "--sessions",
    "150",
    "--seed",
    "3",
    "--end-date",
    "2024-06-01",
]


def _counts() -> dict[str, int]:
    models = [
        Product,
        ProductVariant,
        ProductPrice,
        AttributeType,
        CategoryAncestor,
        Order,
        ProductDetailEnter,
        ProductAddToCart,
        Review,
        Session,
    ]
    return {model.__name__: model.objects.count() for model in models}


def _history() -> list:
    return list(
        ProductDetailEnter.objects.order_by("session_id", "create_at").values_list(
            "session_id", "product_variant_sku", "create_at"
        )
    )


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_small_demo_shop_is_complete_deterministic_and_has_signal():
    call_command("generate_demo_shop", *SMALL, stdout=None)

    counts = _counts()
    assert (counts["Product"], counts["ProductVariant"], counts["ProductPrice"]) == (40, 80, 160)
    assert counts["CategoryAncestor"] == 4 * 2 + 1  # four leaves under one root, self rows included
    assert dict(AttributeType.objects.values_list("type_name", "type")) == {
        "BRAND": "CATEGORICAL",
        "COLOR": "CATEGORICAL",
        "SIZE": "NUMERICAL",
        "YEAR": "NUMERICAL",
    }
    assert counts["Session"] == 150 and counts["Order"] > 0 and counts["Review"] > 0
    assert counts["ProductDetailEnter"] > 10 * counts["ProductVariant"]
    # Sessions stay in a category more often than chance would (4 leaf categories).
    category = dict(Product.objects.values_list("id", "category_id"))
    steps = same = 0
    for visited in Session.objects.values_list("visited_product_variants", flat=True):
        products = [int(sku.split("-")[1]) for sku in visited]
        for before, after in zip(products, products[1:]):
            steps += 1
            same += category[before] == category[after]
    assert same / steps > 0.6
    # Popularity is skewed: the most viewed tenth of the products gets far more than a tenth.
    views = sorted(Counter(ProductDetailEnter.objects.values_list("product_id", flat=True)).values(), reverse=True)
    assert sum(views[:4]) > 0.25 * sum(views)
    history = _history()

    call_command("generate_demo_shop", *SMALL, stdout=None)

    assert _counts() == counts
    assert _history() == history


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_invalid_demo_shop_options_stop_before_anything_is_stored():
    before = _counts()

    with pytest.raises(CommandError, match="--products must be at least 1"):
        call_command("generate_demo_shop", "--products", "0", stdout=None)
    with pytest.raises(CommandError, match="--end-date 'soon' is not an ISO date"):
        call_command("generate_demo_shop", "--end-date", "soon", stdout=None)

    assert _counts() == before
