"""One serializer per `_model_class` of `/store_object(s)`: each accepts the payload exactly as
the ecoseller backend builds it (contract section 2.3; unknown keys are ignored) and returns the
typed input of the service that stores it.

The serializers need `received_at` (the time the batch arrived) in their context: events and
rows that carry no timestamp of their own are dated with it."""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP
from typing import Any

from rest_framework import serializers

from core.fields import SessionIdField, TimestampField, UserIdField
from feedback.services import EventData, ReviewData
from products.models import AttributeType
from products.services import (
    AttributeData,
    AttributeTypeData,
    CategoryData,
    OrderData,
    OrderLineData,
    ProductData,
    ProductPriceData,
    ProductTranslationData,
    ProductTypeData,
    ProductVariantData,
    Timestamps,
)
from recommendations.config import ConfigError, RecommenderConfig, config_from_payload, known_model_names
from recommendations.selectors import config_current
from store.fast_path import FastPathMixin

RECOMMENDATION_TYPES = ("HOMEPAGE", "CATEGORY_LIST", "PRODUCT_DETAIL", "CART")


class OrderLineField(serializers.Field):
    """One `[sku, quantity]` pair of an order."""

    default_error_messages = {"invalid": "Must be a [sku, quantity] pair with a positive integer quantity."}

    def to_internal_value(self, data: Any) -> OrderLineData:
        if not isinstance(data, (list, tuple)) or len(data) != 2:
            self.fail("invalid")
        sku, quantity = data
        if not isinstance(sku, (str, int)) or isinstance(sku, bool) or not str(sku).strip():
            self.fail("invalid")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            self.fail("invalid")
        return OrderLineData(sku=str(sku).strip()[:255], quantity=quantity)

    def to_representation(self, value: Any) -> Any:
        return [value.sku, value.quantity]


def _datetime(**kwargs: Any) -> TimestampField:
    # Naive ISO strings from the client are read as UTC.
    return TimestampField(**kwargs)


class NumberField(serializers.FloatField):
    """A finite number within bounds; `true` is not 1.0 (a boolean is a client's mistake)."""

    default_error_messages = {"invalid": "A valid number is required.", "finite": "Must be a finite number."}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("finite")
        return value


class UuidTextField(serializers.UUIDField):
    """A UUID as text (`"5b1c…"`): DRF would also read an integer, and `true` as UUID 1."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# Bounds of the integer columns: a bigger id answers 400, not a database error.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def _int(**kwargs: Any) -> serializers.IntegerField:
    kwargs.setdefault("min_value", INT_MIN)
    kwargs.setdefault("max_value", INT_MAX)
    return serializers.IntegerField(**kwargs)


def _optional_int(**kwargs: Any) -> serializers.IntegerField:
    return _int(required=False, allow_null=True, default=None, **kwargs)


def _optional_text(max_length: int | None = None) -> serializers.CharField:
    return serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None, max_length=max_length)


class StoreSerializer(serializers.Serializer):
    """Base of the store serializers: `deleted` (soft delete) and the batch's receipt time."""

    deleted = serializers.BooleanField(required=False, default=False)

    @property
    def received_at(self) -> dt.datetime:
        return self.root.context["received_at"]

    def timestamps(self, attrs: dict[str, Any]) -> Timestamps:
        return Timestamps(
            received_at=self.received_at, create_at=attrs.get("create_at"), update_at=attrs.get("update_at")
        )


# --- catalogue ---------------------------------------------------------------------------


class AttributeTypeSerializer(StoreSerializer):
    """A base attribute type, or an ecoseller extension attribute type. The backend sends both as
    `AttributeType` with ids from two separate sequences; only `ExtAttributeType.save()` sends a
    `deleted` key, so a payload with `deleted` and without `extension` is an extension type and
    is stored apart (it must not overwrite the base type of the same id). Other clients say which
    it is with `extension` (true/false)."""

    id = _int()
    type = serializers.ChoiceField(choices=AttributeType.Kind.values, default=AttributeType.Kind.CATEGORICAL)
    type_name = _optional_text(200)
    unit = _optional_text(200)
    extension = serializers.BooleanField(required=False, allow_null=True, default=None)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        attrs = super().to_internal_value(data)
        if attrs["extension"] is None:
            attrs["extension"] = isinstance(data, dict) and "deleted" in data
        return attrs

    def validate(self, attrs: dict[str, Any]) -> AttributeTypeData:
        return AttributeTypeData(
            id=attrs["id"],
            type=attrs["type"],
            type_name=attrs["type_name"],
            unit=attrs["unit"],
            deleted=attrs["deleted"],
            is_extension=bool(attrs["extension"]),
        )


class AttributeSerializer(StoreSerializer):
    id = _int()
    type = _int(help_text="The attribute type's id.")
    raw_value = _optional_text(200)
    order = _optional_int()

    def validate(self, attrs: dict[str, Any]) -> AttributeData:
        return AttributeData(
            id=attrs["id"],
            attribute_type_id=attrs["type"],
            raw_value=attrs["raw_value"],
            order=attrs["order"],
            deleted=attrs["deleted"],
        )


