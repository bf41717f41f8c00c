"""OpenAPI shapes of the prediction API and of the config (as `/store_object` takes it and the
dashboard reads it), for drf-spectacular; the config's schema is derived from the typed config,
so its bounds and model names are the validator's."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension

import core.openapi  # noqa: F401  (registers the shared fields' extensions)
from recommendations.algorithms.base import RecommendationType
from recommendations.algorithms.registry import MODELS
from recommendations.config import (
    ARM_WEIGHT_BOUNDS,
    MAX_ARMS,
    MAX_EXPERIMENTS,
    NAME_PATTERN,
    OVERRIDABLE_FIELDS,
    RecommenderConfig,
    to_camel,
)
from recommendations.serializers import IGNORED_KEYS

SKU_LIST: dict[str, Any] = {
    "oneOf": [
        {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
        {"type": "string", "description": 'Comma-joined SKUs, as the ecoseller backend sends them: "a-1,a-2".'},
        {"type": "integer", "description": "A single all-digit SKU, as the ecoseller backend's query parser makes it."},
    ],
    "description": "SKUs: a JSON list, a comma-joined string, an empty string or a bare int.",
}


class SkuListFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "recommendations.serializers.SkuListField"

    def map_serializer_field(self, auto_schema, direction):
        return SKU_LIST


class PredictRequestExtension(OpenApiSerializerExtension):
    """The request's fields, plus the keys the ecoseller backend adds and the service ignores;
    any other key answers 400."""

    target_class = "recommendations.serializers.PredictRequestSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        for key in IGNORED_KEYS:
            schema["properties"][key] = {"description": "Sent by the ecoseller backend; accepted and not used."}
        schema["additionalProperties"] = False
        return schema


PREDICT_ANSWER: dict[str, Any] = {
    "type": "array",
    "description": "The recommended variants, best first.",
    "items": {
        "type": "object",
        "required": ["product_variant_sku", "rs_info"],
        "properties": {
            "product_variant_sku": {"type": "string"},
            "rs_info": {
                "type": "object",
                "description": "What the storefront echoes back in its events, to attribute clicks.",
                "required": ["recommendation_type", "model_identifier", "model_name", "position", "served_by"],
                "properties": {
                    "recommendation_type": {"type": "string", "enum": [t.value for t in RecommendationType]},
                    "model_identifier": {"type": "string"},
                    "model_name": {"type": "string"},
                    "position": {"type": "integer", "minimum": 0},
                    "served_by": {"type": "string", "description": "The model that placed this item."},
                },
            },
        },
    },
}

PRODUCT_POSITIONS_ANSWER: dict[str, Any] = {
    "type": "object",
    "description": "Product id (as a string) → position 0..n-1, best first.",
    "additionalProperties": {"type": "integer", "minimum": 0},
}


# --- the config --------------------------------------------------------------------------

_MODEL_NAME = {"type": "string", "enum": sorted(MODELS)}


def _leaf_schema(f: dataclasses.Field, annotation: Any) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        schema = _leaf_schema(f, inner)
        return {"anyOf": [schema, {"type": "null"}]}
    if annotation is bool:
        return {"type": "boolean"}
    if annotation in (int, float):
        low, high = f.metadata["bounds"]
        return {"type": "integer" if annotation is int else "number", "minimum": low, "maximum": high}
    if annotation is str:
        return {"type": "string"}
    if origin is tuple:
        if f.name.endswith("_cascade"):
            return {"type": "array", "items": _MODEL_NAME, "uniqueItems": True}
        items = _leaf_schema(f, args[0])
        schema = {"type": "array", "items": items}
        if f.name.endswith("_options"):
            schema["minItems"] = 1
        return schema
    raise TypeError(f"no schema for config annotation {annotation!r}")


def _section_schema(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties = {}
    for f in dataclasses.fields(cls):
        if f.name in ("models_disabled", "experiments", "deleted"):
            continue
        annotation = hints[f.name]
        schema = _section_schema(annotation) if dataclasses.is_dataclass(annotation) else _leaf_schema(f, annotation)
        if f.metadata.get("description"):
            schema["description"] = f.metadata["description"]
        properties[to_camel(f.name)] = schema
    return {"type": "object", "properties": properties}


_NAME = {"type": "string", "pattern": f"^{NAME_PATTERN.pattern}$"}


def config_schema(*, for_request: bool) -> dict[str, Any]:
    """The config in camelCase as the dashboard reads it (`for_request=False`) or as
    `/store_object` takes it: any subset of the keys (the others keep their current values)."""
    schema = _section_schema(RecommenderConfig)
    properties = schema["properties"]
    general = _section_schema(RecommenderConfig)["properties"]
    properties["modelsDisabled"] = {
        "type": "object",
        "description": "Model name (or the dashboard's index of the model) → disabled.",
        "additionalProperties": {"type": "boolean"},
    }
    arm = {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": _NAME,
            "weight": {"type": "number", "exclusiveMinimum": ARM_WEIGHT_BOUNDS[0], "maximum": ARM_WEIGHT_BOUNDS[1]},
            "overrides": {
                "type": "object",
                "additionalProperties": False,
                "properties": {key: general.get(key, properties["modelsDisabled"]) for key in OVERRIDABLE_FIELDS},
            },
        },
    }
    properties["experiments"] = {
        "type": "array",
        "maxItems": MAX_EXPERIMENTS,
        "description": "At most one is active. The first arm is the control.",
        "items": {
            "type": "object",
            "required": ["name", "arms"],
            "additionalProperties": False,
            "properties": {
                "name": _NAME,
                "active": {"type": "boolean"},
                "arms": {"type": "array", "minItems": 2, "maxItems": MAX_ARMS, "items": arm},
            },
        },
    }
    if for_request:
        properties["models"] = {"type": "array", "description": "The dashboard's model list (names only are read)."}
        properties["info"] = {"description": "Sent by the ecoseller dashboard; not used."}
        properties["models_disabled"] = properties["modelsDisabled"]
    else:
        properties["models_disabled"] = properties["modelsDisabled"]
        properties["deleted"] = {"type": "boolean"}
        schema["required"] = sorted(properties)
    return schema
