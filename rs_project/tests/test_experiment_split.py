"""bench/experiment_split.py's checks, in process on a small shop: a Config posted through
/store_object with a two-arm experiment splits the sessions about evenly, each sticky, the
dashboard and the metrics report both arms, and stopping it returns every session to the base."""

import importlib.util
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from recommendations.tests.factories import make_catalogue, make_orders

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

_spec = importlib.util.spec_from_file_location(
    "experiment_split", Path(settings.BASE_DIR) / "bench" / "experiment_split.py"
)
experiment_split = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(experiment_split)


def _client_call():
    client = APIClient()

    def call(method, path, body=None):
        response = client.post(path, body, format="json") if method == "POST" else client.get(path)
        is_json = response["Content-Type"].startswith("application/json")
        return response.status_code, response.json() if is_json else response.content.decode()

    return call


def test_two_hundred_sessions_split_evenly_and_stick_to_their_arm():
    make_catalogue({f"v{i}": {"product": i} for i in range(12)})
    make_orders([("buyer", "v3", 4), ("buyer", "v7", 1)])
    # The control scores the homepage by selection, so the served model tells the arms apart.
    APIClient().post(
        "/store_object", {"_model_class": "Config", "homepageScoringCascade": ["selection"]}, format="json"
    )
    lines = []

    result = experiment_split.run_split(
        _client_call(), sessions=200, name="homepage-popularity", stop=True, settle_seconds=0, log=lines.append
    )

    assert result["split"] == {"control": 109, "popularity": 91}
    assert result["reported"] == {"control": 218, "popularity": 182}
    assert (
        "sticky: every session served alike twice; popularity arm by popularity, control by {'selection': 109}" in lines
    )
    assert lines[-1] == "stopped homepage-popularity: the next 20 requests belong to no arm"
