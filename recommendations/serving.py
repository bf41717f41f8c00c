"""What a server process keeps in memory to answer predictions fast: the current config, the
loaded models and the catalogue, as one immutable `ServingState` that requests read.

A refresher thread per process looks every `RECOMMENDER["STATE_CHECK_SECONDS"]` (two tiny
queries: the newest config version with the latest identifiers, and the catalogue revision) and
prepares the next state beside the current one: a new config parsed, newly published models
loaded, the catalogue changes applied (or the catalogue rebuilt after a bulk load), the models
that follow live sessions extended with the sessions stored since, and every model prepared for
a new catalogue. Then one assignment makes it current. Requests never wait for a refresh; only
the first request of a process waits for the first state. With `STATE_CHECK_SECONDS` 0 (the
tests) each request refreshes first, in its own thread.

A model whose artefact cannot be loaded is logged and retried after `LOAD_RETRY_SECONDS`; its
previous identifier goes on serving meanwhile."""

from __future__ import annotations

import datetime
import gc
import logging
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from django.conf import settings
from django.db import close_old_connections, connections, router
from django.utils import timezone

from core.exceptions import ServiceUnavailable
from feedback.selectors import sessions_updated_since
from modelstore.models import ConfigVersion, LatestIdentifier, TrainingDataMark
from products.revision import catalogue_changes_between, catalogue_revision_current
from products.selectors import category_is_known
from recommendations.algorithms.base import ArtefactError, PredictionModel
from recommendations.algorithms.registry import MODELS
from recommendations.artefact_store import artefact_read
from recommendations.catalogue import (
    CatalogueSnapshot,
    catalogue_snapshot_build,
    catalogue_snapshot_patch,
    category_layout,
)
from recommendations.config import DEFAULT_CONFIG, RecommenderConfig, config_from_payload
from recommendations.training.data import session_data_of

logger = logging.getLogger(__name__)

# A model whose artefact could not be loaded is retried after this many seconds.
LOAD_RETRY_SECONDS = 60.0
# More changed keys than this since the last look: a full rebuild is cheaper than a patch.
MAX_PATCH_KEYS = 20_000
# With popularity decay, a full rebuild at least this often: patched sales are dated "now".
DECAY_REBUILD_SECONDS = 600.0
# When a model's training data mark is unknown, live sessions of this long before its
# publication are added.
LIVE_LOOKBACK = datetime.timedelta(hours=1)
# Sessions are re-read from this long before the last look: one committed a moment late is not
# missed (a session read twice replaces itself).
LIVE_OVERLAP = datetime.timedelta(seconds=5)


@dataclass(frozen=True)
class ServingState:
    config: RecommenderConfig
    config_version_id: int | None
    identifiers: dict[str, str]  # trained model name -> identifier of the loaded instance
    snapshot: CatalogueSnapshot
    models: dict[str, PredictionModel]  # every servable model (trained ones once loaded)

    @property
    def signature(self) -> str:
        """Changes whenever a new config version or model identifier becomes current."""
        models = ",".join(f"{k}={v}" for k, v in sorted(self.identifiers.items()))
        return f"config={self.config_version_id};{models}"


@dataclass
class _Process:
    state: ServingState | None = None
    models: dict[tuple[str, str], PredictionModel] = field(default_factory=dict)
    failed_loads: dict[tuple[str, str], float] = field(default_factory=dict)
    live_since: dict[tuple[str, str], datetime.datetime] = field(default_factory=dict)
    refresher: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)  # the first state exists
    refreshes: int = 0


_process = _Process()
# One refresh at a time; requests never take it once a state exists (but with interval 0).
_refresh_lock = threading.Lock()
_start_lock = threading.Lock()


