"""Reads of the catalogue: variants, their content (prices and attribute values) as arrays, the
rows the servers' in-memory snapshot is built from, the category tree and orders. Set-based
queries only; nothing here knows a recommendation model."""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import numpy as np
from django.db import connections, router
from django.db.models import Max, Q

from products.models import (
    AttributeProductVariant,
    AttributeType,
    Category,
    CategoryAncestor,
    Order,
    OrderProductVariant,
    Product,
    ProductPrice,
    ProductProductVariant,
    ProductVariant,
)


def variant_skus() -> list[str]:
    """Every variant that is not soft-deleted, in a stable order."""
    return list(ProductVariant.objects.filter(deleted=False).order_by("sku").values_list("sku", flat=True))


def variant_count() -> int:
    return ProductVariant.objects.filter(deleted=False).count()


@dataclass(frozen=True)
class CatalogueContent:
    """The content of the variants that are not deleted, aligned with `skus`: `prices[code][i]`
    (nan = no price in that list), `numerical[i, t]` the value of numerical attribute type t
    (nan = missing; several values are averaged), `categorical[t][i]` the set of values of
    categorical attribute type t (empty = missing)."""

    skus: list[str]
    prices: dict[str, np.ndarray]
    numerical: np.ndarray
    categorical: list[list[frozenset[str]]]


def catalogue_content() -> CatalogueContent:
    skus = variant_skus()
    position = {sku: i for i, sku in enumerate(skus)}
    n = len(skus)

    prices: dict[str, np.ndarray] = {}
    for code, sku, price in ProductPrice.objects.filter(deleted=False, product_variant_sku__isnull=False).values_list(
        "price_list_code", "product_variant_sku", "price"
    ):
        row = position.get(sku)
        if row is None:
            continue
        column = prices.get(code)
        if column is None:
            # Not setdefault: its default would allocate an n-long array for every price row,
            # quadratic work (half an hour at a million variants).
            column = prices[code] = np.full(n, np.nan)
        column[row] = float(price)

    types = dict(AttributeType.objects.filter(deleted=False).values_list("id", "type"))
    numerical_ids = sorted(t for t, kind in types.items() if kind == AttributeType.Kind.NUMERICAL)
    categorical_ids = sorted(t for t, kind in types.items() if kind != AttributeType.Kind.NUMERICAL)
    numerical_column = {t: i for i, t in enumerate(numerical_ids)}
    categorical_column = {t: i for i, t in enumerate(categorical_ids)}
    numeric_sum = np.zeros((n, len(numerical_ids)))
    numeric_count = np.zeros((n, len(numerical_ids)))
    categorical: list[list[set[str]]] = [[set() for _ in range(n)] for _ in categorical_ids]

    links = AttributeProductVariant.objects.filter(attribute__deleted=False).values_list(
        "product_variant_id", "attribute__attribute_type_id", "attribute__raw_value", "attribute__numeric_value"
    )
    for sku, type_id, raw_value, numeric_value in links.iterator(chunk_size=10_000):
        row = position.get(sku)
        if row is None or type_id not in types:
            continue
        if type_id in numerical_column:
            if numeric_value is not None:
                numeric_sum[row, numerical_column[type_id]] += numeric_value
                numeric_count[row, numerical_column[type_id]] += 1
        elif raw_value is not None:
            categorical[categorical_column[type_id]][row].add(raw_value)

    with np.errstate(invalid="ignore", divide="ignore"):
        numerical = np.where(numeric_count > 0, numeric_sum / np.maximum(numeric_count, 1), np.nan)
    return CatalogueContent(
        skus=skus,
        prices=prices,
        numerical=numerical,
        categorical=[[frozenset(values) for values in column] for column in categorical],
    )


@dataclass(frozen=True)
class CatalogueRows:
    """What a server's in-memory catalogue is built from: every variant (sku, stock, weight,
    deleted) by SKU, every product (id, published and not deleted, category), the product ↔
    variant links in the order they were stored, and every order line of an order that is not
    deleted (sku, quantity, order time)."""

    variants: list[tuple[str, int, float, bool]]
    products: list[tuple[int, bool, int | None]]
    links: list[tuple[str, int]]
    order_lines: list[tuple[str, int, datetime.datetime]]
    buyers: list[tuple[str, str | None]]  # (session id, user id) of every order not deleted


def catalogue_rows() -> CatalogueRows:
    order_rows = Order.objects.filter(deleted=False).values_list("token", "create_at", "session_id", "user_id")
    orders, buyers = {}, []
    for token, create_at, session_id, user_id in order_rows:
        orders[token] = create_at
        buyers.append((session_id, user_id))
    return CatalogueRows(
        buyers=buyers,
        variants=list(
            ProductVariant.objects.order_by("sku").values_list(
                "sku", "stock_quantity", "recommendation_weight", "deleted"
            )
        ),
        products=[
            (product_id, published and not deleted, category)
            for product_id, published, deleted, category in Product.objects.values_list(
                "id", "published", "deleted", "category_id"
            )
        ],
        links=list(ProductProductVariant.objects.order_by("id").values_list("product_variant_id", "product_id")),
        order_lines=[
            (sku, quantity, orders[token])
            for token, sku, quantity in OrderProductVariant.objects.values_list(
                "order_id", "product_variant_sku", "quantity"
            )
            if token in orders
        ],
    )


@dataclass(frozen=True)
class CategoryTree:
    """The category tree as the servers keep it: every category that was sent (deleted or not)
    or appears in the closure, and each category's descendants, itself included."""

    known: frozenset[int]
    below: dict[int, tuple[int, ...]]

    def descendants(self, category_id: int) -> list[int]:
        """The category and every category below it."""
        found = self.below.get(category_id, ())
        return list(found) if category_id in found else [category_id, *found]


