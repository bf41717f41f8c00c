"""A/B experiments: the config's experiments are validated, a session lands in one arm by a stable
weighted hash, and predictions are served and recorded with their arm's config."""

import hashlib
import subprocess
import sys
from collections import Counter

import pytest
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from feedback.models import PredictionResult
from recommendations.config import (
    DEFAULT_CONFIG,
    ConfigError,
    Experiment,
    ExperimentArm,
    config_from_payload,
)
from recommendations.experiments import arm_for_session, experiment_assignment, session_position
from recommendations.selectors import config_current
from recommendations.services import config_version_create, experiment_start, experiment_stop
from recommendations.tests.factories import make_catalogue, make_orders

POPULAR_HOMEPAGE = {"homepageScoringCascade": ["popularity"]}


def _experiment(name="homepage-popularity", active=True, weights=(1, 1), overrides=POPULAR_HOMEPAGE) -> dict:
    return {
        "name": name,
        "active": active,
        "arms": [
            {"name": "control", "weight": weights[0]},
            {"name": "popular", "weight": weights[1], "overrides": overrides},
        ],
    }


# --- assignment ------------------------------------------------------------------------------


def test_a_session_position_is_the_first_eight_bytes_of_sha256_of_experiment_and_session():
    digest = hashlib.sha256(b"homepage-popularity:session-1").digest()

    assert digest[:8].hex() == "8a6ece34f5be4181"
    assert session_position("homepage-popularity", "session-1") == 0x8A6ECE34F5BE4181 / 2**64
    assert session_position("homepage-popularity", "session-1") == 0.5407532576843943
    assert session_position("homepage-popularity", "session-2") == 0.6056386558540301
    # Another experiment splits the same sessions independently.
    assert session_position("other", "session-1") == 0.17871408520931434


def test_arms_take_consecutive_stretches_in_proportion_to_their_weights():
    experiment = config_from_payload({"experiments": [_experiment()]}).experiments[0]
    # Positions 0.5408, 0.6056, 0.4071, 0.1558, 0.0243, 0.6642: below one half is the control.
    arms = [arm_for_session(experiment, f"session-{i}").name for i in range(1, 7)]

    assert arms == ["popular", "popular", "control", "control", "control", "popular"]


def test_a_thousand_sessions_split_by_weight():
    even = Experiment(name="homepage-popularity", arms=(ExperimentArm("control", 1.0), ExperimentArm("popular", 1.0)))
    three_to_one = Experiment(
        name="homepage-popularity", arms=(ExperimentArm("control", 3.0), ExperimentArm("popular", 1.0))
    )

    assert Counter(arm_for_session(even, f"s{i}").name for i in range(1000)) == {"control": 487, "popular": 513}
    assert Counter(arm_for_session(three_to_one, f"s{i}").name for i in range(1000)) == {
        "control": 730,
        "popular": 270,
    }


def test_the_same_session_gets_the_same_arm_in_another_process():
    code = (
        "from recommendations.experiments import session_position;"
        "print(repr(session_position('homepage-popularity', 'session-1')))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "123"}
    )

    assert float(other.stdout) == session_position("homepage-popularity", "session-1")


def test_anonymous_requests_and_stopped_experiments_get_the_base_config():
    running = config_from_payload({"experiments": [_experiment()]})
    stopped = config_from_payload({"experiments": [_experiment(active=False)]})

    assert experiment_assignment(running, None).config is running
    assert experiment_assignment(running, None).arm is None
    assert experiment_assignment(stopped, "session-1").config is stopped
    assert experiment_assignment(stopped, "session-1").experiment is None
    popular = experiment_assignment(running, "session-1")
    assert (popular.experiment, popular.arm) == ("homepage-popularity", "popular")
    assert popular.config.homepage_scoring_cascade == ("popularity",)
    assert popular.config.retrieval_size == running.retrieval_size
    control = experiment_assignment(running, "session-3")
    assert (control.arm, control.config) == ("control", running)


# --- validation ------------------------------------------------------------------------------


def test_experiments_are_stored_normalised_and_read_back_equal():
    config = config_from_payload(
        {"experiments": [_experiment(weights=(1, 2.5), overrides={"retrieval_size": 200.0, "diversityWeight": 0})]}
    )

    assert config.to_data()["experiments"] == [
        {
            "name": "homepage-popularity",
            "active": True,
            "arms": [
                {"name": "control", "weight": 1.0, "overrides": {}},
                {"name": "popular", "weight": 2.5, "overrides": {"retrievalSize": 200, "diversityWeight": 0.0}},
            ],
        }
    ]
    assert config.to_dashboard()["experiments"] == config.to_data()["experiments"]
    assert config_from_payload(config.to_data()) == config


def test_bad_overrides_are_refused_naming_the_arm_and_key():
    with pytest.raises(ConfigError) as out_of_bounds:
        config_from_payload({"experiments": [_experiment(overrides={"retrievalSize": 0})]})
    with pytest.raises(ConfigError) as unknown_model:
        config_from_payload({"experiments": [_experiment(overrides={"homepageScoringCascade": ["nope"]})]})

    assert out_of_bounds.value.errors == {
        "experiments.0.arms.1.overrides.retrievalSize": ["Must be between 1 and 100000."]
    }
    assert unknown_model.value.errors == {
        "experiments.0.arms.1.overrides.homepageScoringCascade": ["Unknown model 'nope'."]
    }