def serving_state() -> ServingState:
    """The current state (see the module docstring)."""
    process = _process
    interval = settings.RECOMMENDER["STATE_CHECK_SECONDS"]
    if interval <= 0:
        with _refresh_lock:
            return _refresh(process)
    state = process.state
    if process.refresher is None or not process.refresher.is_alive():
        _start_refresher(process, interval)
    if state is None:
        # The refresher builds the first state (a large catalogue takes seconds, more than a
        # request's database deadline); a request waits for it a bounded time.
        process.ready.wait(settings.REQUEST_DATABASE_DEADLINE)
        state = process.state
        if state is None:
            raise ServingNotReady(
                "The service is still loading its catalogue and models (or cannot read them); try again shortly."
            )
    return state


def category_is_known_now(category_id: int) -> bool:
    """Whether the service knows the category: from the serving snapshot (no query), else from
    the database, for a category sent since this process last looked."""
    return serving_state().snapshot.is_category_known(category_id) or category_is_known(category_id)


class ServingNotReady(ServiceUnavailable):
    """No serving state yet: the process has just started and is loading (503, Retry-After)."""


def serving_warm_up() -> None:
    """Start building the serving state now (gunicorn calls it as a worker starts), so the first
    request finds it ready."""
    interval = settings.RECOMMENDER["STATE_CHECK_SECONDS"]
    if interval > 0:
        _start_refresher(_process, interval)


def _start_refresher(process: _Process, interval: float) -> None:
    # Its own lock: the refresh lock may be held for seconds by a refresh in progress.
    with _start_lock:
        if process.refresher is not None and process.refresher.is_alive():
            return
        thread = threading.Thread(target=_refresh_loop, args=(process, interval), name="serving-refresh", daemon=True)
        process.refresher = thread
        thread.start()


def _refresh_loop(process: _Process, interval: float) -> None:
    # The first refresh at once (it builds the first state), then one every `interval`.
    while True:
        try:
            with _refresh_lock:
                before = process.state
                state = _refresh(process)
                if _is_rebuilt(before, state):
                    _freeze_long_lived()
            process.ready.set()
        except Exception:
            # A database that does not answer: serve the current state and look again.
            logger.exception("serving state refresh failed; the current state goes on serving")
        finally:
            close_old_connections()
        if process.stop.wait(interval):
            return


def _is_rebuilt(before: ServingState | None, after: ServingState) -> bool:
    """Whether a refresh built the catalogue in full or loaded another trained model (not a
    patch, a config change or live sessions added to a model)."""
    if before is None:
        return True
    rebuilt = after.snapshot.catalogue is not before.snapshot.catalogue and after.snapshot.changed_rows is None
    return rebuilt or after.identifiers != before.identifiers


