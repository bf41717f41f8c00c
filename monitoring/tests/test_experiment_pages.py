"""The experiments page: it lists the experiments with each arm's figures, starts one (a new
config version) and stops it (every session back to the base config)."""

import pytest
from django.contrib.auth import get_user_model

from conftest import ALL_DATABASES
from modelstore.models import ConfigVersion
from monitoring.tests.factories import at, click, prediction
from monitoring.tests.test_pages import _rendered_form
from recommendations.experiments import experiment_assignment
from recommendations.selectors import config_current
from recommendations.services import config_version_create
from recommendations.tests.factories import make_catalogue

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_user("operator", password="pw-123456", is_staff=True)
    client.force_login(user)
    return client


def test_starting_from_the_page_runs_the_experiment_in_a_new_config_version(staff):
    config_version_create(payload={"diversityWeight": 0.4})
    posted = _rendered_form(staff, "/monitoring/experiments/", "start-experiment")
    posted.update({"name": "homepage-popularity", "arm_1_name": "popular"})

    response = staff.post("/monitoring/experiments/", posted)

    assert response.status_code == 302
    config = config_current()
    experiment = config.active_experiment()
    assert experiment.name == "homepage-popularity"
    assert [(arm.name, arm.weight, arm.overrides) for arm in experiment.arms] == [
        ("control", 1.0, {}),
        ("popular", 1.0, {"homepageScoringCascade": ["popularity"]}),
    ]
    assert config.diversity_weight == 0.4
    assert ConfigVersion.objects.order_by("-id").first().created_by == "operator"
    assert "homepage-popularity" in staff.get("/monitoring/experiments/").content.decode()


def test_a_bad_override_is_shown_on_its_arm_and_nothing_is_saved(staff):
    posted = _rendered_form(staff, "/monitoring/experiments/", "start-experiment")
    posted.update({"name": "bad", "arm_1_name": "b", "arm_1_overrides": '{"retrievalSize": 0}'})
    versions = ConfigVersion.objects.count()

    response = staff.post("/monitoring/experiments/", posted)

    assert response.status_code == 400
    assert "retrievalSize: Must be between 1 and 100000." in response.content.decode()
    assert ConfigVersion.objects.count() == versions


def test_stopping_from_the_page_returns_every_session_to_the_base_config(staff):
    posted = _rendered_form(staff, "/monitoring/experiments/", "start-experiment")
    staff.post("/monitoring/experiments/", {**posted, "name": "homepage-popularity", "arm_1_name": "popular"})

    response = staff.post("/monitoring/experiments/stop/", {"name": "homepage-popularity"})

    assert response.status_code == 302
    config = config_current()
    assert config.active_experiment() is None
    assert experiment_assignment(config, "session-1").arm is None
    html = staff.get("/monitoring/experiments/").content.decode()
    assert "stopped" in html and 'data-stop="homepage-popularity"' not in html


def test_the_pages_show_each_arm_with_its_interval_and_verdict(staff):
    make_catalogue({str(i): {} for i in range(4)})
    config_version_create(
        payload={"experiments": [{"name": "cart-test", "arms": [{"name": "control"}, {"name": "popular"}]}]}
    )
    prediction(["0"], session="c", experiment="cart-test", arm="control", create_at=at(-60))
    prediction(["1"], session="p", experiment="cart-test", arm="popular", create_at=at(-60))
    click("1", session="p", create_at=at(0))
    query = {"date_from": "2024-03-10", "date_to": "2024-03-10"}

    experiments = staff.get("/monitoring/experiments/", query).content.decode()
    performance = staff.get("/monitoring/performance/", query).content.decode()

    for html in (experiments, performance):
        assert 'data-arm="control"' in html and 'data-arm="popular"' in html
        assert "95 %: 0.0–79.3 %" in html  # Wilson interval of 0 in 1
        # 1/1 against 0/1: pooled 1/2, se = √(0.25 · 2) = 0.7071, z = √2, p = erfc(1)
        assert "no significant difference, p = 0.1573" in html
    assert 'data-stop="cart-test"' in experiments


def test_anonymous_users_cannot_stop_an_experiment(client):
    config_version_create(
        payload={"experiments": [{"name": "cart-test", "arms": [{"name": "control"}, {"name": "popular"}]}]}
    )

    response = client.post("/monitoring/experiments/stop/", {"name": "cart-test"})

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert config_current().active_experiment().name == "cart-test"
