"""Guessed credentials are throttled: a staff login after too many wrong passwords is refused,
the right password included, and so is an API token after too many wrong ones."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff():
    return get_user_model().objects.create_user("admin", password="the-right-one", is_staff=True, is_superuser=True)


def login(client, password: str, address: str = "203.0.113.5"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "admin", "password": password},
        REMOTE_ADDR=address,
    )


def test_the_right_password_after_300_wrong_ones_does_not_log_in(client, staff):
    for _ in range(300):
        assert login(client, "wrong").status_code == 200  # the form again, with its error

    response = login(client, "the-right-one")

    assert response.status_code == 200
    assert b"Please enter the correct username and password" in response.content
    assert client.get("/monitoring/performance/").status_code == 302  # still not logged in


def test_the_right_password_after_a_few_wrong_ones_logs_in(client, staff):
    for _ in range(4):
        login(client, "wrong")

    response = login(client, "the-right-one")

    assert response.status_code == 302


def test_changing_address_does_not_help_a_guesser(client, staff):
    for n in range(20):
        login(client, "wrong", address=f"198.51.100.{n}")

    assert login(client, "the-right-one", address="192.0.2.1").status_code == 200


def test_the_lock_ends_with_the_window(client, staff):
    for _ in range(5):
        login(client, "wrong")
    assert login(client, "the-right-one").status_code == 200

    cache.clear()  # what the window's end does to the counters

    assert login(client, "the-right-one").status_code == 302


def test_wrong_api_tokens_are_throttled_then_even_the_right_one_is_refused(settings):
    settings.RS_API_TOKEN = "secret"
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    body = {"recommendation_type": "HOMEPAGE", "session_id": "s"}

    statuses = [
        client.post("/predict", body, format="json", HTTP_AUTHORIZATION="Bearer guess").status_code for _ in range(20)
    ]
    refused = client.post("/predict", body, format="json", HTTP_AUTHORIZATION="Bearer secret")
    elsewhere = APIClient(REMOTE_ADDR="203.0.113.10").post(
        "/predict", body, format="json", HTTP_AUTHORIZATION="Bearer secret"
    )

    assert statuses == [401] * 20
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Too many invalid tokens. Expected available in 900 seconds."}
    assert refused["Retry-After"] == "900"
    assert elsewhere.status_code == 200
