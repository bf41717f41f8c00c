"""A synthetic shop that behaves like a real one, as store payloads: a category tree, product
types, categorical and numerical attributes, variants with prices and stock, and shoppers whose
views, carts, orders and reviews follow latent tastes and popularity, so that every model has
signal to learn. Deterministic for a seed and an end date (numpy `Generator`).

* Popularity: every product has a Zipf-like weight (1/rank^1.1 over a random ranking).
* Tastes: every user has a Dirichlet preference over leaf categories; anonymous sessions use
  the categories' overall appeal.
* Sessions are walks: start in a category the shopper likes, then mostly continue with the next
  product of the same family (products of a category are a sequence, like episodes or sizes of
  a range), sometimes another popular product of the category, sometimes a new category. A
  session model can learn the "next in family" pattern; views are 20 s to 2 min apart.
* Carts happen more often in liked categories; a cart becomes an order with probability 0.6;
  known users review most of what they ordered and some of what they viewed, with ratings that
  grow with their taste for the category.
* Timestamps spread over the `days` before `end`. The ids are meant for an empty database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from store.importers.common import stable_int, stable_token

BRANDS = ("Acme", "Borealis", "Corvid", "Dunmore", "Elgin", "Fathom", "Grove", "Halden")
COLORS = ("black", "white", "red", "blue", "green", "grey")
SIZES = (36, 38, 40, 42, 44, 46)
PRICE_LISTS = (("EUR_retail", 1.0), ("CZK_retail", 25.0))


@dataclass(frozen=True)
class ShopOptions:
    categories: int = 12  # leaf categories
    products: int = 500
    variants_per_product: int = 3
    users: int = 400
    sessions: int = 3000
    seed: int = 7
    days: int = 30
    end: datetime | None = None  # default: today 00:00 UTC
    hold_out: int = 0  # the last sessions, kept out of the stored history for a served-quality replay


@dataclass
class ShopStats:
    products: int = 0
    variants: int = 0
    sessions: int = 0
    views: int = 0
    carts: int = 0
    orders: int = 0
    reviews: int = 0


def generate_shop(options: ShopOptions, stats: ShopStats) -> Iterator[dict]:
    """Every payload of the shop: catalogue first, then the shoppers' history in time order."""
    rng = np.random.default_rng(options.seed)
    end = options.end or datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    created = (end - timedelta(days=options.days + 30)).isoformat()

    # Category tree: roots of about four leaves each; one product type per root.
    n_leaves = max(1, options.categories)
    n_roots = max(1, (n_leaves + 3) // 4)
    roots = list(range(1, n_roots + 1))
    leaves = list(range(n_roots + 1, n_roots + n_leaves + 1))
    root_of = {leaf: roots[i % n_roots] for i, leaf in enumerate(leaves)}
    for root in roots:
        yield {"_model_class": "Category", "id": root, "parent_id": None}
    for leaf in leaves:
        yield {"_model_class": "Category", "id": leaf, "parent_id": root_of[leaf]}

    attribute_types = [
        (1, "BRAND", "CATEGORICAL", None),
        (2, "COLOR", "CATEGORICAL", None),
        (3, "SIZE", "NUMERICAL", "EU"),
        (4, "YEAR", "NUMERICAL", None),
    ]
    for type_id, name, kind, unit in attribute_types:
        yield {"_model_class": "AttributeType", "id": type_id, "type": kind, "type_name": name, "unit": unit}
    attribute_id: dict[tuple[int, str], int] = {}
    years = [str(y) for y in range(2015, 2025)]
    for type_id, values in ((1, BRANDS), (2, COLORS), (3, [str(s) for s in SIZES]), (4, years)):
        for value in values:
            attribute_id[(type_id, value)] = len(attribute_id) + 1
            yield {
                "_model_class": "Attribute",
                "id": attribute_id[(type_id, value)],
                "type": type_id,
                "raw_value": value,
                "order": None,
                "ext_attributes": [],
            }
    for root in roots:
        yield {
            "_model_class": "ProductType",
            "id": root,
            "name": f"Range {root}",
            "attribute_types": [1, 2, 3, 4],
            "products": [],
            "create_at": created,
            "update_at": created,
        }

    # Products: a category (some categories are bigger), a family position, a brand and a year.
    n_products = max(1, options.products)
    category_size = rng.dirichlet(np.full(n_leaves, 2.0))
    product_category = rng.choice(n_leaves, size=n_products, p=category_size)
    popularity = 1.0 / np.arange(1, n_products + 1) ** 1.1
    popularity = popularity[rng.permutation(n_products)]
    family: list[list[int]] = [[] for _ in range(n_leaves)]
    for product in range(n_products):
        family[product_category[product]].append(product)
    variants: list[list[str]] = []
    price_id = 0
    for product in range(n_products):
        product_id = product + 1
        brand = BRANDS[rng.integers(len(BRANDS))]
        year = years[rng.integers(len(years))]
        base_price = _round2(rng.lognormal(3.5, 0.6))
        count = max(1, options.variants_per_product)
        colors = rng.choice(len(COLORS), size=count, replace=count > len(COLORS))
        sizes = rng.choice(len(SIZES), size=count)
        skus = []
        for v in range(count):
            sku = f"DEMO-{product_id:05d}-{v + 1}"
            skus.append(sku)
            links = [
                attribute_id[(1, brand)],
                attribute_id[(2, COLORS[colors[v]])],
                attribute_id[(3, str(SIZES[sizes[v]]))],
                attribute_id[(4, year)],
            ]
            in_stock = rng.random() > 0.1
            yield {
                "_model_class": "ProductVariant",
                "sku": sku,
                "ean": "",
                "weight": _round2(rng.uniform(0.1, 3)),
                "stock_quantity": int(rng.integers(1, 60)) if in_stock else 0,
                "recommendation_weight": 0.5,
                "attributes": sorted(set(links)),
                "create_at": created,
                "update_at": created,
            }
            price = base_price * float(rng.uniform(0.95, 1.1))
            for code, factor in PRICE_LISTS:
                price_id += 1
                yield {
                    "_model_class": "ProductPrice",
                    "id": price_id,
                    "price_list_code": code,
                    "product_variant_sku": sku,
                    "price": round(price * factor, 2),
                    "create_at": created,
                    "update_at": created,
                }
        variants.append(skus)
        leaf = leaves[product_category[product]]
        yield {
            "_model_class": "Product",
            "id": product_id,
            "published": True,
            "category_id": leaf,
            "type": root_of[leaf],
            "product_translations": [],
            "product_variants": skus,
            "create_at": created,
            "update_at": created,
        }
    stats.products, stats.variants = n_products, sum(map(len, variants))

    # Shoppers.
    position_in_family = {product: i for members in family for i, product in enumerate(members)}
    cumulative = [_cumulative_popularity(members, popularity) for members in family]
    n_users = max(1, options.users)
    taste = rng.dirichlet(np.full(n_leaves, 0.3), size=n_users)
    appeal = np.array([popularity[f].sum() if f else 0.0 for f in family])
    appeal = appeal / appeal.sum()
    span = options.days * 86400.0
    starts = np.sort(rng.uniform(0, span, size=options.sessions))
    begin = end - timedelta(days=options.days)
    for number, start in enumerate(starts, start=1):
        user = int(rng.integers(n_users)) if rng.random() < 0.7 else None
        preference = taste[user] if user is not None else appeal
        preference = preference * (appeal > 0)
        preference = preference / preference.sum()
        session_id = f"demo-{options.seed}-{number}"
        user_id = f"demo-user-{user + 1}" if user is not None else None
        length = int(min(30, 1 + rng.geometric(0.15)))
        moment = begin + timedelta(seconds=float(start))
        category = int(rng.choice(n_leaves, p=preference))
        product = _popular_in(rng, family[category], cumulative[category])
        carted: list[tuple[str, int]] = []
        stats.sessions += 1
        for _ in range(length):
            sku = variants[product][int(rng.integers(len(variants[product])))]
            stats.views += 1
            yield {
                "_model_class": "ProductDetailEnter",
                "session_id": session_id,
                "user_id": user_id,
                "product_id": product + 1,
                "product_variant_sku": sku,
                "create_at": moment.isoformat(),
            }
            liking = float(preference[category] * n_leaves)  # 1 = average taste
            if rng.random() < min(0.5, 0.05 + 0.08 * liking):
                moment += timedelta(seconds=float(rng.uniform(5, 30)))
                stats.carts += 1
                carted.append((sku, product))
                yield {
                    "_model_class": "ProductAddToCart",
                    "session_id": session_id,
                    "user_id": user_id,
                    "product_id": product + 1,
                    "product_variant_sku": sku,
                    "create_at": moment.isoformat(),
                }
            if user_id is not None and rng.random() < 0.04:
                stats.reviews += 1
                yield _review(rng, options.seed, session_id, user_id, product, sku, liking, moment)
            moment += timedelta(seconds=float(rng.uniform(20, 120)))
            step = rng.random()
            position = position_in_family[product]
            if step < 0.55 and position + 1 < len(family[category]):
                product = family[category][position + 1]
            elif step < 0.85:
                product = _popular_in(rng, family[category], cumulative[category])
            else:
                category = int(rng.choice(n_leaves, p=preference))
                product = _popular_in(rng, family[category], cumulative[category])
        if carted and rng.random() < 0.6:
            stats.orders += 1
            lines: dict[str, int] = {}
            for sku, _ in carted:
                lines[sku] = lines.get(sku, 0) + int(rng.integers(1, 3))
            yield {
                "_model_class": "Order",
                "token": stable_token("demo-shop", options.seed, session_id),
                "session_id": session_id,
                "user_id": user_id,
                "product_variants": [[s, q] for s, q in lines.items()],
                "create_at": moment.isoformat(),
                "update_at": moment.isoformat(),
            }
            if user_id is not None:
                for sku, ordered in dict(carted).items():
                    if rng.random() < 0.8:
                        stats.reviews += 1
                        liking = float(preference[product_category[ordered]] * n_leaves)
                        yield _review(
                            rng,
                            options.seed,
                            session_id,
                            user_id,
                            ordered,
                            sku,
                            liking,
                            min(end, moment + timedelta(days=float(rng.uniform(1, 5)))),
                        )


def is_held_out(payload: dict, options: ShopOptions) -> bool:
    """Whether a payload belongs to one of the last `options.hold_out` sessions (numbered in
    time order), which are kept out of the stored history to be replayed as unseen shoppers."""
    session_id = payload.get("session_id")
    if not options.hold_out or not isinstance(session_id, str):
        return False
    return int(session_id.rsplit("-", 1)[1]) > options.sessions - options.hold_out


def write_hold_out(held_out: Iterator[dict], handle) -> int:
    """Write the held-out sessions' product views as a tab-separated click file (SessionId,
    ItemId, Time, ProductId), the layout `bench/served_quality.py` replays; returns the clicks."""
    handle.write("SessionId\tItemId\tTime\tProductId\n")
    clicks = 0
    for payload in held_out:
        if payload["_model_class"] != "ProductDetailEnter":
            continue
        moment = datetime.fromisoformat(payload["create_at"]).timestamp()
        handle.write(
            f"{payload['session_id']}\t{payload['product_variant_sku']}\t{moment:.3f}\t{payload['product_id']}\n"
        )
        clicks += 1
    return clicks


def _round2(value: float) -> float:
    # np.round(value, 2) without numpy's per-call overhead (seconds in a million-variant shop):
    # numpy scales by 100, rounds half to even and divides by 100, and so does this.
    return round(float(value) * 100) / 100


def _cumulative_popularity(products: list[int], popularity: np.ndarray) -> np.ndarray:
    if not products:
        return np.zeros(0)
    weights = popularity[products]
    cumulative = (weights / weights.sum()).cumsum()
    cumulative /= cumulative[-1]
    return cumulative


def _popular_in(rng: np.random.Generator, products: list[int], cumulative: np.ndarray) -> int:
    # rng.choice(len(products), p=weights / weights.sum()) draws one uniform number and searches
    # the normalised cumulative weights, which it recomputes on every call (a pass over a
    # category of 40,000 products in a million-variant shop). The same draw and search over
    # weights cumulated once give the same pick.
    return products[int(cumulative.searchsorted(rng.random(), side="right"))]


def _review(rng, seed, session_id, user_id, product, sku, liking, moment) -> dict:
    rating = int(np.clip(np.round(2.0 + 1.2 * np.log1p(liking) + rng.normal(0, 0.7)), 0, 5))
    return {
        "_model_class": "Review",
        "id": stable_int("demo-review", seed, user_id, sku),
        "session_id": session_id,
        "user_id": user_id,
        "product_id": product + 1,
        "product_variant_sku": sku,
        "rating": rating,
        "create_at": moment.isoformat(),
        "update_at": moment.isoformat(),
    }
