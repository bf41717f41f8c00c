"""OpenAPI shapes of `/store_object` and `/store_objects`: one object, or an array of them, each
one of the registry's classes told apart by `_model_class` (a discriminated oneOf)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import PolymorphicProxySerializer

from recommendations.openapi import config_schema
from store.registry import STORE_CLASSES

STORE_OBJECT = PolymorphicProxySerializer(
    component_name="StoreObject",
    serializers={name: store_class.serializer_class for name, store_class in STORE_CLASSES.items()},
    resource_type_field_name="_model_class",
    many=False,
)
STORE_OBJECTS = PolymorphicProxySerializer(
    component_name="StoreObject",
    serializers={name: store_class.serializer_class for name, store_class in STORE_CLASSES.items()},
    resource_type_field_name="_model_class",
    many=True,
)

STORE_ANSWER: dict[str, Any] = {
    "type": "object",
    "required": ["stored"],
    "properties": {
        "stored": {
            "type": "object",
            "description": "_model_class → objects written (events already stored are not counted again).",
            "additionalProperties": {"type": "integer", "minimum": 0},
        }
    },
}


class ConfigSerializerExtension(OpenApiSerializerExtension):
    target_class = "store.serializers.ConfigSerializer"

    def get_name(self, auto_schema=None, direction=None):
        return "Config"

    def map_serializer(self, auto_schema, direction):
        return config_schema(for_request=True)


class OrderLineFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "store.serializers.OrderLineField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "array",
            "description": "[sku, quantity]",
            "prefixItems": [
                {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 255}, {"type": "integer"}]},
                {"type": "integer", "minimum": 1},
            ],
            "minItems": 2,
            "maxItems": 2,
        }


def discriminator_add(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: every class of the store API gets its `_model_class`
    property (a constant, required), which the serializers do not declare because the registry
    reads it before choosing one."""
    schemas = result.get("components", {}).get("schemas", {})
    for proxy in ("StoreObjectRequest", "StoreObject"):
        mapping = schemas.get(proxy, {}).get("discriminator", {}).get("mapping", {})
        for name, reference in mapping.items():
            component = schemas[reference.rsplit("/", 1)[-1]]
            component.setdefault("properties", {})
            component["properties"] = {"_model_class": {"type": "string", "const": name}, **component["properties"]}
            required = component.setdefault("required", [])
            if "_model_class" not in required:
                required.insert(0, "_model_class")
    return result
