"""Any interaction data set as store payloads: a documented CSV of interactions and, optionally,
a CSV of items, plus presets for RSC15 click sessions and MovieLens ratings.

Interactions (`--format csv`, the default): comma-separated with a header naming the columns
(any order; extra columns are ignored)

    user_id,session_id,sku,event,rating,timestamp

* `user_id`, `session_id`: at least one per row. Without `session_id`, a user's views, carts
  and orders are split into sessions `<user_id>-<n>` after 30 minutes of inactivity (rows of one
  user are expected in time order, as exports list them).
* `sku`: the product variant. `event`: `view` (product detail enter), `cart` (add to cart),
  `order` (rows of one session or user with the same timestamp form one order, quantity = the
  number of rows per SKU) or `review` (needs `rating`, 0..5, rounded half up; one review per
  user and SKU, a later one replaces it).
* `timestamp`: ISO 8601 (naive means UTC) or unix seconds (milliseconds when > 1e11).

Presets: `--format rsc15` reads the RSC15/YOOCHOOSE TSV `SessionId<TAB>ItemId<TAB>Time` (unix
seconds) as views; `--format movielens` reads `userId,movieId,rating,timestamp` as reviews.

Items (`--items FILE`): comma-separated with a header `sku,product_id,category_id,price,
price_list,attributes`; only `sku` is required. `attributes` is `name=value;name=value`; an
attribute type is found by name (or created) and is NUMERICAL when all its values are numbers.
`price_list` defaults to `DEFAULT`.

SKUs of interactions that neither the items file nor the database knows become minimal
variants (in stock) of published products without a category, so that every model can train
on them; the product id is the SKU when it is an integer, else a stable hash of it. Existing
variants and products are never overwritten by these minimal ones."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.db.models import Max

from products.models import (
    Attribute,
    AttributeType,
    Category,
    Product,
    ProductPrice,
    ProductProductVariant,
    ProductVariant,
)
from store.importers.common import (
    ImportFailure,
    ImportReport,
    Sourced,
    chunked,
    open_csv_text,
    parse_timestamp,
    stable_int,
    stable_token,
)

SESSION_GAP_SECONDS = 30 * 60
EVENTS = ("view", "cart", "order", "review")
FORMATS = ("csv", "rsc15", "movielens")
DEFAULT_PRICE_LIST = "DEFAULT"
_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Interaction:
    user_id: str | None
    session_id: str | None
    sku: str
    event: str
    rating: int | None
    moment: datetime
    origin: str


def _open_rows(path: Path, delimiter: str, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    with open_csv_text(path) as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        if not reader.fieldnames:
            raise ImportFailure(f"{path}:1", "the file is empty; a header is expected")
        reader.fieldnames = [name.strip() for name in reader.fieldnames]
        missing = [c for c in required if c not in reader.fieldnames]
        if missing:
            raise ImportFailure(f"{path}:1", f"the header lacks {', '.join(missing)}")
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                raise ImportFailure(
                    f"{path}:{reader.line_num}", f"expected {len(reader.fieldnames)} fields as in the header"
                )
            yield reader.line_num, row


def _rating(text: str, origin: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise ImportFailure(origin, f"rating is not a number: {text!r}") from None
    if not 0 <= value <= 5:
        raise ImportFailure(origin, f"rating {text} is outside 0..5")
    return int(math.floor(value + 0.5))


def _moment(text: str, origin: str) -> datetime:
    try:
        return parse_timestamp(text)
    except (ValueError, OverflowError, OSError):
        raise ImportFailure(origin, f"timestamp is neither ISO 8601 nor unix seconds: {text!r}") from None


def read_interactions(path: Path, file_format: str) -> Iterator[Interaction]:
    """The file's interactions in file order, validated row by row."""
    if file_format == "rsc15":
        required, delimiter = ("SessionId", "ItemId", "Time"), "\t"
    elif file_format == "movielens":
        required, delimiter = ("userId", "movieId", "rating", "timestamp"), ","
    elif file_format == "csv":
        required, delimiter = ("sku", "event", "timestamp"), ","
    else:
        raise ValueError(f"unknown format {file_format!r}")
    for line, row in _open_rows(path, delimiter, required):
        origin = f"{path}:{line}"
        if file_format == "rsc15":
            user_id, session_id, sku, event, rating_text, time_text = (
                None,
                row["SessionId"].strip(),
                row["ItemId"].strip(),
                "view",
                "",
                row["Time"],
            )
        elif file_format == "movielens":
            user_id, session_id, sku, event, rating_text, time_text = (
                row["userId"].strip(),
                None,
                row["movieId"].strip(),
                "review",
                row["rating"],
                row["timestamp"],
            )
        else:
            user_id = (row.get("user_id") or "").strip() or None
            session_id = (row.get("session_id") or "").strip() or None
            sku, event = row["sku"].strip(), row["event"].strip().lower()
            rating_text, time_text = (row.get("rating") or "").strip(), row["timestamp"]
        if not sku:
            raise ImportFailure(origin, "sku is empty")
        if user_id is None and session_id is None:
            raise ImportFailure(origin, "a row needs a user_id or a session_id")
        if event not in EVENTS:
            raise ImportFailure(origin, f"unknown event {event!r}; expected one of {', '.join(EVENTS)}")
        if event == "review" and not rating_text:
            raise ImportFailure(origin, "a review needs a rating")
        rating = _rating(rating_text, origin) if event == "review" else None
        yield Interaction(user_id, session_id, sku, event, rating, _moment(time_text, origin), origin)


