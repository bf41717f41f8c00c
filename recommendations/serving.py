"""What a server process keeps in memory to answer predictions fast: the current config, the
latest identifiers, a catalogue snapshot and the loaded models.

Each request checks three tiny rows (newest config version id, latest identifiers, catalogue
revision) and rebuilds only what changed; models are loaded from disk once per identifier per
process, never per request."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections, router
from django.utils import timezone

from modelstore.models import ConfigVersion, LatestIdentifier
from products.revision import catalogue_revision_current
from products.selectors import catalogue_rows
from recommendations.algorithms.base import ArtefactError, Catalogue, PredictionModel
from recommendations.algorithms.popularity import popularity_from_orders
from recommendations.algorithms.registry import MODELS
from recommendations.artefact_store import artefact_read
from recommendations.config import DEFAULT_CONFIG, RecommenderConfig, config_from_payload

logger = logging.getLogger(__name__)

# A model whose artefact could not be loaded is retried after this many seconds.
LOAD_RETRY_SECONDS = 60.0


@dataclass(frozen=True)
class CatalogueSnapshot:
    catalogue: Catalogue
    product_of: dict[str, int]  # sku -> the first product listing it
    variants_of: dict[int, tuple[str, ...]]  # product id -> its variant SKUs
    products_in_category: dict[int, tuple[int, ...]]  # category id -> products directly in it
    revision: int
    half_life_days: float | None


def catalogue_snapshot_build(*, revision: int, half_life_days: float | None) -> CatalogueSnapshot:
    rows = catalogue_rows()
    variants_of: dict[int, list[str]] = defaultdict(list)
    product_of: dict[str, int] = {}
    for sku, product_id in rows.links:
        variants_of[product_id].append(sku)
        product_of.setdefault(sku, product_id)
    products_in_category: dict[int, list[int]] = defaultdict(list)
    is_shown: dict[int, bool] = {}
    for product_id, shown, category in rows.products:
        is_shown[product_id] = shown
        if category is not None:
            products_in_category[category].append(product_id)

    skus = [row[0] for row in rows.variants]
    shown_skus = {
        sku for product_id, listed in variants_of.items() if is_shown.get(product_id, False) for sku in listed
    }
    lines = rows.order_lines
    popularity = popularity_from_orders(
        skus,
        [line[0] for line in lines],
        [line[1] for line in lines],
        [line[2] for line in lines] if half_life_days else None,
        timezone.now() if half_life_days else None,
        half_life_days,
    )
    catalogue = Catalogue.build(
        skus,
        is_available=[not deleted and sku in shown_skus for sku, _, _, deleted in rows.variants],
        in_stock=[stock > 0 for _, stock, _, _ in rows.variants],
        recommendation_weight=[weight for _, _, weight, _ in rows.variants],
        popularity=popularity,
    )
    return CatalogueSnapshot(
        catalogue=catalogue,
        product_of=product_of,
        variants_of={k: tuple(v) for k, v in variants_of.items()},
        products_in_category={k: tuple(v) for k, v in products_in_category.items()},
        revision=revision,
        half_life_days=half_life_days,
    )


@dataclass(frozen=True)
class ServingState:
    config: RecommenderConfig
    config_version_id: int | None
    identifiers: dict[str, str]
    snapshot: CatalogueSnapshot

    @property
    def signature(self) -> str:
        """Changes whenever a new config version or model identifier becomes current."""
        models = ",".join(f"{k}={v}" for k, v in sorted(self.identifiers.items()))
        return f"config={self.config_version_id};{models}"


@dataclass
class _Cache:
    config_version_id: int | None = None
    config: RecommenderConfig = DEFAULT_CONFIG
    snapshot: CatalogueSnapshot | None = None
    models: dict[tuple[str, str], PredictionModel] = field(default_factory=dict)
    failed_loads: dict[tuple[str, str], float] = field(default_factory=dict)
    state: ServingState | None = None
    checked_at: float = 0.0


_cache = _Cache()
_lock = threading.Lock()


def _modelstore_state() -> tuple[int | None, dict[str, str]]:
    """The newest config version id and the latest identifiers, in one round trip."""
    config_table = ConfigVersion._meta.db_table
    identifier_table = LatestIdentifier._meta.db_table
    connection = connections[router.db_for_read(LatestIdentifier)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT '', CAST((SELECT id FROM {config_table} ORDER BY create_at DESC, id DESC LIMIT 1) AS VARCHAR(32)) "
            f"UNION ALL SELECT model_name, identifier FROM {identifier_table}"
        )
        rows = cursor.fetchall()
    version = next((int(value) for name, value in rows if name == "" and value is not None), None)
    return version, {name: value for name, value in rows if name != ""}


def serving_state() -> ServingState:
    """The current state. Two tiny queries (newest config version and latest identifiers in one,
    the catalogue revision in the other) tell whether anything changed; a process asks them at
    most every `RECOMMENDER["STATE_CHECK_SECONDS"]` and answers from memory in between."""
    interval = settings.RECOMMENDER["STATE_CHECK_SECONDS"]
    now = time.monotonic()
    state = _cache.state
    if state is not None and now - _cache.checked_at < interval:
        return state
    version_id, identifiers = _modelstore_state()
    revision = catalogue_revision_current()
    with _lock:
        if version_id != _cache.config_version_id:
            data = ConfigVersion.objects.filter(id=version_id).values_list("data", flat=True).first()
            _cache.config = config_from_payload(data) if data is not None else DEFAULT_CONFIG
            _cache.config_version_id = version_id
        config = _cache.config
        half_life = config.popularity_config.half_life_days
        snapshot = _cache.snapshot
        if snapshot is None or snapshot.revision != revision or snapshot.half_life_days != half_life:
            snapshot = catalogue_snapshot_build(revision=revision, half_life_days=half_life)
            _cache.snapshot = snapshot
        in_use = set(identifiers.items())
        for key in [k for k in _cache.models if k not in in_use and k[0] != k[1]]:
            del _cache.models[key]
        state = ServingState(config=config, config_version_id=version_id, identifiers=identifiers, snapshot=snapshot)
        _cache.state = state
        _cache.checked_at = now
    return state


def loaded_model(name: str, identifiers: dict[str, str]) -> PredictionModel | None:
    """The model instance to use for `name`, or None when it is untrained or cannot be loaded.
    Models that need no training are one shared instance whose identifier is their name."""
    model_class = MODELS[name]
    if not model_class.needs_training:
        key = (name, name)
        model = _cache.models.get(key)
        if model is None:
            model = model_class()
            model.identifier = name
            _cache.models[key] = model
        return model
    identifier = identifiers.get(name)
    if identifier is None:
        return None
    key = (name, identifier)
    model = _cache.models.get(key)
    if model is not None:
        return model
    failed_at = _cache.failed_loads.get(key)
    if failed_at is not None and time.monotonic() - failed_at < LOAD_RETRY_SECONDS:
        return None
    with _lock:
        model = _cache.models.get(key)
        if model is None:
            try:
                model = artefact_read(model_class, model_name=name, identifier=identifier)
            except ArtefactError as error:
                logger.error("cannot load model=%s identifier=%s: %s", name, identifier, error)
                _cache.failed_loads[key] = time.monotonic()
                return None
            _cache.models[key] = model
    return model


def serving_cache_clear() -> None:
    """Forget everything cached in this process (tests; a process sees new data anyway)."""
    global _cache
    with _lock:
        _cache = _Cache()


def catalogue_skus_in_category(snapshot: CatalogueSnapshot, category_ids: list[int]) -> tuple[list[int], list[str]]:
    """The products directly in any of `category_ids` and their variant SKUs, without repeats."""
    products: list[int] = []
    skus: list[str] = []
    seen: set[str] = set()
    for category in category_ids:
        for product_id in snapshot.products_in_category.get(category, ()):
            products.append(product_id)
            for sku in snapshot.variants_of.get(product_id, ()):
                if sku not in seen:
                    seen.add(sku)
                    skus.append(sku)
    return products, skus