def category_tree() -> CategoryTree:
    """The whole tree in two set-based queries (a shop has thousands of categories, not
    millions)."""
    known = set(Category.objects.values_list("id", flat=True))
    below: dict[int, list[int]] = {}
    for category, ancestor in CategoryAncestor.objects.order_by("id").values_list(
        "category_id", "category_ancestor_id"
    ):
        below.setdefault(ancestor, []).append(category)
        known.add(category)
    return CategoryTree(known=frozenset(known), below={k: tuple(v) for k, v in below.items()})


def category_is_known(category_id: int) -> bool:
    """Whether the category was sent (deleted or not) or a product is filed under it (a shop may
    send products before, or without, its category tree)."""
    return (
        Category.objects.filter(pk=category_id).exists()
        or CategoryAncestor.objects.filter(category_id=category_id).exists()
        or Product.objects.filter(category_id=category_id).exists()
    )


def requester_ordered(*, user_id: str | None, session_id: str | None, limit: int = 500) -> list[str]:
    """The SKUs a user (else a session) ordered, orders that are not deleted. One plain query:
    it runs on the prediction hot path."""
    if user_id:
        column, value = "user_id", user_id
    elif session_id:
        column, value = "session_id", session_id
    else:
        return []
    line_table, order_table = OrderProductVariant._meta.db_table, Order._meta.db_table
    link = OrderProductVariant._meta.get_field("order").column
    connection = connections[router.db_for_read(OrderProductVariant)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT line.product_variant_sku FROM {line_table} line JOIN {order_table} o ON o.token = line.{link} "
            f"WHERE o.{column} = %s AND o.deleted = %s LIMIT {int(limit)}",
            [value, False],
        )
        return [row[0] for row in cursor.fetchall()]


def ordered_lines(
    *, until: datetime.datetime | None = None
) -> Iterator[tuple[str | None, str | None, str, datetime.datetime]]:
    """(user id, session id, sku, order time) of every line of an order that is not deleted."""
    orders = {
        token: (user_id, session_id, when)
        for token, user_id, session_id, when in Order.objects.filter(
            Q(create_at__lt=until) if until else Q(), deleted=False
        ).values_list("token", "user_id", "session_id", "create_at")
    }
    for token, sku in OrderProductVariant.objects.values_list("order_id", "product_variant_sku").iterator(
        chunk_size=20_000
    ):
        if token in orders:
            user_id, session_id, when = orders[token]
            yield user_id, session_id, sku, when


def order_line_count() -> int:
    return OrderProductVariant.objects.count()


def order_line_id_top() -> int:
    return OrderProductVariant.objects.aggregate(top=Max("id"))["top"] or 0


def order_lines_since(*, after_id: int, enough: int) -> int:
    """How many order lines have an id above `after_id`, counted up to `enough`."""
    return OrderProductVariant.objects.filter(id__gt=after_id).order_by()[:enough].count()


@dataclass(frozen=True)
class CatalogueChanges:
    """The current rows of what a set of catalogue writes touched: the variants (as in
    `CatalogueRows.variants`), the products, every link of those products and of those variants,
    and every order line (of orders not deleted) of the variants whose sales changed."""

    variants: list[tuple[str, int, float, bool]]
    products: list[tuple[int, bool, int | None]]
    links: list[tuple[str, int]]
    sold_skus: set[str]
    order_lines: list[tuple[str, int, datetime.datetime]]
    buyers: list[tuple[str, str | None]]  # (session id, user id) of the written orders not deleted


def catalogue_changes_rows(
    *, skus: Collection[str], product_ids: Collection[int], order_tokens: Collection[str]
) -> CatalogueChanges:
    """A handful of keyed queries (chunked), bounded by the number of keys."""
    product_ids = set(product_ids)
    links: set[tuple[int, str, int]] = set()
    columns = ("id", "product_variant_id", "product_id")
    for chunk in _chunks(list(product_ids)):
        links.update(ProductProductVariant.objects.filter(product_id__in=chunk).values_list(*columns))
    skus = set(skus) | {sku for _, sku, _ in links}
    for chunk in _chunks(list(skus)):
        links.update(ProductProductVariant.objects.filter(product_variant_id__in=chunk).values_list(*columns))
    variants, products, sold = [], [], set()
    for chunk in _chunks(list(skus)):
        variants += ProductVariant.objects.filter(sku__in=chunk).values_list(
            "sku", "stock_quantity", "recommendation_weight", "deleted"
        )
    for chunk in _chunks(list(product_ids)):
        products += [
            (product_id, published and not deleted, category)
            for product_id, published, deleted, category in Product.objects.filter(id__in=chunk).values_list(
                "id", "published", "deleted", "category_id"
            )
        ]
    buyers = []
    for chunk in _chunks(list(order_tokens)):
        sold.update(
            OrderProductVariant.objects.filter(order_id__in=chunk).values_list("product_variant_sku", flat=True)
        )
        buyers += Order.objects.filter(token__in=chunk, deleted=False).values_list("session_id", "user_id")
    lines = []
    for chunk in _chunks(list(sold)):
        lines += OrderProductVariant.objects.filter(product_variant_sku__in=chunk, order__deleted=False).values_list(
            "product_variant_sku", "quantity", "order__create_at"
        )
    # Links in the order they were stored, as `catalogue_rows` gives them.
    ordered_links = [(sku, product_id) for _, sku, product_id in sorted(links)]
    return CatalogueChanges(
        variants=variants, products=products, links=ordered_links, sold_skus=sold, order_lines=lines, buyers=buyers
    )


def _chunks(values: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
