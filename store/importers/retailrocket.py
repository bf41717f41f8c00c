"""The Kaggle Retailrocket files as store payloads, mapped as the original `fill_data.py` meant
to (contract 9.2) with its bugs fixed.

* `category_tree.csv` (`categoryid,parentid`): one Category per row; the store derives the
  closure, self rows included.
* `item_properties_part*.csv` (`timestamp,itemid,property,value`, ms timestamps, sorted by time
  rather than by item): only the latest value per (item, property) is kept while streaming, so
  memory is bounded by items × properties, not by the history's rows. Special properties:
  `categoryid` (the product's category and product type), `available` ("1" → published and in
  stock) and `790` (the price, `n360.000`). Every other property is an attribute type (id = the
  property id), NUMERICAL when every value seen is one number (`n<number>`), else CATEGORICAL.
  One ProductType per category (id = category id) whose attribute types are the properties all
  its items have; one Product (id = item id) and one variant (SKU = item id) per item; one
  price per item in price list `RETAILROCKET` (id = item id). Attribute ids are numbered from
  `ATTRIBUTE_ID_OFFSET` in (property, value) order, so they are the same on every run of the
  same files and do not collide with the small ids a shop's backend uses.
* `events.csv` (`timestamp,visitorid,event,itemid,transactionid`): sorted by (visitor, time)
  with an external merge sort (sorted runs of `sort_chunk_rows` rows in temporary files), then
  a visitor's events are split into sessions after 30 minutes of inactivity (session id
  `<visitorid>-<n>`, user id = visitor id). `view` → ProductDetailEnter at its own timestamp,
  `addtocart` → ProductAddToCart, the rows of one `transactionid` → one Order (deterministic
  token, one line per item with the number of rows as quantity)."""

from __future__ import annotations

import csv
import heapq
import itertools
import pickle
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from store.importers.common import ImportFailure, ImportReport, Sourced, open_csv_text, stable_token

CATEGORY_FILE = "category_tree.csv"
PROPERTY_FILES = ("item_properties_part1.csv", "item_properties_part2.csv")
EVENTS_FILE = "events.csv"
PRICE_PROPERTY = "790"
CATEGORY_PROPERTY = "categoryid"
AVAILABLE_PROPERTY = "available"
SPECIAL_PROPERTIES = {PRICE_PROPERTY, CATEGORY_PROPERTY, AVAILABLE_PROPERTY}
PRICE_LIST = "RETAILROCKET"
ATTRIBUTE_ID_OFFSET = 1_000_000_000
SESSION_GAP_MS = 30 * 60 * 1000
EVENT_KINDS = {"view": 0, "addtocart": 1, "transaction": 2}
_NUMBER = re.compile(r"n(-?\d+(?:\.\d+)?)")


def _ms_iso(milliseconds: int) -> str:
    return datetime.fromtimestamp(milliseconds / 1000.0, tz=UTC).isoformat()


