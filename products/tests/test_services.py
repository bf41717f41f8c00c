"""The catalogue upsert services: repeated keys in a batch, a large category tree sent in any
order, link replacement."""

import random

import pytest

from conftest import ALL_DATABASES
from products.models import CategoryAncestor, ProductPrice, ProductProductVariant
from store.services import store_objects


def ancestors_by_walking(parents: dict[int, int | None], category_id: int) -> list[int]:
    chain = [category_id]
    while parents[chain[-1]] is not None:
        chain.append(parents[chain[-1]])
    return chain


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_shuffled_category_tree_gets_the_closure_of_its_parent_links():
    rng = random.Random(3)
    parents = {1: None, **{i: rng.randint(1, i - 1) for i in range(2, 400)}}
    payloads = [{"_model_class": "Category", "id": i, "parent_id": p, "deleted": False} for i, p in parents.items()]
    rng.shuffle(payloads)

    for start in range(0, len(payloads), 50):
        store_objects(payloads=payloads[start : start + 50])

    expected = sorted((c, a) for c in parents for a in ancestors_by_walking(parents, c))
    assert sorted(CategoryAncestor.objects.values_list("category_id", "category_ancestor_id")) == expected


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_key_repeated_in_a_batch_keeps_its_last_value():
    price = {"_model_class": "ProductPrice", "id": 1, "price_list_code": "eur", "product_variant_sku": "a", "price": 10}
    product = {
        "_model_class": "Product",
        "id": 1,
        "published": True,
        "type": None,
        "category_id": None,
        "product_variants": ["a", "b"],
    }

    store_objects(payloads=[price, {**price, "price": "12.5"}, product, {**product, "product_variants": ["c", "c"]}])

    assert [str(p) for p in ProductPrice.objects.values_list("price", flat=True)] == ["12.500000"]
    assert list(ProductProductVariant.objects.values_list("product_id", "product_variant_id")) == [(1, "c")]
