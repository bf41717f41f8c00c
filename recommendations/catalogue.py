"""A server's in-memory catalogue: built in full once, then kept current by applying just the
rows each catalogue write touched (the change log), so a stock update costs a few keyed queries
and a copy of a few arrays, never a rebuild.

A snapshot is never changed once requests can see it: a patch copies the arrays it changes and
returns a new snapshot. The dicts that map products and variants are shared between snapshots
and updated in place (a request that reads one mid-update sees either mapping; both are valid
catalogue states)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import chain, repeat

import numpy as np
from django.utils import timezone

from products.selectors import (
    CatalogueChanges,
    CatalogueRows,
    CategoryTree,
    catalogue_changes_rows,
    catalogue_rows,
    category_tree,
)
from recommendations.algorithms.base import Catalogue
from recommendations.algorithms.popularity import popularity_from_orders


@dataclass(frozen=True)
class CatalogueSnapshot:
    catalogue: Catalogue
    product_of: dict[str, int]  # sku -> the first product listing it
    variants_of: dict[int, tuple[str, ...]]  # product id -> its variant SKUs
    products_in_category: dict[int, tuple[int, ...]]  # category id -> products directly in it
    product_shown: dict[int, bool]  # product id -> published and not deleted
    product_category: dict[int, int | None]
    # SKUs listed by more than one product -> every product listing them (rare).
    shared_skus: dict[str, tuple[int, ...]]
    categories: CategoryTree
    # Sessions and users that placed an order (never forgotten until a rebuild): a requester in
    # neither has nothing to exclude as bought, so the prediction asks the database nothing.
    buyer_sessions: set[str]
    buyer_users: set[str]
    revision: int
    half_life_days: float | None
    built_at: float  # time.monotonic() of the full build
    # What requests derive from the catalogue's structure (products, their categories and
    # variants, the SKU rows: category candidates), kept across patches that change none of
    # it (stock, prices, weights, sales, variant flags) and started afresh by those that do.
    structure_memo: dict = field(default_factory=dict, compare=False, repr=False)
    # The catalogue rows a patch changed (flags, weights, popularity; appended rows included),
    # ascending, so models can update what they derived from the previous catalogue; None
    # after a full build.
    changed_rows: np.ndarray | None = field(default=None, compare=False, repr=False)

    def may_have_ordered(self, *, user_id: str | None, session_id: str | None) -> bool:
        """False when the requester (a user, else the session, as `requester_ordered` matches)
        had placed no order as of this snapshot."""
        if user_id:
            return user_id in self.buyer_users
        return session_id is not None and session_id in self.buyer_sessions

    def is_category_known(self, category_id: int) -> bool:
        """Whether the category was sent or a product is filed under it (`category_is_known`)."""
        return category_id in self.categories.known or bool(self.products_in_category.get(category_id))

    def is_shown(self, sku: str) -> bool:
        """Whether a product listing the SKU is published and not deleted."""
        products = self.shared_skus.get(sku)
        if products is None:
            product = self.product_of.get(sku)
            return product is not None and self.product_shown.get(product, False)
        return any(self.product_shown.get(product, False) for product in products)


@dataclass(frozen=True)
class CategoryLayout:
    """Every product filed under a category and its variants' catalogue rows, laid out category
    by category (each category's products in `products_in_category` order, each product's
    variants in `variants_of` order, SKUs outside the catalogue left out), so the candidates of
    any set of categories are a few array slices. Derived from the structure once (the
    refresher builds it before a new structure serves), never per request."""

    products: np.ndarray  # int64 product ids
    product_span: dict[int, tuple[int, int]]  # category -> [start, stop) in `products`
    rows: np.ndarray  # int64 catalogue rows
    row_products: np.ndarray  # int64, the product listing each row there
    row_span: dict[int, tuple[int, int]]  # category -> [start, stop) in `rows`
    # A row laid out twice (a SKU listed by several products, or twice by one): candidates then
    # keep its first place. A product laid out twice (filed under two categories): never in a
    # consistent snapshot, checked rather than assumed.
    has_repeated_rows: bool
    has_repeated_products: bool


LAYOUT_KEY = "category-layout"


def category_layout(snapshot: CatalogueSnapshot) -> CategoryLayout:
    """The snapshot's `CategoryLayout`, built on first use and kept in its `structure_memo`
    (shared by every patched snapshot of the same structure; a patch that changes the structure
    lays out again only the categories it touched: 70 to 200 ms for one of 19,000 to 88,000
    products). Linear in the catalogue: 0.1 s at 100,000 variants, 1 to 2 s at a million (one
    dictionary lookup per variant), in the refresher thread."""
    memo = snapshot.structure_memo.get(LAYOUT_KEY)
    if memo is not None:
        return memo
    layout = _layout(snapshot, None, set())
    snapshot.structure_memo[LAYOUT_KEY] = layout
    return layout


def _layout(snapshot: CatalogueSnapshot, previous: CategoryLayout | None, changed: set[int]) -> CategoryLayout:
    """The layout of the snapshot's categories, each category's block taken from `previous` when
    it is not in `changed` (its products, their variants and which of those the catalogue holds
    are as they were), else laid out afresh."""
    fresh = [
        category
        for category in snapshot.products_in_category
        if previous is None or category in changed or category not in previous.product_span
    ]
    blocks = _blocks(snapshot, fresh)
    product_parts, row_parts, row_product_parts = [], [], []
    product_span: dict[int, tuple[int, int]] = {}
    row_span: dict[int, tuple[int, int]] = {}
    product_at = row_at = 0
    for category in snapshot.products_in_category:
        block = blocks.get(category)
        if block is None:
            a, b = previous.product_span[category]
            c, d = previous.row_span[category]
            block = previous.products[a:b], previous.rows[c:d], previous.row_products[c:d]
        products, rows, row_products = block
        product_parts.append(products)
        row_parts.append(rows)
        row_product_parts.append(row_products)
        product_span[category] = (product_at, product_at + len(products))
        row_span[category] = (row_at, row_at + len(rows))
        product_at += len(products)
        row_at += len(rows)
    products = np.concatenate(product_parts) if product_parts else np.zeros(0, dtype=np.int64)
    return CategoryLayout(
        products=products,
        product_span=product_span,
        rows=np.concatenate(row_parts) if row_parts else np.zeros(0, dtype=np.int64),
        row_products=np.concatenate(row_product_parts) if row_parts else np.zeros(0, dtype=np.int64),
        row_span=row_span,
        # Links are unique per product and SKU: a row comes twice only for a SKU several
        # products list.
        has_repeated_rows=bool(snapshot.shared_skus),
        has_repeated_products=_has_repeats(products),
    )


def _blocks(snapshot: CatalogueSnapshot, categories: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each category's products, their variants' catalogue rows and each row's product, at C
    speed but for one pass over the products."""
    product_span: dict[int, tuple[int, int]] = {}
    start = 0
    for category in categories:
        count = len(snapshot.products_in_category[category])
        product_span[category] = (start, start + count)
        start += count
    products = np.fromiter(
        chain.from_iterable(snapshot.products_in_category[category] for category in categories),
        dtype=np.int64,
        count=start,
    )
    variants_of = snapshot.variants_of
    listed = [variants_of.get(product, ()) for product in products.tolist()]
    lengths = np.fromiter(map(len, listed), dtype=np.int64, count=len(listed))
    index = snapshot.catalogue.index
    total = int(lengths.sum())
    rows = np.fromiter(map(index.get, chain.from_iterable(listed), repeat(-1)), dtype=np.int64, count=total)
    row_products = np.repeat(products, lengths)
    # Where each product's rows start, counted in the rows kept (those in the catalogue).
    kept = rows >= 0
    kept_before = np.zeros(total + 1, dtype=np.int64)
    np.cumsum(kept, out=kept_before[1:])
    product_starts = np.zeros(len(products) + 1, dtype=np.int64)
    np.cumsum(lengths, out=product_starts[1:])
    row_start = kept_before[product_starts]
    rows, row_products = rows[kept], row_products[kept]
    return {
        category: (products[a:b], rows[row_start[a] : row_start[b]], row_products[row_start[a] : row_start[b]])
        for category, (a, b) in product_span.items()
    }