def test_an_arm_cannot_override_model_options_the_trainer_or_experiments():
    payload = {
        "experiments": [
            _experiment(overrides={"easeConfig": {"l2Options": [5]}, "trainerConfig": {}, "experiments": []}),
        ]
    }

    with pytest.raises(ConfigError) as refused:
        config_from_payload(payload)

    errors = refused.value.errors
    assert sorted(errors) == [
        "experiments.0.arms.1.overrides.easeConfig",
        "experiments.0.arms.1.overrides.experiments",
        "experiments.0.arms.1.overrides.trainerConfig",
    ]
    assert errors["experiments.0.arms.1.overrides.easeConfig"][0].startswith(
        "An arm cannot override this key: model options apply when the model is trained"
    )


def test_experiment_shape_errors_name_the_field():
    payload = {
        "experiments": [
            {"name": "a b", "arms": [{"name": "x"}]},
            {"name": "ok", "active": "yes", "arms": [{"name": "x", "weight": 0}, {"name": "x", "colour": 1}]},
        ]
    }

    with pytest.raises(ConfigError) as refused:
        config_from_payload(payload)

    assert refused.value.errors == {
        "experiments.0.name": [
            "The experiment name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit."
        ],
        "experiments.0.arms": ["Give a list of 2 to 10 arms."],
        "experiments.1.active": ["Must be true or false."],
        "experiments.1.arms.0.weight": ["Must be a number above 0 and at most 1e+06."],
        "experiments.1.arms.1.colour": ["Unknown field; an arm has name, weight and overrides."],
        "experiments.1.arms.1.name": ["Another arm is named 'x'."],
    }


def test_only_one_experiment_runs_at_a_time():
    with pytest.raises(ConfigError) as refused:
        config_from_payload({"experiments": [_experiment(name="a"), _experiment(name="b")]})

    assert refused.value.errors == {"experiments": ["Only one experiment can be active at a time; active here: a, b."]}


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_save_without_experiments_keeps_them():
    config_version_create(payload={"experiments": [_experiment()]})

    config_version_create(payload={"retrievalSize": 300, "homepageScoringCascade": ["ease", "popularity"]})

    config = config_current()
    assert config.retrieval_size == 300
    assert [e.name for e in config.experiments] == ["homepage-popularity"]
    assert DEFAULT_CONFIG.experiments == ()


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_bad_experiment_posted_as_a_config_answers_400_and_stores_nothing():
    response = APIClient().post(
        "/store_object",
        {"_model_class": "Config", "experiments": [_experiment(overrides={"retrievalSize": -1})]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"experiments.0.arms.1.overrides.retrievalSize": ["Must be between 1 and 100000."]}
    assert config_current() == DEFAULT_CONFIG


# --- start and stop ------------------------------------------------------------------------


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_start_adds_a_running_experiment_and_stop_returns_every_session_to_the_base():
    config_version_create(payload={"diversityWeight": 0.5})
    arms = [ExperimentArm("control"), ExperimentArm("popular", 1.0, POPULAR_HOMEPAGE)]

    experiment_start(name="homepage-popularity", arms=arms, created_by="op")
    running = config_current()
    experiment_stop(name="homepage-popularity", created_by="op")
    stopped = config_current()

    assert running.active_experiment().name == "homepage-popularity"
    assert running.diversity_weight == 0.5
    assert stopped.active_experiment() is None
    assert stopped.experiments[0].active is False
    assert experiment_assignment(stopped, "session-1").config == stopped


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_starting_a_second_experiment_or_stopping_an_unknown_one_is_refused():
    config_version_create(payload={"experiments": [_experiment()]})

    with pytest.raises(ConfigError) as second:
        experiment_start(name="another", arms=[ExperimentArm("a"), ExperimentArm("b")])
    with pytest.raises(ConfigError) as unknown:
        experiment_stop(name="nope")

    assert second.value.errors == {
        "experiments": ["Only one experiment can be active at a time; active here: homepage-popularity, another."]
    }
    assert unknown.value.errors == {"experiments": ["No running experiment is named 'nope'."]}


# --- serving -------------------------------------------------------------------------------


def _shop():
    make_catalogue({f"v{i}": {"product": i} for i in range(8)})
    make_orders([("buyer", "v3", 5), ("buyer", "v5", 2)])
    # The base serves the homepage by selection; the experiment's second arm by popularity.
    config_version_create(payload={"homepageScoringCascade": ["selection"]})


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_each_session_is_served_and_recorded_with_its_arm_on_every_request():
    _shop()
    config_version_create(payload={"experiments": [_experiment()]})
    client = APIClient()

    served = {}
    for session in ("session-1", "session-3", "session-1", "session-3", None):
        body = {"recommendation_type": "HOMEPAGE", "session_id": session, "user_id": None, "limit": 4}
        items = client.post("/predict", body, format="json").json()
        served.setdefault(session, set()).add(items[0]["rs_info"]["model_name"])

    assert served == {"session-1": {"popularity"}, "session-3": {"selection"}, None: {"selection"}}
    rows = list(PredictionResult.objects.order_by("id").values_list("session_id", "experiment", "arm"))
    assert rows == [
        ("session-1", "homepage-popularity", "popular"),
        ("session-3", "homepage-popularity", "control"),
        ("session-1", "homepage-popularity", "popular"),
        ("session-3", "homepage-popularity", "control"),
        (None, None, None),
    ]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_after_stopping_an_experiment_predictions_have_no_arm():
    _shop()
    config_version_create(payload={"experiments": [_experiment()]})
    experiment_stop(name="homepage-popularity")

    body = {"recommendation_type": "HOMEPAGE", "session_id": "session-1", "user_id": None, "limit": 4}
    items = APIClient().post("/predict", body, format="json").json()

    assert items[0]["rs_info"]["model_name"] == "selection"
    assert PredictionResult.objects.get().experiment is None
