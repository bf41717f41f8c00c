"""/api/schema/: OpenAPI 3.1 of every endpoint with the real shapes (the store's discriminated
classes, the ecoseller backend's string forms, the error answers), the token, the browsable UI
served from this host, and real answers that validate against it."""

import pytest
import yaml
from django.contrib.auth import get_user_model
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from monitoring.tests.factories import at, click, prediction
from recommendations.services import config_version_create
from recommendations.tests.factories import make_catalogue
from store.registry import STORE_CLASSES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

PATHS = [
    "/",
    "/store_object",
    "/store_objects",
    "/predict",
    "/predict/product_positions",
    "/dashboard",
    "/dashboard/configuration",
    "/dashboard/performance",
    "/dashboard/training",
    "/metrics",
]


@pytest.fixture
def schema() -> dict:
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def _answer_schema(schema: dict, path: str, method: str = "get", status: str = "200") -> dict:
    return schema["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]


def test_the_schema_is_openapi_3_and_lists_every_endpoint(schema):
    assert schema["openapi"] == "3.1.0"
    assert sorted(schema["paths"]) == sorted(PATHS)
    for path in PATHS[1:]:
        (operation,) = schema["paths"][path].values()
        assert operation["security"] == [{"apiToken": []}]


def test_store_objects_are_a_oneof_of_every_class_told_apart_by_model_class(schema):
    components = schema["components"]["schemas"]
    request = components["StoreObjectRequest"]

    assert request["discriminator"]["propertyName"] == "_model_class"
    assert sorted(request["discriminator"]["mapping"]) == sorted(STORE_CLASSES)
    for name, reference in request["discriminator"]["mapping"].items():
        component = components[reference.rsplit("/", 1)[-1]]
        assert component["properties"]["_model_class"] == {"type": "string", "const": name}
        assert "_model_class" in component["required"]
    array = schema["paths"]["/store_objects"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert array == {"type": "array", "items": {"$ref": "#/components/schemas/StoreObjectRequest"}}
    config = components["ConfigRequest"]["properties"]
    assert config["retrievalSize"]["minimum"] == 1 and config["retrievalSize"]["maximum"] == 100_000
    assert config["experiments"]["items"]["properties"]["arms"]["minItems"] == 2


def test_predict_takes_the_backends_sku_strings_and_documents_the_errors(schema):
    request = schema["components"]["schemas"]["PredictRequestRequest"]
    variants = request["properties"]["variants"]["oneOf"]

    assert [form["type"] for form in variants] == ["array", "string", "integer"]
    assert {"country", "pricelist", "product_id"} <= set(request["properties"])
    assert request["additionalProperties"] is False
    assert sorted(schema["paths"]["/predict"]["post"]["responses"]) == ["200", "400", "401", "413", "503"]
    Draft202012Validator(_answer_schema(schema, "/predict", "post", "400")).validate({"limit": ["Too big."]})
    Draft202012Validator(_answer_schema(schema, "/predict", "post", "401")).validate({"detail": "No token."})


def test_real_answers_validate_against_the_schema(schema):
    make_catalogue({str(i): {"product": i} for i in range(4)})
    config_version_create(
        payload={
            "experiments": [{"name": "e", "arms": [{"name": "a"}, {"name": "b", "overrides": {"retrievalSize": 9}}]}]
        }
    )
    prediction(["0"], session="s", experiment="e", arm="a", create_at=at(-5))
    click("0", session="s", create_at=at(0))
    client = APIClient()
    query = {"date_from": "2024-03-10T00:00:00.000Z", "date_to": "2024-03-11"}
    body = {"recommendation_type": "CART", "session_id": "s", "variants_in_cart": "0,1", "limit": 2}

    answers = {
        ("/predict", "post"): client.post("/predict", body, format="json"),
        ("/dashboard", "get"): client.get("/dashboard", query),
        ("/dashboard/configuration", "get"): client.get("/dashboard/configuration"),
        ("/dashboard/performance", "get"): client.get("/dashboard/performance", query),
        ("/dashboard/training", "get"): client.get("/dashboard/training", query),
        ("/store_object", "post"): client.post("/store_object", {"_model_class": "Category", "id": 3}, format="json"),
        ("/", "get"): client.get("/"),
    }

    for (path, method), response in answers.items():
        assert response.status_code == 200, (path, response.content)
        Draft202012Validator(_answer_schema(schema, path, method)).validate(response.json())
    assert answers[("/dashboard/performance", "get")].json()["experiments"][0]["name"] == "e"


def test_the_schema_needs_the_token_or_a_staff_login(client, settings):
    settings.RS_API_TOKEN = "secret"

    assert APIClient().get("/api/schema/").status_code == 401
    assert APIClient().get("/api/schema/", HTTP_AUTHORIZATION="Bearer secret").status_code == 200
    client.force_login(get_user_model().objects.create_user("operator", password="pw-123456", is_staff=True))
    assert client.get("/api/schema/").status_code == 200


def test_the_browsable_ui_is_served_from_this_host(client):
    client.force_login(get_user_model().objects.create_user("operator", password="pw-123456", is_staff=True))

    page = client.get("/api/schema/swagger-ui/").content.decode()
    asset = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "https://" not in page.replace("https://swagger.io", "")
    assert asset.status_code == 200
