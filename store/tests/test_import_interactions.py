"""`import_interactions`: the generic CSV with an items file, the RSC15 and MovieLens presets,
and the rejection of malformed files with the databases unchanged."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from conftest import ALL_DATABASES
from feedback.models import ProductAddToCart, ProductDetailEnter, Review, Session
from products.models import AttributeType, Order, Product, ProductPrice, ProductVariant
from store.tests.helpers import row_counts

RSC15_FILE = settings.BASE_DIR.parent / "shared" / "data" / "rsc15-100k" / "yoochoose-clicks-100k_test.txt"


def _counts() -> dict[str, int]:
    return row_counts(ProductAddToCart, Review)


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_generic_interactions_with_items_load_every_event_kind(tmp_path):
    items = tmp_path / "items.csv"
    items.write_text(
        "sku,product_id,category_id,price,price_list,attributes\n"
        "a,1,7,10.5,EUR,color=red;size=42\n"
        "b,1,7,11,EUR,color=blue;size=44\n"
    )
    events = tmp_path / "events.csv"
    events.write_text(
        "user_id,session_id,sku,event,rating,timestamp\n"
        "u1,,a,view,,2024-01-01T10:00:00\n"
        "u1,,b,view,,2024-01-01T10:10:00\n"
        "u1,,b,cart,,2024-01-01T10:11:00\n"
        "u1,,b,order,,2024-01-01T10:20:00\n"
        "u1,,new,order,,2024-01-01T10:20:00\n"
        "u1,,a,view,,2024-01-01T11:00:00\n"
        ",s9,a,view,,1704103200\n"
        "u1,,a,review,4.5,2024-01-02T09:00:00Z\n"
    )

    call_command("import_interactions", str(events), "--items", str(items), stdout=None)

    assert dict(AttributeType.objects.values_list("type_name", "type")) == {"color": "CATEGORICAL", "size": "NUMERICAL"}
    assert sorted(ProductVariant.objects.get(sku="b").attributes.values_list("raw_value", flat=True)) == ["44", "blue"]
    assert sorted(Product.objects.get(id=1).product_variants.values_list("sku", flat=True)) == ["a", "b"]
    assert Product.objects.get(id=1).category_id == 7
    assert ProductPrice.objects.get(product_variant_sku="a").price == Decimal("10.5")
    # An SKU nobody knew becomes a minimal published product with one in-stock variant.
    assert ProductVariant.objects.get(sku="new").stock_quantity == 1
    assert Product.objects.get(product_variants__sku="new").published is True
    # A 40-minute pause after the order starts the user's second session.
    assert list(
        ProductDetailEnter.objects.filter(user_id="u1").order_by("create_at").values_list("session_id", "product_id")
    ) == [("u1-1", 1), ("u1-1", 1), ("u1-2", 1)]
    assert ProductDetailEnter.objects.filter(session_id="s9", user_id=None).count() == 1
    assert list(ProductAddToCart.objects.values_list("session_id", "product_variant_sku")) == [("u1-1", "b")]
    order = Order.objects.get()
    assert (order.session_id, order.user_id) == ("u1-1", "u1")
    assert sorted(order.lines.values_list("product_variant_sku", "quantity")) == [("b", 1), ("new", 1)]
    assert list(Review.objects.values_list("user_id", "product_variant_sku", "rating")) == [("u1", "a", 5)]
    first = _counts()

    call_command("import_interactions", str(events), "--items", str(items), stdout=None)

    assert _counts() == first


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_movielens_ratings_become_reviews(tmp_path):
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.5,1260759179\n")

    call_command("import_interactions", str(ratings), "--format", "movielens", stdout=None)

    assert sorted(Review.objects.values_list("user_id", "product_variant_sku", "product_id", "rating")) == [
        ("1", "1029", 1029, 4),
        ("1", "31", 31, 3),
    ]


@pytest.mark.skipif(not RSC15_FILE.is_file(), reason=f"the rsc15-100k files are not in {RSC15_FILE.parent}")
@pytest.mark.django_db(databases=ALL_DATABASES)
def test_rsc15_click_sessions_load_as_views():
    call_command("import_interactions", str(RSC15_FILE), "--format", "rsc15", stdout=None)

    assert Session.objects.count() == 3416
    assert ProductVariant.objects.count() == 1771
    # Repeated clicks on the same item at the same second are one event.
    assert 13_500 < ProductDetailEnter.objects.count() <= 13_568


@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (
            "user_id,sku,event,timestamp\nu1,a,view,2024-01-01\nu1,b,like,2024-01-01\n",
            [],
            "events.csv:3: unknown event 'like'",
        ),
        (
            "user_id,sku,event,timestamp\nu1,a,view,2024-01-01\nu1,b,view,yesterday\n",
            [],
            "events.csv:3: timestamp is neither",
        ),
        ("user_id,sku,event,timestamp\nu1,a,view,2024-01-01\nu1,b,view\n", [], "events.csv:3: expected 4 fields"),
        (
            "SessionId\tItemId\tTime\n1\t214\t1396321357.5\n2\t215\n",
            ["--format", "rsc15"],
            "events.csv:3: expected 3 fields",
        ),
        ("sku;event\n", [], "events.csv:1: the header lacks"),
    ],
)
def test_a_malformed_interactions_file_stops_with_its_line_and_stores_nothing(tmp_path, content, options, message):
    events = tmp_path / "events.csv"
    events.write_text(content)
    before = _counts()

    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("import_interactions", str(events), *options, stdout=None)

    assert _counts() == before


@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
def test_a_malformed_items_file_stops_with_its_line_and_stores_nothing(tmp_path):
    items = tmp_path / "items.csv"
    items.write_text("sku,price,attributes\na,1,color=red\nb,2,color\n")
    events = tmp_path / "events.csv"
    events.write_text("user_id,sku,event,timestamp\nu1,a,view,2024-01-01\n")
    before = _counts()

    with pytest.raises(CommandError, match=re.escape("items.csv:3: attribute 'color' is not name=value")):
        call_command("import_interactions", str(events), "--items", str(items), stdout=None)

    assert _counts() == before
