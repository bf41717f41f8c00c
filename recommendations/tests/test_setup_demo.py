"""setup_demo keeps a stored catalogue, trains what can be trained and makes a dashboard login."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from conftest import ALL_DATABASES
from modelstore.models import LatestIdentifier
from recommendations.tests.factories import make_catalogue

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def test_setup_demo_on_a_stored_catalogue_trains_what_it_can_and_creates_a_login(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    make_catalogue({sku: {"product": i, "attributes": {1: float(i)}} for i, sku in enumerate("abcd")})
    out, err = StringIO(), StringIO()

    call_command("setup_demo", stdout=out, stderr=err)

    assert "keeping the stored data" in out.getvalue()
    assert set(LatestIdentifier.objects.values_list("model_name", flat=True)) == {"similarity"}
    assert "ease: skipped" in out.getvalue() and "gru4rec: skipped" in out.getvalue()
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    password = (tmp_path / "demo-admin.txt").read_text().split("password: ")[1].strip()
    assert admin.check_password(password)


def test_setup_demo_never_touches_existing_users(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    get_user_model().objects.create_user("operator", password="x" * 12)
    make_catalogue({"a": {"product": 1}})

    call_command("setup_demo", stdout=StringIO(), stderr=StringIO())

    assert list(get_user_model().objects.values_list("username", flat=True)) == ["operator"]
    assert not (tmp_path / "demo-admin.txt").exists()
