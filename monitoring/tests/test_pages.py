"""The staff pages: who may see them, what they show, saving a config version, and "Train now"."""

import dataclasses
import datetime
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model

from conftest import ALL_DATABASES
from modelstore.models import ConfigVersion, TrainerQueueItem, TrainingFinished, TrainingStarted, TrainingStatistics
from monitoring.forms import EDITABLE_CASCADES
from monitoring.tests.factories import click, prediction
from recommendations.algorithms.registry import MODELS
from recommendations.selectors import config_current
from recommendations.services import config_version_create
from recommendations.tests.factories import make_catalogue

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

PAGES = ["/monitoring/performance/", "/monitoring/experiments/", "/monitoring/training/", "/monitoring/configuration/"]


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_user("operator", password="pw-123456", is_staff=True)
    client.force_login(user)
    return client


def _form_data(config=None) -> dict:
    """What the configuration page posts when nothing is changed."""
    config = config or config_current()
    data = {
        "retrieval_size": config.retrieval_size,
        "ordering_size": config.ordering_size,
        "diversity_weight": config.diversity_weight,
    }
    for name, model in MODELS.items():
        if not model.is_last_resort and not config.is_disabled(name):
            data[f"enabled_{name}"] = "on"
    for name in EDITABLE_CASCADES:
        data[name] = ", ".join(getattr(config, name))
    for model in MODELS.values():
        if model.options is None:
            continue
        for key, value in getattr(config, model.options_key()).__dict__.items():
            if isinstance(value, tuple):
                value = ", ".join(str(v) for v in value)
            data[key] = "" if value is None else value
    return data