def _has_repeats(values: np.ndarray) -> bool:
    ordered = np.sort(values)
    return bool((ordered[1:] == ordered[:-1]).any())


def _popularity(skus: list[str], lines: list, half_life_days: float | None) -> np.ndarray:
    return popularity_from_orders(
        skus,
        [line[0] for line in lines],
        [line[1] for line in lines],
        [line[2] for line in lines] if half_life_days else None,
        timezone.now() if half_life_days else None,
        half_life_days,
    )


def catalogue_snapshot_build(*, revision: int, half_life_days: float | None) -> CatalogueSnapshot:
    """The whole catalogue, read in a few set-based queries."""
    rows: CatalogueRows = catalogue_rows()
    variants_of: dict[int, list[str]] = defaultdict(list)
    listed_by: dict[str, list[int]] = defaultdict(list)
    for sku, product_id in rows.links:
        variants_of[product_id].append(sku)
        listed_by[sku].append(product_id)
    product_shown = {product_id: shown for product_id, shown, _ in rows.products}
    product_category = {product_id: category for product_id, _, category in rows.products}
    products_in_category: dict[int, list[int]] = defaultdict(list)
    for product_id, _, category in rows.products:
        if category is not None:
            products_in_category[category].append(product_id)
    snapshot = CatalogueSnapshot(
        catalogue=Catalogue.build([]),
        product_of={sku: products[0] for sku, products in listed_by.items()},
        variants_of={k: tuple(v) for k, v in variants_of.items()},
        products_in_category={k: tuple(v) for k, v in products_in_category.items()},
        product_shown=product_shown,
        product_category=product_category,
        shared_skus={sku: tuple(products) for sku, products in listed_by.items() if len(products) > 1},
        categories=category_tree(),
        buyer_sessions={session for session, _ in rows.buyers},
        buyer_users={user for _, user in rows.buyers if user},
        revision=revision,
        half_life_days=half_life_days,
        built_at=time.monotonic(),
    )
    skus = [row[0] for row in rows.variants]
    catalogue = Catalogue.build(
        skus,
        is_available=[not deleted and snapshot.is_shown(sku) for sku, _, _, deleted in rows.variants],
        in_stock=[stock > 0 for _, stock, _, _ in rows.variants],
        recommendation_weight=[weight for _, _, weight, _ in rows.variants],
        popularity=_popularity(skus, rows.order_lines, half_life_days),
    )
    return replace(snapshot, catalogue=catalogue)


