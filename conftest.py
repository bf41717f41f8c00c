"""Shared pytest fixtures."""

import pytest

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