class ProductTypeSerializer(StoreSerializer):
    id = _int()
    name = _optional_text(200)
    attribute_types = serializers.ListField(child=_int(), required=False, allow_null=True)
    create_at = _datetime()
    update_at = _datetime()

    def validate(self, attrs: dict[str, Any]) -> ProductTypeData:
        attribute_types = attrs.get("attribute_types")
        return ProductTypeData(
            id=attrs["id"],
            name=attrs["name"],
            attribute_type_ids=tuple(attribute_types) if attribute_types is not None else None,
            timestamps=self.timestamps(attrs),
            deleted=attrs["deleted"],
        )


class ProductVariantSerializer(StoreSerializer):
    sku = serializers.CharField(max_length=255)
    ean = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True, default="")
    weight = NumberField(required=False, allow_null=True, default=None, min_value=0, max_value=1e9)
    stock_quantity = _int(required=False, default=0)
    recommendation_weight = NumberField(required=False, default=0.5, min_value=0, max_value=1e6)
    attributes = serializers.ListField(child=_int(), required=False, allow_null=True)
    create_at = _datetime()
    update_at = _datetime()

    def validate(self, attrs: dict[str, Any]) -> ProductVariantData:
        attributes = attrs.get("attributes")
        return ProductVariantData(
            sku=attrs["sku"],
            ean=attrs["ean"] or "",
            weight=attrs["weight"],
            stock_quantity=attrs["stock_quantity"],
            recommendation_weight=attrs["recommendation_weight"],
            attribute_ids=tuple(attributes) if attributes is not None else None,
            timestamps=self.timestamps(attrs),
            deleted=attrs["deleted"],
        )


class ProductTranslationSerializer(StoreSerializer):
    """Nested in a Product (its `product_translations`) or sent alone, then with `product_id`."""

    id = _int()
    product_id = _optional_int()
    language_code = serializers.CharField(max_length=10)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    meta_title = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True, default="")
    meta_description = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")
    short_description = _optional_text()
    description = _optional_text()
    slug = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True, default="")

    def validate(self, attrs: dict[str, Any]) -> ProductTranslationData:
        if self.parent is None and attrs["product_id"] is None:
            raise serializers.ValidationError({"product_id": ["This field is required."]})
        return ProductTranslationData(
            id=attrs["id"],
            product_id=attrs["product_id"],
            language_code=attrs["language_code"],
            title=attrs["title"],
            meta_title=attrs["meta_title"] or "",
            meta_description=attrs["meta_description"] or "",
            short_description=attrs["short_description"],
            description=attrs["description"],
            slug=attrs["slug"] or "",
            deleted=attrs["deleted"],
        )


class ProductSerializer(StoreSerializer):
    id = _int()
    published = serializers.BooleanField(required=False, default=True)
    # The backend sends `type`; the old service read only `type_id`. Both are accepted.
    type = _optional_int(help_text="The product type's id.")
    type_id = _optional_int(help_text="The product type's id (the old service's name).")
    category_id = _optional_int()
    product_translations = ProductTranslationSerializer(many=True, required=False, allow_null=True)
    product_variants = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, allow_null=True
    )
    create_at = _datetime()
    update_at = _datetime()

    def validate(self, attrs: dict[str, Any]) -> ProductData:
        translations = attrs.get("product_translations")
        variants = attrs.get("product_variants")
        return ProductData(
            id=attrs["id"],
            published=attrs["published"],
            category_id=attrs["category_id"],
            product_type_id=attrs["type_id"] if attrs["type_id"] is not None else attrs["type"],
            variant_skus=tuple(variants) if variants is not None else None,
            translations=tuple(translations) if translations is not None else None,
            timestamps=self.timestamps(attrs),
            deleted=attrs["deleted"],
        )


class ProductPriceSerializer(StoreSerializer):
    id = _int()
    price_list_code = serializers.CharField(max_length=200)
    product_variant_sku = serializers.CharField(max_length=255, required=False, allow_null=True, default=None)
    # The backend sends a float; it is rounded to the stored precision instead of rejected.
    price = serializers.DecimalField(max_digits=20, decimal_places=6, rounding=ROUND_HALF_UP)
    create_at = _datetime()
    update_at = _datetime()

    def validate(self, attrs: dict[str, Any]) -> ProductPriceData:
        return ProductPriceData(
            id=attrs["id"],
            price_list_code=attrs["price_list_code"],
            product_variant_sku=attrs["product_variant_sku"],
            price=attrs["price"],
            timestamps=self.timestamps(attrs),
            deleted=attrs["deleted"],
        )


class CategorySerializer(StoreSerializer):
    id = _int()
    parent_id = _optional_int()

    def validate(self, attrs: dict[str, Any]) -> CategoryData:
        if attrs["parent_id"] == attrs["id"]:
            raise serializers.ValidationError({"parent_id": ["A category cannot be its own parent."]})
        return CategoryData(id=attrs["id"], parent_id=attrs["parent_id"], deleted=attrs["deleted"])


