"""Writes to the catalogue mirror: bulk upserts of what the shop's backend sends.

Every function takes a batch, keeps the last value when a key appears twice in it (arrival order
wins), writes with one upsert per table and replaces the link rows of the objects it is given.
A timestamp the client did not send is set when the row is first stored and left alone when the
row is sent again, so re-sending an object changes nothing."""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db import connections, models, transaction

from core.bulk import chunks, last_by_key, upsert_keeping_unsent_timestamps
from core.databases import database_for_app
from core.exceptions import ApplicationError
from products.models import (
    Attribute,
    AttributeProductVariant,
    AttributeType,
    AttributeTypeProductType,
    Category,
    CategoryAncestor,
    ExtensionAttributeType,
    Order,
    OrderProductVariant,
    Product,
    ProductPrice,
    ProductProductVariant,
    ProductTranslation,
    ProductType,
    ProductVariant,
)

DATABASE = database_for_app("products")
# Rows per INSERT; keeps statements well under SQLite's and PostgreSQL's parameter limits.
BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class Timestamps:
    """`create_at`/`update_at` as sent (None: not sent) and the time the batch was received."""

    received_at: datetime
    create_at: datetime | None = None
    update_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AttributeTypeData:
    id: int
    type: str
    type_name: str | None
    unit: str | None
    deleted: bool = False
    # An ecoseller extension attribute type: its own id space, stored apart.
    is_extension: bool = False


@dataclass(frozen=True, slots=True)
class AttributeData:
    id: int
    attribute_type_id: int
    raw_value: str | None
    order: int | None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class ProductTypeData:
    id: int
    name: str | None
    attribute_type_ids: tuple[int, ...] | None
    timestamps: Timestamps
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class ProductVariantData:
    sku: str
    ean: str
    weight: float | None
    stock_quantity: int
    recommendation_weight: float
    attribute_ids: tuple[int, ...] | None
    timestamps: Timestamps
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class ProductTranslationData:
    id: int
    product_id: int | None  # None when nested in a product: the product's id is used
    language_code: str
    title: str
    meta_title: str
    meta_description: str
    short_description: str | None
    description: str | None
    slug: str
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class ProductData:
    id: int
    published: bool
    category_id: int | None
    product_type_id: int | None
    variant_skus: tuple[str, ...] | None
    translations: tuple[ProductTranslationData, ...] | None
    timestamps: Timestamps
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class ProductPriceData:
    id: int
    price_list_code: str
    product_variant_sku: str | None
    price: Decimal
    timestamps: Timestamps
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class CategoryData:
    id: int
    parent_id: int | None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class OrderLineData:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderData:
    token: UUID
    session_id: str
    user_id: str | None
    lines: tuple[OrderLineData, ...]
    timestamps: Timestamps
    deleted: bool = False


class CategoryCycleError(ApplicationError):
    """Storing these parent links would make a category its own ancestor."""

    def __init__(self, category_ids: list[int]):
        super().__init__({"parent_id": [f"Category {category_ids[0]} would become its own ancestor."]})
        self.category_ids = category_ids


# --- helpers ---------------------------------------------------------------------------


def _upsert(
    model: type[models.Model],
    rows: Sequence[tuple[models.Model, Timestamps | None]],
    *,
    key: str,
    fields: Sequence[str],
) -> None:
    upsert_keeping_unsent_timestamps(model, rows, using=DATABASE, key=key, fields=fields, batch_size=BATCH_SIZE)


def _time_fields(timestamps: Timestamps) -> dict[str, datetime]:
    return {
        "create_at": timestamps.create_at or timestamps.received_at,
        "update_at": timestamps.update_at or timestamps.create_at or timestamps.received_at,
    }


def _chunks(values: Sequence, size: int = BATCH_SIZE) -> Iterable[Sequence]:
    return chunks(values, size)


def _replace_links(
    link_model: type[models.Model], *, owner_field: str, target_field: str, links: dict[object, tuple]
) -> None:
    """Make the owners in `links` link to exactly the given targets (duplicates dropped)."""
    owners = list(links)
    for chunk in _chunks(owners):
        link_model.objects.using(DATABASE).filter(**{f"{owner_field}__in": chunk}).delete()
    rows = [
        link_model(**{owner_field: owner, target_field: target})
        for owner, targets in links.items()
        for target in dict.fromkeys(targets)
    ]
    link_model.objects.using(DATABASE).bulk_create(rows, batch_size=BATCH_SIZE)


def _numeric_value(raw_value: str | None) -> float | None:
    if raw_value is None:
        return None
    try:
        value = float(raw_value)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# --- services --------------------------------------------------------------------------


