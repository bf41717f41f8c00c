"""`/store_object` and `/store_objects`: thin views that hand the payloads to the store service."""

from __future__ import annotations

import logging
import time

from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core import metrics
from core.auth import TokenProtectedMixin
from core.openapi import api_operation
from core.parsers import BoundedJSONParser
from store.openapi import STORE_ANSWER, STORE_OBJECT, STORE_OBJECTS
from store.services import StoreValidationError, store_objects

logger = logging.getLogger(__name__)


class _StoreApi(TokenProtectedMixin, APIView):
    parser_classes = [BoundedJSONParser]

    def _store(self, payloads: list) -> Response:
        started = time.perf_counter()
        try:
            result = store_objects(payloads=payloads)
        except StoreValidationError:
            metrics.store_calls.labels(self.request.path, "rejected").inc()
            raise
        metrics.store_calls.labels(self.request.path, "stored").inc()
        for name, count in result.stored.items():
            metrics.store_objects.labels(name).inc(count)
        # Counts only: request bodies carry user ids and are never logged.
        logger.info(
            "stored path=%s objects=%d classes=%s ms=%.1f",
            self.request.path,
            len(payloads),
            ",".join(f"{name}:{count}" for name, count in result.stored.items()) or "-",
            (time.perf_counter() - started) * 1000,
        )
        return Response({"stored": result.stored})


class StoreObjectApi(_StoreApi):
    """`POST /store_object`: one JSON object with a `_model_class`; a bad one answers 400 with
    its `{field: [messages]}`."""

    @api_operation("store_object", request=STORE_OBJECT, answer=STORE_ANSWER, description="Stored.")
    def post(self, request):
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
        try:
            return self._store([request.data])
        except StoreValidationError as error:
            raise ValidationError(error.errors[0]) from error


class StoreObjectsApi(_StoreApi):
    """`POST /store_objects`: a JSON array of such objects, stored all or nothing; a bad batch
    answers 400 with `{index: {field: [messages]}}` for every bad element."""

    @api_operation("store_objects", request=STORE_OBJECTS, answer=STORE_ANSWER, description="Every object stored.")
    def post(self, request):
        if not isinstance(request.data, list):
            raise ValidationError({"non_field_errors": ["Expected a JSON array of objects."]})
        return self._store(request.data)
