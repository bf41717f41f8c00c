"""A category list's candidates come from the snapshot's category layout as array slices
(issue 15): they must be exactly what one pass over the categories' products and their variants
gives, in the same order, with SKUs listed by several products (the first product keeps them),
SKUs a product lists twice, links to variants the catalogue does not hold, products without
variants and sub-categories."""

import random
from dataclasses import replace

import numpy as np
import pytest

from conftest import ALL_DATABASES
from products.models import ProductProductVariant
from products.revision import catalogue_changes_between, catalogue_revision_current
from recommendations import serving
from recommendations.catalogue import catalogue_snapshot_build, catalogue_snapshot_patch, category_layout
from recommendations.tests.factories import make_catalogue
from recommendations.tests.test_serving import post, product, variant

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _reference(snapshot, category_ids):
    """The candidates by their definition: products category by category, each product's
    variants in order, a variant once (with the first product listing it) and only if the
    catalogue holds it."""
    products, product_of = [], {}
    index = snapshot.catalogue.index
    for category in category_ids:
        for product_id in snapshot.products_in_category.get(category, ()):
            products.append(product_id)
            for sku in snapshot.variants_of.get(product_id, ()):
                if sku not in product_of and sku in index:
                    product_of[sku] = product_id
    return products, product_of


def _shop(seed: int) -> None:
    rng = random.Random(seed)
    variants = {
        f"p{p}-{k}": {"product": p, "stock": rng.choice([0, 5])} for p in range(30) for k in range(rng.randint(1, 3))
    }
    products = {p: {"category": rng.choice([1, 2, 3, 4, None])} for p in range(30)}
    make_catalogue(variants, products=products, categories={1: None, 2: 1, 3: 1, 4: 2})
    skus = list(variants)
    # SKUs listed by a second product (in the same category or another), and links to variants
    # the catalogue does not hold.
    links = {(spec["product"], sku) for sku, spec in variants.items()}
    for _ in range(8):
        link = (rng.randrange(30), rng.choice(skus))
        if link not in links:
            links.add(link)
            ProductProductVariant.objects.create(product_id=link[0], product_variant_id=link[1])
    ProductProductVariant.objects.create(product_id=3, product_variant_id="no-such-variant")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_candidates_are_the_categories_products_and_their_variants_in_order(seed):
    _shop(seed)
    snapshot = catalogue_snapshot_build(revision=catalogue_revision_current(), half_life_days=None)
    assert snapshot.shared_skus  # the shop lists SKUs twice
    skus = snapshot.catalogue.skus
    for category_ids in ([1], [2], [4], [1, 2, 3, 4], [3, 1], [2, 2], [99], []):
        candidates = serving.category_candidates(snapshot, category_ids)
        products, product_of = _reference(snapshot, list(dict.fromkeys(category_ids)))

        assert skus[candidates.rows].tolist() == list(product_of)
        assert candidates.row_products.tolist() == list(product_of.values())
        assert candidates.products.tolist() == products
        # Slots name each distinct product once, and each row's slot is its product.
        assert sorted(candidates.product_ids.tolist()) == sorted(set(product_of.values()))
        assert candidates.product_ids[candidates.row_slots].tolist() == list(product_of.values())
        # Products of given rows: candidates' in their order, others left out.
        outside = [row for row in range(len(skus)) if skus[row] not in product_of][:3]
        asked = np.array([*reversed(candidates.rows.tolist()), *outside], dtype=np.int64)
        expected = [product_of[sku] for sku in reversed(list(product_of))]
        assert candidates.products_of_rows(asked).tolist() == expected
        # Memoised for the structure.
        assert serving.category_candidates(snapshot, category_ids) is candidates


def test_the_layout_is_built_once_per_structure_before_a_state_serves():
    _shop(4)
    state = serving.serving_state()
    layout = category_layout(state.snapshot)
    # The refresh that made the state current laid the catalogue out already.
    assert state.snapshot.structure_memo.get("category-layout") is layout
    assert not layout.has_repeated_products


def test_a_variant_arriving_after_its_product_joins_the_layout_of_that_category_alone():
    post([variant("a1"), variant("b1"), product(1, ["a1", "late"], category=1), product(2, ["b1"], category=2)])
    before = catalogue_snapshot_build(revision=catalogue_revision_current(), half_life_days=None)
    untouched = serving.category_candidates(before, [2])
    assert skus_of(before, serving.category_candidates(before, [1])) == ["a1"]  # "late" is not a variant yet

    post([variant("late")])
    changes, _ = catalogue_changes_between(before.revision, catalogue_revision_current())
    patched = catalogue_snapshot_patch(before, changes, revision=catalogue_revision_current())

    assert skus_of(patched, serving.category_candidates(patched, [1])) == ["a1", "late"]
    # The other category's candidates carry over; the layout equals one built whole.
    assert serving.category_candidates(patched, [2]) is untouched
    whole = category_layout(replace(patched, structure_memo={}))
    assert category_layout(patched).rows.tolist() == whole.rows.tolist()
    assert category_layout(patched).row_span == whole.row_span


def skus_of(snapshot, candidates):
    return snapshot.catalogue.skus[candidates.rows].tolist()
