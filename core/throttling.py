"""Throttling of guessed credentials: staff logins (the admin and the dashboard pages share
Django's login) and API tokens. Failures are counted in the Django cache over a window; past the
limit the login is refused even with the right password, and a token check answers 429, until
the window has passed.

Logins count per client address and user name (`RS_LOGIN_FAILURE_LIMIT`, 5) and per user name
alone (four times as many, so that changing addresses does not help a guesser); tokens per
client address (`RS_TOKEN_FAILURE_LIMIT`, 20). The client address is the last hop of
X-Forwarded-For (what the reverse proxy saw) when there is one, else the peer's address."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

USER_NAME_FACTOR = 4


def client_address(request: HttpRequest) -> str:
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def _key(*parts: str) -> str:
    # Hashed: a user name or an address may hold characters a cache key may not.
    return "throttle:" + hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()


def failures_count(key: str) -> int:
    return cache.get(key, 0)


def failure_record(key: str) -> None:
    window = settings.RS_THROTTLE_WINDOW_SECONDS
    if not cache.add(key, 1, timeout=window):
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.add(key, 1, timeout=window)


def _login_keys(request: HttpRequest, username: str) -> tuple[tuple[str, int], ...]:
    limit = settings.RS_LOGIN_FAILURE_LIMIT
    return (
        (_key("login", client_address(request), username.lower()), limit),
        (_key("login-user", username.lower()), limit * USER_NAME_FACTOR),
    )


def login_is_locked(request: HttpRequest, username: str) -> bool:
    return any(failures_count(key) >= limit for key, limit in _login_keys(request, username))


class ThrottledModelBackend(ModelBackend):
    """Django's user model backend, refusing any login (right password or not) of a user name
    that failed too often lately."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password=None, **kwargs):
        if request is None or username is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        if login_is_locked(request, username):
            raise PermissionDenied("too many failed logins; try again later")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            for key, _ in _login_keys(request, username):
                failure_record(key)
        else:
            cache.delete(_login_keys(request, username)[0][0])
        return user


def token_key(request: HttpRequest) -> str:
    return _key("token", client_address(request))


def token_is_locked(request: HttpRequest) -> bool:
    return failures_count(token_key(request)) >= settings.RS_TOKEN_FAILURE_LIMIT
