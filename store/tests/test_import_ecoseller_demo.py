"""`import_ecoseller_demo`: the real demo dumps load on either database with the documented
counts less exactly the reported skips; a second run changes nothing; a malformed file stops
with its file and line and stores nothing. Plus the INSERT-dump reader on small inputs."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from conftest import ALL_DATABASES
from feedback.models import ProductDetailEnter, Review, Session
from products.models import (
    Attribute,
    AttributeType,
    CategoryAncestor,
    Order,
    OrderProductVariant,
    Product,
    ProductPrice,
    ProductVariant,
)
from store.importers.sql_dump import parse_array, parse_insert, read_dump
from store.tests.helpers import row_counts

DEMO_DIR = settings.BASE_DIR.parent / "shared" / "data" / "ecoseller-demo"
PRODUCTS_FILE = DEMO_DIR / "mock_data_rs_products.sql"
FEEDBACK_FILE = DEMO_DIR / "mock_data_rs_feedback.sql"
needs_demo_files = pytest.mark.skipif(
    not (PRODUCTS_FILE.is_file() and FEEDBACK_FILE.is_file()),
    reason=f"the ecoseller demo dumps are not in {DEMO_DIR}",
)


def _counts() -> dict[str, int]:
    return row_counts(OrderProductVariant, Attribute, CategoryAncestor, Review)


def _import(*arguments: str) -> str:
    out = StringIO()
    call_command("import_ecoseller_demo", *arguments, stdout=out)
    return out.getvalue()


def _skipped(output: str, kind: str) -> int:
    return sum(int(count) for count in re.findall(rf"^skipped {kind} (\d+):", output, re.MULTILINE))


@needs_demo_files
@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
def test_demo_dumps_load_with_the_documented_counts_less_the_reported_skips_and_only_once():
    output = _import("--products", str(PRODUCTS_FILE), "--feedback", str(FEEDBACK_FILE))

    assert ProductVariant.objects.count() == 2188 - _skipped(output, "product_variant")
    assert ProductPrice.objects.count() == 13128 - _skipped(output, "product_price")
    assert Order.objects.count() == 581 - _skipped(output, "order")
    assert Review.objects.count() == 20092 - _skipped(output, "review")
    assert ProductDetailEnter.objects.count() == 14986 - _skipped(output, "product_detail_enter")
    # What the skips are: duplicated prices and reviews, and the three malformed closure rows.
    assert (_skipped(output, "product_price"), _skipped(output, "review")) == (6564, 10046)
    assert _skipped(output, "category_ancestor") == 3
    assert "mock_data_rs_products.sql:12175" in output
    # The resolved catalogue: the links follow the attribute copy that agrees with the SKUs.
    assert sorted(ProductVariant.objects.get(sku="1-cs-720p").attributes.values_list("raw_value", flat=True)) == [
        "1995",
        "6090",
        "720",
        "Adventure",
        "CS",
    ]
    assert dict(AttributeType.objects.values_list("type_name", "type")) == {
        "GENRE": "CATEGORICAL",
        "LENGTH": "CATEGORICAL",
        "LANGUAGE": "CATEGORICAL",
        "RESOLUTION": "NUMERICAL",
        "YEAR": "NUMERICAL",
    }
    assert Product.objects.count() == 1470
    assert sorted(Product.objects.get(id=1).product_variants.values_list("sku", flat=True)) == [
        "1-cs-1080p",
        "1-cs-720p",
        "1-en-1080p",
    ]
    assert sorted(CategoryAncestor.objects.values_list("category_id", "category_ancestor_id")) == [
        (2, 2),
        (3, 2),
        (3, 3),
        (4, 2),
        (4, 4),
        (5, 2),
        (5, 5),
    ]
    assert Order.objects.filter(session_id="1", user_id="1").count() == 1
    assert Session.objects.count() == 581
    assert len(Session.objects.get(id="3").visited_product_variants) == 35
    first = _counts()

    _import("--products", str(PRODUCTS_FILE), "--feedback", str(FEEDBACK_FILE))

    assert _counts() == first


# A products dump with one variant, as the real dump writes its rows.
ONE_VARIANT_DUMP = (
    "INSERT INTO public.product_variant (sku,ean,weight,update_at,create_at,recommendation_weight,"
    "stock_quantity,deleted) VALUES\n"
    "\t ('1-en-720p','',1.0,'2023-07-17 21:26:53','2023-07-09 17:27:40',1.0,5,false);\n"
)


@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
def test_a_file_that_is_not_an_insert_dump_stops_with_its_line_and_stores_nothing(tmp_path):
    products = tmp_path / "products.sql"
    products.write_text(ONE_VARIANT_DUMP)
    feedback = tmp_path / "feedback.csv"
    feedback.write_text("session_id,sku\n1,1-en-720p\n")
    before = _counts()

    with pytest.raises(CommandError, match=rf"{re.escape(str(feedback))}:1: not a PostgreSQL INSERT dump"):
        _import("--products", str(products), "--feedback", str(feedback))

    assert _counts() == before


@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
def test_a_row_the_store_rejects_stops_with_its_line_and_stores_nothing(tmp_path):
    products = tmp_path / "products.sql"
    products.write_text(
        ONE_VARIANT_DUMP
        + "INSERT INTO public.product_price (price_list_code,price,update_at,create_at,product_variant_sku,deleted) VALUES\n"
        "\t ('EUR_retail',17.09,'2023-07-09 17:38:10','2023-07-09 17:34:56','1-en-720p',false),\n"
        "\t ('EUR_retail','cheap','2023-07-09 17:38:11','2023-07-09 17:34:56','1-en-720p',false);\n"
    )
    before = _counts()

    with pytest.raises(CommandError, match=rf"{re.escape(str(products))}:5: rejected by the store: price"):
        _import("--products", str(products))

    assert _counts() == before


def test_insert_statements_parse_quotes_escapes_nulls_booleans_numbers_and_arrays():
    table, columns, rows = parse_insert(
        'INSERT INTO public."session" (id,"name",n,ok,visited) VALUES\n'
        " ('it''s; fine',NULL,-1.5e2,true,'{a,\"b,c\"}'),\n ('x''y',' -- no comment',7,FALSE,'{}')"
    )

    assert (table, columns) == ("session", ["id", "name", "n", "ok", "visited"])
    assert rows == [
        (1, ["it's; fine", None, -150.0, True, '{a,"b,c"}']),
        (2, ["x'y", " -- no comment", 7, False, "{}"]),
    ]
    assert parse_array('{a,"b,c",NULL}') == ["a", "b,c"]


def test_a_dump_reports_statements_that_do_not_parse_with_their_line_and_the_table_before(tmp_path):
    dump = tmp_path / "dump.sql"
    dump.write_text(
        "-- a comment; with a semicolon\n"
        "INSERT INTO t (a,b) VALUES\n (1,'x;y'),\n (2,'multi\nline');\n"
        " (3,3);\n"
        "INSERT INTO t (a,b) VALUES (4);\n"
        "INSERT INTO u (a) VALUES (5);\n"
    )
    skipped = []

    rows = [(row.table, row.line, row.values) for row in read_dump(dump, skipped)]

    assert rows == [("t", 3, {"a": 1, "b": "x;y"}), ("t", 4, {"a": 2, "b": "multi\nline"}), ("u", 8, {"a": 5})]
    assert [(s.line, s.after_table) for s in skipped] == [(6, "t"), (7, "t")]


def test_a_dump_that_ends_inside_a_string_is_malformed(tmp_path):
    dump = tmp_path / "dump.sql"
    dump.write_text("INSERT INTO t (a) VALUES (1);\nINSERT INTO t (a) VALUES ('open);\n")

    with pytest.raises(Exception, match=r"dump.sql:2: the file ends inside a string literal"):
        list(read_dump(Path(dump), []))


@needs_demo_files
@pytest.mark.django_db(databases=ALL_DATABASES)
def test_the_files_given_as_keyword_strings_import_as_setup_demo_gives_them():
    # call_command passes keyword arguments unparsed: `setup_demo --ecoseller` gives strings.
    call_command("import_ecoseller_demo", products=str(PRODUCTS_FILE), stdout=StringIO())

    assert ProductVariant.objects.count() > 2000
