"""What every importer shares: payloads that remember the file line they came from, a report of
what was loaded and skipped, one all-or-nothing transaction over both databases, and the writer
that sends payloads through the store service in chunks (the same path as the store API)."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction

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