class _FormReader(HTMLParser):
    """What a browser would post from the form with `form_id`: named inputs (checkboxes only when
    checked), textareas and selected options, as rendered."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.data: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside or "name" not in attrs and tag != "option":
            return
        if tag == "input" and "disabled" not in attrs:
            kind = attrs.get("type", "text")
            if kind == "checkbox":
                if "checked" in attrs:
                    self.data[attrs["name"]] = attrs.get("value", "on")
            elif kind not in ("submit", "button"):
                self.data[attrs["name"]] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.data[self._textarea] = ""
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def _rendered_form(client, path: str, form_id: str) -> dict[str, str]:
    reader = _FormReader(form_id)
    reader.feed(client.get(path).content.decode())
    return reader.data


def test_saving_the_configuration_page_unchanged_keeps_the_config(staff):
    config_version_create(payload={"diversityWeight": 0.4, "trainerConfig": {"maxAttempts": 5}})
    before = config_current()
    posted = _rendered_form(staff, "/monitoring/configuration/", "configuration")

    response = staff.post("/monitoring/configuration/", posted)

    assert response.status_code == 302
    for name in ("selection", "popularity", "similarity", "gru4rec", "ease"):
        assert posted[f"enabled_{name}"] == "on"
    assert config_current() == before
    assert config_current().models_disabled == {}


def test_changing_one_field_of_the_configuration_page_changes_only_that_field(staff):
    before = config_current()
    posted = _rendered_form(staff, "/monitoring/configuration/", "configuration")
    posted["diversity_weight"] = "0.6"

    response = staff.post("/monitoring/configuration/", posted)

    assert response.status_code == 302
    assert config_current() == dataclasses.replace(before, diversity_weight=0.6)


def test_unchecking_a_model_on_the_configuration_page_disables_only_that_model(staff):
    before = config_current()
    posted = _rendered_form(staff, "/monitoring/configuration/", "configuration")
    del posted["enabled_ease"]

    staff.post("/monitoring/configuration/", posted)

    assert config_current() == dataclasses.replace(before, models_disabled={"ease": True})


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_users_are_sent_to_the_login(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


def test_users_without_staff_status_are_sent_to_the_login(client):
    client.force_login(get_user_model().objects.create_user("shopper", password="pw-123456"))

    assert client.get("/monitoring/performance/").status_code == 302


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_for_staff(staff, path):
    response = staff.get(path)

    assert response.status_code == 200
    assert b"Recommender" in response.content


def test_monitoring_root_redirects_to_performance(staff):
    assert staff.get("/monitoring/")["Location"] == "/monitoring/performance/"


def test_performance_page_shows_charts_and_percentages(staff, clock):
    clock(datetime.datetime(2026, 6, 17, 0, 20, tzinfo=datetime.UTC))  # an hour ago was yesterday
    make_catalogue({str(i): {} for i in range(4)})
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    prediction(["0", "1"], session="s", scoring="ease", type="HOMEPAGE", create_at=now - datetime.timedelta(hours=1))
    prediction(["2"], session="s", scoring="ease", type="HOMEPAGE", create_at=now - datetime.timedelta(hours=1))
    click("2", session="s", model="ease", type="HOMEPAGE", create_at=now - datetime.timedelta(minutes=30))

    response = staff.get("/monitoring/performance/")

    html = response.content.decode()
    assert html.count('<svg class="chart"') == 4
    assert 'data-chart="bar"' in html and 'data-chart="line"' in html
    assert '<span class="value" data-metric="hit-rate">50.0 %</span>' in html
    assert '<span class="value" data-metric="coverage">75.0 %</span>' in html
    assert "Hit rate @ 10" in html and "%k%" not in html


def test_performance_page_takes_a_date_range(staff):
    make_catalogue({"0": {}})
    prediction(["0"], create_at=datetime.datetime(2024, 3, 10, 12, tzinfo=datetime.UTC))

    inside = staff.get("/monitoring/performance/", {"date_from": "2024-03-10", "date_to": "2024-03-10"})
    outside = staff.get("/monitoring/performance/", {"date_from": "2024-03-11", "date_to": "2024-03-12"})

    assert '<span class="value" data-metric="predictions">1</span>' in inside.content.decode()
    assert '<span class="value" data-metric="predictions">0</span>' in outside.content.decode()


def test_training_page_shows_history_and_train_buttons(staff):
    started = TrainingStarted.objects.create(model_name="similarity", model_identifier="similarity_x")
    TrainingFinished.objects.create(training_id=started.training_id, outcome="FAILED", error="MemoryError: boom")

    html = staff.get("/monitoring/training/").content.decode()

    assert "similarity_x" in html and "MemoryError: boom" in html
    for name in ("similarity", "ease", "gru4rec"):
        assert f'data-train="{name}"' in html
    assert 'data-train="popularity"' not in html
    assert "Popularity model does not need training." in html


def test_training_page_shows_what_the_pipeline_serves_beside_the_model_alone(staff):
    TrainingStatistics.objects.create(
        model_name="sknn",
        model_identifier="sknn_x",
        duration=1.0,
        peak_memory=100.0,
        peak_memory_percentage=1.0,
        metrics={
            "sessions": 20000,
            "served_evaluation": {
                "events": 1000,
                "model": {"recall@20": 0.555, "mrr@20": 0.17241},
                "served": {
                    "HOMEPAGE": {"events": 1000, "recall@20": 0.26, "mrr@20": 0.0967},
                    "PRODUCT_DETAIL": {"events": 640, "recall@20": None, "mrr@20": None},
                },
            },
        },
    )

    html = staff.get("/monitoring/training/").content.decode()

    assert "Recall@20: model alone 0.555 · served HOMEPAGE 0.26 · PRODUCT_DETAIL – (1,000 held-out clicks)" in html
    assert "MRR@20: model alone 0.1724 · served HOMEPAGE 0.0967 · PRODUCT_DETAIL –" in html
    assert "sessions: 20000" in html


def test_saving_the_configuration_creates_a_current_version(staff):
    config_version_create(payload={"trainerConfig": {"maxAttempts": 7}})
    data = _form_data()
    data["product_detail_retrieval_cascade"] = "popularity, similarity"
    data["retrieval_size"] = 300
    data["l2_options"] = "5, 50"
    del data["enabled_gru4rec"]

    response = staff.post("/monitoring/configuration/", data)

    assert response.status_code == 302
    version = ConfigVersion.objects.order_by("-id").first()
    assert ConfigVersion.objects.count() == 2
    assert version.created_by == "operator"
    config = config_current()
    assert config.product_detail_retrieval_cascade == ("popularity", "similarity")
    assert config.retrieval_size == 300
    assert config.ease_config.l2_options == (5.0, 50.0)
    assert config.models_disabled == {"gru4rec": True}
    assert config.trainer_config.max_attempts == 7  # what the page does not edit is kept


def test_an_invalid_configuration_shows_the_errors_and_stores_nothing(staff):
    config_version_create(payload={"retrievalSize": 700})
    data = _form_data()
    data["homepage_scoring_cascade"] = "ease, nosuchmodel"
    data["batch_size_options"] = "64, lots"
    data["homepage_retrieval_cascade"] = "similarity"  # similarity needs a viewed product or a cart

    response = staff.post("/monitoring/configuration/", data)

    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"homepage_scoring_cascade", "batch_size_options", "homepage_retrieval_cascade"}
    assert form.errors["homepage_scoring_cascade"] == ["Unknown model 'nosuchmodel'."]
    assert ConfigVersion.objects.count() == 1
    assert config_current().retrieval_size == 700
    assert "Nothing was saved" in response.content.decode()


def test_validator_errors_land_on_the_fields_they_name(staff):
    data = _form_data()
    data["retrieval_size"] = 0
    data["l2_options"] = "-1"
    data["batch_size_options"] = ""

    response = staff.post("/monitoring/configuration/", data)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["retrieval_size"] == ["Must be between 1 and 100000."]
    assert errors["l2_options"] == ["Must be between 0 and 1e+09."]
    assert errors["batch_size_options"] == ["Give at least one option."]
    assert ConfigVersion.objects.count() == 0


def test_train_now_queues_one_training(staff):
    response = staff.post("/monitoring/train/", {"model_name": "ease", "next": "/monitoring/configuration/"})
    again = staff.post("/monitoring/train/", {"model_name": "ease"})

    assert response.status_code == 302 and response["Location"] == "/monitoring/configuration/"
    assert again["Location"] == "/monitoring/training/"
    item = TrainerQueueItem.objects.get()
    assert (item.model_name, item.status, item.requested_by) == ("ease", "PENDING", "dashboard:operator")


@pytest.mark.parametrize("model_name", ["popularity", "nosuchmodel", ""])
def test_train_now_refuses_models_without_training(staff, model_name):
    response = staff.post("/monitoring/train/", {"model_name": model_name, "next": "https://evil.example/"})

    assert response["Location"] == "/monitoring/training/"
    assert TrainerQueueItem.objects.count() == 0


def test_train_now_needs_post_and_staff(client, staff):
    assert staff.get("/monitoring/train/").status_code == 405
    staff.logout()
    assert client.post("/monitoring/train/", {"model_name": "ease"}).status_code == 302
    assert TrainerQueueItem.objects.count() == 0
