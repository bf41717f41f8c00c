"""Read-only admin views of sessions, events and prediction results."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from feedback.models import PredictionResult, ProductAddToCart, ProductDetailEnter, RecommendationView, Review, Session


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ["id", "user_id", "create_at", "update_at"]
    search_fields = ["id", "user_id"]


@admin.register(ProductDetailEnter)
class ProductDetailEnterAdmin(ReadOnlyAdmin):
    list_display = ["session_id", "user_id", "product_variant_sku", "model_name", "position", "create_at"]
    search_fields = ["session_id", "product_variant_sku"]


@admin.register(ProductAddToCart)
class ProductAddToCartAdmin(ReadOnlyAdmin):
    list_display = ["session_id", "user_id", "product_variant_sku", "create_at"]


@admin.register(RecommendationView)
class RecommendationViewAdmin(ReadOnlyAdmin):
    list_display = [
        "session_id",
        "product_variant_sku",
        "recommendation_type",
        "model_identifier",
        "position",
        "create_at",
    ]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "user_id", "product_variant_sku", "rating", "create_at"]


@admin.register(PredictionResult)
class PredictionResultAdmin(ReadOnlyAdmin):
    list_display = [
        "create_at",
        "recommendation_type",
        "retrieval_model_name",
        "scoring_model_name",
        "session_id",
        "experiment",
        "arm",
    ]
    list_filter = ["recommendation_type", "scoring_model_name", "experiment", "arm"]
