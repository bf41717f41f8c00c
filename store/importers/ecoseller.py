"""The ecoseller demo data (`mock_data_rs_products.sql`, `mock_data_rs_feedback.sql`) as store
payloads, with the dump's inconsistencies resolved from the data themselves.

The dumps were exported from a database whose serial ids they do not carry, so every id has to
be reconstructed; how each table is read (and why) is the docstring of its builder below. The
importer decides, the report says what it decided and what it left out:

* attribute types are listed twice: duplicates are merged by name (ids 1..5 are kept); a type
  whose values all parse as numbers becomes NUMERICAL (YEAR, RESOLUTION). LENGTH holds buckets
  (SUB60, 6090, 90120, 120PLUS), not lengths, so it stays CATEGORICAL.
* attributes are listed twice, in two different orders; the links' attribute ids follow one of
  the copies, and the copy is chosen by checking the links against the resolution and language
  that every SKU spells out (`<movieId>-<cs|en>-<720p|1080p>`). The language links contradict
  the SKUs (every variant is linked to EN), so language is set from the SKU.
* product rows have no id and cannot be matched to variants (the links use movie ids), so a
  product is made per movie id (the SKU's first part) with the category and published flag
  the product rows agree on, and the product type whose attribute types the variants carry.
* product types are listed twice: merged by name.
* malformed `category_ancestor` statements are skipped; the category tree is read from the
  rows that parse, and the store recomputes the closure (self rows included).
* prices and reviews are each listed twice (same values, later timestamps): one row per
  (SKU, price list) and per (user, SKU, rating, time) is kept.
* orders: `session_id` holds the user id, so it is also sent as `user_id`.
* events keep their own timestamps (all on one day); the sessions' visited lists are rebuilt by
  the store from the detail-enter events, and the dump's lists are only compared with them."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from store.importers.common import ImportFailure, ImportReport, Sourced
from store.importers.sql_dump import Row, SkippedStatement, parse_array, read_dump

PRODUCT_TABLES = {
    "attribute_type": ("type_name",),
    "attribute": ("raw_value", "attribute_type_id"),
    "product_type": ("name",),
    "attribute_type_product_type": ("attribute_type_id", "product_type_id"),
    "attribute_product_variant": ("attribute_id", "product_variant_sku"),
    "product": ("category_id",),
    "product_variant": ("sku",),
    "product_product_variant": ("product_id", "product_variant_sku"),
    "product_price": ("price_list_code", "price", "product_variant_sku"),
    "category_ancestor": ("category_id", "category_ancestor_id"),
    "order": ("token", "session_id"),
    "order_product_variant": ("order_token", "product_variant_sku", "quantity"),
}
FEEDBACK_TABLES = {
    "session": ("id",),
    "product_detail_enter": ("session_id", "product_variant_sku"),
    "review": ("product_variant_sku", "rating"),
}
# The attribute types that a SKU `<movieId>-<language>-<resolution>p` spells out.
SKU_LANGUAGE_TYPE = "LANGUAGE"
SKU_RESOLUTION_TYPE = "RESOLUTION"


@dataclass
class DumpTables:
    path: Path
    rows: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    skipped: list[SkippedStatement] = field(default_factory=list)

    def origin(self, row: Row) -> str:
        return f"{self.path}:{row.line}"


def read_tables(path: Path, expected: dict[str, tuple[str, ...]], report: ImportReport) -> DumpTables:
    """Read a dump; rows of tables this importer does not know are skipped and reported, a known
    table without a column the importer needs stops the import."""
    tables = DumpTables(path)
    unknown: Counter = Counter()
    checked: set[tuple[str, tuple[str, ...]]] = set()
    for row in read_dump(path, tables.skipped):
        if row.table not in expected:
            unknown[row.table] += 1
            continue
        columns = tuple(row.values)
        if (row.table, columns) not in checked:
            missing = [c for c in expected[row.table] if c not in row.values]
            if missing:
                raise ImportFailure(f"{path}:{row.line}", f"table {row.table} lacks column(s) {', '.join(missing)}")
            checked.add((row.table, columns))
        tables.rows[row.table].append(row)
    by_table: dict[str | None, list[SkippedStatement]] = defaultdict(list)
    for statement in tables.skipped:
        by_table[statement.after_table].append(statement)
    for table, statements in by_table.items():
        where = ", ".join(f"{path}:{s.line} {s.text}" for s in statements[:10])
        more = f" and {len(statements) - 10} more" if len(statements) > 10 else ""
        consequence = (
            "; the store derives the closure (self rows included) from the category tree"
            if table == "category_ancestor"
            else ""
        )
        report.skip(
            table or "statement",
            len(statements),
            f"malformed statement(s) that psql rejects too ({statements[0].reason}): {where}{more}{consequence}",
        )
    for table, count in sorted(unknown.items()):
        report.skip(table, count, f"{path}: table {table} is not imported")
    return tables


def timestamp(value: object, origin: str) -> str:
    """A dump timestamp (naive, UTC) as an ISO string; anything else stops the import."""
    if value is None:
        raise ImportFailure(origin, "a timestamp is NULL")
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ImportFailure(origin, f"not a timestamp: {value!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _is_number(text: str | None) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _sku_parts(sku: str) -> tuple[str, str, str] | None:
    parts = sku.split("-")
    if len(parts) == 3 and parts[0].isdigit() and parts[2].endswith("p"):
        return parts[0], parts[1].upper(), parts[2][:-1]
    return None


def _repaired_value(raw: str | None) -> str | None:
    # The dump has '(no genres listed,false)': the export glued the next column into the text.
    if raw is not None and raw.endswith(",false)") and raw.startswith("("):
        return raw[: -len(",false)")] + ")"
    return raw


@dataclass(frozen=True)
class _AttributeTypes:
    """The attribute types as imported: id by name, the id each file row maps to, a row per id."""

    ids: dict[str, int]
    canonical: dict[int, int]
    rows: dict[int, Row]


def build_products(tables: DumpTables, report: ImportReport) -> tuple[list[Sourced], dict[str, int]]:
    """The catalogue payloads in store order, and the product id of every SKU (for feedback)."""
    types = _attribute_types(tables, report)
    attributes = _attributes(tables, report, types)
    type_payloads = _attribute_payloads(tables, report, types, attributes)
    product_type_payloads, type_links = _product_types(tables, report, types)
    category_payloads, product_categories = _categories(tables)
    variant_payloads, variant_attributes = _variants(tables, report, types, attributes)
    product_payloads, product_of_sku = _products(
        tables, report, type_links, variant_attributes, attributes, product_categories
    )
    payloads = [
        *type_payloads,
        *product_type_payloads,
        *category_payloads,
        *variant_payloads,
        *product_payloads,
        *_prices(tables, report),
        *_orders(tables, report),
    ]
    return payloads, product_of_sku


def _attribute_types(tables: DumpTables, report: ImportReport) -> _AttributeTypes:
    """Serial ids in file order; types listed twice are merged by name onto the first id."""
    rows = tables.rows
    type_ids: dict[str, int] = {}
    type_canonical: dict[int, int] = {}
    type_rows: dict[int, Row] = {}
    for serial, row in enumerate(rows["attribute_type"], start=1):
        name = row.values["type_name"]
        canonical = type_ids.setdefault(name, serial)
        type_canonical[serial] = canonical
        type_rows.setdefault(canonical, row)
    report.skip(
        "attribute_type",
        len(type_canonical) - len(type_ids),
        "listed twice; merged by name onto the first row (ids "
        + ", ".join(f"{name}={i}" for name, i in type_ids.items())
        + ")",
    )
    return _AttributeTypes(ids=type_ids, canonical=type_canonical, rows=type_rows)


def _attributes(
    tables: DumpTables, report: ImportReport, types: _AttributeTypes
) -> dict[int, tuple[int, str | None, Row]]:
    """Attribute id -> (type id, repaired value, row). The file lists the attributes in copies;
    the copy whose ids make the links agree with the SKUs is taken."""
    rows = tables.rows
    type_canonical, type_rows = types.canonical, types.rows
    attribute_rows = rows["attribute"]
    copy_size = _copy_size(attribute_rows)
    copies = [attribute_rows[start : start + copy_size] for start in range(0, len(attribute_rows), copy_size)] or [[]]
    chosen_index, agreement = _choose_copy(copies, rows["attribute_product_variant"], type_canonical, type_rows)
    chosen = copies[chosen_index]
    attributes: dict[int, tuple[int, str | None, Row]] = {}
    for serial, row in enumerate(chosen, start=1):
        type_id = type_canonical.get(row.values["attribute_type_id"])
        if type_id is None:
            raise ImportFailure(
                tables.origin(row), f"attribute type {row.values['attribute_type_id']} is not in the file"
            )
        attributes[serial] = (type_id, _repaired_value(row.values["raw_value"]), row)
    if len(copies) > 1:
        report.skip(
            "attribute",
            len(attribute_rows) - len(chosen),
            f"listed {len(copies)} times in different orders; the links' attribute ids follow copy "
            f"{chosen_index + 1} (lines {chosen[0].line}-{chosen[-1].line}), where {agreement} of the "
            "resolution/language links agree with the SKUs; the other copies are duplicates",
        )
    repaired = sum(1 for _, value, row in attributes.values() if value != row.values["raw_value"])
    if repaired:
        report.notes.append(
            f"{repaired} attribute value(s) like '(no genres listed,false)' repaired to '(no genres listed)'"
        )
    return attributes


def _attribute_payloads(
    tables: DumpTables, report: ImportReport, types: _AttributeTypes, attributes: dict[int, tuple[int, str | None, Row]]
) -> list[Sourced]:
    """The attribute types (NUMERICAL when every value parses as a number) and the attributes."""
    type_ids, type_rows = types.ids, types.rows
    payloads: list[Sourced] = []
    values_by_type: dict[int, list[str | None]] = defaultdict(list)
    for type_id, value, _ in attributes.values():
        values_by_type[type_id].append(value)
    numerical = {t for t, values in values_by_type.items() if values and all(_is_number(v) for v in values)}
    for name, type_id in type_ids.items():
        row = type_rows[type_id]
        kind = "NUMERICAL" if type_id in numerical else "CATEGORICAL"
        payloads.append(
            Sourced(
                {
                    "_model_class": "AttributeType",
                    "id": type_id,
                    "type": kind,
                    "type_name": name,
                    "unit": row.values.get("unit"),
                    "deleted": bool(row.values.get("deleted")),
                    "extension": False,
                },
                tables.origin(row),
            )
        )
    report.notes.append(
        "attribute types whose values all parse as numbers are NUMERICAL: "
        + (", ".join(n for n, i in type_ids.items() if i in numerical) or "none")
        + "; LENGTH-like buckets (SUB60, 120PLUS) stay CATEGORICAL"
    )
    for attribute_id, (type_id, value, row) in attributes.items():
        payloads.append(
            Sourced(
                {
                    "_model_class": "Attribute",
                    "id": attribute_id,
                    "type": type_id,
                    "raw_value": value,
                    "order": row.values.get("order"),
                    "ext_attributes": [],
                    "deleted": bool(row.values.get("deleted")),
                },
                tables.origin(row),
            )
        )
    return payloads


def _product_types(
    tables: DumpTables, report: ImportReport, types: _AttributeTypes
) -> tuple[list[Sourced], dict[int, list[int]]]:
    """Product types merged by name, their attribute type links remapped and de-duplicated."""
    rows = tables.rows
    type_canonical = types.canonical
    payloads: list[Sourced] = []
    product_type_ids: dict[str, int] = {}
    product_type_canonical: dict[int, int] = {}
    product_type_rows: dict[int, Row] = {}
    for serial, row in enumerate(rows["product_type"], start=1):
        canonical = product_type_ids.setdefault(row.values["name"], serial)
        product_type_canonical[serial] = canonical
        product_type_rows.setdefault(canonical, row)
    report.skip(
        "product_type",
        len(product_type_canonical) - len(product_type_ids),
        "listed twice; merged by name onto the first row",
    )
    type_links: dict[int, list[int]] = defaultdict(list)
    for row in rows["attribute_type_product_type"]:
        product_type = product_type_canonical.get(row.values["product_type_id"])
        attribute_type = type_canonical.get(row.values["attribute_type_id"])
        if product_type is None or attribute_type is None:
            report.skip("attribute_type_product_type", 1, f"{tables.origin(row)} names a type not in the file")
            continue
        if attribute_type not in type_links[product_type]:
            type_links[product_type].append(attribute_type)
    for type_id, row in product_type_rows.items():
        payloads.append(
            Sourced(
                {
                    "_model_class": "ProductType",
                    "id": type_id,
                    "name": row.values["name"],
                    "attribute_types": type_links.get(type_id, []),
                    "products": [],
                    "create_at": timestamp(row.values.get("create_at"), tables.origin(row)),
                    "update_at": timestamp(row.values.get("update_at"), tables.origin(row)),
                    "deleted": bool(row.values.get("deleted")),
                },
                tables.origin(row),
            )
        )
    return payloads, type_links


def _categories(tables: DumpTables) -> tuple[list[Sourced], Counter]:
    """Categories from the closure rows that parse: the parent of a category is its deepest proper
    ancestor; categories only named by products are roots. Also how many products name each."""
    rows = tables.rows
    payloads: list[Sourced] = []
    ancestors: dict[int, set[int]] = defaultdict(set)
    category_origin: dict[int, str] = {}
    for row in rows["category_ancestor"]:
        category, ancestor = row.values["category_id"], row.values["category_ancestor_id"]
        category_origin.setdefault(category, tables.origin(row))
        category_origin.setdefault(ancestor, tables.origin(row))
        ancestors[ancestor]
        if category != ancestor:
            ancestors[category].add(ancestor)
    product_categories = Counter(row.values["category_id"] for row in rows["product"])
    for category in product_categories:
        if category is not None:
            ancestors[category]
            category_origin.setdefault(category, f"{tables.path}:{rows['product'][0].line}")
    for category in sorted(ancestors):
        proper = ancestors[category]
        parent = max(proper, key=lambda a: (len(ancestors.get(a, ())), a)) if proper else None
        payloads.append(
            Sourced({"_model_class": "Category", "id": category, "parent_id": parent}, category_origin[category])
        )
    return payloads, product_categories


def _variants(
    tables: DumpTables, report: ImportReport, types: _AttributeTypes, attributes: dict[int, tuple[int, str | None, Row]]
) -> tuple[list[Sourced], dict[str, list[int]]]:
    """Variants, with their attribute links resolved through the chosen copy and the language and
    resolution taken from the SKU."""
    rows = tables.rows
    type_ids = types.ids
    payloads: list[Sourced] = []
    type_by_name = {name: i for name, i in type_ids.items()}
    attribute_by_value = {(t, v): i for i, (t, v, _) in attributes.items()}
    variant_attributes: dict[str, list[int]] = defaultdict(list)
    unknown_attribute_links = 0
    for row in rows["attribute_product_variant"]:
        attribute_id = row.values["attribute_id"]
        if attribute_id not in attributes:
            unknown_attribute_links += 1
            continue
        variant_attributes[row.values["product_variant_sku"]].append(attribute_id)
    report.skip("attribute_product_variant", unknown_attribute_links, "name an attribute id that no row has")
    corrected = 0
    variant_rows = rows["product_variant"]
    for row in variant_rows:
        sku = row.values["sku"]
        parts = _sku_parts(sku)
        linked = list(dict.fromkeys(variant_attributes.get(sku, [])))
        if parts is not None:
            for type_name, value in ((SKU_LANGUAGE_TYPE, parts[1]), (SKU_RESOLUTION_TYPE, parts[2])):
                type_id = type_by_name.get(type_name)
                wanted = attribute_by_value.get((type_id, value))
                if wanted is None:
                    continue
                others = [a for a in linked if attributes[a][0] == type_id and a != wanted]
                if others or wanted not in linked:
                    corrected += 1
                    linked = [a for a in linked if a not in others]
                    linked.append(wanted)
        variant_attributes[sku] = linked
    if corrected:
        report.notes.append(
            f"{corrected} language/resolution link(s) contradicted the SKU (e.g. every variant linked to EN) "
            "and were set from the SKU"
        )
    for row in variant_rows:
        values = row.values
        origin = tables.origin(row)
        payloads.append(
            Sourced(
                {
                    "_model_class": "ProductVariant",
                    "sku": values["sku"],
                    "ean": values.get("ean") or "",
                    "weight": values.get("weight"),
                    "stock_quantity": values.get("stock_quantity") or 0,
                    "recommendation_weight": values.get("recommendation_weight", 0.5),
                    "attributes": variant_attributes.get(values["sku"], []),
                    "create_at": timestamp(values.get("create_at"), origin),
                    "update_at": timestamp(values.get("update_at"), origin),
                    "deleted": bool(values.get("deleted")),
                },
                origin,
            )
        )
    return payloads, variant_attributes


def _products(
    tables: DumpTables,
    report: ImportReport,
    type_links: dict[int, list[int]],
    variant_attributes: dict[str, list[int]],
    attributes: dict[int, tuple[int, str | None, Row]],
    product_categories: Counter,
) -> tuple[list[Sourced], dict[str, int]]:
    """Products per movie id: the links name it, and the SKU spells it for unlinked variants."""
    rows = tables.rows
    variant_rows = rows["product_variant"]
    variant_skus = {row.values["sku"] for row in variant_rows}
    payloads: list[Sourced] = []
    product_skus: dict[int, list[str]] = defaultdict(list)
    product_origin: dict[int, str] = {}
    for row in rows["product_product_variant"]:
        sku = row.values["product_variant_sku"]
        if sku not in variant_skus:
            report.skip("product_product_variant", 1, f"{tables.origin(row)} links a SKU that has no variant row")
            continue
        product_skus[row.values["product_id"]].append(sku)
        product_origin.setdefault(row.values["product_id"], tables.origin(row))
    product_of_sku = {sku: product for product, skus in product_skus.items() for sku in skus}
    unlinked = []
    for row in variant_rows:
        sku = row.values["sku"]
        parts = _sku_parts(sku)
        if sku not in product_of_sku and parts is not None:
            product = int(parts[0])
            product_skus[product].append(sku)
            product_of_sku[sku] = product
            product_origin.setdefault(product, tables.origin(row))
            unlinked.append(sku)
    if unlinked:
        report.notes.append(
            f"{len(unlinked)} variant(s) without a product link were linked to the movie id of their SKU: "
            + ", ".join(unlinked)
        )
    product_rows = rows["product"]
    category = product_categories.most_common(1)[0][0] if product_categories else None
    published = Counter(bool(r.values.get("published", True)) for r in product_rows).most_common(1)
    is_published = published[0][0] if published else True
    product_type = _covering_product_type(type_links, variant_attributes, attributes)
    report.skip(
        "product",
        len(product_rows),
        f"rows carry no id, so their serial ids (1..{len(product_rows)}) match no variant link (the links use "
        f"movie ids); {len(product_skus)} products are made per movie id instead, with category {category} "
        f"and published={is_published} (what the product rows agree on) and product type {product_type}",
    )
    variant_times = {row.values["sku"]: row.values for row in variant_rows}
    for product_id, skus in sorted(product_skus.items()):
        created = min(timestamp(variant_times[s].get("create_at"), product_origin[product_id]) for s in skus)
        updated = max(timestamp(variant_times[s].get("update_at"), product_origin[product_id]) for s in skus)
        payloads.append(
            Sourced(
                {
                    "_model_class": "Product",
                    "id": product_id,
                    "published": is_published,
                    "category_id": category,
                    "type": product_type,
                    "product_translations": [],
                    "product_variants": skus,
                    "create_at": created,
                    "update_at": updated,
                    "deleted": False,
                },
                product_origin[product_id],
            )
        )
    return payloads, product_of_sku


def _prices(tables: DumpTables, report: ImportReport) -> list[Sourced]:
    """Serial ids in file order; a (SKU, price list) listed again keeps its latest row."""
    rows = tables.rows
    payloads: list[Sourced] = []
    latest_price: dict[tuple[str, str], tuple[int, Row]] = {}
    for serial, row in enumerate(rows["product_price"], start=1):
        key = (row.values["product_variant_sku"], row.values["price_list_code"])
        previous = latest_price.get(key)
        if previous is None or str(row.values.get("update_at")) >= str(previous[1].values.get("update_at")):
            latest_price[key] = (serial, row)
    report.skip(
        "product_price",
        len(rows["product_price"]) - len(latest_price),
        "listed again for the same SKU and price list (every (SKU, price list) appears twice, same price); "
        "the row updated last is kept",
    )
    for serial, row in sorted(latest_price.values(), key=lambda item: item[0]):
        values = row.values
        origin = tables.origin(row)
        payloads.append(
            Sourced(
                {
                    "_model_class": "ProductPrice",
                    "id": serial,
                    "price_list_code": values["price_list_code"],
                    "product_variant_sku": values["product_variant_sku"],
                    "price": values["price"],
                    "create_at": timestamp(values.get("create_at"), origin),
                    "update_at": timestamp(values.get("update_at"), origin),
                    "deleted": bool(values.get("deleted")),
                },
                origin,
            )
        )
    return payloads


def _orders(tables: DumpTables, report: ImportReport) -> list[Sourced]:
    """Orders with their lines; `session_id` is the user id."""
    rows = tables.rows
    payloads: list[Sourced] = []
    lines: dict[str, list[list]] = defaultdict(list)
    for row in rows["order_product_variant"]:
        lines[str(row.values["order_token"])].append([row.values["product_variant_sku"], row.values["quantity"]])
    orders_without_lines = 0
    for row in rows["order"]:
        values = row.values
        origin = tables.origin(row)
        token = str(values["token"])
        if not lines.get(token):
            orders_without_lines += 1
            continue
        payloads.append(
            Sourced(
                {
                    "_model_class": "Order",
                    "token": token,
                    "session_id": str(values["session_id"]),
                    "user_id": str(values["session_id"]),
                    "product_variants": lines.pop(token),
                    "create_at": timestamp(values.get("create_at"), origin),
                    "update_at": timestamp(values.get("update_at"), origin),
                    "deleted": bool(values.get("deleted")),
                },
                origin,
            )
        )
    report.skip("order", orders_without_lines, "have no order line")
    report.skip("order_product_variant", sum(map(len, lines.values())), "name an order token that no order row has")
    return payloads


def _copy_size(rows: list[Row]) -> int:
    """The length of the first copy when the rows repeat the same (type, value) pairs."""
    seen: set = set()
    for row in rows:
        key = (row.values["attribute_type_id"], row.values["raw_value"])
        if key in seen:
            first = len(seen)
            keys = [(r.values["attribute_type_id"], r.values["raw_value"]) for r in rows]
            is_repeated = len(rows) % first == 0 and all(
                set(keys[start : start + first]) == set(keys[:first]) for start in range(0, len(rows), first)
            )
            return first if is_repeated else len(rows)
        seen.add(key)
    return max(len(rows), 1)


def _choose_copy(
    copies: list[list[Row]], links: list[Row], type_canonical: dict[int, int], type_rows: dict[int, Row]
) -> tuple[int, str]:
    names = {type_id: row.values["type_name"] for type_id, row in type_rows.items()}
    best = (0, -1, 0)
    for index, copy in enumerate(copies):
        agree = checked = 0
        for row in links:
            position = row.values["attribute_id"]
            parts = _sku_parts(row.values["product_variant_sku"])
            if parts is None or not 1 <= position <= len(copy):
                continue
            attribute = copy[position - 1].values
            name = names.get(type_canonical.get(attribute["attribute_type_id"]))
            if name == SKU_RESOLUTION_TYPE:
                checked += 1
                agree += str(attribute["raw_value"]) == parts[2]
            elif name == SKU_LANGUAGE_TYPE:
                checked += 1
                agree += str(attribute["raw_value"]).upper() == parts[1]
        if agree > best[1]:
            best = (index, agree, checked)
    index, agree, checked = best
    return index, f"{agree}/{checked}"


def _covering_product_type(
    type_links: dict[int, list[int]], variant_attributes: dict[str, list[int]], attributes: dict
) -> int | None:
    """The product type whose attribute types cover most of the variants' attribute links."""
    used = Counter(attributes[a][0] for linked in variant_attributes.values() for a in linked)
    scores = {t: sum(used[a] for a in linked) for t, linked in type_links.items()}
    if not scores or max(scores.values()) == 0:
        return None
    return max(scores, key=lambda t: (scores[t], -t))


