"""A server's in-memory catalogue kept current by the change log, and the refresher thread that
never makes a request wait."""

import json
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from products.revision import catalogue_revision_current
from recommendations import serving
from recommendations.algorithms.dummy import DummyModel
from recommendations.algorithms.popularity import PopularityModel
from recommendations.algorithms.sampling import WeightedTiers
from recommendations.algorithms.selection import SelectionModel
from recommendations.catalogue import catalogue_snapshot_build, catalogue_snapshot_patch, category_layout
from recommendations.serving import serving_state

VARIANT = {
    "_model_class": "ProductVariant",
    "ean": "",
    "weight": None,
    "recommendation_weight": 0.5,
    "attributes": [],
    "create_at": "2024-01-01T00:00:00",
    "update_at": "2024-01-01T00:00:00",
}


def post(body):
    response = APIClient().post("/store_objects", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return response


def variant(sku: str, stock: int = 5, **extra) -> dict:
    return {**VARIANT, "sku": sku, "stock_quantity": stock, **extra}


def product(product_id: int, skus: list[str], category: int | None = 1, **extra) -> dict:
    return {
        "_model_class": "Product",
        "id": product_id,
        "published": True,
        "category_id": category,
        "type": None,
        "product_translations": [],
        "product_variants": skus,
        "create_at": "2024-01-01T00:00:00",
        "update_at": "2024-01-01T00:00:00",
        **extra,
    }


def order(token: str, lines: list[list], session_id: str = "s", **extra) -> dict:
    return {"_model_class": "Order", "token": token, "session_id": session_id, "product_variants": lines, **extra}


def category(category_id: int, parent_id: int | None) -> dict:
    return {"_model_class": "Category", "id": category_id, "parent_id": parent_id}


def _shop() -> None:
    post(
        [variant(f"v{i}") for i in range(6)]
        + [product(p, [f"v{2 * p}", f"v{2 * p + 1}"], category=p % 2) for p in range(3)]
    )


def _as_comparable(snapshot) -> dict:
    catalogue = snapshot.catalogue
    order = np.argsort(catalogue.skus.astype(str))
    return {
        "skus": catalogue.skus[order].tolist(),
        "is_available": catalogue.is_available[order].tolist(),
        "in_stock": catalogue.in_stock[order].tolist(),
        "recommendation_weight": catalogue.recommendation_weight[order].tolist(),
        "popularity": catalogue.popularity[order].tolist(),
        "product_of": snapshot.product_of,
        "variants_of": {k: v for k, v in snapshot.variants_of.items() if v},
        "products_in_category": {k: sorted(v) for k, v in snapshot.products_in_category.items() if v},
        "product_shown": snapshot.product_shown,
        "categories_known": sorted(snapshot.categories.known),
        "categories_below": {k: sorted(v) for k, v in snapshot.categories.below.items()},
    }


WRITES = {
    "stock to zero and a weight": [variant("v1", stock=0, recommendation_weight=0.9)],
    "a variant deleted": [variant("v2", deleted=True)],
    "a product unpublished": [product(1, ["v2", "v3"], published=False)],
    "a product soft-deleted": [product(2, ["v4", "v5"], category=0, deleted=True)],
    "a product moved to another category": [product(0, ["v0", "v1"], category=7)],
    "a product listing its variants in another order": [product(1, ["v3", "v2"])],
    "a product sent again as it was": [product(1, ["v2", "v3"])],
    "a new variant on an existing product": [variant("v9"), product(1, ["v2", "v3", "v9"])],
    "a variant moved between products": [product(0, ["v0"]), product(2, ["v4", "v5", "v1"])],
    "a new product": [variant("n1"), variant("n2", stock=0), product(8, ["n1", "n2"], category=3)],
    "orders": [order("2b1a7a36-8c4d-4f43-9a7e-111111111111", [["v3", 4], ["v0", 1]])],
    "a category tree above the products' categories": [category(10, None), category(11, 10), category(1, 11)],
    "a category moved to another parent": [category(20, None), category(21, None), category(0, 20), category(0, 21)],
    "an order of a signed-in user": [
        order("2b1a7a36-8c4d-4f43-9a7e-222222222222", [["v1", 1]], session_id="s7", user_id="buyer@example.com")
    ],
    "an order sent again with other lines": [
        order("2b1a7a36-8c4d-4f43-9a7e-111111111111", [["v3", 4]]),
        order("2b1a7a36-8c4d-4f43-9a7e-111111111111", [["v5", 2]]),
    ],
}


@pytest.mark.django_db(databases=ALL_DATABASES)
@pytest.mark.parametrize("writes", list(WRITES))
def test_a_patched_snapshot_equals_a_full_rebuild(writes):
    _shop()
    post([order("2b1a7a36-8c4d-4f43-9a7e-000000000000", [["v4", 2]])])
    before = catalogue_snapshot_build(revision=catalogue_revision_current(), half_life_days=None)
    # Category candidates memoised before the write: a patch keeps them only when the write
    # leaves the structure alone.
    for categories in ([0], [1], [0, 7], [3]):
        serving.category_candidates(before, categories)
    before_tree = before.categories

    for write in WRITES[writes]:
        post([write])

    from products.revision import catalogue_changes_between

    changes, is_complete = catalogue_changes_between(before.revision, catalogue_revision_current())
    patched = catalogue_snapshot_patch(before, changes, revision=catalogue_revision_current())
    rebuilt = catalogue_snapshot_build(revision=catalogue_revision_current(), half_life_days=None)
    assert is_complete
    assert _as_comparable(patched) == _as_comparable(rebuilt)
    assert patched.buyer_sessions == rebuilt.buyer_sessions and patched.buyer_users == rebuilt.buyer_users
    # A write that touches no category keeps the tree as it was (no read).
    assert (patched.categories is before_tree) == (not any(w["_model_class"] == "Category" for w in WRITES[writes]))
    assert patched.revision == rebuilt.revision
    # The category layout and candidates are kept by a write that files no product elsewhere
    # and lists no other variants.
    restructures = (
        "a product moved to another category",
        "a product listing its variants in another order",
        "a new variant on an existing product",
        "a variant moved between products",
        "a new product",
    )
    keeps_structure = writes not in restructures
    assert (patched.structure_memo is before.structure_memo) == keeps_structure
    # A structural patch lays out again only the categories it touched: the same layout as one
    # built whole from the patched snapshot.
    incremental, whole = category_layout(patched), category_layout(replace(patched, structure_memo={}))
    assert incremental.product_span == whole.product_span and incremental.row_span == whole.row_span
    assert incremental.products.tolist() == whole.products.tolist()
    assert incremental.rows.tolist() == whole.rows.tolist()
    assert incremental.row_products.tolist() == whole.row_products.tolist()
    for categories in ([0], [1], [0, 7], [3]):
        mine, fresh = serving.category_candidates(patched, categories), serving.category_candidates(rebuilt, categories)
        mine_skus = patched.catalogue.skus[mine.rows].tolist()
        fresh_skus = rebuilt.catalogue.skus[fresh.rows].tolist()
        assert sorted(zip(mine_skus, mine.row_products.tolist())) == sorted(
            zip(fresh_skus, fresh.row_products.tolist())
        )
        assert sorted(mine.products.tolist()) == sorted(fresh.products.tolist())

    # The rows the patch names cover every row it changed, and the sampling tiers updated for
    # them equal tiers built afresh.
    n = len(before.catalogue)
    old, new = before.catalogue, patched.catalogue
    differs = (
        (old.is_available != new.is_available[:n])
        | (old.in_stock != new.in_stock[:n])
        | (old.recommendation_weight != new.recommendation_weight[:n])
        | (old.popularity != new.popularity[:n])
    )
    assert {*np.flatnonzero(differs).tolist(), *range(n, len(new))} <= set(patched.changed_rows.tolist())
    for model_class in (DummyModel, SelectionModel, PopularityModel):
        model = model_class()
        model.prepare(old)
        model.prepare(new, previous=old, changed_rows=patched.changed_rows)
        fresh = replace(new, derived={})
        model.prepare(fresh)
        assert _tiers_as_lists(new.derived[model.name]) == _tiers_as_lists(fresh.derived[model.name])


def _tiers_as_lists(tiers) -> list:
    return [
        (
            tier.weights.tolist(),
            [g.tolist() for g in tier.groups],
            None if tier.ranked is None else (tier.ranked.tolist(), tier.ranked_weights.tolist()),
        )
        for tier in tiers.tiers
    ]


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_stock_update_is_applied_from_the_change_log_without_a_rebuild(monkeypatch):
    _shop()
    assert serving_state().snapshot.catalogue.in_stock[serving_state().snapshot.catalogue.index["v1"]]
    builds = []
    real_build = serving.catalogue_snapshot_build
    monkeypatch.setattr(serving, "catalogue_snapshot_build", lambda **kw: builds.append(kw) or real_build(**kw))
    tier_builds = []
    real_tiers = WeightedTiers.build.__func__
    monkeypatch.setattr(
        WeightedTiers, "build", classmethod(lambda cls, *a: tier_builds.append(a) or real_tiers(cls, *a))
    )

    post([variant("v1", stock=0)])

    snapshot = serving_state().snapshot
    assert not snapshot.catalogue.in_stock[snapshot.catalogue.index["v1"]]
    assert builds == []
    # The sampling tiers were updated for the one row, not built again over the catalogue.
    assert tier_builds == []
    assert snapshot.changed_rows.tolist() == [snapshot.catalogue.index["v1"]]
    dummy_tiers = snapshot.catalogue.derived["dummy"]
    assert snapshot.catalogue.index["v1"] in dummy_tiers.tiers[1].groups[0].tolist()  # out of stock now


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_write_that_logged_nothing_makes_the_server_rebuild():
    from products.models import ProductVariant
    from products.revision import catalogue_revision_bump

    _shop()
    serving_state()
    ProductVariant.objects.filter(sku="v1").update(stock_quantity=0)
    catalogue_revision_bump()  # a direct write: the revision moved, the log has nothing for it

    snapshot = serving_state().snapshot
    assert not snapshot.catalogue.in_stock[snapshot.catalogue.index["v1"]]


def _predict(body: dict) -> list[str]:
    response = APIClient().post("/predict", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return [item["product_variant_sku"] for item in response.json()]


@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
@pytest.mark.parametrize("update", ["out of stock", "deleted"])
def test_an_update_reaches_predictions_within_the_window_while_requests_never_wait(settings, monkeypatch, update):
    settings.RECOMMENDER = {**settings.RECOMMENDER, "STATE_CHECK_SECONDS": 0.05}
    _shop()
    post([{"_model_class": "Config", "oneVariantPerProduct": False}])
    post([order("2b1a7a36-8c4d-4f43-9a7e-000000000000", [["v1", 9], ["v3", 2]])])
    body = {"recommendation_type": "HOMEPAGE", "session_id": "s1", "limit": 6}
    assert _predict(body)[0] == "v1"  # the best seller

    # Hold the refresher inside the patch: a request meanwhile must answer from the state it has.
    release = threading.Event()
    inside = threading.Event()
    real_patch = serving.catalogue_snapshot_patch

    def held_patch(*args, **kwargs):
        inside.set()
        release.wait(10)
        return real_patch(*args, **kwargs)

    monkeypatch.setattr(serving, "catalogue_snapshot_patch", held_patch)
    post([variant("v1", stock=0)] if update == "out of stock" else [variant("v1", deleted=True)])
    assert inside.wait(10), "the refresher did not start applying the change"

    during = _predict(body)  # answered while the refresh is held
    release.set()
    deadline = time.monotonic() + 10
    while (after := _predict(body))[0] == "v1" and time.monotonic() < deadline:
        time.sleep(0.02)

    assert during[0] == "v1"
    assert after[0] == "v3"
    if update == "out of stock":
        assert after[-1] == "v1"
    else:
        assert "v1" not in after


@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
def test_a_first_state_slower_than_a_request_deadline_answers_503_until_ready_then_serves(settings, monkeypatch):
    # At a million variants the first snapshot takes longer than a request may wait on its
    # databases; the state is built by the refresher, and a request meanwhile answers 503.
    settings.RECOMMENDER = {**settings.RECOMMENDER, "STATE_CHECK_SECONDS": 0.05}
    settings.REQUEST_DATABASE_DEADLINE = 0.2
    _shop()
    release = threading.Event()
    real_build = serving.catalogue_snapshot_build

    def slow_build(**kwargs):
        release.wait(10)
        return real_build(**kwargs)

    monkeypatch.setattr(serving, "catalogue_snapshot_build", slow_build)
    serving.serving_warm_up()  # what gunicorn's post_worker_init does
    body = {"recommendation_type": "HOMEPAGE", "session_id": "s1", "limit": 3}

    response = APIClient().post("/predict", json.dumps(body), content_type="application/json")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "still loading" in response.json()["detail"]
    release.set()
    deadline = time.monotonic() + 10
    while not serving._process.ready.is_set() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(_predict(body)) == 3


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_category_list_reads_the_tree_from_the_snapshot_and_a_category_sent_since_is_known(monkeypatch):
    _shop()
    post([category(10, None), category(11, 10), category(1, 11), category(0, 10)])
    snapshot = catalogue_snapshot_build(revision=catalogue_revision_current(), half_life_days=None)
    assert sorted(snapshot.categories.descendants(10)) == [0, 1, 10, 11]
    assert sorted(snapshot.categories.descendants(11)) == [1, 11]
    assert snapshot.categories.descendants(7) == [7]  # unknown: itself, nothing below
    assert snapshot.is_category_known(11) and snapshot.is_category_known(0)
    assert not snapshot.is_category_known(12)

    # A process whose snapshot predates category 12 still knows it, from the database.
    state = serving_state()
    monkeypatch.setattr(serving, "serving_state", lambda: replace(state, snapshot=snapshot))
    post([category(12, 10)])
    assert not snapshot.is_category_known(12)
    assert serving.category_is_known_now(12)
    assert not serving.category_is_known_now(13)


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_the_snapshot_knows_who_ordered_so_others_are_not_looked_up():
    _shop()
    post([order("2b1a7a36-8c4d-4f43-9a7e-000000000000", [["v4", 2]], session_id="s1", user_id="42")])
    snapshot = catalogue_snapshot_build(revision=catalogue_revision_current(), half_life_days=None)

    assert snapshot.may_have_ordered(user_id=None, session_id="s1")
    assert snapshot.may_have_ordered(user_id="42", session_id="other")
    assert not snapshot.may_have_ordered(user_id=None, session_id="s2")
    assert not snapshot.may_have_ordered(user_id="43", session_id="s1")  # a user is matched by user
    assert not snapshot.may_have_ordered(user_id=None, session_id=None)