class OrderSerializer(StoreSerializer):
    token = UuidTextField()
    session_id = serializers.CharField(max_length=100)
    user_id = UserIdField()
    product_variants = serializers.ListField(child=OrderLineField())
    create_at = _datetime()
    update_at = _datetime()

    def validate(self, attrs: dict[str, Any]) -> OrderData:
        return OrderData(
            token=attrs["token"],
            session_id=attrs["session_id"],
            user_id=attrs["user_id"],
            lines=tuple(attrs["product_variants"]),
            timestamps=self.timestamps(attrs),
            deleted=attrs["deleted"],
        )


# --- feedback ----------------------------------------------------------------------------


class EventSerializer(FastPathMixin, serializers.Serializer):
    """Fields every shopper event has. Events are immutable: a `deleted` key is ignored. An event
    without a session (or with a placeholder such as "undefined") is an anonymous event: stored
    with no session, it counts for popularity and coverage but joins no session history."""

    session_id = SessionIdField()
    user_id = UserIdField()
    product_id = _optional_int()
    product_variant_sku = serializers.CharField(max_length=255)
    create_at = _datetime()

    def event(self, attrs: dict[str, Any], **extra: Any) -> EventData:
        return EventData(
            session_id=attrs["session_id"],
            user_id=attrs["user_id"],
            product_id=attrs["product_id"],
            product_variant_sku=attrs["product_variant_sku"],
            received_at=self.root.context["received_at"],
            create_at=attrs["create_at"],
            **extra,
        )


class ProductDetailEnterSerializer(EventSerializer):
    """A product page view, with the spread `rs_info` attribution keys when the storefront
    echoed them."""

    recommendation_type = serializers.ChoiceField(
        choices=RECOMMENDATION_TYPES, required=False, allow_null=True, default=None
    )
    model_identifier = _optional_text(255)
    model_name = _optional_text(255)
    position = _optional_int(min_value=0)

    def validate(self, attrs: dict[str, Any]) -> EventData:
        return self.event(
            attrs,
            recommendation_type=attrs["recommendation_type"],
            model_identifier=attrs["model_identifier"] or None,
            model_name=attrs["model_name"] or None,
            position=attrs["position"],
        )


class ProductDetailLeaveSerializer(EventSerializer):
    time_spent = NumberField(min_value=0, max_value=1e9)

    def validate(self, attrs: dict[str, Any]) -> EventData:
        return self.event(attrs, time_spent=attrs["time_spent"])


class ProductAddToCartSerializer(EventSerializer):
    def validate(self, attrs: dict[str, Any]) -> EventData:
        return self.event(attrs)


class RecommendationViewSerializer(EventSerializer):
    recommendation_type = serializers.ChoiceField(choices=RECOMMENDATION_TYPES)
    model_identifier = serializers.CharField(max_length=255)
    model_name = _optional_text(255)
    position = _optional_int(min_value=0)

    def validate(self, attrs: dict[str, Any]) -> EventData:
        return self.event(
            attrs,
            recommendation_type=attrs["recommendation_type"],
            model_identifier=attrs["model_identifier"],
            model_name=attrs["model_name"] or None,
            position=attrs["position"],
        )


class ReviewSerializer(FastPathMixin, serializers.Serializer):
    id = serializers.IntegerField(min_value=0, max_value=2**63 - 1)
    session_id = serializers.CharField(max_length=100, required=False, allow_blank=True, allow_null=True, default="")
    user_id = UserIdField()
    product_id = _optional_int()
    product_variant_sku = serializers.CharField(max_length=255)
    rating = serializers.IntegerField(min_value=0, max_value=5)
    create_at = _datetime()
    update_at = _datetime()

    def validate(self, attrs: dict[str, Any]) -> ReviewData:
        return ReviewData(
            id=attrs["id"],
            session_id=attrs["session_id"] or "",
            user_id=attrs["user_id"],
            product_id=attrs["product_id"],
            product_variant_sku=attrs["product_variant_sku"],
            rating=attrs["rating"],
            received_at=self.root.context["received_at"],
            create_at=attrs["create_at"],
            update_at=attrs["update_at"],
        )


# --- model store -------------------------------------------------------------------------


class ConfigSerializer(serializers.Serializer):
    """The dashboard's page state (camelCase keys, `modelsDisabled` keyed by model name or by
    the dashboard's array index), validated against `RecommenderConfig`. Keys it omits keep the
    current version's values: the ecoseller dashboard PUTs only the keys it knows, which must not
    reset the service's own settings (diversity, similarity, popularity, trainer)."""

    def to_internal_value(self, data: Any) -> RecommenderConfig:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected an object."]})
        try:
            return config_from_payload({k: v for k, v in data.items() if k != "_model_class"}, base=config_current())
        except ConfigError as error:
            raise serializers.ValidationError(error.errors) from error


class TrainerQueueItemSerializer(serializers.Serializer):
    """A training request from the dashboard's "Schedule training"."""

    model_name = serializers.CharField(max_length=255)
    full_train = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate_model_name(self, value: str) -> str:
        known = known_model_names()
        if value not in known:
            raise serializers.ValidationError(f"Unknown model {value!r}; expected one of {', '.join(sorted(known))}.")
        return value
