"""/dashboard/performance's `experiments`: per arm the predictions, hit rate, future hit rate,
click-through and coverage with Wilson 95% intervals and a two-proportion test against the
control, on hand-made predictions and events."""

import pytest
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from monitoring.tests.factories import at, click, enter, prediction, recommendation_view
from recommendations.services import config_version_create, experiment_stop
from recommendations.tests.factories import make_catalogue

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

RANGE = {"date_from": "2024-03-10T11:00:00.000Z", "date_to": "2024-03-10T13:00:00.000Z"}
EXPERIMENT = {
    "name": "cart-test",
    "arms": [
        {"name": "control"},
        {"name": "popular", "weight": 3, "overrides": {"cartScoringCascade": ["popularity"]}},
    ],
}


def _scenario():
    """Ten variants. Control: four lists of two variants, one clicked (c1), one viewed later (c2),
    two recommendation views in c1. Popular: four lists of three, two clicked (p1, p2), one more
    viewed later (p3), one recommendation view each in p1 and p2."""
    make_catalogue({str(i): {} for i in range(10)})
    config_version_create(payload={"experiments": [EXPERIMENT]})
    for number in range(1, 5):
        prediction(["0", "1"], session=f"c{number}", experiment="cart-test", arm="control", create_at=at(-60))
        prediction(["2", "3", "4"], session=f"p{number}", experiment="cart-test", arm="popular", create_at=at(-60))
    prediction(["5"], session="x", create_at=at(-60))  # outside the experiment
    click("0", session="c1", create_at=at(0))
    enter("1", session="c2", create_at=at(0))
    click("2", session="p1", create_at=at(0))
    click("3", session="p2", position=1, create_at=at(0))
    enter("4", session="p3", create_at=at(0))
    recommendation_view("0", session="c1", create_at=at(-30))
    recommendation_view("1", session="c1", create_at=at(-30))
    recommendation_view("2", session="p1", create_at=at(-30))
    recommendation_view("3", session="p2", create_at=at(-30))
    recommendation_view("9", session="x", create_at=at(-30))  # no arm


def _experiments():
    response = APIClient().get("/dashboard/performance", RANGE)
    assert response.status_code == 200
    return response.json()["experiments"]


def _rounded(metric):
    return {
        key: (
            [round(bound, 6) for bound in value]
            if key == "ci95" and value
            else round(value, 6)
            if isinstance(value, float)
            else value
        )
        for key, value in metric.items()
    }


def test_each_arm_has_its_figures_intervals_and_verdicts():
    _scenario()

    (experiment,) = _experiments()

    assert {k: experiment[k] for k in ("name", "active", "configured", "predictions")} == {
        "name": "cart-test",
        "active": True,
        "configured": True,
        "predictions": 8,
    }
    control, popular = experiment["arms"]
    assert (control["name"], control["control"], control["weight"], control["overrides"]) == ("control", True, 1.0, {})
    assert (popular["name"], popular["control"], popular["weight"]) == ("popular", False, 3.0)
    assert popular["overrides"] == {"cartScoringCascade": ["popularity"]}
    assert (control["predictions"], popular["predictions"]) == (4, 4)
    # Control hit rate 1/4: Wilson (0.045587, 0.699358), the roots of (p − π)² = z²π(1 − π)/n; the control has no test of its own.
    assert _rounded(control["metrics"]["hitRate"]) == {
        "value": 0.25,
        "successes": 1,
        "trials": 4,
        "ci95": [0.045587, 0.699358],
        "z": None,
        "pValue": None,
        "verdict": "control",
    }
    # 2/4 against 1/4: pooled 3/8, se = √(0.375·0.625·(1/4 + 1/4)) = 0.342327, z = 0.25/0.342327.
    assert _rounded(popular["metrics"]["hitRate"]) == {
        "value": 0.5,
        "successes": 2,
        "trials": 4,
        "ci95": [0.150039, 0.849961],
        "z": 0.730297,
        "pValue": 0.465209,
        "verdict": "no significant difference",
    }
    assert [control["metrics"]["futureHitRate"][k] for k in ("successes", "trials")] == [2, 4]
    assert [popular["metrics"]["futureHitRate"][k] for k in ("successes", "trials")] == [3, 4]
    assert [control["metrics"]["clickThroughRate"][k] for k in ("successes", "trials")] == [1, 2]
    assert [popular["metrics"]["clickThroughRate"][k] for k in ("successes", "trials")] == [2, 2]
    assert [control["metrics"]["coverage"][k] for k in ("successes", "trials")] == [2, 10]
    assert [popular["metrics"]["coverage"][k] for k in ("successes", "trials")] == [3, 10]
    assert popular["metrics"]["coverage"]["verdict"] == "no significant difference"


def test_a_stopped_experiment_is_still_reported_for_its_range():
    _scenario()
    experiment_stop(name="cart-test")

    (experiment,) = _experiments()

    assert (experiment["name"], experiment["active"], experiment["predictions"]) == ("cart-test", False, 8)


def test_an_experiment_no_longer_configured_is_reported_from_its_predictions():
    _scenario()
    config_version_create(payload={"experiments": []})

    (experiment,) = _experiments()

    assert (experiment["configured"], [arm["name"] for arm in experiment["arms"]]) == (False, ["control", "popular"])
    assert experiment["arms"][0]["weight"] is None


def test_without_experiments_the_list_is_empty():
    make_catalogue({"0": {}})
    prediction(["0"])

    assert _experiments() == []
