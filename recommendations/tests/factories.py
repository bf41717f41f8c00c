"""Small hand-built shops for the tests: rows are created directly, so tests of training and
prediction do not depend on the store API."""

from __future__ import annotations

import datetime
import uuid

from django.utils import timezone

from feedback.models import ProductDetailEnter, Review, Session
from products.models import (
    Attribute,
    AttributeProductVariant,
    AttributeType,
    CategoryAncestor,
    Order,
    OrderProductVariant,
    Product,
    ProductPrice,
    ProductProductVariant,
    ProductVariant,
)
from products.revision import catalogue_revision_bump
from recommendations.services import config_version_create
from recommendations.training.services import model_train

# The smallest GRU4Rec that trains in a test: one epoch of an 8-unit network on batches of 8.
TINY_GRU4REC = {"numEpochsOptions": [1], "hiddenSizeOptions": [8], "batchSizeOptions": [8], "eventsMultiplier": 1}

# Four variants of four products with numerical attributes: enough to train similarity.
FOUR_VARIANTS = {
    "1": {"product": 1, "attributes": {1: 0.0, 2: 0.0}},
    "2": {"product": 2, "attributes": {1: 0.0, 2: 1.0}},
    "3": {"product": 3, "attributes": {1: 1.0, 2: 0.0}},
    "4": {"product": 4, "attributes": {1: 1.0, 3: 5.0}},
}


def make_catalogue(
    variants: dict[str, dict],
    *,
    products: dict[int, dict] | None = None,
    categories: dict[int, int | None] | None = None,
) -> None:
    """`variants`: sku -> {product, stock, weight, price, attributes: {type_id: value}}.
    `products`: id -> {category, published, deleted}. `categories`: id -> parent id."""
    products = products or {}
    for product_id in {spec.get("product", i) for i, spec in enumerate(variants.values())}:
        spec = products.get(product_id, {})
        Product.objects.create(
            id=product_id,
            category_id=spec.get("category"),
            published=spec.get("published", True),
            deleted=spec.get("deleted", False),
        )
    next_attribute = 1
    attribute_ids: dict[tuple[int, str], int] = {}
    for position, (sku, spec) in enumerate(variants.items()):
        ProductVariant.objects.create(
            sku=sku,
            stock_quantity=spec.get("stock", 10),
            recommendation_weight=spec.get("weight", 0.5),
            deleted=spec.get("deleted", False),
        )
        ProductProductVariant.objects.create(product_id=spec.get("product", position), product_variant_id=sku)
        if "price" in spec:
            ProductPrice.objects.create(
                id=position + 1, price_list_code="CZK", product_variant_sku=sku, price=spec["price"]
            )
        for type_id, value in spec.get("attributes", {}).items():
            kind = AttributeType.Kind.NUMERICAL if isinstance(value, (int, float)) else AttributeType.Kind.CATEGORICAL
            AttributeType.objects.get_or_create(id=type_id, defaults={"type": kind})
            key = (type_id, str(value))
            if key not in attribute_ids:
                attribute_ids[key] = next_attribute
                Attribute.objects.create(
                    id=next_attribute,
                    attribute_type_id=type_id,
                    raw_value=str(value),
                    numeric_value=float(value) if kind == AttributeType.Kind.NUMERICAL else None,
                )
                next_attribute += 1
            AttributeProductVariant.objects.create(attribute_id=attribute_ids[key], product_variant_id=sku)
    catalogue_revision_bump()
    for category in categories or {}:
        ancestor = category
        seen = set()
        while ancestor is not None and ancestor not in seen:
            seen.add(ancestor)
            CategoryAncestor.objects.create(category_id=category, category_ancestor_id=ancestor)
            ancestor = categories.get(ancestor)


def make_sessions(sessions: dict[str, list[str]], *, start: datetime.datetime | None = None, user_ids=None) -> None:
    """Product-detail views, one minute apart within a session, sessions one hour apart."""
    start = start or timezone.now() - datetime.timedelta(days=2)
    events = []
    for number, (session_id, skus) in enumerate(sessions.items()):
        user_id = (user_ids or {}).get(session_id)
        Session.objects.create(id=session_id, user_id=user_id, visited_product_variants=list(skus))
        for step, sku in enumerate(skus):
            events.append(
                ProductDetailEnter(
                    session_id=session_id,
                    user_id=user_id,
                    product_variant_sku=sku,
                    create_at=start + datetime.timedelta(hours=number, minutes=step),
                )
            )
    ProductDetailEnter.objects.bulk_create(events)


FIVE_ITEMS = [f"i{k}" for k in range(5)]


def make_five_item_shop() -> None:
    """FIVE_ITEMS, one product each, and 40 sessions of four views going round them: the
    smallest shop GRU4Rec trains on."""
    make_catalogue({sku: {"product": k} for k, sku in enumerate(FIVE_ITEMS)})
    make_sessions({f"s{n}": [FIVE_ITEMS[(n + k) % 5] for k in range(4)] for n in range(40)})


def make_orders(lines: list[tuple[str, str, int]]) -> None:
    """(session id, sku, quantity), one order per line."""
    for session_id, sku, quantity in lines:
        order = Order.objects.create(token=uuid.uuid4(), session_id=session_id)
        OrderProductVariant.objects.create(order=order, product_variant_sku=sku, quantity=quantity)
    catalogue_revision_bump()


def make_reviews(reviews: list[tuple[str, str, int]]) -> None:
    """(user id, sku, rating)."""
    Review.objects.bulk_create(
        Review(id=i + 1, user_id=user, session_id=user, product_variant_sku=sku, rating=rating)
        for i, (user, sku, rating) in enumerate(reviews)
    )


def train_tiny_gru4rec(sessions: dict[str, list[str]]) -> None:
    """Store `sessions`, make TINY_GRU4REC the GRU4Rec config and train it to completion."""
    make_sessions(sessions)
    config_version_create(payload={"gru4recConfig": TINY_GRU4REC})
    assert model_train(model_name="gru4rec").outcome == "COMPLETED"
