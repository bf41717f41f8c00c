"""What shoppers do (sessions and events), their reviews, and every prediction the service made.

Prediction results live here beside the events so that hit rates are one join in one database.
User ids are strings: the client may send an int, an email or null."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from core.immutable import ImmutableModel, ReplaceableModel


class Session(models.Model):
    id = models.CharField(max_length=100, primary_key=True)
    user_id = models.CharField(max_length=255, null=True, blank=True, db_index=True)
    visited_product_variants = models.JSONField(default=list, blank=True)
    create_at = models.DateTimeField(default=timezone.now, db_index=True)
    update_at = models.DateTimeField(default=timezone.now, db_index=True)


class EventBase(ImmutableModel):
    # Null for an anonymous event (the storefront had no session yet).
    session_id = models.CharField(max_length=100, null=True, blank=True)
    user_id = models.CharField(max_length=255, null=True, blank=True)
    product_id = models.IntegerField(null=True, blank=True)
    product_variant_sku = models.CharField(max_length=255)
    create_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


def _event_indexes(prefix: str) -> list[models.Index]:
    return [
        models.Index(fields=["session_id", "create_at"], name=f"{prefix}_session_idx"),
        models.Index(fields=["create_at"], name=f"{prefix}_create_at_idx"),
        models.Index(fields=["product_variant_sku"], name=f"{prefix}_sku_idx"),
        models.Index(fields=["user_id", "create_at"], name=f"{prefix}_user_idx"),
    ]


class ProductDetailEnter(EventBase):
    recommendation_type = models.CharField(max_length=100, null=True, blank=True)
    model_identifier = models.CharField(max_length=255, null=True, blank=True)
    model_name = models.CharField(max_length=255, null=True, blank=True)
    position = models.IntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "product detail view"
        indexes = _event_indexes("pde")


class ProductDetailLeave(EventBase):
    time_spent = models.FloatField()

    class Meta:
        indexes = _event_indexes("pdl")


class ProductAddToCart(EventBase):
    class Meta:
        verbose_name = "add to cart"
        verbose_name_plural = "adds to cart"
        indexes = _event_indexes("patc")


class RecommendationView(EventBase):
    recommendation_type = models.CharField(max_length=100)
    model_identifier = models.CharField(max_length=255)
    model_name = models.CharField(max_length=255, null=True, blank=True)
    position = models.IntegerField(null=True, blank=True)

    class Meta:
        indexes = _event_indexes("rv")


class Review(ReplaceableModel):
    id = models.BigIntegerField(primary_key=True)
    session_id = models.CharField(max_length=100, blank=True, default="")
    user_id = models.CharField(max_length=255, null=True, blank=True)
    product_id = models.IntegerField(null=True, blank=True)
    product_variant_sku = models.CharField(max_length=255)
    rating = models.IntegerField()
    update_at = models.DateTimeField(default=timezone.now)
    create_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = _event_indexes("review")


class PredictionResult(ImmutableModel):
    retrieval_model_name = models.CharField(max_length=255)
    retrieval_model_identifier = models.CharField(max_length=255)
    scoring_model_name = models.CharField(max_length=255)
    scoring_model_identifier = models.CharField(max_length=255)
    recommendation_type = models.CharField(max_length=100)
    # Null for an anonymous request (no session yet).
    session_id = models.CharField(max_length=100, null=True, blank=True)
    user_id = models.CharField(max_length=255, null=True, blank=True)
    retrieval_duration = models.FloatField()
    scoring_duration = models.FloatField()
    ordering_duration = models.FloatField()
    predicted_items = models.JSONField(default=list)
    # The experiment and arm whose config served the list; null outside any experiment.
    experiment = models.CharField(max_length=64, null=True, blank=True)
    arm = models.CharField(max_length=64, null=True, blank=True)
    create_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["create_at"], name="pr_create_at_idx"),
            models.Index(fields=["experiment", "create_at"], name="pr_experiment_idx"),
            models.Index(fields=["session_id", "create_at"], name="pr_session_idx"),
            models.Index(fields=["scoring_model_name", "create_at"], name="pr_scoring_model_idx"),
        ]
