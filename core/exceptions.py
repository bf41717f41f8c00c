"""Application errors and the one DRF exception handler that maps them to HTTP answers.

Validation problems answer 400 with `{"field": ["message"]}`; a body over the size limit is
413; a database that does not answer is 503; anything unexpected is logged and answers a JSON 500, never an HTML page."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A domain failure with an HTTP status and a JSON-able detail."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, detail: dict | str):
        super().__init__(str(detail))
        self.detail = detail


class ServiceUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    if isinstance(exc, ApplicationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
        return Response(detail, status=exc.status_code)
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
    """`handler500`: a JSON 500 under the API for errors outside DRF's views."""
    if _is_api(request):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)
