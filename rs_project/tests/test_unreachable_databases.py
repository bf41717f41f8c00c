"""A database that refuses connections, or stops answering, makes every endpoint answer a 503
JSON naming it within a few seconds (never a 500, never a hang), while what does not need it
goes on working."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from core import deadlines
from core.tests.peers import FreezableProxy, SilentServer, closed_port
from store.tests.test_store_api import ENTER, PRODUCT

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

FEEDBACK_DOWN = {"detail": "The feedback database does not answer; try again shortly.", "databases": ["feedback"]}
# A bound on a hang, not a speed measurement: the waits themselves end after 2 to 3 seconds.
HANG_SECONDS = 15


@contextlib.contextmanager
def alias_pointed_at(alias: str, port: int, name: str = "rs_unreachable") -> Iterator[None]:
    """`alias` talks to PostgreSQL on 127.0.0.1:`port` for the block (whatever the suite's
    databases are), with the settings every PostgreSQL alias gets."""
    original = connections[alias]
    options = {"connect_timeout": 2, "options": "-c statement_timeout=30000"}
    given = {"ENGINE": "django.db.backends.postgresql", "NAME": name, "USER": "postgres", "HOST": "127.0.0.1"}
    config = connections.configure_settings({"default": dict(given)})["default"]
    config.update(PORT=port, OPTIONS=options, TEST={"NAME": name})
    connections[alias] = DatabaseWrapper(config, alias)
    try:
        yield
    finally:
        connections[alias].close()
        connections[alias] = original


def post(path: str, body):
    return APIClient().post(path, json.dumps(body), content_type="application/json")


def timed(call):
    began = time.monotonic()
    response = call()
    return response, time.monotonic() - began


@pytest.fixture
def feedback_refused():
    with alias_pointed_at("feedback", closed_port()):
        yield


@pytest.fixture
def feedback_silent():
    server = SilentServer()
    try:
        with alias_pointed_at("feedback", server.port):
            yield
    finally:
        server.close()


def test_healthcheck_names_the_database_that_refuses_connections(feedback_refused):
    response = APIClient().get("/")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "databases": ["feedback"]}


def test_storing_an_event_answers_503_naming_the_database_that_refuses_connections(feedback_refused):
    response = post("/store_object", ENTER)

    assert response.status_code == 503
    assert response.json() == FEEDBACK_DOWN
    assert response["Retry-After"] == "5"


def test_storing_a_batch_answers_503_naming_the_database_that_refuses_connections(feedback_refused):
    response = post("/store_objects", [PRODUCT, ENTER])

    assert response.status_code == 503
    assert response.json() == FEEDBACK_DOWN


def test_the_catalogue_is_stored_while_the_feedback_database_is_down(feedback_refused):
    response = post("/store_object", PRODUCT)

    assert response.status_code == 200


@pytest.mark.parametrize("kind", ["HOMEPAGE", "CART"])
def test_predict_answers_200_or_503_naming_the_database_never_500(feedback_refused, kind):
    body = {"recommendation_type": kind, "session_id": "s1", "user_id": None, "limit": 5}

    response = post("/predict", body)

    assert response.status_code in (200, 503), response.content
    if response.status_code == 503:
        assert response.json() == FEEDBACK_DOWN


@pytest.mark.parametrize("page", ["/dashboard", "/dashboard/performance", "/dashboard/training"])
def test_the_dashboard_api_answers_503_naming_the_database(feedback_refused, page):
    response = APIClient().get(page, {"date_from": "2024-01-01", "date_to": "2024-01-31"})

    assert response.status_code in (200, 503), response.content
    if page != "/dashboard/training":
        assert response.status_code == 503
        assert response.json() == FEEDBACK_DOWN


def test_the_dashboard_page_answers_503_naming_the_database(feedback_refused, admin_client):
    response = admin_client.get("/monitoring/performance/")

    assert response.status_code == 503
    assert b"The feedback database does not answer" in response.content


def test_a_database_that_accepts_and_never_answers_gives_503_within_seconds(feedback_silent):
    health, health_seconds = timed(lambda: APIClient().get("/"))
    stored, stored_seconds = timed(lambda: post("/store_object", ENTER))

    assert (health.status_code, health.json()) == (503, {"status": "unavailable", "databases": ["feedback"]})
    assert (stored.status_code, stored.json()) == (503, FEEDBACK_DOWN)
    assert health_seconds < HANG_SECONDS and stored_seconds < HANG_SECONDS


@pytest.mark.skipif(
    settings.DATABASES["feedback"]["ENGINE"] != "django.db.backends.postgresql",
    reason="an open connection that stops answering needs a live PostgreSQL behind the proxy",
)
def test_a_live_database_that_stops_answering_gives_503_within_the_request_deadline(settings):
    settings.REQUEST_DATABASE_DEADLINE = 2.0
    feedback = connections["feedback"].settings_dict
    proxy = FreezableProxy((feedback["HOST"] or "127.0.0.1", int(feedback["PORT"] or 5432)))
    deadlines.install()
    try:
        with alias_pointed_at("feedback", proxy.port, name=feedback["NAME"]):
            assert APIClient().get("/").status_code == 200  # the connection is open and answers
            proxy.freeze()

            health, health_seconds = timed(lambda: APIClient().get("/"))
            stored, stored_seconds = timed(lambda: post("/store_object", ENTER))
            predicted, predict_seconds = timed(
                lambda: post("/predict", {"recommendation_type": "HOMEPAGE", "session_id": "s1", "user_id": None})
            )
    finally:
        deadlines.uninstall()
        proxy.close()
        # The session behind the proxy would keep the test database from being dropped.
        with connections["feedback"].cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [feedback["NAME"]],
            )

    assert (health.status_code, health.json()) == (503, {"status": "unavailable", "databases": ["feedback"]})
    assert (stored.status_code, stored.json()) == (503, FEEDBACK_DOWN)
    assert predicted.status_code in (200, 503), predicted.content
    if predicted.status_code == 503:
        assert predicted.json() == FEEDBACK_DOWN
    assert max(health_seconds, stored_seconds, predict_seconds) < HANG_SECONDS