@transaction.atomic(using=DATABASE, savepoint=False)
def attribute_type_upsert_many(*, attribute_types: Sequence[AttributeTypeData]) -> int:
    """Base attribute types and extension attribute types, each upserted by id in its own table."""
    stored = 0
    for model, is_extension in ((AttributeType, False), (ExtensionAttributeType, True)):
        items = last_by_key([i for i in attribute_types if i.is_extension == is_extension], "id")
        rows = [
            (model(id=i.id, type=i.type, type_name=i.type_name, unit=i.unit, deleted=i.deleted), None) for i in items
        ]
        _upsert(model, rows, key="id", fields=["type", "type_name", "unit", "deleted"])
        stored += len(items)
    return stored


@transaction.atomic(using=DATABASE, savepoint=False)
def attribute_upsert_many(*, attributes: Sequence[AttributeData]) -> int:
    """`numeric_value` is the raw value read as a number, or null when it is not one."""
    items = last_by_key(attributes, "id")
    rows = [
        (
            Attribute(
                id=i.id,
                attribute_type_id=i.attribute_type_id,
                raw_value=i.raw_value,
                numeric_value=_numeric_value(i.raw_value),
                order=i.order,
                deleted=i.deleted,
            ),
            None,
        )
        for i in items
    ]
    _upsert(Attribute, rows, key="id", fields=["attribute_type_id", "raw_value", "numeric_value", "order", "deleted"])
    return len(items)


@transaction.atomic(using=DATABASE, savepoint=False)
def product_type_upsert_many(*, product_types: Sequence[ProductTypeData]) -> int:
    """Upsert product types; a type that lists `attribute_type_ids` gets exactly those links."""
    items = last_by_key(product_types, "id")
    rows = [
        (ProductType(id=i.id, name=i.name, deleted=i.deleted, **_time_fields(i.timestamps)), i.timestamps)
        for i in items
    ]
    _upsert(ProductType, rows, key="id", fields=["name", "deleted"])
    _replace_links(
        AttributeTypeProductType,
        owner_field="product_type_id",
        target_field="attribute_type_id",
        links={i.id: i.attribute_type_ids for i in items if i.attribute_type_ids is not None},
    )
    return len(items)


@transaction.atomic(using=DATABASE, savepoint=False)
def product_variant_upsert_many(*, product_variants: Sequence[ProductVariantData]) -> int:
    """Upsert variants by SKU; a variant that lists `attribute_ids` gets exactly those links."""
    items = last_by_key(product_variants, "sku")
    rows = [
        (
            ProductVariant(
                sku=i.sku,
                ean=i.ean,
                weight=i.weight,
                stock_quantity=i.stock_quantity,
                recommendation_weight=i.recommendation_weight,
                deleted=i.deleted,
                **_time_fields(i.timestamps),
            ),
            i.timestamps,
        )
        for i in items
    ]
    _upsert(
        ProductVariant,
        rows,
        key="sku",
        fields=["ean", "weight", "stock_quantity", "recommendation_weight", "deleted"],
    )
    _replace_links(
        AttributeProductVariant,
        owner_field="product_variant_id",
        target_field="attribute_id",
        links={i.sku: i.attribute_ids for i in items if i.attribute_ids is not None},
    )
    return len(items)


_TRANSLATION_FIELDS = [
    "product_id",
    "language_code",
    "title",
    "meta_title",
    "meta_description",
    "short_description",
    "description",
    "slug",
    "deleted",
]


def _translation_row(item: ProductTranslationData, product_id: int) -> ProductTranslation:
    return ProductTranslation(
        id=item.id,
        product_id=product_id,
        language_code=item.language_code,
        title=item.title,
        meta_title=item.meta_title,
        meta_description=item.meta_description,
        short_description=item.short_description,
        description=item.description,
        slug=item.slug,
        deleted=item.deleted,
    )


@transaction.atomic(using=DATABASE, savepoint=False)
def product_translation_upsert_many(*, translations: Sequence[ProductTranslationData]) -> int:
    """Upsert translations sent on their own; each names its `product_id`."""
    items = last_by_key(translations, "id")
    rows = [(_translation_row(i, i.product_id), None) for i in items]
    _upsert(ProductTranslation, rows, key="id", fields=_TRANSLATION_FIELDS)
    return len(items)


