"""The admin of the model storage: config versions, the trainer queue and the training records."""

import json

import pytest
from django.contrib.auth import get_user_model

from conftest import ALL_DATABASES
from modelstore.models import ConfigVersion, TrainerQueueItem, TrainingFinished, TrainingStarted
from recommendations.selectors import config_current
from recommendations.services import config_version_create

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", password="pw-123456"))
    return client


@pytest.mark.parametrize(
    "model",
    [
        "configversion",
        "trainerqueueitem",
        "latestidentifier",
        "trainingstarted",
        "trainingfinished",
        "trainingstepstarted",
        "trainingstepfinished",
        "trainingstatistics",
    ],
)
def test_changelists_render(admin_client, model):
    assert admin_client.get(f"/admin/modelstore/{model}/").status_code == 200


def test_config_versions_list_marks_the_current_one_and_show_indented_json(admin_client):
    config_version_create(payload={"retrievalSize": 100}, created_by="a")
    current = config_version_create(payload={"retrievalSize": 200, "modelsDisabled": {"ease": True}}, created_by="b")

    listing = admin_client.get("/admin/modelstore/configversion/").content.decode()
    detail = admin_client.get(f"/admin/modelstore/configversion/{current.pk}/change/").content.decode()

    assert listing.count('alt="True"') == 1
    assert "200 / 50" in listing and "ease" in listing
    assert "&quot;retrieval_size&quot;: 200" in detail


def test_adding_a_config_version_in_the_admin_makes_it_current(admin_client):
    data = config_current().to_data()
    data["ordering_size"] = 20

    response = admin_client.post("/admin/modelstore/configversion/add/", {"data": json.dumps(data)})

    assert response.status_code == 302
    assert config_current().ordering_size == 20
    assert ConfigVersion.objects.get().created_by == "root"


def test_an_invalid_config_in_the_admin_stores_nothing(admin_client):
    response = admin_client.post("/admin/modelstore/configversion/add/", {"data": json.dumps({"retrievalSize": -1})})

    assert response.status_code == 200
    assert "retrievalSize: Must be between" in response.content.decode()
    assert ConfigVersion.objects.count() == 0


def test_queue_again_creates_new_items(admin_client):
    failed = TrainerQueueItem.objects.create(model_name="ease", status=TrainerQueueItem.Status.FAILED)

    admin_client.post(
        "/admin/modelstore/trainerqueueitem/",
        {"action": "queue_again", "_selected_action": [failed.pk]},
    )

    assert TrainerQueueItem.objects.filter(status="PENDING", model_name="ease", requested_by="admin:root").count() == 1
    assert TrainerQueueItem.objects.get(pk=failed.pk).status == "FAILED"


def test_training_starts_show_their_outcome(admin_client):
    done = TrainingStarted.objects.create(model_name="ease", model_identifier="ease_done")
    TrainingFinished.objects.create(training_id=done.training_id, outcome="SKIPPED")
    TrainingStarted.objects.create(model_name="ease", model_identifier="ease_running")

    html = admin_client.get("/admin/modelstore/trainingstarted/").content.decode()

    assert "SKIPPED" in html and "unfinished" in html
