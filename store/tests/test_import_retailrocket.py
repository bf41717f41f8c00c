"""`import_retailrocket` on tiny files in the Kaggle format, written by the tests."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from conftest import ALL_DATABASES
from feedback.models import ProductAddToCart, ProductDetailEnter, Session
from products.models import (
    AttributeType,
    CategoryAncestor,
    Order,
    OrderProductVariant,
    Product,
    ProductPrice,
    ProductType,
    ProductVariant,
)
from store.tests.helpers import row_counts

T0 = 1_433_221_332_000  # 2015-06-02 05:02:12 UTC, in ms as the files have it
MINUTE = 60_000


def _write(directory, properties_part2: str | None = None, events: str | None = None) -> None:
    (directory / "category_tree.csv").write_text("categoryid,parentid\n1,\n2,1\n3,2\n")
    # Sorted by time, not by item; the latest value of each (item, property) wins.
    (directory / "item_properties_part1.csv").write_text(
        "timestamp,itemid,property,value\n"
        f"{T0},10,categoryid,3\n"
        f"{T0},10,790,n100.000\n"
        f"{T0},11,categoryid,2\n"
        f"{T0 + 1},10,888,n5.000\n"
        f"{T0 + 1},11,888,n7.500\n"
        f"{T0 + 2},10,777,1141052 n48.000\n"
        f"{T0 + 2},11,777,352\n"
        f"{T0 + 3},11,available,0\n"
    )
    (directory / "item_properties_part2.csv").write_text(
        properties_part2
        if properties_part2 is not None
        else "timestamp,itemid,property,value\n"
        f"{T0 + 5},10,790,n120.000\n"
        f"{T0 + 5},11,790,n9.000\n"
        f"{T0 + 4},10,available,1\n"
    )
    (directory / "events.csv").write_text(
        events
        if events is not None
        else "timestamp,visitorid,event,itemid,transactionid\n"
        f"{T0 + 51 * MINUTE},7,view,11,\n"
        f"{T0},7,view,10,\n"
        f"{T0 + 10 * MINUTE},7,addtocart,10,\n"
        f"{T0 + 20 * MINUTE},7,transaction,10,4000\n"
        f"{T0 + 20 * MINUTE},7,transaction,11,4000\n"
        f"{T0 + 5 * MINUTE},8,view,10,\n"
    )


def _counts() -> dict[str, int]:
    return row_counts(ProductType, CategoryAncestor, OrderProductVariant, ProductAddToCart)


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_retailrocket_files_become_catalogue_sessions_and_orders(tmp_path):
    _write(tmp_path)

    # Two-row sorted runs: the external merge sort goes through temporary files.
    call_command("import_retailrocket", str(tmp_path), "--sort-chunk-rows", "2", "--no-progress", stdout=None)

    assert sorted(CategoryAncestor.objects.values_list("category_id", "category_ancestor_id")) == [
        (1, 1),
        (2, 1),
        (2, 2),
        (3, 1),
        (3, 2),
        (3, 3),
    ]
    assert dict(AttributeType.objects.values_list("id", "type")) == {777: "CATEGORICAL", 888: "NUMERICAL"}
    assert list(Product.objects.order_by("id").values_list("id", "category_id", "product_type_id", "published")) == [
        (10, 3, 3, True),
        (11, 2, 2, False),
    ]
    assert dict(ProductVariant.objects.values_list("sku", "stock_quantity")) == {"10": 1, "11": 0}
    assert sorted(ProductVariant.objects.get(sku="11").attributes.values_list("raw_value", flat=True)) == [
        "352",
        "7.500",
    ]
    assert dict(ProductPrice.objects.values_list("product_variant_sku", "price")) == {
        "10": Decimal("120"),
        "11": Decimal("9"),
    }
    assert sorted(ProductType.objects.get(id=3).attribute_types.values_list("id", flat=True)) == [777, 888]
    # Visitor 7: views at 0 and 51 min, 31 minutes of silence after the order at 20 → two sessions.
    assert list(ProductDetailEnter.objects.order_by("create_at").values_list("session_id", "product_variant_sku")) == [
        ("7-1", "10"),
        ("8-1", "10"),
        ("7-2", "11"),
    ]
    assert ProductDetailEnter.objects.get(session_id="7-1").create_at == datetime.fromtimestamp(T0 / 1000, tz=UTC)
    assert list(ProductAddToCart.objects.values_list("session_id", "user_id")) == [("7-1", "7")]
    order = Order.objects.get()
    assert (order.session_id, order.user_id) == ("7-1", "7")
    assert sorted(order.lines.values_list("product_variant_sku", "quantity")) == [("10", 1), ("11", 1)]
    assert dict(Session.objects.values_list("id", "visited_product_variants")) == {
        "7-1": ["10"],
        "7-2": ["11"],
        "8-1": ["10"],
    }
    first = _counts()

    call_command("import_retailrocket", str(tmp_path), "--no-progress", stdout=None)

    assert _counts() == first


@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
@pytest.mark.parametrize(
    ("file_name", "part2", "events", "message"),
    [
        (
            "item_properties_part2.csv",
            "timestamp,itemid,property,value\n1,x,790,n1\n",
            None,
            "item_properties_part2.csv:2: itemid is not an integer",
        ),
        (
            "events.csv",
            None,
            "timestamp,visitorid,event,itemid,transactionid\n1,7,view,10,\n2,7,like,10,\n",
            "events.csv:3: unknown event 'like'",
        ),
        ("events.csv", None, "ts;visitor;event\n", "events.csv:1: expected the header"),
    ],
)
def test_a_malformed_retailrocket_file_stops_with_its_line_and_stores_nothing(
    tmp_path, file_name, part2, events, message
):
    _write(tmp_path, properties_part2=part2, events=events)
    before = _counts()

    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("import_retailrocket", str(tmp_path), "--no-progress", stdout=None)

    assert _counts() == before
