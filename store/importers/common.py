"""What every importer shares: payloads that remember the file line they came from, a report of
what was loaded and skipped, one all-or-nothing transaction over both databases, and the writer
that sends payloads through the store service in chunks (the same path as the store API)."""

from __future__ import annotations

import csv
import functools
import hashlib
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TextIO

from django.db import transaction
from django.utils import timezone

from core.databases import database_for_app

DEFAULT_CHUNK_SIZE = 5000
# Namespace of the deterministic order tokens and ids that importers derive from source keys.
IMPORT_NAMESPACE = uuid.UUID("6f1d7c2e-5a0b-4c1e-9d3f-2b8a7e4c1d90")


class ImportFailure(Exception):
    """A file cannot be imported; the message names the file and line."""

    def __init__(self, origin: str, message: str) -> None:
        super().__init__(f"{origin}: {message}")
        self.origin = origin
        self.message = message


@dataclass(frozen=True)
class Sourced:
    """A store payload and where it came from (`path:line`), for error messages."""

    payload: dict
    origin: str


@dataclass
class ImportReport:
    """Counts of what was sent to the store per kind, and every skip with its reason."""

    loaded: Counter = field(default_factory=Counter)
    skipped: list[tuple[str, int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unchanged: Counter = field(default_factory=Counter)

    def skip(self, kind: str, count: int, reason: str) -> None:
        if count:
            self.skipped.append((kind, count, reason))

    def skipped_count(self, kind: str) -> int:
        return sum(count for skipped_kind, count, _ in self.skipped if skipped_kind == kind)

    def lines(self) -> list[str]:
        lines = [f"loaded {kind} {count}" for kind, count in sorted(self.loaded.items())]
        lines += [
            f"unchanged {kind} {count}: already stored or repeated in the input (events: same session, SKU and time; reviews: same id)"
            for kind, count in sorted(self.unchanged.items())
            if count > 0
        ]
        lines += [f"skipped {kind} {count}: {reason}" for kind, count, reason in self.skipped]
        lines += [f"note: {note}" for note in self.notes]
        return lines


@contextmanager
def open_csv_text(path: Path) -> Iterator[TextIO]:
    """`path` opened as UTF-8 CSV text; a missing file, bytes that are not UTF-8 and malformed
    CSV met while reading it raise `ImportFailure`."""
    if not path.is_file():
        raise ImportFailure(f"{path}:0", "no such file")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            yield handle
    except UnicodeDecodeError as error:
        raise ImportFailure(f"{path}:?", f"not a UTF-8 text file ({error.reason})") from None
    except csv.Error as error:
        raise ImportFailure(f"{path}:?", f"not a CSV file ({error})") from None


@contextmanager
def both_databases_atomic() -> Iterator[None]:
    """One transaction per database, nested, so that any failure rolls back both."""
    # Read when called: the generator module is also imported outside Django (bench/e2e_client.py).
    with transaction.atomic(using=database_for_app("products")), transaction.atomic(using=database_for_app("feedback")):
        yield


def chunked(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def store_sourced(chunk: list[Sourced]) -> dict[str, int]:
    """Validate and write one chunk through the store service; a rejected payload becomes an
    `ImportFailure` naming its source line and the store's message."""
    from store.services import StoreValidationError, store_objects

    try:
        return store_objects(payloads=[item.payload for item in chunk]).stored
    except StoreValidationError as error:
        index, problems = _first_error(error.errors)
        origin = chunk[index].origin if index is not None and 0 <= index < len(chunk) else chunk[0].origin
        raise ImportFailure(origin, f"rejected by the store: {problems}") from None


def _first_error(errors) -> tuple[int | None, str]:
    if isinstance(errors, dict) and errors:
        key = sorted(errors, key=lambda k: int(k) if str(k).lstrip("-").isdigit() else 0)[0]
        index = int(key) if str(key).lstrip("-").isdigit() else None
        return index, _describe(errors[key])
    if isinstance(errors, list):
        for index, problems in enumerate(errors):
            if problems:
                return index, _describe(problems)
    return None, _describe(errors)


def _describe(problems) -> str:
    if isinstance(problems, dict):
        return "; ".join(
            f"{name}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
            for name, messages in problems.items()
        )
    return str(problems)


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp (naive means UTC) or unix seconds / milliseconds as an aware datetime."""
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if number > 1e11:  # milliseconds: 1e11 s would be the year 5138
        number /= 1000.0
    return datetime.fromtimestamp(number, tz=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def stable_int(*parts: object, bits: int = 63) -> int:
    """A deterministic positive integer for a source key, so re-imports hit the same rows."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % ((1 << bits) - 1) + 1


def stable_token(*parts: object) -> str:
    return str(uuid.uuid5(IMPORT_NAMESPACE, "\x1f".join(map(str, parts))))


def write_all(items: Iterable[Sourced], report: ImportReport, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
    """Send payloads through the store in chunks, counting what it stored per `_model_class`.
    Events the store already holds (same session, SKU and time) are counted as unchanged."""
    for chunk in chunked(items, chunk_size):
        stored = store_sourced(chunk)
        sent = Counter(item.payload["_model_class"] for item in chunk)
        report.loaded.update(stored)
        report.unchanged.update({kind: count - stored.get(kind, 0) for kind, count in sent.items()})


# Catalogue payloads the bulk path writes itself; everything else goes through the store.
BULK_CLASSES = ("ProductVariant", "Product", "ProductPrice")
# Catalogue payloads converted and inserted at once by the bulk path.
BULK_CHUNK_SIZE = 100_000


def catalogue_is_empty() -> bool:
    """No variant, product or price stored: the bulk path may insert without upserting."""
    from products.models import AttributeProductVariant, Product, ProductPrice, ProductProductVariant, ProductVariant

    return not any(
        model.objects.exists()
        for model in (ProductVariant, Product, ProductPrice, AttributeProductVariant, ProductProductVariant)
    )


@functools.lru_cache(maxsize=4096)
def _trusted_datetime(value: str | None) -> datetime | None:
    # As the store's DateTimeField reads an ISO string: naive means UTC, aware is moved to UTC.
    # Cached: a generated catalogue dates all its rows alike.
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _trusted_timestamps(payload: dict, received_at: datetime):
    from products.services import Timestamps

    return Timestamps(
        received_at=received_at,
        create_at=_trusted_datetime(payload.get("create_at")),
        update_at=_trusted_datetime(payload.get("update_at")),
    )


def _trusted_variant(payload: dict, received_at: datetime):
    from products.services import ProductVariantData

    attributes = payload.get("attributes")
    weight = payload.get("weight")
    return ProductVariantData(
        sku=payload["sku"],
        ean=payload.get("ean") or "",
        weight=float(weight) if weight is not None else None,
        stock_quantity=int(payload.get("stock_quantity", 0)),
        recommendation_weight=float(payload.get("recommendation_weight", 0.5)),
        attribute_ids=tuple(attributes) if attributes is not None else None,
        timestamps=_trusted_timestamps(payload, received_at),
        deleted=bool(payload.get("deleted", False)),
    )


def _trusted_product(payload: dict, received_at: datetime):
    from products.services import ProductData

    variants = payload.get("product_variants")
    if payload.get("product_translations"):
        raise ValueError("the bulk path stores no translations")
    type_id = payload.get("type_id")
    return ProductData(
        id=payload["id"],
        published=bool(payload.get("published", True)),
        category_id=payload.get("category_id"),
        product_type_id=type_id if type_id is not None else payload.get("type"),
        variant_skus=tuple(variants) if variants is not None else None,
        translations=() if payload.get("product_translations") is not None else None,
        timestamps=_trusted_timestamps(payload, received_at),
        deleted=bool(payload.get("deleted", False)),
    )


def _trusted_price(payload: dict, received_at: datetime):
    from products.services import ProductPriceData

    return ProductPriceData(
        id=payload["id"],
        price_list_code=payload["price_list_code"],
        product_variant_sku=payload.get("product_variant_sku"),
        # As the store's DecimalField(20, 6, ROUND_HALF_UP) reads a float.
        price=Decimal(str(payload["price"])).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP),
        timestamps=_trusted_timestamps(payload, received_at),
        deleted=bool(payload.get("deleted", False)),
    )


_TRUSTED = {"ProductVariant": _trusted_variant, "Product": _trusted_product, "ProductPrice": _trusted_price}


def write_all_new_catalogue(
    items: Iterable[Sourced], report: ImportReport, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> None:
    """`write_all` for payloads from our own generator into an empty catalogue: variants,
    products and prices (nearly all of a big catalogue) skip the store's validation, which
    exists for untrusted input, and its upserts, which exist for rows already stored, and are
    inserted in bulk (`catalogue_insert_new`) as the store would store them. Everything else
    goes through the store. The caller checks `catalogue_is_empty()` and holds the transaction."""
    from products.models import CatalogueChange
    from products.revision import catalogue_changes_record, catalogue_revision_bump
    from products.services import catalogue_insert_new

    received_at = timezone.now()
    catalogue: dict[str, list] = {name: [] for name in BULK_CLASSES}
    others: list[Sourced] = []

    def flush_catalogue() -> None:
        catalogue_insert_new(
            product_variants=catalogue["ProductVariant"],
            products=catalogue["Product"],
            prices=catalogue["ProductPrice"],
        )
        for name, rows in catalogue.items():
            report.loaded[name] += len(rows)
            rows.clear()

    def flush_others() -> None:
        stored = store_sourced(others)
        sent = Counter(item.payload["_model_class"] for item in others)
        report.loaded.update(stored)
        report.unchanged.update({kind: count - stored.get(kind, 0) for kind, count in sent.items()})
        others.clear()

    pending = 0
    for item in items:
        kind = item.payload["_model_class"]
        convert = _TRUSTED.get(kind)
        if convert is None:
            others.append(item)
            if len(others) >= chunk_size:
                # The catalogue read so far goes first, as it would through the store alone.
                flush_catalogue()
                pending = 0
                flush_others()
            continue
        try:
            catalogue[kind].append(convert(item.payload, received_at))
        except (KeyError, TypeError, ValueError) as error:
            raise ImportFailure(item.origin, f"not a payload the bulk path can store: {error}") from None
        pending += 1
        if pending >= BULK_CHUNK_SIZE:
            flush_catalogue()
            pending = 0
    flush_catalogue()
    if others:
        flush_others()
    # Servers rebuild their in-memory catalogue when this counter moves.
    # Too many keys to log one by one: servers rebuild their catalogue in full.
    catalogue_changes_record(revision=catalogue_revision_bump(), changes=[(CatalogueChange.Kind.ALL, "")])
