"""OpenAPI pieces every API shares: the JSON error answers and the schema of the shared fields
(`core.fields`), for drf-spectacular. The schema is served at /api/schema/ (rs_project.urls)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema

# A DRF validation error: field → messages; for a batch, index → such an object; for a
# malformed body or a request Django refuses, `detail` → message.
_MESSAGES: dict[str, Any] = {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}}
VALIDATION_ERROR: dict[str, Any] = {
    "type": "object",
    "description": 'Field → messages, e.g. {"limit": ["Ensure this value is greater than or equal to 1."]}; '
    "for a batch, the index of every bad element → such an object.",
    "additionalProperties": {"anyOf": [{"type": "string"}, _MESSAGES, {"type": "object"}]},
}
DETAIL_ERROR: dict[str, Any] = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}

_DESCRIPTIONS = {
    400: "Invalid input: the JSON names each bad field and what is wrong with it.",
    401: "The API token is missing or wrong (RS_API_TOKEN is set).",
    404: "Not found.",
    413: "The body is larger than RS_MAX_BODY_BYTES.",
    503: "A database does not answer.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented JSON error answers, for `extend_schema(responses=...)`."""
    return {
        code: OpenApiResponse(
            response=VALIDATION_ERROR if code == 400 else DETAIL_ERROR, description=_DESCRIPTIONS[code]
        )
        for code in codes
    }


API_ERRORS = (400, 401, 413, 503)


def api_operation(operation_id: str, *, request: Any, answer: Any, description: str):
    """`extend_schema` of a POST operation of the API: `answer` on 200 (described by
    `description`) and the API's error answers."""
    return extend_schema(
        operation_id=operation_id,
        request=request,
        responses={200: OpenApiResponse(answer, description=description), **error_responses(*API_ERRORS)},
    )


class SessionIdFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "core.fields.SessionIdField"

    def map_serializer_field(self, auto_schema, direction):
        # drf-spectacular adds the null (the field allows it).
        return {
            "type": "string",
            "maxLength": 100,
            "description": 'The storefront session; missing, null, "", "undefined" and "null" mean an anonymous '
            "shopper.",
        }


class UserIdFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "core.fields.UserIdField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            "oneOf": [{"type": "integer"}, {"type": "string", "maxLength": 255}],  # and null, added by drf-spectacular
            "description": "The shop's user id: an int, a string (the ecoseller user's key is an email) or null.",
        }


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "core.auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "RS_API_TOKEN; required on every operation but GET / when the variable is set.",
        }