@transaction.atomic(using=DATABASE, savepoint=False)
def product_upsert_many(*, products: Sequence[ProductData]) -> int:
    """Upsert products. A product that lists `variant_skus` gets exactly those variants; one
    that lists `translations` gets them stored, and its stored translations missing from the
    list are marked deleted (the backend always sends all of them)."""
    items = last_by_key(products, "id")
    rows = [
        (
            Product(
                id=i.id,
                published=i.published,
                category_id=i.category_id,
                product_type_id=i.product_type_id,
                deleted=i.deleted,
                **_time_fields(i.timestamps),
            ),
            i.timestamps,
        )
        for i in items
    ]
    _upsert(Product, rows, key="id", fields=["published", "category_id", "product_type_id", "deleted"])
    _replace_links(
        ProductProductVariant,
        owner_field="product_id",
        target_field="product_variant_id",
        links={i.id: i.variant_skus for i in items if i.variant_skus is not None},
    )

    with_translations = [i for i in items if i.translations is not None]
    translations = last_by_key(
        (_translation_row(t, product.id) for product in with_translations for t in product.translations), "id"
    )
    _upsert(ProductTranslation, [(t, None) for t in translations], key="id", fields=_TRANSLATION_FIELDS)
    kept = {t.id for t in translations}
    for chunk in _chunks([i.id for i in with_translations]):
        ProductTranslation.objects.using(DATABASE).filter(product_id__in=chunk, deleted=False).exclude(
            id__in=kept
        ).update(deleted=True)
    return len(items)


@transaction.atomic(using=DATABASE, savepoint=False)
def product_price_upsert_many(*, prices: Sequence[ProductPriceData]) -> int:
    items = last_by_key(prices, "id")
    rows = [
        (
            ProductPrice(
                id=i.id,
                price_list_code=i.price_list_code,
                product_variant_sku=i.product_variant_sku,
                price=i.price,
                deleted=i.deleted,
                **_time_fields(i.timestamps),
            ),
            i.timestamps,
        )
        for i in items
    ]
    _upsert(ProductPrice, rows, key="id", fields=["price_list_code", "product_variant_sku", "price", "deleted"])
    return len(items)


@transaction.atomic(using=DATABASE, savepoint=False)
def order_upsert_many(*, orders: Sequence[OrderData]) -> int:
    """Upsert orders by token; an order sent again has its lines replaced, never duplicated.
    A SKU listed twice in one order becomes one line with the quantities summed."""
    items = last_by_key(orders, "token")
    rows = [
        (
            Order(
                token=i.token,
                session_id=i.session_id,
                user_id=i.user_id,
                deleted=i.deleted,
                **_time_fields(i.timestamps),
            ),
            i.timestamps,
        )
        for i in items
    ]
    _upsert(Order, rows, key="token", fields=["session_id", "user_id", "deleted"])
    tokens = [i.token for i in items]
    for chunk in _chunks(tokens):
        OrderProductVariant.objects.using(DATABASE).filter(order_id__in=chunk).delete()
    lines: list[OrderProductVariant] = []
    for item in items:
        quantities: dict[str, int] = {}
        for line in item.lines:
            quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
        lines.extend(
            OrderProductVariant(order_id=item.token, product_variant_sku=sku, quantity=quantity)
            for sku, quantity in quantities.items()
        )
    OrderProductVariant.objects.using(DATABASE).bulk_create(lines, batch_size=BATCH_SIZE)
    return len(items)


@transaction.atomic(using=DATABASE, savepoint=False)
def category_upsert_many(*, categories: Sequence[CategoryData]) -> int:
    """Upsert categories and keep `CategoryAncestor` a correct closure (self rows included).

    The closure of a category follows the stored parent links upwards; a parent that is not
    stored yet still counts as an ancestor, so when it arrives its subtree is found through the
    closure and recomputed. Moving a category recomputes its whole subtree. Raises
    `CategoryCycleError` (nothing stored, as the caller's transaction rolls back) when the
    links would make a category its own ancestor."""
    items = last_by_key(categories, "id")
    for item in items:
        if item.parent_id == item.id:
            raise CategoryCycleError([item.id])
    changed = [i.id for i in items]
    Category.objects.using(DATABASE).bulk_create(
        [Category(id=i.id, parent_id=i.parent_id, deleted=i.deleted) for i in items],
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["parent_id", "deleted"],
    )

    affected = set(changed)
    for chunk in _chunks(changed):
        affected.update(
            CategoryAncestor.objects.using(DATABASE)
            .filter(category_ancestor_id__in=chunk)
            .values_list("category_id", flat=True)
        )
    # Category trees are small (hundreds to a few thousand rows): one read of every link is
    # cheaper than walking the tree with a query per level.
    parents = dict(Category.objects.using(DATABASE).values_list("id", "parent_id"))

    closure: list[CategoryAncestor] = []
    for category_id in sorted(affected):
        if category_id not in parents:
            continue  # an ancestor named by a closure row but never stored itself
        seen = [category_id]
        current = parents[category_id]
        while current is not None:
            if current in seen:
                raise CategoryCycleError([c for c in seen if c in set(changed)] or seen)
            seen.append(current)
            current = parents.get(current)
        closure.extend(CategoryAncestor(category_id=category_id, category_ancestor_id=a) for a in seen)

    stored_affected = sorted(a for a in affected if a in parents)
    for chunk in _chunks(stored_affected):
        CategoryAncestor.objects.using(DATABASE).filter(category_id__in=chunk).delete()
    CategoryAncestor.objects.using(DATABASE).bulk_create(closure, batch_size=BATCH_SIZE)
    return len(items)