def build_feedback(tables: DumpTables, product_of_sku: dict[str, int], report: ImportReport) -> Iterator[Sourced]:
    """Detail-enter events and reviews in file order, with their own timestamps."""
    rows = tables.rows
    events_by_session: dict[str, list[str]] = defaultdict(list)
    for row in rows["product_detail_enter"]:
        values = row.values
        origin = tables.origin(row)
        sku = values["product_variant_sku"]
        session_id = str(values["session_id"])
        events_by_session[session_id].append((str(values.get("create_at")), sku))
        yield Sourced(
            {
                "_model_class": "ProductDetailEnter",
                "session_id": session_id,
                "user_id": None if values.get("user_id") is None else str(values["user_id"]),
                "product_id": values.get("product_id", product_of_sku.get(sku)),
                "product_variant_sku": sku,
                "recommendation_type": values.get("recommendation_type"),
                "model_identifier": values.get("model_identifier"),
                "model_name": values.get("model_name"),
                "position": values.get("position"),
                "create_at": timestamp(values.get("create_at"), origin),
            },
            origin,
        )

    seen_reviews: set[tuple] = set()
    duplicates = 0
    for serial, row in enumerate(rows["review"], start=1):
        values = row.values
        origin = tables.origin(row)
        key = (
            values.get("user_id"),
            values.get("session_id"),
            values["product_variant_sku"],
            values["rating"],
            values.get("create_at"),
        )
        if key in seen_reviews:
            duplicates += 1
            continue
        seen_reviews.add(key)
        session_id = "" if values.get("session_id") is None else str(values["session_id"])
        user_id = values.get("user_id")
        yield Sourced(
            {
                "_model_class": "Review",
                "id": serial,
                "session_id": session_id,
                "user_id": str(user_id) if user_id is not None else (session_id or None),
                "product_id": values.get("product_id", product_of_sku.get(values["product_variant_sku"])),
                "product_variant_sku": values["product_variant_sku"],
                "rating": values["rating"],
                "create_at": timestamp(values.get("create_at"), origin),
                "update_at": timestamp(values.get("update_at") or values.get("create_at"), origin),
            },
            origin,
        )
    report.skip(
        "review",
        duplicates,
        "exact duplicates of an earlier review (same user, SKU, rating and time; the file lists every review twice)",
    )

    matching = differing = without_events = 0
    for row in rows["session"]:
        try:
            visited = parse_array(row.values.get("visited_product_variants"))
        except ValueError as error:
            raise ImportFailure(tables.origin(row), str(error)) from None
        events = [sku for _, sku in sorted(events_by_session.get(str(row.values["id"]), []))]
        if not events:
            without_events += 1
        elif events == visited:
            matching += 1
        else:
            differing += 1
    report.notes.append(
        f"sessions are made by the store from the detail-enter events, which rebuild the visited lists: "
        f"{matching} of {len(rows['session'])} session rows list exactly their events, {differing} differ, "
        f"{without_events} have no event (not imported)"
    )
    report.notes.append("events carry no recommendation attribution and all lie on one day; their timestamps are kept")
