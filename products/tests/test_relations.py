"""The many-to-many links of the catalogue round-trip through their link tables."""

import pytest

from conftest import ALL_DATABASES
from products.models import Attribute, AttributeType, Order, OrderProductVariant, Product, ProductType, ProductVariant


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_product_variant_links_round_trip():
    product = Product.objects.create(id=1, published=True, category_id=3)
    first, second = ProductVariant.objects.create(sku="a"), ProductVariant.objects.create(sku="b")

    product.product_variants.set([first, second])

    assert sorted(Product.objects.get(id=1).product_variants.values_list("sku", flat=True)) == ["a", "b"]
    assert list(ProductVariant.objects.get(sku="b").products.values_list("id", flat=True)) == [1]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_attribute_and_type_links_round_trip():
    genre = AttributeType.objects.create(id=1, type=AttributeType.Kind.CATEGORICAL, type_name="GENRE")
    year = AttributeType.objects.create(id=2, type=AttributeType.Kind.NUMERICAL, type_name="YEAR")
    movie = ProductType.objects.create(id=5, name="Movie")
    movie.attribute_types.set([genre, year])
    drama = Attribute.objects.create(id=10, attribute_type=genre, raw_value="Drama")
    y1995 = Attribute.objects.create(id=11, attribute_type=year, raw_value="1995", numeric_value=1995.0)
    variant = ProductVariant.objects.create(sku="a")

    variant.attributes.set([drama, y1995])

    assert sorted(ProductType.objects.get(id=5).attribute_types.values_list("type_name", flat=True)) == [
        "GENRE",
        "YEAR",
    ]
    assert list(genre.product_types.values_list("id", flat=True)) == [5]
    assert sorted(ProductVariant.objects.get(sku="a").attributes.values_list("raw_value", flat=True)) == [
        "1995",
        "Drama",
    ]
    assert list(drama.product_variants.values_list("sku", flat=True)) == ["a"]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_order_lines_round_trip():
    order = Order.objects.create(session_id="s1")
    OrderProductVariant.objects.create(order=order, product_variant_sku="a", quantity=2)

    assert list(Order.objects.get(token=order.token).lines.values_list("product_variant_sku", "quantity")) == [("a", 2)]
