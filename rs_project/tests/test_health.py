"""The healthcheck answers 200 when every database answers, 503 naming the one that does not."""

import pytest
from django.db import connections
from rest_framework.test import APIClient

from conftest import ALL_DATABASES


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_health_answers_200_when_every_database_answers():
    response = APIClient().get("/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_health_answers_503_naming_the_database_that_does_not_answer(monkeypatch):
    feedback = connections["feedback"]

    def broken_cursor(*args, **kwargs):
        raise RuntimeError("connection refused")

    monkeypatch.setattr(feedback, "cursor", broken_cursor)
    response = APIClient().get("/")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "databases": ["feedback"]}
