"""Shared pytest fixtures."""

import datetime
import os

import pytest
import time_machine

ALL_DATABASES = ["default", "products", "feedback", "modelstore", "similarity"]


@pytest.fixture(autouse=True)
def _isolated_model_dir(settings, tmp_path):
    # Every test writes its model artefacts into its own folder.
    settings.MODEL_DIR = tmp_path / "models"
    settings.MODEL_DIR.mkdir()


@pytest.fixture(autouse=True)
def _state_checked_on_every_request(settings):
    # Tests change models and config between two requests and expect the next to see it.
    # Prediction results are written before the answer, so tests can count them at once.
    settings.RECOMMENDER = {**settings.RECOMMENDER, "STATE_CHECK_SECONDS": 0.0, "ASYNC_PREDICTION_LOG": False}


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    # The serving state and the category-list cache live for a process; tests start clean.
    from django.core.cache import cache

    from recommendations.serving import serving_cache_clear

    serving_cache_clear()
    cache.clear()
    yield
    serving_cache_clear()


@pytest.fixture(autouse=True, scope="session")
def _suite_clock():
    """`RS_TEST_NOW=2026-12-07T00:05:00Z make test` runs the whole suite as if it started at that
    moment (the clock keeps ticking), to check that no test depends on the time of day. The
    monotonic clock is left alone, so timed waits behave."""
    moment = os.environ.get("RS_TEST_NOW")
    if not moment:
        yield
        return
    with time_machine.travel(datetime.datetime.fromisoformat(moment), tick=True):
        yield


@pytest.fixture
def clock():
    """Set the clock for a test: `clock(datetime)` moves to that moment; it keeps ticking."""
    travels = []

    def move(moment: datetime.datetime) -> datetime.datetime:
        travel = time_machine.travel(moment, tick=True)
        travel.start()
        travels.append(travel)
        return moment

    yield move
    for travel in reversed(travels):
        travel.stop()
