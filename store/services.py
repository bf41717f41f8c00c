"""The one entry point of the store API, `store_objects`: validate a whole batch of client
payloads, then write it class by class inside one transaction per database touched."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from core.exceptions import ApplicationError
from products.revision import catalogue_changes_record, catalogue_revision_bump
from products.services import CategoryCycleError
from store.registry import STORE_CLASSES

logger = logging.getLogger(__name__)

MODEL_CLASS_KEY = "_model_class"


class StoreValidationError(ApplicationError):
    """Some payloads of a batch are invalid; nothing was stored.

    `errors` maps the index of every bad payload to its DRF-style `{field: [messages]}`."""

    def __init__(self, errors: dict[int, dict[str, Any]]):
        self.errors = dict(sorted(errors.items()))
        super().__init__({str(index): detail for index, detail in self.errors.items()})


@dataclass(frozen=True)
class StoreResult:
    """How many objects of each `_model_class` were written (events already stored as imported
    history are not counted)."""

    stored: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.stored.values())


def _field_errors(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return detail
    return {"non_field_errors": detail if isinstance(detail, list) else [detail]}


def _validate(payloads: Sequence[Any], received_at) -> dict[str, list[tuple[int, Any]]]:
    """Validate every payload; answer the validated items grouped by class (arrival order kept)
    or raise `StoreValidationError` naming every bad index."""
    errors: dict[int, dict[str, Any]] = {}
    grouped: dict[str, list[tuple[int, Any]]] = {}
    # One serializer per class and batch: DRF builds a serializer's fields once per instance,
    # which costs more than validating a small payload.
    validators: dict[str, serializers.Serializer] = {}
    context = {"received_at": received_at}
    for index, payload in enumerate(payloads):
        if not isinstance(payload, dict):
            errors[index] = {"non_field_errors": ["Expected an object."]}
            continue
        name = payload.get(MODEL_CLASS_KEY)
        if name is None:
            errors[index] = {MODEL_CLASS_KEY: ["This field is required."]}
            continue
        if not isinstance(name, str) or name not in STORE_CLASSES:
            errors[index] = {
                MODEL_CLASS_KEY: [f"Unknown class {name!r}; expected one of {', '.join(sorted(STORE_CLASSES))}."]
            }
            continue
        serializer = validators.get(name)
        if serializer is None:
            serializer = validators[name] = STORE_CLASSES[name].serializer_class(context=context)
        try:
            item = serializer.run_validation(payload)
        except serializers.ValidationError as error:
            errors[index] = _field_errors(error.detail)
            continue
        grouped.setdefault(name, []).append((index, item))
    if errors:
        raise StoreValidationError(errors)
    return grouped


def store_objects(*, payloads: Sequence[dict[str, Any]]) -> StoreResult:
    """Validate and store a batch of payloads built as the ecoseller backend builds them.

    `payloads` is a list of dicts, each with a `_model_class` (see `registry.STORE_CLASSES`).
    The whole batch is validated first: if any payload is invalid, `StoreValidationError` is
    raised with `.errors` = {index: {field: [messages]}} and nothing is stored. Otherwise each
    class is written in one bulk operation, all inside `transaction.atomic` on every database
    the batch touches; the call may be nested in the caller's own atomic blocks (importers call
    it with chunks of thousands of payloads inside theirs). Events without `create_at` are dated
    with the time of this call. Returns the count written per class. Never enqueues a training."""
    received_at = timezone.now()
    grouped = _validate(payloads, received_at)
    databases = sorted({STORE_CLASSES[name].database for name in grouped})
    writes_catalogue = any(STORE_CLASSES[name].app == "products" for name in grouped)
    stored: dict[str, int] = {}
    try:
        with ExitStack() as stack:
            for alias in databases:
                stack.enter_context(transaction.atomic(using=alias))
            for name, store_class in STORE_CLASSES.items():
                if name in grouped:
                    stored[name] = store_class.write([item for _, item in grouped[name]])
            if writes_catalogue:
                # Servers apply what changed to their in-memory catalogue when this counter moves.
                revision = catalogue_revision_bump()
                catalogue_changes_record(
                    revision=revision,
                    changes=[
                        STORE_CLASSES[name].catalogue_change(item)
                        for name in grouped
                        if STORE_CLASSES[name].catalogue_change is not None
                        for _, item in grouped[name]
                    ],
                )
    except CategoryCycleError as error:
        cycle = set(error.category_ids)
        bad = [(index, item.id) for index, item in grouped.get("Category", []) if item.id in cycle]
        index, category_id = bad[-1] if bad else (0, error.category_ids[0])
        raise StoreValidationError(
            {index: {"parent_id": [f"Category {category_id} would become its own ancestor."]}}
        ) from error
    return StoreResult(stored=stored)
