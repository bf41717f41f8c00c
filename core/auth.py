"""The shared-secret token of the API: when `settings.RS_API_TOKEN` is set, every API view but
the healthcheck requires `Authorization: Bearer <token>` and answers 401 without it. Unset, the
API is open (as the ecoseller backend expects today; the server logs a warning at start). A
client that sent too many wrong tokens lately answers 429 (`core.throttling`)."""

from __future__ import annotations

import hmac

from django.conf import settings
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from core.throttling import failure_record, token_is_locked, token_key

TOKEN_AUTHENTICATED = "api-token"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Checks the bearer token against the setting, read at request time."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[None, str] | None:
        expected = settings.RS_API_TOKEN
        if not expected:
            return None
        header = authentication.get_authorization_header(request).split()
        if not header:
            return None
        if token_is_locked(request._request):
            # Too many wrong tokens from this client lately: guessing stops here, right or wrong.
            raise exceptions.Throttled(wait=settings.RS_THROTTLE_WINDOW_SECONDS, detail="Too many invalid tokens.")
        if header[0].lower() != self.keyword.lower().encode() or len(header) != 2:
            raise exceptions.AuthenticationFailed("Use the header 'Authorization: Bearer <token>'.")
        if not hmac.compare_digest(header[1], expected.encode()):
            failure_record(token_key(request._request))
            raise exceptions.AuthenticationFailed("Invalid token.")
        return (None, TOKEN_AUTHENTICATED)

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) with `WWW-Authenticate: Bearer`.
        return self.keyword


class HasApiToken(permissions.BasePermission):
    """Open when no token is configured; otherwise only token-authenticated requests pass."""

    message = "Authentication credentials were not provided: send 'Authorization: Bearer <token>'."

    def has_permission(self, request: Request, view) -> bool:
        if not settings.RS_API_TOKEN:
            return True
        return request.auth == TOKEN_AUTHENTICATED


class TokenProtectedMixin:
    """Put first in the bases of every API view but the healthcheck."""

    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [HasApiToken]


class HasApiTokenOrStaff(HasApiToken):
    """The API token, or a logged-in staff user (the schema's browsable UI in a browser)."""

    def has_permission(self, request: Request, view) -> bool:
        user = getattr(request, "user", None)
        return super().has_permission(request, view) or bool(user is not None and user.is_staff)
