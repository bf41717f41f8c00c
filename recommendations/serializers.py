"""Validation of prediction requests as the real client sends them.

The ecoseller backend builds its query with URLSearchParams, so `variants` and
`variants_in_cart` arrive as a JSON list, a comma-joined string, an empty string or a bare int
(a single all-digit SKU); `user_id` may be an int, a string (an email) or null. It also sends
`country`, `pricelist` and (on product pages) `product_id`, which are accepted and not used.

A key the service does not know, or a situation's key on another situation (`variants` on a
CART request), answers 400 naming it: a typo must not pass silently as a popular-items answer.

A CATEGORY_LIST request for a category the service has never heard of answers 404 naming it:
an empty list would hide the integrator's mistake.

A missing or null `session_id`, and the placeholders `""`, `"undefined"` and `"null"` that a
storefront sends before its session cookie exists, mean an anonymous shopper: no session
history, nothing cached, nothing attributed to a session shared by every newcomer."""

from __future__ import annotations

import dataclasses
import math

from django.conf import settings
from rest_framework import serializers

from core.exceptions import NotFound
from core.fields import SessionIdField, UserIdField, text_problem
from recommendations.algorithms.base import RecommendationType
from recommendations.pipeline import PredictionRequest
from recommendations.serving import category_is_known_now


class SkuListField(serializers.Field):
    default_error_messages = {
        "invalid": "Give a list of SKUs or a comma-separated string of SKUs.",
        "text": "{problem}",
    }

    def to_internal_value(self, data) -> tuple[str, ...]:
        if data is None:
            return ()
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            return (str(data),)
        if isinstance(data, float):
            if not math.isfinite(data):
                self.fail("invalid")
            return (str(data),)
        if isinstance(data, str):
            skus = tuple(part.strip() for part in data.split(",") if part.strip())
        elif isinstance(data, list) and all(
            isinstance(item, (str, int)) and not isinstance(item, bool) for item in data
        ):
            skus = tuple(str(item).strip() for item in data if str(item).strip())
        else:
            self.fail("invalid")
        for sku in skus:
            problem = text_problem(sku)
            if problem:
                self.fail("text", problem=problem)
        return skus

    def to_representation(self, value):
        return list(value)


# Keys the ecoseller backend sends that the service does not use.
IGNORED_KEYS = ("country", "pricelist", "product_id")
# The key that carries each situation's own input; it is refused on the other situations.
SITUATION_KEYS = {
    "category_id": RecommendationType.CATEGORY_LIST,
    "variants": RecommendationType.PRODUCT_DETAIL,
    "variants_in_cart": RecommendationType.CART,
}


class PredictRequestSerializer(serializers.Serializer):
    recommendation_type = serializers.ChoiceField(
        choices=[t.value for t in RecommendationType],
        error_messages={
            "invalid_choice": '"{input}" is not a recommendation type; expected one of '
            + ", ".join(t.value for t in RecommendationType)
            + "."
        },
    )
    session_id = SessionIdField()
    user_id = UserIdField()
    category_id = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=-(2**31), max_value=2**31 - 1
    )
    variants = SkuListField(required=False, default=())
    variants_in_cart = SkuListField(required=False, default=())
    limit = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)

    def validate_limit(self, value: int | None) -> int | None:
        maximum = settings.RECOMMENDER["MAX_LIMIT"]
        if value is not None and value > maximum:
            raise serializers.ValidationError(f"Ensure this value is less than or equal to {maximum}.")
        return value

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields) - set(IGNORED_KEYS), key=str)
            if unknown:
                known = ", ".join([*self.fields, *IGNORED_KEYS])
                raise serializers.ValidationError(
                    {str(key): [f"Unknown field; a prediction request takes {known}."] for key in unknown}
                )
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        situation = RecommendationType(attrs["recommendation_type"])
        misplaced = {
            key: [f"Not used by {situation.value} requests; only {owner.value} requests take it."]
            for key, owner in SITUATION_KEYS.items()
            if owner != situation and attrs.get(key) not in (None, ())
        }
        if misplaced:
            raise serializers.ValidationError(misplaced)
        if situation == RecommendationType.CATEGORY_LIST:
            if attrs.get("category_id") is None:
                raise serializers.ValidationError({"category_id": ["This field is required for CATEGORY_LIST."]})
            if not category_is_known_now(attrs["category_id"]):
                raise NotFound({"category_id": [f"No category {attrs['category_id']} is known to the service."]})
        return attrs

    def to_request(self) -> PredictionRequest:
        data = self.validated_data
        return PredictionRequest(
            recommendation_type=RecommendationType(data["recommendation_type"]),
            session_id=data["session_id"],
            user_id=data["user_id"],
            category_id=data["category_id"],
            variants=tuple(data["variants"]),
            variants_in_cart=tuple(data["variants_in_cart"]),
            limit=data["limit"],
        )


class ProductPositionsRequestSerializer(PredictRequestSerializer):
    recommendation_type = serializers.ChoiceField(
        choices=[RecommendationType.CATEGORY_LIST.value], required=False, default=RecommendationType.CATEGORY_LIST.value
    )
    category_id = serializers.IntegerField(min_value=-(2**31), max_value=2**31 - 1)

    def to_request(self) -> PredictionRequest:
        return dataclasses.replace(super().to_request(), positions_only=True)
