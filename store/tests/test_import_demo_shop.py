"""`generate_demo_shop`: a small shop is complete, deterministic for a seed, carries the signal
the models learn from, and a second run changes nothing."""

from collections import Counter
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connections, models

from conftest import ALL_DATABASES
from feedback.models import ProductAddToCart, ProductDetailEnter, Review, Session
from products.models import (
    AttributeType,
    CatalogueChange,
    CatalogueRevision,
    CategoryAncestor,
    Order,
    Product,
    ProductVariant,
)
from products.revision import catalogue_revision_current
from store.tests.helpers import row_counts

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
    return row_counts(CategoryAncestor, ProductAddToCart, Review)


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


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_held_out_sessions_are_written_for_replay_and_not_stored(tmp_path):
    held_out = tmp_path / "held_out.tsv"

    call_command(
        "generate_demo_shop", *SMALL, "--hold-out-sessions", "30", "--hold-out-file", str(held_out), stdout=None
    )

    # The first 120 sessions are stored exactly as without a hold-out; the last 30 are not.
    stored = set(Session.objects.values_list("id", flat=True))
    assert stored == {f"demo-3-{number}" for number in range(1, 121)}
    assert not Order.objects.filter(session_id__in=[f"demo-3-{n}" for n in range(121, 151)]).exists()
    lines = held_out.read_text().splitlines()
    assert lines[0].split("\t") == ["SessionId", "ItemId", "Time", "ProductId"]
    rows = [line.split("\t") for line in lines[1:]]
    assert {row[0] for row in rows} == {f"demo-3-{number}" for number in range(121, 151)}
    skus = {row[1] for row in rows}
    assert ProductVariant.objects.filter(sku__in=skus).count() == len(skus)  # every click is a stored variant
    assert all(int(sku.split("-")[1]) == int(product) for _, sku, _, product in rows)
    history = _history()
    _empty_both_databases()
    call_command("generate_demo_shop", *SMALL, stdout=None)
    assert [row for row in _history() if int(row[0].rsplit("-", 1)[1]) <= 120] == history


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_hold_out_without_a_file_or_larger_than_the_sessions_is_refused(tmp_path):
    before = _counts()

    with pytest.raises(CommandError, match="--hold-out-sessions needs --hold-out-file"):
        call_command("generate_demo_shop", *SMALL, "--hold-out-sessions", "5", stdout=None)
    with pytest.raises(CommandError, match="between 0 and --sessions"):
        call_command("generate_demo_shop", *SMALL, "--hold-out-sessions", "151", "--hold-out-file", "x", stdout=None)
    with pytest.raises(CommandError, match="cannot write --hold-out-file"):
        call_command(
            "generate_demo_shop", *SMALL, "--hold-out-sessions", "5", "--hold-out-file", str(tmp_path / "no" / "f")
        )

    assert _counts() == before


def _stored_rows() -> dict[str, list[tuple]]:
    """Every row of the catalogue and feedback databases, all columns but generated row ids
    (which depend on a table's history, not on what was stored), sorted. The revision counter
    and the change log are left out: they record store calls, not the catalogue."""
    snapshot = {}
    for label in ("products", "feedback"):
        for model in apps.get_app_config(label).get_models():
            if model in (CatalogueRevision, CatalogueChange):
                continue
            fields = [
                field.attname
                for field in model._meta.concrete_fields
                if not (field.primary_key and isinstance(field, models.AutoField))
            ]
            snapshot[model.__name__] = sorted(model.objects.values_list(*fields), key=repr)
    return snapshot


def _empty_both_databases() -> None:
    # Raw DELETEs: events and reviews refuse the ORM's (they are immutable for the service).
    for label in ("products", "feedback"):
        with connections[label].cursor() as cursor:
            for model in apps.get_app_config(label).get_models():
                cursor.execute(f"DELETE FROM {connections[label].ops.quote_name(model._meta.db_table)}")


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_bulk_path_stores_exactly_the_rows_of_the_store_path_and_the_same_for_a_seed():
    revision = catalogue_revision_current()
    output = StringIO()
    call_command("generate_demo_shop", *SMALL, stdout=output)  # empty catalogue: the bulk path
    bulk = _stored_rows()
    assert catalogue_revision_current() > revision
    assert "progress: 80 of 80 variants, 150 of 150 sessions" in output.getvalue()
    _empty_both_databases()

    call_command("generate_demo_shop", *SMALL, "--through-store", stdout=None)
    through_store = _stored_rows()
    _empty_both_databases()
    call_command("generate_demo_shop", *SMALL, stdout=None)
    again = _stored_rows()

    assert bulk["ProductVariant"] and bulk["AttributeProductVariant"] and bulk["ProductProductVariant"]
    for name in bulk:
        assert bulk[name] == through_store[name], name
    assert again == bulk