def interaction_payloads(interactions: Iterator[Interaction], source: str) -> Iterator[Sourced]:
    """Events, reviews and orders (orders at the end, once all their rows are seen)."""
    sessions: dict[str, tuple[float, int]] = {}  # user → (last time, session number)
    orders: dict[str, dict] = {}
    for item in interactions:
        session_id = item.session_id
        if session_id is None and item.event != "review":
            last = sessions.get(item.user_id)
            seconds = item.moment.timestamp()
            number = last[1] if last else 0
            if last is None or seconds - last[0] > SESSION_GAP_SECONDS:
                number += 1
            sessions[item.user_id] = (seconds, number)
            session_id = f"{item.user_id}-{number}"
        when = item.moment.isoformat()
        if item.event in ("view", "cart"):
            kind = "ProductDetailEnter" if item.event == "view" else "ProductAddToCart"
            yield Sourced(
                {
                    "_model_class": kind,
                    "session_id": session_id,
                    "user_id": item.user_id,
                    "product_id": None,
                    "product_variant_sku": item.sku,
                    "create_at": when,
                },
                item.origin,
            )
        elif item.event == "review":
            owner = item.user_id or f"session:{session_id}"
            yield Sourced(
                {
                    "_model_class": "Review",
                    "id": stable_int("review", source, owner, item.sku),
                    "session_id": session_id or "",
                    "user_id": item.user_id,
                    "product_id": None,
                    "product_variant_sku": item.sku,
                    "rating": item.rating,
                    "create_at": when,
                    "update_at": when,
                },
                item.origin,
            )
        else:
            token = stable_token("order", source, session_id, item.user_id, when)
            order = orders.setdefault(
                token,
                {
                    "payload": {
                        "_model_class": "Order",
                        "token": token,
                        "session_id": session_id,
                        "user_id": item.user_id,
                        "create_at": when,
                        "update_at": when,
                    },
                    "lines": defaultdict(int),
                    "origin": item.origin,
                },
            )
            order["lines"][item.sku] += 1
    for order in orders.values():
        order["payload"]["product_variants"] = [[sku, quantity] for sku, quantity in order["lines"].items()]
        yield Sourced(order["payload"], order["origin"])


def product_id_for(sku: str) -> int:
    return int(sku) if sku.isdigit() and 0 < int(sku) < 2**31 else stable_int("product", sku, bits=31)


