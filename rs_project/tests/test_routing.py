"""Every model lives in its documented database, and only there."""

import pytest
from django.apps import apps
from django.db import connections

from conftest import ALL_DATABASES
from feedback.models import ProductDetailEnter
from products.models import ProductVariant
from rs_project.db_router import AppDatabaseRouter

EXPECTED_ALIAS = {
    "products": "products",
    "feedback": "feedback",
    "modelstore": "modelstore",
    "recommendations": "similarity",
    "auth": "default",
    "admin": "default",
    "sessions": "default",
    "contenttypes": "default",
}

ROUTED_MODELS = [
    model for model in apps.get_models() if model._meta.app_label in EXPECTED_ALIAS and model._meta.managed
]


@pytest.mark.django_db(databases=ALL_DATABASES)
@pytest.mark.parametrize("model", ROUTED_MODELS, ids=lambda m: m._meta.label)
def test_model_is_routed_to_its_database_and_its_table_exists_there_only(model):
    alias = EXPECTED_ALIAS[model._meta.app_label]
    router = AppDatabaseRouter()

    assert router.db_for_read(model) == alias
    assert router.db_for_write(model) == alias
    tables = {a: set(connections[a].introspection.table_names()) for a in ALL_DATABASES}
    assert model._meta.db_table in tables[alias]
    assert [a for a in ALL_DATABASES if model._meta.db_table in tables[a]] == [alias]


def test_router_refuses_relations_across_databases():
    router = AppDatabaseRouter()
    variant = ProductVariant(sku="a")
    event = ProductDetailEnter(session_id="s", product_variant_sku="a")

    assert router.allow_relation(variant, event) is False
    assert router.allow_relation(variant, ProductVariant(sku="b")) is True


def test_router_migrates_each_app_only_into_its_alias():
    router = AppDatabaseRouter()

    assert router.allow_migrate("products", "products") is True
    assert router.allow_migrate("feedback", "products") is False
    assert router.allow_migrate("similarity", "recommendations") is True
    assert router.allow_migrate("default", "recommendations") is False
    assert router.allow_migrate("default", "auth") is True
    assert router.allow_migrate("modelstore", "auth") is False
