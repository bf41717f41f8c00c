"""Shared pieces of the import tests."""

from django.db.models import Model

from feedback.models import ProductDetailEnter, Session
from products.models import AttributeType, Order, Product, ProductPrice, ProductVariant

# What every importer writes: the catalogue's variants, products, prices and attribute types,
# orders, product-detail views and sessions.
IMPORTED = (ProductVariant, Product, ProductPrice, AttributeType, Order, ProductDetailEnter, Session)


def row_counts(*more: type[Model]) -> dict[str, int]:
    """Rows per model name of IMPORTED and `more`: equal before and after a run that should store
    nothing, or a second run of the same import."""
    return {model.__name__: model.objects.count() for model in (*IMPORTED, *more)}