def _freeze_long_lived() -> None:
    """Keep the garbage collector away from the serving state.

    A worker holds the catalogue and the models: hundreds of thousands of Python objects and
    millions of references at 100,000 variants. Python's collector walks all of them in every
    full collection, and a request that allocates many objects (product positions of a large
    category, its JSON) triggers one every few requests: 100 ms or more holding the GIL, which
    the worker's other requests wait for (measured: three full collections, 360 ms, during 20
    encodings of a 17,000-product answer at 100,000 variants). Freezing moves every object alive
    now to a generation the collector never walks; they are still freed by reference counting
    when the next state replaces them. Done after a collection, with the earlier frozen objects
    thawed first, so that what the previous state left in reference cycles is freed rather than
    kept: a full collection once per rebuild or newly loaded model (rare), in this thread."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


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


def _refresh(process: _Process) -> ServingState:
    """Build the next state from the current one and make it current."""
    version_id, published = _modelstore_state()
    revision = catalogue_revision_current()
    previous = process.state
    if previous is not None and previous.config_version_id == version_id:
        config = previous.config
    else:
        data = ConfigVersion.objects.filter(id=version_id).values_list("data", flat=True).first()
        config = config_from_payload(data) if data is not None else DEFAULT_CONFIG
    snapshot = _snapshot(previous, config, revision)
    # A new catalogue structure is laid out by category here, before it serves: no category
    # list waits for it.
    category_layout(snapshot)
    models = _models(process, published)
    is_new_catalogue = previous is None or snapshot.catalogue is not previous.snapshot.catalogue
    for model in models.values():
        is_same_model = previous is not None and model is previous.models.get(model.name)
        if is_same_model and not is_new_catalogue:
            continue
        if is_same_model and snapshot.changed_rows is not None:
            # A snapshot patched from the previous one says which rows changed: a model it
            # already served updates what it derived (a stock update must not re-rank a million
            # variants in every process).
            model.prepare(snapshot.catalogue, previous=previous.snapshot.catalogue, changed_rows=snapshot.changed_rows)
        else:
            model.prepare(snapshot.catalogue)
    state = ServingState(
        config=config,
        config_version_id=version_id,
        identifiers={name: model.identifier for name, model in models.items() if MODELS[name].needs_training},
        snapshot=snapshot,
        models=models,
    )
    process.state = state
    process.refreshes += 1
    return state


def _snapshot(previous: ServingState | None, config: RecommenderConfig, revision: int) -> CatalogueSnapshot:
    half_life = config.popularity_config.half_life_days
    old = previous.snapshot if previous is not None else None
    if old is None or old.half_life_days != half_life:
        return catalogue_snapshot_build(revision=revision, half_life_days=half_life)
    if half_life and time.monotonic() - old.built_at > DECAY_REBUILD_SECONDS:
        return catalogue_snapshot_build(revision=revision, half_life_days=half_life)
    if revision == old.revision:
        return old
    changes, is_complete = catalogue_changes_between(old.revision, revision)
    if not is_complete or len(changes) > MAX_PATCH_KEYS or any(kind == "ALL" for kind, _ in changes):
        return catalogue_snapshot_build(revision=revision, half_life_days=half_life)
    return catalogue_snapshot_patch(old, changes, revision=revision)


def _models(process: _Process, published: dict[str, str]) -> dict[str, PredictionModel]:
    """The servable instance of every registered model: models that need no training always;
    trained ones once their published artefact is loaded (until then, the previous one)."""
    previous = process.state.models if process.state is not None else {}
    models: dict[str, PredictionModel] = {}
    for name, model_class in MODELS.items():
        if not model_class.needs_training:
            models[name] = previous.get(name) or loaded_model(name, {})
            continue
        identifier = published.get(name)
        model = loaded_model(name, published) if identifier is not None else None
        if model is None:
            model = previous.get(name) if identifier is not None else None
        if model is not None and model_class.follows_live_sessions:
            model = _with_live_sessions(process, model)
        if model is not None:
            models[name] = model
    in_use = {(name, model.identifier) for name, model in models.items()}
    for key in [key for key in process.models if key not in in_use and key[0] != key[1]]:
        del process.models[key]
    return models


def loaded_model(name: str, identifiers: dict[str, str]) -> PredictionModel | None:
    """The process's instance of `name` under its identifier in `identifiers`, loaded once; None
    when it is untrained or cannot be loaded. Models that need no training are one shared
    instance whose identifier is their name."""
    process = _process
    model_class = MODELS[name]
    identifier = name if not model_class.needs_training else identifiers.get(name)
    if identifier is None:
        return None
    key = (name, identifier)
    model = process.models.get(key)
    if model is not None:
        return model
    if not model_class.needs_training:
        model = model_class()
        model.identifier = name
        process.models[key] = model
        return model
    failed_at = process.failed_loads.get(key)
    if failed_at is not None and time.monotonic() - failed_at < LOAD_RETRY_SECONDS:
        return None
    try:
        model = artefact_read(model_class, model_name=name, identifier=identifier)
    except ArtefactError as error:
        logger.error("cannot load model=%s identifier=%s: %s", name, identifier, error)
        process.failed_loads[key] = time.monotonic()
        return None
    process.models[key] = model
    return model


def _with_live_sessions(process: _Process, model: PredictionModel) -> PredictionModel:
    """The model extended with the sessions stored since it last looked (since its training data
    were read, the first time)."""
    key = (model.name, model.identifier)
    since = process.live_since.get(key)
    if since is None:
        mark = TrainingDataMark.objects.filter(model_name=model.name, model_identifier=model.identifier).first()
        published = LatestIdentifier.objects.filter(model_name=model.name, identifier=model.identifier).first()
        since = (
            mark.taken_at
            if mark is not None
            else (published.update_at if published else timezone.now()) - LIVE_LOOKBACK
        )
    looked_at = timezone.now()
    sessions = session_data_of(sessions_updated_since(since - LIVE_OVERLAP))
    if sessions.sessions:
        model = model.extended_with(sessions)
        process.models[key] = model
    process.live_since[key] = looked_at
    return model


def serving_cache_clear() -> None:
    """Forget everything cached in this process and stop its refresher (tests)."""
    global _process
    with _refresh_lock:
        _process.stop.set()
        _process = _Process()


@dataclass(frozen=True)
class CategoryCandidates:
    """A category list's candidates: the variants of the products directly in the requested
    categories as catalogue rows (no repeats), each with its product."""

    rows: np.ndarray  # int64 catalogue rows
    # The distinct products of the rows (int64), and each row's product as a slot in it: per-request
    # work on products (the first variant of each, which products have one in stock) is then
    # array indexing, not sorting.
    product_ids: np.ndarray
    row_slots: np.ndarray
    # Every product filed directly under the categories, with variants or not (int64).
    products: np.ndarray

    @property
    def row_products(self) -> np.ndarray:
        """The product (in these categories) each row belongs to (int64)."""
        return self.product_ids[self.row_slots]

    def products_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """The product of each of `rows` that is a candidate (the others left out), in order."""
        if not len(self.rows):
            return _EMPTY_ROWS
        order = self._row_order
        at = np.minimum(np.searchsorted(self.rows, rows, sorter=order), len(order) - 1)
        found = self.rows[order[at]] == rows
        return self.product_ids[self.row_slots[order[at[found]]]]

    @cached_property
    def _row_order(self) -> np.ndarray:
        # Computed when first asked (only a cached list answer needs it).
        return np.argsort(self.rows)


_EMPTY_ROWS = np.zeros(0, dtype=np.int64)


def category_candidates(snapshot: CatalogueSnapshot, category_ids: list[int]) -> CategoryCandidates:
    """The candidates of a category list: slices of the snapshot's category layout, joined once
    per catalogue structure and set of categories (the snapshot's `structure_memo`, which a stock
    or price change keeps and a product or new variant starts afresh). No Python loop over the
    category's products."""
    key = ("category", tuple(category_ids))
    memo = snapshot.structure_memo.get(key)
    if memo is not None:
        return memo
    layout = category_layout(snapshot)
    categories = [c for c in dict.fromkeys(category_ids) if c in layout.row_span]
    row_spans = [layout.row_span[c] for c in categories]
    rows = np.concatenate([layout.rows[a:b] for a, b in row_spans]) if row_spans else _EMPTY_ROWS
    row_products = np.concatenate([layout.row_products[a:b] for a, b in row_spans]) if row_spans else _EMPTY_ROWS
    if layout.has_repeated_rows and len(rows):
        # A SKU listed by several of these products belongs to the first.
        _, first = np.unique(rows, return_index=True)
        first.sort()
        rows, row_products = rows[first], row_products[first]
    if layout.has_repeated_products:
        product_ids, row_slots = np.unique(row_products, return_inverse=True)
    else:
        # Each product's rows are consecutive and no product comes back later: a slot per run.
        starts = np.ones(len(row_products), dtype=bool)
        starts[1:] = row_products[1:] != row_products[:-1]
        product_ids = row_products[starts]
        row_slots = np.cumsum(starts) - 1
    product_spans = [layout.product_span[c] for c in categories]
    memo = CategoryCandidates(
        rows=rows,
        product_ids=product_ids,
        row_slots=row_slots.astype(np.int64),
        products=np.concatenate([layout.products[a:b] for a, b in product_spans]) if product_spans else _EMPTY_ROWS,
    )
    snapshot.structure_memo[key] = memo
    return memo