def _next_id(model, taken: set[int]) -> int:
    start = (model.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    return max([start, *(i + 1 for i in taken)])


def item_payloads(path: Path, report: ImportReport) -> tuple[list[Sourced], dict[str, int]]:
    """The items file as catalogue payloads, and the product id of each of its SKUs.

    Attribute types, attributes and prices that the database already has (by name, by type and
    value, by SKU and price list) keep their ids; new ones get the next free ids."""
    rows = []
    for line, row in _open_rows(path, ",", ("sku",)):
        rows.append((f"{path}:{line}", row))
    values_by_name: dict[str, list[str]] = defaultdict(list)
    parsed = []
    for origin, row in rows:
        sku = row["sku"].strip()
        if not sku:
            raise ImportFailure(origin, "sku is empty")
        attributes = []
        for part in (row.get("attributes") or "").split(";"):
            if not part.strip():
                continue
            name, separator, value = part.partition("=")
            if not separator or not name.strip():
                raise ImportFailure(origin, f"attribute {part!r} is not name=value")
            attributes.append((name.strip(), value.strip()))
            values_by_name[name.strip()].append(value.strip())
        product_text = (row.get("product_id") or "").strip()
        category_text = (row.get("category_id") or "").strip()
        price_text = (row.get("price") or "").strip()
        try:
            product_id = int(product_text) if product_text else product_id_for(sku)
            category_id = int(category_text) if category_text else None
            price = float(price_text) if price_text else None
        except ValueError as error:
            raise ImportFailure(
                origin, f"product_id and category_id must be integers, price a number ({error})"
            ) from None
        price_list = (row.get("price_list") or "").strip() or DEFAULT_PRICE_LIST
        parsed.append((origin, sku, product_id, category_id, price, price_list, attributes))

    payloads: list[Sourced] = []
    type_ids = dict(AttributeType.objects.filter(type_name__in=list(values_by_name)).values_list("type_name", "id"))
    new_types: set[int] = set()
    for name, values in values_by_name.items():
        is_numerical = all(_is_number(v) for v in values)
        if name not in type_ids:
            type_ids[name] = _next_id(AttributeType, new_types)
            new_types.add(type_ids[name])
        payloads.append(
            Sourced(
                {
                    "_model_class": "AttributeType",
                    "id": type_ids[name],
                    "type": "NUMERICAL" if is_numerical else "CATEGORICAL",
                    "type_name": name,
                },
                str(path),
            )
        )
    attribute_ids = {
        (t, v): i
        for t, v, i in Attribute.objects.filter(attribute_type_id__in=list(type_ids.values())).values_list(
            "attribute_type_id", "raw_value", "id"
        )
    }
    new_attributes: set[int] = set()
    for name, values in values_by_name.items():
        for value in dict.fromkeys(values):
            key = (type_ids[name], value)
            if key not in attribute_ids:
                attribute_ids[key] = _next_id(Attribute, new_attributes)
                new_attributes.add(attribute_ids[key])
                payloads.append(
                    Sourced(
                        {
                            "_model_class": "Attribute",
                            "id": attribute_ids[key],
                            "type": type_ids[name],
                            "raw_value": value,
                            "order": None,
                            "ext_attributes": [],
                        },
                        str(path),
                    )
                )
    known_categories = set(Category.objects.values_list("id", flat=True))
    for category_id in sorted({p[3] for p in parsed if p[3] is not None} - known_categories):
        payloads.append(Sourced({"_model_class": "Category", "id": category_id, "parent_id": None}, str(path)))

    product_skus: dict[int, list[str]] = defaultdict(list)
    product_meta: dict[int, tuple[int | None, str]] = {}
    price_ids = {
        (s, c): i for s, c, i in ProductPrice.objects.values_list("product_variant_sku", "price_list_code", "id")
    }
    new_prices: set[int] = set()
    for origin, sku, product_id, category_id, price, price_list, attributes in parsed:
        payloads.append(
            Sourced(
                {
                    "_model_class": "ProductVariant",
                    "sku": sku,
                    "stock_quantity": 1,
                    "attributes": [attribute_ids[(type_ids[n], v)] for n, v in attributes],
                },
                origin,
            )
        )
        product_skus[product_id].append(sku)
        product_meta.setdefault(product_id, (category_id, origin))
        if price is not None:
            key = (sku, price_list)
            if key not in price_ids:
                price_ids[key] = _next_id(ProductPrice, new_prices)
                new_prices.add(price_ids[key])
            payloads.append(
                Sourced(
                    {
                        "_model_class": "ProductPrice",
                        "id": price_ids[key],
                        "price_list_code": price_list,
                        "product_variant_sku": sku,
                        "price": price,
                    },
                    origin,
                )
            )
    existing_links = _product_links(list(product_skus))
    existing_products = _stored_products(list(product_skus))
    for product_id, skus in product_skus.items():
        category_id, origin = product_meta[product_id]
        payload = {
            "_model_class": "Product",
            "id": product_id,
            "published": True,
            "category_id": None,
            **existing_products.get(product_id, {}),
            "product_variants": list(dict.fromkeys([*existing_links.get(product_id, []), *skus])),
        }
        if category_id is not None:
            payload["category_id"] = category_id
        payloads.append(Sourced(payload, origin))
    report.notes.append(f"items file: {len(parsed)} variants of {len(product_skus)} products")
    return payloads, {sku: product_id for product_id, skus in product_skus.items() for sku in skus}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _stored_products(product_ids: list[int]) -> dict[int, dict]:
    stored = {}
    for chunk in chunked(product_ids, _LOOKUP_CHUNK):
        for product_id, published, category_id, type_id in Product.objects.filter(id__in=chunk).values_list(
            "id", "published", "category_id", "product_type_id"
        ):
            stored[product_id] = {"published": published, "category_id": category_id, "type": type_id}
    return stored


def _product_links(product_ids: list[int]) -> dict[int, list[str]]:
    links: dict[int, list[str]] = defaultdict(list)
    for chunk in chunked(product_ids, _LOOKUP_CHUNK):
        for product_id, sku in ProductProductVariant.objects.filter(product_id__in=chunk).values_list(
            "product_id", "product_variant_id"
        ):
            links[product_id].append(sku)
    return links


def with_missing_catalogue(
    items: Iterator[Sourced], product_of_sku: dict[str, int], report: ImportReport, chunk_size: int
) -> Iterator[Sourced]:
    """Fill in each payload's product id and put minimal variants and products for unknown SKUs
    before the payloads that name them. `product_of_sku` grows by the SKUs seen (bounded by the
    catalogue, not by the number of interactions)."""
    created = 0
    for chunk in chunked(items, chunk_size):
        skus = {item.payload.get("product_variant_sku") for item in chunk}
        skus.update(sku for item in chunk for sku, _ in item.payload.get("product_variants", []))
        skus.discard(None)
        unknown = [sku for sku in skus if sku not in product_of_sku]
        if unknown:
            stored: set[str] = set()
            for part in chunked(unknown, _LOOKUP_CHUNK):
                stored.update(ProductVariant.objects.filter(sku__in=part).values_list("sku", flat=True))
                for product_id, sku in ProductProductVariant.objects.filter(product_variant_id__in=part).values_list(
                    "product_id", "product_variant_id"
                ):
                    product_of_sku[sku] = product_id
            new = sorted(sku for sku in unknown if sku not in stored)
            for sku in stored:
                product_of_sku.setdefault(sku, None)
            first_origin = {}
            for item in chunk:
                first_origin.setdefault(item.payload.get("product_variant_sku"), item.origin)
            by_product: dict[int, list[str]] = defaultdict(list)
            for sku in new:
                by_product[product_id_for(sku)].append(sku)
                product_of_sku[sku] = product_id_for(sku)
            existing_links = _product_links(list(by_product))
            existing_products = _stored_products(list(by_product))
            for sku in new:
                yield Sourced(
                    {"_model_class": "ProductVariant", "sku": sku, "stock_quantity": 1, "attributes": []},
                    first_origin.get(sku, chunk[0].origin),
                )
            for product_id, product_skus in by_product.items():
                payload = {
                    "_model_class": "Product",
                    "id": product_id,
                    "product_variants": list(dict.fromkeys([*existing_links.get(product_id, []), *product_skus])),
                }
                # A stored product keeps what it has; it only gains the new variants.
                payload.update(existing_products.get(product_id, {"published": True, "category_id": None}))
                created += product_id not in existing_products
                yield Sourced(payload, first_origin.get(product_skus[0], chunk[0].origin))
        for item in chunk:
            if "product_id" in item.payload and item.payload["product_id"] is None:
                item.payload["product_id"] = product_of_sku.get(item.payload["product_variant_sku"])
            yield item
    report.notes.append(f"{created} product(s) created for SKUs that no items file or stored variant knew")