# --- bulk insert of a new catalogue ----------------------------------------------------

# Rows per COPY / executemany call of `catalogue_insert_new`.
INSERT_CHUNK_ROWS = 50_000


def _column_writers(model: type[models.Model], names: Sequence[str], connection) -> list:
    """For each column, how a Python value becomes what is sent: the value the ORM would send
    (only datetimes and decimals change; datetimes memoised, a generated catalogue repeats
    them), and for COPY its text in PostgreSQL's text format."""
    is_copy = connection.vendor == "postgresql"
    writers = []
    for name in names:
        field = model._meta.get_field(name)
        if isinstance(field, models.DateTimeField):
            cache: dict = {}

            def write_datetime(value, field=field, cache=cache):
                if value not in cache:
                    prepared = field.get_db_prep_save(value, connection)
                    cache[value] = _copy_text(prepared) if is_copy else prepared
                return cache[value]

            writers.append(write_datetime)
        elif isinstance(field, models.DecimalField):
            if is_copy:
                writers.append(lambda value, field=field: _copy_text(field.get_db_prep_save(value, connection)))
            else:
                writers.append(lambda value, field=field: field.get_db_prep_save(value, connection))
        elif is_copy:
            writers.append(_copy_text)
        else:
            writers.append(None)
    return writers


def _copy_text(value) -> str:
    """A value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _insert_rows(model: type[models.Model], names: Sequence[str], rows: Iterable[tuple]) -> int:
    """INSERT new rows as they are (no conflict handling): COPY on PostgreSQL, executemany
    elsewhere, in chunks. Returns the number of rows."""
    connection = connections[DATABASE]
    writers = _column_writers(model, names, connection)
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(name).column) for name in names)
    is_copy = connection.vendor == "postgresql"
    count = 0
    chunk: list = []

    def flush(cursor) -> None:
        if is_copy:
            buffer = io.StringIO()
            buffer.writelines(chunk)
            buffer.seek(0)
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)
        else:
            placeholders = ", ".join(["%s"] * len(names))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", chunk)
        chunk.clear()

    with connection.cursor() as cursor:
        for row in rows:
            if is_copy:
                chunk.append("\t".join([write(value) for value, write in zip(row, writers)]) + "\n")
            else:
                chunk.append(tuple(value if write is None else write(value) for value, write in zip(row, writers)))
            count += 1
            if len(chunk) >= INSERT_CHUNK_ROWS:
                flush(cursor)
        if chunk:
            flush(cursor)
    return count


@transaction.atomic(using=DATABASE, savepoint=False)
def catalogue_insert_new(
    *,
    product_variants: Sequence[ProductVariantData],
    products: Sequence[ProductData],
    prices: Sequence[ProductPriceData],
) -> None:
    """Store variants, products and prices none of which is stored yet, exactly as the upserts
    above would store them, but without what only matters for rows already stored (conflict
    handling, deleting old link rows, marking old translations deleted) and without building
    model instances: plain COPY / executemany. For a generated catalogue written into an empty
    database; a key already stored fails with the database's integrity error. Products may not
    carry translations. Keys must be unique within the call."""
    if any(item.translations for item in products):
        raise ValueError("catalogue_insert_new does not store translations")
    _insert_rows(
        ProductVariant,
        ["sku", "ean", "weight", "stock_quantity", "recommendation_weight", "deleted", "create_at", "update_at"],
        (
            (
                i.sku,
                i.ean,
                i.weight,
                i.stock_quantity,
                i.recommendation_weight,
                i.deleted,
                *_time_fields(i.timestamps).values(),
            )
            for i in product_variants
        ),
    )
    _insert_rows(
        AttributeProductVariant,
        ["product_variant", "attribute"],
        (
            (i.sku, target)
            for i in product_variants
            if i.attribute_ids is not None
            for target in dict.fromkeys(i.attribute_ids)
        ),
    )
    _insert_rows(
        Product,
        ["id", "published", "category_id", "product_type", "deleted", "create_at", "update_at"],
        (
            (i.id, i.published, i.category_id, i.product_type_id, i.deleted, *_time_fields(i.timestamps).values())
            for i in products
        ),
    )
    _insert_rows(
        ProductProductVariant,
        ["product", "product_variant"],
        ((i.id, sku) for i in products if i.variant_skus is not None for sku in dict.fromkeys(i.variant_skus)),
    )
    _insert_rows(
        ProductPrice,
        ["id", "price_list_code", "product_variant_sku", "price", "deleted", "create_at", "update_at"],
        (
            (
                i.id,
                i.price_list_code,
                i.product_variant_sku,
                i.price,
                i.deleted,
                *_time_fields(i.timestamps).values(),
            )
            for i in prices
        ),
    )
