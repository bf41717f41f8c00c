"""The `_model_class` → (serializer, app, writer) registry of `/store_object(s)`.

Writers take the validated items of one class, in arrival order, and store them in one bulk
operation. The registry's order is the order classes are written in a mixed batch: types before
the things that name them, catalogue before feedback, the model store last."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from core.databases import database_for_app
from feedback import services as feedback_services
from modelstore import services as modelstore_services
from products import services as product_services
from products.models import CatalogueChange
from store import serializers as store_serializers


@dataclass(frozen=True)
class StoreClass:
    name: str
    serializer_class: type[serializers.Serializer]
    app: str  # the data app written to; its database comes from DATABASE_APPS_MAPPING
    write: Callable[[Sequence[Any]], int]
    # What a written item changed in the servers' catalogue: (kind, key) for the change log.
    catalogue_change: Callable[[Any], tuple[str, str]] | None = None

    @property
    def database(self) -> str:
        return database_for_app(self.app)


_CLASSES = (
    StoreClass(
        "AttributeType",
        store_serializers.AttributeTypeSerializer,
        "products",
        lambda items: product_services.attribute_type_upsert_many(attribute_types=items),
    ),
    StoreClass(
        "Attribute",
        store_serializers.AttributeSerializer,
        "products",
        lambda items: product_services.attribute_upsert_many(attributes=items),
    ),
    StoreClass(
        "ProductType",
        store_serializers.ProductTypeSerializer,
        "products",
        lambda items: product_services.product_type_upsert_many(product_types=items),
    ),
    StoreClass(
        "ProductVariant",
        store_serializers.ProductVariantSerializer,
        "products",
        lambda items: product_services.product_variant_upsert_many(product_variants=items),
        lambda item: (CatalogueChange.Kind.VARIANT, item.sku),
    ),
    StoreClass(
        "Product",
        store_serializers.ProductSerializer,
        "products",
        lambda items: product_services.product_upsert_many(products=items),
        lambda item: (CatalogueChange.Kind.PRODUCT, str(item.id)),
    ),
    StoreClass(
        "ProductTranslation",
        store_serializers.ProductTranslationSerializer,
        "products",
        lambda items: product_services.product_translation_upsert_many(translations=items),
    ),
    StoreClass(
        "ProductPrice",
        store_serializers.ProductPriceSerializer,
        "products",
        lambda items: product_services.product_price_upsert_many(prices=items),
    ),
    StoreClass(
        "Category",
        store_serializers.CategorySerializer,
        "products",
        lambda items: product_services.category_upsert_many(categories=items),
        lambda item: (CatalogueChange.Kind.CATEGORY, item.id),
    ),
    StoreClass(
        "Order",
        store_serializers.OrderSerializer,
        "products",
        lambda items: product_services.order_upsert_many(orders=items),
        lambda item: (CatalogueChange.Kind.ORDER, str(item.token)),
    ),
    StoreClass(
        "ProductDetailEnter",
        store_serializers.ProductDetailEnterSerializer,
        "feedback",
        lambda items: feedback_services.product_detail_enter_create_many(events=items),
    ),
    StoreClass(
        "ProductDetailLeave",
        store_serializers.ProductDetailLeaveSerializer,
        "feedback",
        lambda items: feedback_services.product_detail_leave_create_many(events=items),
    ),
    StoreClass(
        "ProductAddToCart",
        store_serializers.ProductAddToCartSerializer,
        "feedback",
        lambda items: feedback_services.product_add_to_cart_create_many(events=items),
    ),
    StoreClass(
        "RecommendationView",
        store_serializers.RecommendationViewSerializer,
        "feedback",
        lambda items: feedback_services.recommendation_view_create_many(events=items),
    ),
    StoreClass(
        "Review",
        store_serializers.ReviewSerializer,
        "feedback",
        lambda items: feedback_services.review_upsert_many(reviews=items),
    ),
    StoreClass(
        "Config",
        store_serializers.ConfigSerializer,
        "modelstore",
        lambda items: modelstore_services.config_versions_store_many(datas=[config.to_data() for config in items]),
    ),
    StoreClass(
        "TrainerQueueItem",
        store_serializers.TrainerQueueItemSerializer,
        "modelstore",
        lambda items: modelstore_services.training_request_many(items=items),
    ),
)

STORE_CLASSES: dict[str, StoreClass] = {store_class.name: store_class for store_class in _CLASSES}
