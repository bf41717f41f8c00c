"""Shared pytest fixtures."""

import pytest

ALL_DATABASES = ["default", "products", "feedback", "modelstore", "similarity"]


@pytest.fixture(autouse=True)
def _isolated_model_dir(settings, tmp_path):
    # Every test writes its model artefacts into its own folder.
    settings.MODEL_DIR = tmp_path / "models"
    settings.MODEL_DIR.mkdir()
