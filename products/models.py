"""The catalogue mirror: what the shop's backend sends about products, variants, prices, types,
attributes, categories and orders. Keys are the client's (SKU strings, integer ids, UUID tokens).

Rows may arrive in any order (a variant naming attributes not sent yet), so links inside this
database are foreign keys without database constraints: the ORM can join, the client's order
of writes never fails."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


def _link(to, **kwargs):
    return models.ForeignKey(to, on_delete=models.DO_NOTHING, db_constraint=False, **kwargs)


class ProductType(models.Model):
    id = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=200, null=True, blank=True)
    attribute_types = models.ManyToManyField(
        "AttributeType", through="AttributeTypeProductType", related_name="product_types", blank=True
    )
    update_at = models.DateTimeField(default=timezone.now)
    create_at = models.DateTimeField(default=timezone.now)
    deleted = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name or f"type {self.id}"


class AttributeType(models.Model):
    class Kind(models.TextChoices):
        NUMERICAL = "NUMERICAL"
        CATEGORICAL = "CATEGORICAL"

    id = models.IntegerField(primary_key=True)
    type = models.CharField(max_length=100, choices=Kind.choices, default=Kind.CATEGORICAL)
    type_name = models.CharField(max_length=200, null=True, blank=True)
    unit = models.CharField(max_length=200, null=True, blank=True)
    deleted = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.type_name or f"attribute type {self.id}"


class ExtensionAttributeType(models.Model):
    """An ecoseller extension attribute type (`ExtAttributeType`). The backend numbers these
    apart from the base attribute types but sends both as `AttributeType`; they are kept here so
    that one never overwrites the other. No attribute the service uses refers to them."""

    id = models.IntegerField(primary_key=True)
    type = models.CharField(max_length=100, choices=AttributeType.Kind.choices, default=AttributeType.Kind.CATEGORICAL)
    type_name = models.CharField(max_length=200, null=True, blank=True)
    unit = models.CharField(max_length=200, null=True, blank=True)
    deleted = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.type_name or f"extension attribute type {self.id}"


class AttributeTypeProductType(models.Model):
    attribute_type = _link(AttributeType)
    product_type = _link(ProductType)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attribute_type", "product_type"], name="uniq_attribute_type_product_type")
        ]


class Attribute(models.Model):
    id = models.IntegerField(primary_key=True)
    attribute_type = _link(AttributeType, related_name="attributes")
    raw_value = models.CharField(max_length=200, null=True, blank=True)
    numeric_value = models.FloatField(null=True, blank=True)
    order = models.IntegerField(null=True, blank=True)
    parent_attribute_id = models.IntegerField(null=True, blank=True)
    deleted = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.attribute_type_id}={self.raw_value}"


class ProductVariant(models.Model):
    sku = models.CharField(max_length=255, primary_key=True)
    ean = models.CharField(max_length=64, blank=True, default="")
    weight = models.FloatField(null=True, blank=True)
    stock_quantity = models.IntegerField(default=0)
    recommendation_weight = models.FloatField(default=0.5)
    attributes = models.ManyToManyField(
        Attribute, through="AttributeProductVariant", related_name="product_variants", blank=True
    )
    update_at = models.DateTimeField(default=timezone.now)
    create_at = models.DateTimeField(default=timezone.now)
    deleted = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.sku


class AttributeProductVariant(models.Model):
    attribute = _link(Attribute)
    product_variant = _link(ProductVariant, db_column="product_variant_sku")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attribute", "product_variant"], name="uniq_attribute_product_variant")
        ]


class Product(models.Model):
    id = models.IntegerField(primary_key=True)
    published = models.BooleanField(default=True)
    category_id = models.IntegerField(null=True, blank=True, db_index=True)
    product_type = _link(ProductType, null=True, blank=True, related_name="products")
    product_variants = models.ManyToManyField(
        ProductVariant, through="ProductProductVariant", related_name="products", blank=True
    )
    update_at = models.DateTimeField(default=timezone.now)
    create_at = models.DateTimeField(default=timezone.now)
    deleted = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"product {self.id}"


class ProductProductVariant(models.Model):
    product = _link(Product)
    product_variant = _link(ProductVariant, db_column="product_variant_sku")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "product_variant"], name="uniq_product_product_variant")
        ]
        indexes = [models.Index(fields=["product_variant"], name="ppv_variant_idx")]


class ProductTranslation(models.Model):
    id = models.IntegerField(primary_key=True)
    product = _link(Product, related_name="translations")
    language_code = models.CharField(max_length=10)
    title = models.CharField(max_length=200, blank=True, default="")
    meta_title = models.CharField(max_length=200, blank=True, default="")
    meta_description = models.TextField(blank=True, default="")
    short_description = models.TextField(null=True, blank=True)
    description = models.TextField(null=True, blank=True)
    slug = models.CharField(max_length=200, blank=True, default="")
    deleted = models.BooleanField(default=False)


class ProductPrice(models.Model):
    id = models.IntegerField(primary_key=True)
    price_list_code = models.CharField(max_length=200, db_index=True)
    product_variant_sku = models.CharField(max_length=255, null=True, blank=True, db_index=True)
    price = models.DecimalField(max_digits=20, decimal_places=6)
    update_at = models.DateTimeField(default=timezone.now)
    create_at = models.DateTimeField(default=timezone.now)
    deleted = models.BooleanField(default=False)


class Category(models.Model):
    """The category tree as sent; `CategoryAncestor` is the closure derived from it."""

    id = models.IntegerField(primary_key=True)
    parent_id = models.IntegerField(null=True, blank=True, db_index=True)
    deleted = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "categories"


class CategoryAncestor(models.Model):
    """Closure table: one row per (category, ancestor), self rows included."""

    category_id = models.IntegerField()
    category_ancestor_id = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category_id", "category_ancestor_id"], name="uniq_category_ancestor")
        ]
        indexes = [models.Index(fields=["category_ancestor_id"], name="category_ancestor_idx")]


class Order(models.Model):
    token = models.UUIDField(primary_key=True, default=uuid.uuid4)
    session_id = models.CharField(max_length=100, db_index=True)
    user_id = models.CharField(max_length=255, null=True, blank=True, db_index=True)
    update_at = models.DateTimeField(default=timezone.now)
    create_at = models.DateTimeField(default=timezone.now, db_index=True)
    deleted = models.BooleanField(default=False)


class OrderProductVariant(models.Model):
    order = _link(Order, db_column="order_token", related_name="lines")
    product_variant_sku = models.CharField(max_length=255, db_index=True)
    quantity = models.IntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "product_variant_sku"], name="uniq_order_line")]


class CatalogueRevision(models.Model):
    """A counter bumped by every catalogue write, so each server process can tell with one
    primary-key read whether its in-memory catalogue snapshot is stale."""

    key = models.CharField(max_length=32, primary_key=True, default="catalogue")
    revision = models.BigIntegerField(default=0)
    update_at = models.DateTimeField(default=timezone.now)


class CatalogueChange(models.Model):
    """What the catalogue write that made `revision` changed, for the servers' in-memory
    catalogue: one row per written variant (its SKU), product (its id) or order (its token);
    a category (its id) for the tree servers keep; `OTHER` when it wrote nothing a server keeps
    (prices, attributes); `ALL` after a
    bulk load, which servers answer with a full rebuild. Every revision has rows, so a server that
    finds one missing (a write that bumped the revision without logging) rebuilds in full.
    Servers re-read the current rows of the keys, so applying a change twice is harmless. Rows
    older than an hour are pruned."""

    class Kind(models.TextChoices):
        VARIANT = "VARIANT"
        PRODUCT = "PRODUCT"
        ORDER = "ORDER"
        CATEGORY = "CATEGORY"
        OTHER = "OTHER"
        ALL = "ALL"

    revision = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    key = models.CharField(max_length=255, blank=True, default="")
    create_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["revision"], name="catalogue_change_revision_idx"),
            models.Index(fields=["create_at"], name="catalogue_change_time_idx"),
        ]
