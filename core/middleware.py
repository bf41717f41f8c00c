"""Middleware of the ground floor: the request deadline of the hot path, and 503 for a database
that cannot be reached in the views that DRF's exception handler does not cover (the admin, the
dashboard pages)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.databases import is_unreachable
from core.deadlines import database_deadline
from core.exceptions import database_unavailable_response

# The paths a shop calls on every page view: their database waits end with the request deadline.
HOT_PATH_PREFIXES = ("/predict", "/store_object")


class RequestDeadlineMiddleware:
    """Bounds what a hot-path request waits on its databases in all (`RS_REQUEST_TIMEOUT`); it
    takes effect where `core.deadlines` is installed (server processes on PostgreSQL)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(HOT_PATH_PREFIXES):
            return self.get_response(request)
        with database_deadline(settings.REQUEST_DATABASE_DEADLINE):
            return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A view that fails to reach a database answers 503 naming it, not a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_unreachable(exception):
            return database_unavailable_response(request, exception)
        return None
