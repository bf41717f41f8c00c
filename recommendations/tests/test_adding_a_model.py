"""The README's recipe for a new prediction model works: implement the protocol, register it,
put it in a cascade."""

import pytest
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from recommendations.algorithms import registry
from recommendations.algorithms.base import PredictionModel, serves_all_scoring
from recommendations.services import config_version_create
from recommendations.tests.factories import make_catalogue


class ReverseAlphabetModel(PredictionModel):
    """Ranks candidates by SKU, last first: easy to recognise in an answer."""

    name = "reverse_alphabet"
    title = "Reverse alphabet"
    description = "A test model."
    supports = serves_all_scoring()

    def score(self, context, candidates):
        ordered = sorted(dict.fromkeys(candidates), reverse=True)
        return [(sku, float(-rank)) for rank, sku in enumerate(ordered)]


@pytest.fixture
def registered_model():
    registry.register(ReverseAlphabetModel)
    yield ReverseAlphabetModel
    registry.MODELS.pop(ReverseAlphabetModel.name)


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_registered_model_put_in_a_cascade_serves_predictions(registered_model):
    make_catalogue({sku: {"product": i} for i, sku in enumerate(["a", "b", "c", "d"])})
    config_version_create(payload={"homepageScoringCascade": ["reverse_alphabet", "selection"]})

    response = APIClient().post(
        "/predict", {"recommendation_type": "HOMEPAGE", "session_id": "s", "user_id": None}, format="json"
    )

    assert response.status_code == 200
    assert [item["product_variant_sku"] for item in response.json()] == ["d", "c", "b", "a"]
    assert {item["rs_info"]["model_name"] for item in response.json()} == {"reverse_alphabet"}


def test_an_unregistered_model_cannot_be_put_in_a_cascade():
    from recommendations.config import ConfigError, config_from_payload

    with pytest.raises(ConfigError) as error:
        config_from_payload({"homepageScoringCascade": ["reverse_alphabet"]})

    assert "homepageScoringCascade" in error.value.errors
