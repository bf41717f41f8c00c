"""Config versions: the newest wins, defaults apply when none is stored, invalid ones are refused."""

import datetime

import pytest
from django.utils import timezone

from conftest import ALL_DATABASES
from modelstore.models import ConfigVersion
from recommendations.config import DEFAULT_CONFIG, ConfigError, config_from_payload
from recommendations.selectors import config_current
from recommendations.services import config_version_create


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_defaults_apply_when_no_config_is_stored():
    config = config_current()

    assert config.retrieval_size == 1000
    assert config.ordering_size == 50
    assert config.homepage_retrieval_cascade == ("sknn", "gru4rec", "ease", "popularity", "selection")
    assert config.product_detail_scoring_cascade == ("sknn", "gru4rec", "similarity", "ease", "popularity", "selection")
    assert config.category_list_retrieval_cascade is None
    assert config.ease_config.l2_options == (1.0, 10.0, 100.0)
    assert config.ease_config.reviews_multiplier == 0.5
    assert config.gru4rec_config.incremental_trainings == 10


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_newest_config_wins_and_ties_are_broken_by_id():
    config_version_create(payload={"retrievalSize": 10})
    config_version_create(payload={"retrievalSize": 20})
    assert config_current().retrieval_size == 20

    same_time = timezone.now() + datetime.timedelta(minutes=1)
    ConfigVersion.objects.create(data={"retrieval_size": 30}, create_at=same_time)
    ConfigVersion.objects.create(data={"retrieval_size": 40}, create_at=same_time)
    assert config_current().retrieval_size == 40


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_dashboard_page_state_is_accepted_with_models_disabled_by_index_or_name():
    payload = {
        "models": [{"name": n} for n in ["dummy", "selection", "popularity", "similarity", "gru4rec", "ease"]],
        "info": {"ignored": True},
        "retrievalSize": 500,
        "orderingSize": 20,
        "homepageRetrievalCascade": ["popularity", "ease", "selection"],
        "categoryListRetrievalCascade": None,
        "easeConfig": {"l2Options": [50, 500], "reviewsMultiplier": 0.1},
        "gru4recConfig": {"numEpochsOptions": [2], "batchSizeOptions": [32]},
        "modelsDisabled": {"5": True, "gru4rec": True, "2": False},
    }

    version = config_version_create(payload=payload)
    config = config_current()

    assert config.retrieval_size == 500 and config.ordering_size == 20
    assert config.homepage_retrieval_cascade == ("popularity", "ease", "selection")
    assert config.ease_config.l2_options == (50.0, 500.0)
    assert config.gru4rec_config.num_epochs_options == (2,)
    assert config.models_disabled == {"ease": True, "gru4rec": True}
    assert config.is_disabled("ease") and not config.is_disabled("popularity")
    assert version.data["retrieval_size"] == 500


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"retrievalSize": 0}, "retrievalSize"),
        ({"retrievalSize": "many"}, "retrievalSize"),
        ({"orderingSize": -1}, "orderingSize"),
        ({"homepageScoringCascade": ["ease", "nonsense"]}, "homepageScoringCascade"),
        ({"cartRetrievalCascade": "similarity"}, "cartRetrievalCascade"),
        ({"easeConfig": {"l2Options": []}}, "easeConfig.l2Options"),
        ({"modelsDisabled": {"nonsense": True}}, "modelsDisabled"),
        ({"modelsDisabled": {"0": True}}, "modelsDisabled"),
    ],
)
def test_invalid_config_is_rejected_naming_the_field(payload, field):
    with pytest.raises(ConfigError) as error:
        config_from_payload(payload)

    assert field in error.value.errors


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_invalid_config_stores_nothing():
    with pytest.raises(ConfigError):
        config_version_create(payload={"retrievalSize": -5})

    assert ConfigVersion.objects.count() == 0
    assert config_current() == DEFAULT_CONFIG


def test_dashboard_form_round_trips():
    dashboard = DEFAULT_CONFIG.to_dashboard()

    assert dashboard["retrievalSize"] == 1000
    assert dashboard["categoryListRetrievalCascade"] is None
    assert dashboard["easeConfig"]["l2Options"] == [1.0, 10.0, 100.0]
    assert config_from_payload(dashboard) == DEFAULT_CONFIG