def catalogue_snapshot_patch(
    snapshot: CatalogueSnapshot, changes: Iterable[tuple[str, str]], *, revision: int
) -> CatalogueSnapshot:
    """A new snapshot with the rows behind `changes` ((kind, key) from the change log) as they
    are now. Applying a change twice is harmless: every row is read afresh."""
    keys: dict[str, set[str]] = defaultdict(set)
    for kind, key in changes:
        keys[kind].add(key)
    product_ids = {int(key) for key in keys["PRODUCT"] if key.lstrip("-").isdigit()}
    # The variants a changed product listed before: it may list them no more.
    listed_before = {sku for product_id in product_ids for sku in snapshot.variants_of.get(product_id, ())}
    rows: CatalogueChanges = catalogue_changes_rows(
        skus=keys["VARIANT"] | listed_before, product_ids=product_ids, order_tokens=keys["ORDER"]
    )

    # Products: their flags, categories and variant lists. Only a product filed elsewhere, or
    # listing other variants, changes the structure (not one published or edited in place).
    restructured = False
    # The categories whose products or their variants a structural change touches.
    touched_categories = {snapshot.product_category.get(product_id) for product_id in product_ids}
    for product_id, shown, category in rows.products:
        old_category = snapshot.product_category.get(product_id)
        if old_category != category or product_id not in snapshot.product_category:
            restructured = True
            if old_category is not None:
                remaining = tuple(p for p in snapshot.products_in_category.get(old_category, ()) if p != product_id)
                snapshot.products_in_category[old_category] = remaining
            if category is not None:
                snapshot.products_in_category[category] = (*snapshot.products_in_category.get(category, ()), product_id)
        snapshot.product_shown[product_id] = shown
        snapshot.product_category[product_id] = category
    listed_by: dict[str, list[int]] = defaultdict(list)
    products_listing: dict[int, list[str]] = defaultdict(list)
    for sku, product_id in rows.links:
        listed_by[sku].append(product_id)
        products_listing[product_id].append(sku)
    touched_skus = set(keys["VARIANT"]) | set(listed_by) | listed_before
    # A variant newly listed (or listed by another product) changes the structure; a stock or
    # price update of a variant listed as before does not.
    relinked = any(
        snapshot.product_of.get(sku) != products[0] or (len(products) > 1) != (sku in snapshot.shared_skus)
        for sku, products in listed_by.items()
    )
    for product_id in product_ids:
        listing = tuple(products_listing.get(product_id, ()))
        if snapshot.variants_of.get(product_id, ()) != listing:
            restructured = True
        snapshot.variants_of[product_id] = listing
    for sku in touched_skus:
        products = listed_by.get(sku)
        if products:
            snapshot.product_of[sku] = products[0]
            if len(products) > 1:
                snapshot.shared_skus[sku] = tuple(products)
            else:
                snapshot.shared_skus.pop(sku, None)
        elif sku in snapshot.product_of and snapshot.product_of[sku] in product_ids:
            # Its product no longer lists it.
            del snapshot.product_of[sku]
            snapshot.shared_skus.pop(sku, None)

    # Variants: new ones are appended; the flags of every touched one are recomputed.
    catalogue = snapshot.catalogue
    variant_rows = {sku: (stock, weight, deleted) for sku, stock, weight, deleted in rows.variants}
    new_skus = [sku for sku in variant_rows if sku not in catalogue.index]
    popularity = catalogue.popularity.copy()
    if new_skus:
        index = dict(catalogue.index)
        for sku in new_skus:
            index[sku] = len(index)
        grow = len(new_skus)
        catalogue = Catalogue(
            skus=np.concatenate([catalogue.skus, np.asarray(new_skus, dtype=object)]),
            is_available=np.concatenate([catalogue.is_available, np.zeros(grow, dtype=bool)]),
            in_stock=np.concatenate([catalogue.in_stock, np.zeros(grow, dtype=bool)]),
            recommendation_weight=np.concatenate([catalogue.recommendation_weight, np.zeros(grow)]),
            popularity=np.concatenate([popularity, np.zeros(grow)]),
            index=index,
        )
    else:
        catalogue = replace(
            catalogue,
            is_available=catalogue.is_available.copy(),
            in_stock=catalogue.in_stock.copy(),
            recommendation_weight=catalogue.recommendation_weight.copy(),
            popularity=popularity,
            derived={},
        )
    index = catalogue.index
    deleted_of: dict[str, bool] = {}
    for sku, (stock, weight, deleted) in variant_rows.items():
        row = index[sku]
        catalogue.in_stock[row] = stock > 0
        catalogue.recommendation_weight[row] = weight
        deleted_of[sku] = deleted
    for sku in touched_skus:
        row = index.get(sku)
        if row is not None:
            # A variant with no row any more is gone; one with a row is available when it is
            # not deleted and a product listing it is shown.
            catalogue.is_available[row] = not deleted_of.get(sku, True) and snapshot.is_shown(sku)

    # Buyers: added in place (a request reading the set mid-update sees either answer, and a
    # requester wrongly taken for a buyer only costs one query).
    for session, user in rows.buyers:
        snapshot.buyer_sessions.add(session)
        if user:
            snapshot.buyer_users.add(user)

    # Sales: the popularity of every variant an order touched, from all its order lines.
    if rows.sold_skus:
        sold = sorted(rows.sold_skus & set(index))
        values = _popularity(sold, rows.order_lines, snapshot.half_life_days)
        for sku, value in zip(sold, values.tolist()):
            catalogue.popularity[index[sku]] = value
    structure_changed = bool(restructured or new_skus or relinked)
    changed = {index[sku] for sku in (*variant_rows, *touched_skus, *rows.sold_skus) if sku in index}
    patched = replace(
        snapshot,
        catalogue=catalogue,
        # A category write: the tree is read again whole (small; categories rarely change).
        categories=category_tree() if keys["CATEGORY"] else snapshot.categories,
        revision=revision,
        structure_memo=snapshot.structure_memo if not structure_changed else {},
        changed_rows=np.fromiter(sorted(changed), dtype=np.int64, count=len(changed)),
    )
    if structure_changed and LAYOUT_KEY in snapshot.structure_memo:
        # Only the categories of the products written, and of those listing a variant new to
        # the catalogue, are laid out again; the other categories' blocks and candidates carry.
        for sku in new_skus:
            listing = snapshot.shared_skus.get(sku) or (
                (snapshot.product_of[sku],) if sku in snapshot.product_of else ()
            )
            touched_categories.update(snapshot.product_category.get(product) for product in listing)
        touched_categories.update(snapshot.product_category.get(product_id) for product_id in product_ids)
        touched_categories.discard(None)
        patched.structure_memo[LAYOUT_KEY] = _layout(patched, snapshot.structure_memo[LAYOUT_KEY], touched_categories)
        # A copy: requests add candidates to the current snapshot's memo while this runs.
        for key, value in list(snapshot.structure_memo.items()):
            if key != LAYOUT_KEY and key[0] == "category" and touched_categories.isdisjoint(key[1]):
                patched.structure_memo[key] = value
    return patched