def _int(text: str, what: str, origin: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ImportFailure(origin, f"{what} is not an integer: {text!r}") from None


def _progress_lines(path: Path, handle, show_progress: bool) -> Iterator[str]:
    """The file's lines, advancing a byte-counting progress bar on stderr."""
    with tqdm(
        total=path.stat().st_size,
        unit="B",
        unit_scale=True,
        desc=path.name,
        file=sys.stderr,
        disable=not show_progress,
        leave=False,
    ) as bar:
        for line in handle:
            bar.update(len(line))
            yield line


def _rows(path: Path, header: list[str], show_progress: bool) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a CSV file whose first line must be `header`."""
    with open_csv_text(path) as handle:
        reader = csv.reader(_progress_lines(path, handle, show_progress))
        first = next(reader, None)
        if first is None or [c.strip() for c in first] != header:
            raise ImportFailure(f"{path}:1", f"expected the header {','.join(header)}, found {first!r}")
        for fields in reader:
            if not fields:
                continue
            if len(fields) != len(header):
                raise ImportFailure(f"{path}:{reader.line_num}", f"expected {len(header)} fields, found {len(fields)}")
            yield reader.line_num, fields


def read_categories(directory: Path, report: ImportReport, show_progress: bool = False) -> list[Sourced]:
    path = directory / CATEGORY_FILE
    payloads = []
    for line, (category, parent) in _rows(path, ["categoryid", "parentid"], show_progress):
        origin = f"{path}:{line}"
        payloads.append(
            Sourced(
                {
                    "_model_class": "Category",
                    "id": _int(category, "categoryid", origin),
                    "parent_id": _int(parent, "parentid", origin) if parent.strip() else None,
                },
                origin,
            )
        )
    return payloads


@dataclass
class ItemState:
    first_seen: int
    last_seen: int
    origin: str
    latest: dict[str, tuple[int, str]] = field(default_factory=dict)  # property → (time, value)


@dataclass
class Catalogue:
    items: dict[int, ItemState] = field(default_factory=dict)
    is_numerical: dict[str, bool] = field(default_factory=dict)  # property → every value a number
    property_origin: dict[str, str] = field(default_factory=dict)
    rows: int = 0


def read_item_properties(directory: Path, show_progress: bool = False) -> Catalogue:
    catalogue = Catalogue()
    for name in PROPERTY_FILES:
        path = directory / name
        for line, (time_text, item_text, prop, value) in _rows(
            path, ["timestamp", "itemid", "property", "value"], show_progress
        ):
            origin = f"{path}:{line}"
            moment = _int(time_text, "timestamp", origin)
            item_id = _int(item_text, "itemid", origin)
            prop = prop.strip()
            if not prop:
                raise ImportFailure(origin, "the property is empty")
            catalogue.rows += 1
            state = catalogue.items.get(item_id)
            if state is None:
                state = catalogue.items[item_id] = ItemState(moment, moment, origin)
            state.first_seen = min(state.first_seen, moment)
            state.last_seen = max(state.last_seen, moment)
            previous = state.latest.get(prop)
            if previous is None or moment >= previous[0]:
                state.latest[prop] = (moment, value)
            if prop not in SPECIAL_PROPERTIES:
                is_number = _NUMBER.fullmatch(value) is not None
                catalogue.is_numerical[prop] = catalogue.is_numerical.get(prop, True) and is_number
                catalogue.property_origin.setdefault(prop, origin)
    return catalogue


def _attribute_type_id(prop: str) -> int | None:
    return int(prop) if prop.isdigit() and int(prop) < 2**31 else None


def catalogue_payloads(catalogue: Catalogue, report: ImportReport) -> Iterator[Sourced]:
    """Attribute types, attributes, product types, variants, products and prices."""
    properties = {}
    for prop, origin in sorted(catalogue.property_origin.items()):
        type_id = _attribute_type_id(prop)
        if type_id is None:
            report.skip("attribute_type", 1, f"{origin}: property {prop!r} is not a numeric id")
            continue
        properties[prop] = type_id
        kind = "NUMERICAL" if catalogue.is_numerical[prop] else "CATEGORICAL"
        yield Sourced(
            {"_model_class": "AttributeType", "id": type_id, "type": kind, "type_name": prop, "unit": None}, origin
        )

    def raw(prop: str, value: str) -> str:
        if catalogue.is_numerical[prop]:
            return _NUMBER.fullmatch(value).group(1)
        return value[:200]

    values = sorted(
        {
            (prop, raw(prop, value))
            for state in catalogue.items.values()
            for prop, (_, value) in state.latest.items()
            if prop in properties
        }
    )
    attribute_ids = {key: ATTRIBUTE_ID_OFFSET + index for index, key in enumerate(values, start=1)}
    for (prop, value), attribute_id in attribute_ids.items():
        yield Sourced(
            {
                "_model_class": "Attribute",
                "id": attribute_id,
                "type": properties[prop],
                "raw_value": value,
                "order": None,
                "ext_attributes": [],
            },
            catalogue.property_origin[prop],
        )

    category_properties: dict[int, set[str]] = {}
    category_times: dict[int, list[int]] = {}
    category_origin: dict[int, str] = {}
    item_category: dict[int, int | None] = {}
    without_category = 0
    for item_id, state in catalogue.items.items():
        category_value = state.latest.get(CATEGORY_PROPERTY)
        category = None
        if category_value is not None:
            try:
                category = int(category_value[1])
            except ValueError:
                raise ImportFailure(
                    state.origin, f"item {item_id}: categoryid {category_value[1]!r} is not an integer"
                ) from None
        item_category[item_id] = category
        if category is None:
            without_category += 1
            continue
        own = {p for p in state.latest if p in properties}
        category_properties[category] = category_properties[category] & own if category in category_properties else own
        times = category_times.setdefault(category, [state.first_seen, state.last_seen])
        times[0], times[1] = min(times[0], state.first_seen), max(times[1], state.last_seen)
        category_origin.setdefault(category, state.origin)
    if without_category:
        report.notes.append(f"{without_category} item(s) have no categoryid: no category and no product type")
    for category, props in sorted(category_properties.items()):
        first, last = category_times[category]
        yield Sourced(
            {
                "_model_class": "ProductType",
                "id": category,
                "name": f"category {category}",
                "attribute_types": sorted(properties[p] for p in props),
                "products": [],
                "create_at": _ms_iso(first),
                "update_at": _ms_iso(last),
            },
            category_origin[category],
        )

    without_price = 0
    for item_id, state in catalogue.items.items():
        available = state.latest.get(AVAILABLE_PROPERTY)
        is_available = available is None or available[1].strip() == "1"
        sku = str(item_id)
        attributes = sorted(attribute_ids[(p, raw(p, v))] for p, (_, v) in state.latest.items() if p in properties)
        created, updated = _ms_iso(state.first_seen), _ms_iso(state.last_seen)
        yield Sourced(
            {
                "_model_class": "ProductVariant",
                "sku": sku,
                "ean": "",
                "weight": None,
                "stock_quantity": 1 if is_available else 0,
                "recommendation_weight": 0.5,
                "attributes": attributes,
                "create_at": created,
                "update_at": updated,
            },
            state.origin,
        )
        category = item_category[item_id]
        yield Sourced(
            {
                "_model_class": "Product",
                "id": item_id,
                "published": is_available,
                "category_id": category,
                "type": category,
                "product_translations": [],
                "product_variants": [sku],
                "create_at": created,
                "update_at": updated,
            },
            state.origin,
        )
        price = state.latest.get(PRICE_PROPERTY)
        number = _NUMBER.fullmatch(price[1]) if price is not None else None
        if number is None:
            without_price += 1
            continue
        yield Sourced(
            {
                "_model_class": "ProductPrice",
                "id": item_id,
                "price_list_code": PRICE_LIST,
                "product_variant_sku": sku,
                "price": number.group(1),
                "create_at": _ms_iso(price[0]),
                "update_at": _ms_iso(price[0]),
            },
            state.origin,
        )
    report.skip("product_price", without_price, "items without a numeric price (property 790) get no price")


# An event as sorted: (visitor, time, kind, item, transaction or -1, line).
Event = tuple[int, int, int, int, int, int]


def _sorted_runs(path: Path, sort_chunk_rows: int, show_progress: bool, spill_dir: Path) -> list[Iterable[Event]]:
    runs: list[Iterable[Event]] = []
    buffer: list[Event] = []

    def spill() -> None:
        buffer.sort()
        handle = tempfile.TemporaryFile(dir=spill_dir)
        for start in range(0, len(buffer), 10_000):
            pickle.dump(buffer[start : start + 10_000], handle, protocol=pickle.HIGHEST_PROTOCOL)
        handle.seek(0)
        runs.append(_read_run(handle))
        buffer.clear()

    for line, (time_text, visitor_text, kind, item_text, transaction_text) in _rows(
        path, ["timestamp", "visitorid", "event", "itemid", "transactionid"], show_progress
    ):
        origin = f"{path}:{line}"
        code = EVENT_KINDS.get(kind.strip())
        if code is None:
            raise ImportFailure(origin, f"unknown event {kind!r}; expected view, addtocart or transaction")
        transaction = -1
        if transaction_text.strip():
            transaction = _int(transaction_text, "transactionid", origin)
        elif code == EVENT_KINDS["transaction"]:
            raise ImportFailure(origin, "a transaction without transactionid")
        buffer.append(
            (
                _int(visitor_text, "visitorid", origin),
                _int(time_text, "timestamp", origin),
                code,
                _int(item_text, "itemid", origin),
                transaction,
                line,
            )
        )
        if len(buffer) >= sort_chunk_rows:
            spill()
    if runs and buffer:
        spill()
    elif buffer:
        runs.append(sorted(buffer))
    return runs


def _read_run(handle) -> Iterator[Event]:
    try:
        while True:
            try:
                block = pickle.load(handle)
            except EOFError:
                return
            yield from block
    finally:
        handle.close()


def event_payloads(
    directory: Path, report: ImportReport, *, sort_chunk_rows: int = 500_000, show_progress: bool = False
) -> Iterator[Sourced]:
    """Sessions' events in (visitor, time) order, then the visitor's orders."""
    path = directory / EVENTS_FILE
    kinds = {0: "ProductDetailEnter", 1: "ProductAddToCart"}
    with tempfile.TemporaryDirectory(prefix="retailrocket-") as spill_dir:
        runs = _sorted_runs(path, sort_chunk_rows, show_progress, Path(spill_dir))
        sessions = 0
        for visitor, events in itertools.groupby(heapq.merge(*runs), key=lambda event: event[0]):
            user_id = str(visitor)
            number, last_time = 0, None
            transactions: dict[int, dict] = {}
            for _, moment, code, item, transaction, line in events:
                if last_time is None or moment - last_time > SESSION_GAP_MS:
                    number += 1
                    sessions += 1
                last_time = moment
                session_id = f"{visitor}-{number}"
                origin = f"{path}:{line}"
                sku = str(item)
                if code in kinds:
                    yield Sourced(
                        {
                            "_model_class": kinds[code],
                            "session_id": session_id,
                            "user_id": user_id,
                            "product_id": item,
                            "product_variant_sku": sku,
                            "create_at": _ms_iso(moment),
                        },
                        origin,
                    )
                    continue
                order = transactions.setdefault(
                    transaction,
                    {
                        "_model_class": "Order",
                        "token": stable_token("retailrocket", transaction),
                        "session_id": session_id,
                        "user_id": user_id,
                        "lines": Counter(),
                        "create_at": _ms_iso(moment),
                        "origin": origin,
                    },
                )
                order["lines"][sku] += 1
            for order in transactions.values():
                origin = order.pop("origin")
                order["product_variants"] = [[sku, quantity] for sku, quantity in order.pop("lines").items()]
                order["update_at"] = order["create_at"]
                yield Sourced(order, origin)
        report.notes.append(f"events split into {sessions} sessions after 30 minutes of inactivity")
