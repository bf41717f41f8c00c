"""Admin views of the catalogue mirror: for looking things up; the shop's backend owns the data."""

from django.contrib import admin

from products.models import (
    Attribute,
    AttributeType,
    Category,
    ExtensionAttributeType,
    Order,
    Product,
    ProductPrice,
    ProductType,
    ProductVariant,
)


@admin.register(ProductVariant)
class ProductVariantAdmin(admin.ModelAdmin):
    list_display = ["sku", "stock_quantity", "recommendation_weight", "deleted", "update_at"]
    list_filter = ["deleted"]
    search_fields = ["sku", "ean"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["id", "published", "category_id", "product_type", "deleted", "update_at"]
    list_filter = ["published", "deleted"]
    search_fields = ["id"]


@admin.register(ProductPrice)
class ProductPriceAdmin(admin.ModelAdmin):
    list_display = ["id", "product_variant_sku", "price_list_code", "price", "deleted"]
    list_filter = ["price_list_code", "deleted"]
    search_fields = ["product_variant_sku"]


@admin.register(AttributeType)
class AttributeTypeAdmin(admin.ModelAdmin):
    list_display = ["id", "type_name", "type", "unit", "deleted"]


@admin.register(ExtensionAttributeType)
class ExtensionAttributeTypeAdmin(admin.ModelAdmin):
    list_display = ["id", "type_name", "type", "unit", "deleted"]


@admin.register(Attribute)
class AttributeAdmin(admin.ModelAdmin):
    list_display = ["id", "attribute_type", "raw_value", "numeric_value", "deleted"]
    list_filter = ["attribute_type"]


@admin.register(ProductType)
class ProductTypeAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "deleted"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["id", "parent_id", "deleted"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["token", "session_id", "user_id", "create_at", "deleted"]
    search_fields = ["token", "session_id", "user_id"]
