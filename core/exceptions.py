"""Application errors and the one DRF exception handler that maps them to HTTP answers.

Validation problems answer 400 with `{"field": ["message"]}`; a body over the size limit is
413; a database that cannot be reached or does not answer in time is 503 naming it
(`{"detail": ..., "databases": [alias]}`); anything unexpected is logged and answers a JSON 500,
never an HTML page. An error answer is never much larger than the request that caused it."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.databases import database_alias_of, is_unreachable

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A domain failure with an HTTP status and a JSON-able detail."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, detail: dict | str):
        super().__init__(str(detail))
        self.detail = detail


class NotFound(ApplicationError):
    """Something the request names does not exist (a category); the detail names the field."""

    status_code = status.HTTP_404_NOT_FOUND


class ServiceUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


def database_unavailable_body(error: BaseException) -> dict[str, Any]:
    """The 503 body for a database that cannot be reached: which one, in words and as a list."""
    alias = database_alias_of(error)
    logger.warning("database unavailable alias=%s error=%s", alias or "unknown", str(error).strip()[:300])
    if alias is None:
        return {"detail": "A database does not answer; try again shortly.", "databases": []}
    return {"detail": f"The {alias} database does not answer; try again shortly.", "databases": [alias]}


# Seconds a client is asked to wait before it tries again after a 503.
RETRY_AFTER_SECONDS = 5


def database_unavailable_response(request: HttpRequest, error: BaseException) -> HttpResponse:
    """503 for a request outside DRF (admin, dashboard pages, middleware): JSON under the API."""
    body = database_unavailable_body(error)
    if _is_api(request):
        response = JsonResponse(body, status=503)
    else:
        response = HttpResponse(f"<h1>Service unavailable</h1><p>{body['detail']}</p>", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


# An error answer may be as large as the request, or this many bytes when that is more.
ERROR_BODY_MIN_BUDGET = 4096
# Longest message kept whole (messages echo the client's input).
ERROR_MESSAGE_MAX_CHARS = 300


def error_body_capped(detail: Any, *, request_bytes: int) -> Any:
    """`detail` with each message cut to `ERROR_MESSAGE_MAX_CHARS` and, when its JSON is larger
    than the request (or `ERROR_BODY_MIN_BUDGET`), only the first keys that fit, followed by a
    `detail` that says how many were left out. A thousand bad keys must not earn a reply of
    eighteen times the request."""
    detail = _messages_cut(detail)
    budget = max(ERROR_BODY_MIN_BUDGET, request_bytes)
    if not isinstance(detail, dict) or len(json.dumps(detail)) <= budget:
        return detail
    kept: dict[str, Any] = {}
    used = 200  # room for the closing note
    for key, value in detail.items():
        size = len(json.dumps({key: value}))
        if used + size > budget:
            break
        kept[key] = value
        used += size
    left_out = len(detail) - len(kept)
    kept["detail"] = f"{len(detail)} entries have errors; the first {len(kept)} are listed, {left_out} left out."
    return kept


def _messages_cut(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {_messages_cut(key): _messages_cut(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_messages_cut(value) for value in detail]
    if isinstance(detail, str) and len(detail) > ERROR_MESSAGE_MAX_CHARS:
        return detail[: ERROR_MESSAGE_MAX_CHARS - 1] + "…"
    return detail


def _request_bytes(context: dict) -> int:
    request = context.get("request")
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
    except ValueError:
        return 0


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if is_unreachable(exc):
        return Response(
            database_unavailable_body(exc),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    response = _api_exception_response(exc, context)
    if response is not None and 400 <= response.status_code < 500:
        response.data = error_body_capped(response.data, request_bytes=_request_bytes(context))
    return response


def _api_exception_response(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    if isinstance(exc, ApplicationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if exc.status_code == 503 else None
        return Response(detail, status=exc.status_code, headers=headers)
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled error in %s", context.get("view").__class__.__name__)
        return Response({"detail": "Internal server error."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    return response


# Paths of the pages for people; everything else is the JSON API.
HTML_PREFIXES = ("/admin/", "/monitoring/", "/static/")


def _is_api(request: HttpRequest) -> bool:
    return not request.path.startswith(HTML_PREFIXES)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler400` (a disallowed host, a malformed request Django rejects before any view)."""
    if _is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler403`."""
    if _is_api(request):
        return JsonResponse({"detail": "Permission denied."}, status=403)
    return defaults.permission_denied(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler404`: a JSON 404 under the API (the ecoseller backend calls `response.json()` on
    whatever `/dashboard/<page>` answers), Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse({"detail": f"Not found: {request.path}"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: a JSON 500 under the API for errors outside DRF's views; a database that
    cannot be reached (in a middleware, say) is a 503 naming it."""
    error = sys.exc_info()[1]
    if error is not None and is_unreachable(error):
        return database_unavailable_response(request, error)
    if _is_api(request):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)
