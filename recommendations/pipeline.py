"""The prediction pipeline: retrieval, scoring, filters, diversity ordering, limit.

Models are chosen by walking the configured cascade: the first one that is enabled, trained,
able to serve this type and phase, ready for this request, and that does not raise, answers.
Dummy is the last resort of every cascade, so a prediction never fails because one model did."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
from django.conf import settings
from django.core.cache import cache

from core.databases import UNREACHABLE_ERRORS, database_alias_of
from feedback.selectors import MAX_VIEWS, RequesterActivity, requester_activity
from products.selectors import requester_ordered
from recommendations.algorithms.base import (
    Phase,
    PredictContext,
    PredictionModel,
    RecommendationType,
    RequesterHistory,
)
from recommendations.algorithms.ranking import catalogue_index
from recommendations.algorithms.registry import MODELS, last_resort
from recommendations.experiments import experiment_assignment
from recommendations.metrics import prediction_metrics_record
from recommendations.prediction_log import prediction_result_record
from recommendations.serving import CategoryCandidates, ServingState, category_candidates, serving_state

logger = logging.getLogger(__name__)

CATEGORY_RETRIEVAL = "category"


@dataclass(frozen=True)
class PredictionRequest:
    recommendation_type: RecommendationType
    session_id: str | None  # None: an anonymous shopper, with no session history
    user_id: str | None = None
    category_id: int | None = None
    variants: tuple[str, ...] = ()
    variants_in_cart: tuple[str, ...] = ()
    limit: int | None = None
    # The caller reads the product positions only (`/predict/product_positions`): a cached answer
    # keeps the ranked products, not every variant of the category.
    positions_only: bool = False


@dataclass
class PredictionAnswer:
    items: list[str]  # product positions only: the first RS_MAX_LIMIT (what the log keeps)
    recommendation_type: RecommendationType
    retrieval_model: tuple[str, str]
    scoring_model: tuple[str, str]
    durations: dict[str, float] = field(default_factory=dict)
    # A category's products that a shopper can see, each once, best first (int64): a product
    # ranks where its best variant stands in the ordered list. Products none of whose variants
    # made the list (unpublished, deleted, all variants deleted, or cut by a limit) are not in
    # it; the client sorts them after the others.
    ranked_products: np.ndarray | None = None
    from_cache: bool = False
    # The model that placed each item: the scoring model when it scored the item, else the
    # retrieval model whose candidates filled the list (in that model's order).
    served_by: list[str] = field(default_factory=list)
    # The experiment and arm whose config served the list (None outside any experiment).
    experiment: str | None = None
    arm: str | None = None

    @property
    def product_positions(self) -> dict[str, int]:
        """{product id: position 0..n-1}, best first, as `/predict/product_positions` answers."""
        return {str(product): position for product, position in self.positions_by_product().items()}

    def positions_by_product(self) -> dict[int, int]:
        """The product positions keyed by the integer id: built at C speed (a root category has
        tens of thousands of products); JSON writes the keys as the same strings."""
        products = self.ranked_products
        if products is None:
            return {}
        return dict(zip(products.tolist(), range(len(products))))

    def rs_items(self) -> list[dict]:
        name, identifier = self.scoring_model
        return [
            {
                "product_variant_sku": sku,
                "rs_info": {
                    "recommendation_type": self.recommendation_type.value,
                    "model_identifier": identifier,
                    "model_name": name,
                    "position": position,
                    "served_by": self.served_by[position] if position < len(self.served_by) else name,
                },
            }
            for position, sku in enumerate(self.items)
        ]


# --- context -------------------------------------------------------------------------------


def _requester_history(
    state: ServingState, request: PredictionRequest, activity: RequesterActivity
) -> RequesterHistory:
    """What the requester did: a known user is matched by user id, anyone else by session."""
    requester = {"user_id": request.user_id, "session_id": request.session_id}
    return RequesterHistory(
        viewed=(*activity.user_views, *activity.visited[-MAX_VIEWS:]),
        carted=activity.carted,
        ordered=tuple(requester_ordered(**requester)) if state.snapshot.may_have_ordered(**requester) else (),
        reviewed=activity.reviews,
    )


def _uses_requester_history(state: ServingState, request: PredictionRequest) -> bool:
    """Whether a model of this request's cascades that reads the requester's history could
    answer (enabled and, when it needs training, trained)."""
    config = state.config
    situation = request.recommendation_type.value
    names = set(config.cascade(situation, "scoring")) | set(config.cascade(situation, "retrieval"))
    for name in names:
        model = MODELS.get(name)
        if model is None or not model.uses_requester_history or config.is_disabled(name):
            continue
        if name in state.models:
            return True
    return False


def _context(state: ServingState, request: PredictionRequest) -> PredictContext:
    snapshot = state.snapshot
    index = snapshot.catalogue.index
    exclude: set[str] = set()
    viewed = None
    if request.recommendation_type == RecommendationType.PRODUCT_DETAIL:
        known = [sku for sku in request.variants if sku in index]
        viewed = known[0] if known else (request.variants[0] if request.variants else None)
        for sku in request.variants:
            exclude.add(sku)
            product = snapshot.product_of.get(sku)
            if product is not None:
                exclude.update(snapshot.variants_of.get(product, ()))
    if request.recommendation_type == RecommendationType.CART:
        # What is in the cart, and the other variants of its products.
        for sku in request.variants_in_cart:
            exclude.add(sku)
            product = snapshot.product_of.get(sku)
            if product is not None:
                exclude.update(snapshot.variants_of.get(product, ()))
    uses_history = _uses_requester_history(state, request)
    try:
        activity = requester_activity(session_id=request.session_id, user_id=request.user_id, with_history=uses_history)
    except UNREACHABLE_ERRORS as error:
        # The feedback database does not answer: serve the request as if it had no history.
        logger.warning("no session history (%s); answering without it", database_alias_of(error) or error)
        activity = RequesterActivity()
        uses_history = False
    session_history = activity.visited
    if viewed is not None and (not session_history or session_history[-1] != viewed):
        # The shopper is on this product's page now, whether or not its view event arrived
        # before this request: session models answer about the product, not the session alone.
        session_history = (*session_history, viewed)
    requester = None
    if uses_history:
        requester = _requester_history(state, request, activity)
        if request.recommendation_type != RecommendationType.CATEGORY_LIST:
            # What the requester bought or reviewed does not come back.
            exclude.update(requester.ordered)
            exclude.update(sku for sku, _ in requester.reviewed)
    return PredictContext(
        recommendation_type=request.recommendation_type,
        catalogue=snapshot.catalogue,
        session_history=session_history,
        requester=requester,
        session_id=request.session_id,
        viewed_variant=viewed,
        cart=tuple(request.variants_in_cart),
        exclude=frozenset(exclude),
    )


# --- cascades ------------------------------------------------------------------------------


def cascade_models(state: ServingState, recommendation_type: RecommendationType, phase: Phase) -> list[PredictionModel]:
    """The usable models of a cascade, in order, with dummy last: enabled, trained and loadable,
    and able to serve this type and phase."""
    config = state.config
    last = last_resort().name
    names = [n for n in config.cascade(recommendation_type.value, phase.value) if n != last] + [last]
    models = []
    for name in names:
        if config.is_disabled(name):
            continue
        model = state.models.get(name)
        if model is not None and model.can_serve(recommendation_type, phase):
            models.append(model)
    return models


def _retrieve(
    models: list[PredictionModel], context: PredictContext, size: int, fill: int
) -> tuple[PredictionModel, list[str], dict[str, str]]:
    """Candidates from the retrieval cascade: up to `size` from the first ready model, then,
    while fewer than `fill` were found, what the next ready models add (in their order), so a
    model that knows only part of the catalogue (EASE knows what someone interacted with) does
    not leave the list short. Filling stops at `fill`, enough for the answer: a filled candidate
    is one the scoring model ranks after the first model's. Returns the first model that
    answered, the candidates, and for each candidate the name of the model that supplied it."""
    last = len(models) - 1
    first: PredictionModel | None = None
    candidates: list[str] = []
    supplier: dict[str, str] = {}
    for position, model in enumerate(models):
        if first is not None and len(candidates) >= min(fill, size):
            break
        try:
            if position < last and not model.is_ready(context):
                continue
            wanted = size if first is None else min(fill, size) - len(candidates)
            found = model.retrieve(context, wanted)
        except Exception:
            if position == last and first is None:
                raise
            logger.exception("model %s failed in retrieval; falling back", model.name)
            continue
        # Each SKU once, first supplier wins, at most `size` in all (C-level passes: the first
        # model's list is a thousand SKUs).
        fresh = list(dict.fromkeys(found)) if not supplier else [s for s in dict.fromkeys(found) if s not in supplier]
        added = fresh[: max(size - len(candidates), 0)]
        supplier.update(dict.fromkeys(added, model.name))
        candidates.extend(added)
        if first is None and (found or position == last):
            first = model
    assert first is not None, "a cascade always ends with dummy"
    return first, candidates, supplier


def _first_answer(
    models: list[PredictionModel], context: PredictContext, phase: Phase, call
) -> tuple[PredictionModel, list]:
    last = len(models) - 1
    for position, model in enumerate(models):
        try:
            if position < last and not model.is_ready(context):
                continue
            result = call(model)
        except Exception:
            if position == last:
                raise
            logger.exception("model %s failed in %s; falling back", model.name, phase.value.lower())
            continue
        if len(result) or position == last:
            return model, result
    raise AssertionError("a cascade always ends with dummy")


# --- ordering ------------------------------------------------------------------------------


def diversity_order(ranked: list[str], distances: np.ndarray, diversity_weight: float) -> list[str]:
    """Greedy re-ranking of `ranked` (best first): each pick maximises
    (1 - w) × relevance + w × mean distance to the items already picked, relevance falling
    linearly with the scoring rank and distances scaled to [0, 1]. The best-scored item stays
    first; w = 0 keeps the scoring order."""
    n = len(ranked)
    if n < 3 or diversity_weight <= 0:
        return list(ranked)
    scale = float(np.max(distances))
    scaled = distances / scale if scale > 0 else np.zeros_like(distances)
    # (1 - w) × relevance, -inf once picked; the same operations in the same order as the
    # formula above, into preallocated arrays (this loop runs on every answer).
    weighted_relevance = (1.0 - diversity_weight) * (1.0 - np.arange(n) / n)
    weighted_relevance[0] = -np.inf
    picked = [0]
    distance_sum = scaled[0].copy()
    value = np.empty(n)
    for step in range(1, n):
        np.multiply(distance_sum, diversity_weight, out=value)
        np.divide(value, step, out=value)
        np.add(weighted_relevance, value, out=value)
        choice = int(value.argmax())
        picked.append(choice)
        weighted_relevance[choice] = -np.inf
        distance_sum += scaled[choice]
    return [ranked[i] for i in picked]


def _distance_model(state: ServingState) -> PredictionModel | None:
    """The first enabled, trained model that offers distances between variants."""
    for name, model_class in MODELS.items():
        if model_class.provides_distances and not state.config.is_disabled(name):
            model = state.models.get(name)
            if model is not None and model.is_informative:
                return model
    return None


def _order(state: ServingState, items: list[str]) -> list[str]:
    config = state.config
    size = min(config.ordering_size, len(items))
    if size < 3 or config.diversity_weight <= 0:
        return items
    distances = _distance_model(state)
    if distances is None:
        return items
    head = items[:size]
    try:
        ordered = diversity_order(
            head, np.asarray(distances.distances(head), dtype=np.float64), config.diversity_weight
        )
    except Exception:
        logger.exception("diversity ordering failed; keeping the scoring order")
        return items
    return ordered + items[size:]


def _filter(
    state: ServingState, items: list[str], exclude: frozenset[str], enough: int | None
) -> tuple[list[str], list[str]]:
    """Available, not excluded, no repeats and, with `one_variant_per_product`, only the best
    variant of each product; split into (in stock, out of stock), each in the given order. With
    `enough`, stops once that many in-stock variants are found: nothing after them could reach
    the answer."""
    snapshot = state.snapshot
    catalogue = snapshot.catalogue
    index = catalogue.index
    is_available = catalogue.is_available
    in_stock_flags = catalogue.in_stock
    product_of = snapshot.product_of if state.config.one_variant_per_product else None
    in_stock: list[str] = []
    out_of_stock: list[str] = []
    seen: set[str] = set()
    # One variant per product: the best in-stock one; an out-of-stock one only for a product with
    # no variant in stock.
    stocked_products: set[int] = set()
    unstocked_products: set[int] = set()
    for sku in items:
        position = index.get(sku)
        if position is None or sku in seen or sku in exclude or not is_available[position]:
            continue
        seen.add(sku)
        product = product_of.get(sku) if product_of is not None else None
        if in_stock_flags[position]:
            if product is not None:
                if product in stocked_products:
                    continue
                stocked_products.add(product)
            in_stock.append(sku)
            if enough is not None and len(in_stock) >= enough:
                break
        else:
            if product is not None:
                if product in unstocked_products:
                    continue
                unstocked_products.add(product)
            out_of_stock.append(sku)
    if product_of is not None:
        out_of_stock = [sku for sku in out_of_stock if product_of.get(sku) not in stocked_products]
    return in_stock, out_of_stock


# --- the pipeline --------------------------------------------------------------------------


# The layout of a cached answer; an entry of another layout (written before an upgrade) is
# computed afresh.
CACHE_FORMAT = 2


def _cache_key(request: PredictionRequest) -> str:
    digest = hashlib.sha256(request.session_id.encode("utf-8")).hexdigest()
    return f"category-list:{digest}"


def prediction_run(request: PredictionRequest, *, store: bool = True) -> PredictionAnswer:
    run_started = time.perf_counter()
    state = serving_state()
    # In a running experiment the session's arm decides the config everything below reads.
    assignment = experiment_assignment(state.config, request.session_id)
    state = dataclasses.replace(state, config=assignment.config)
    is_category = request.recommendation_type == RecommendationType.CATEGORY_LIST
    # An anonymous answer is not cached: newcomers must not share one cached list.
    is_cached = is_category and request.session_id is not None
    cache_signature = (
        f"{state.signature};catalogue={state.snapshot.revision};limit={request.limit};"
        f"positions_only={request.positions_only};format={CACHE_FORMAT}"
    )
    if is_cached:
        cached = cache.get(_cache_key(request))
        if cached and cached.get("category_id") == request.category_id and cached.get("signature") == cache_signature:
            answer = _cached_answer(state, request, cached)
            prediction_metrics_record(answer=answer, config=state.config, seconds=time.perf_counter() - run_started)
            return answer

    context = _context(state, request)
    answer = prediction_answer(state, request, context)
    answer.experiment, answer.arm = assignment.experiment, assignment.arm
    if store:
        prediction_result_record(
            retrieval_model_name=answer.retrieval_model[0],
            retrieval_model_identifier=answer.retrieval_model[1],
            scoring_model_name=answer.scoring_model[0],
            scoring_model_identifier=answer.scoring_model[1],
            recommendation_type=request.recommendation_type.value,
            session_id=request.session_id,
            user_id=request.user_id,
            retrieval_duration=answer.durations["retrieval"],
            scoring_duration=answer.durations["scoring"],
            ordering_duration=answer.durations["ordering"],
            # A whole category (product positions, or no limit) can be tens of thousands of
            # variants; the log keeps what the largest `limit` would show.
            predicted_items=answer.items[: settings.RECOMMENDER["MAX_LIMIT"]],
            experiment=answer.experiment,
            arm=answer.arm,
        )
    if is_cached:
        # Compact: the SKUs as one string (pickled and compressed in a fraction of the time of
        # the answer object); the product positions are recomputed from them on a hit.
        cache.set(
            _cache_key(request),
            {
                "category_id": request.category_id,
                "signature": cache_signature,
                # Positions only: the ranked product ids as raw int64 (a root category's
                # tens of thousands of SKUs took 50 ms to pickle and compress).
                # 32-bit where every id fits (half the bytes to write and read).
                "products": _compact_ids(answer.ranked_products) if request.positions_only else None,
                "items": "" if request.positions_only else "\n".join(answer.items),
                "retrieval_model": answer.retrieval_model,
                "scoring_model": answer.scoring_model,
                "experiment": answer.experiment,
                "arm": answer.arm,
            },
            timeout=3600,
        )
    prediction_metrics_record(answer=answer, config=state.config, seconds=time.perf_counter() - run_started)
    return answer


def _cached_answer(state: ServingState, request: PredictionRequest, cached: dict) -> PredictionAnswer:
    items = cached["items"].split("\n") if cached["items"] else []
    if cached.get("products") is not None:
        products = _ids_of(cached["products"])  # distinct, as ranked
    else:
        candidates = category_candidates(state.snapshot, state.snapshot.categories.descendants(request.category_id))
        products = _distinct(_products_of(state.snapshot.catalogue.index, candidates, items))
    scoring_model = tuple(cached["scoring_model"])
    return PredictionAnswer(
        items=items,
        recommendation_type=request.recommendation_type,
        retrieval_model=tuple(cached["retrieval_model"]),
        scoring_model=scoring_model,
        ranked_products=products,
        from_cache=True,
        served_by=[scoring_model[0]] * len(items),
        experiment=cached["experiment"],
        arm=cached["arm"],
    )


def _compact_ids(ids: np.ndarray) -> tuple[str, bytes]:
    """Integer ids as (dtype, raw bytes): uint32 when every one fits, else int64."""
    ids = np.asarray(ids, dtype=np.int64)
    fits = not len(ids) or (ids.min() >= 0 and ids.max() <= np.iinfo(np.uint32).max)
    dtype = np.uint32 if fits else np.int64
    return np.dtype(dtype).str, ids.astype(dtype).tobytes()


def _ids_of(compact: tuple[str, bytes]) -> np.ndarray:
    dtype, raw = compact
    return np.frombuffer(raw, dtype=np.dtype(dtype)).astype(np.int64)


def prediction_answer(state: ServingState, request: PredictionRequest, context: PredictContext) -> PredictionAnswer:
    """Retrieval, scoring, filters, ordering and limit for a request whose context is built: what
    `/predict` answers, without reading or writing anything (offline evaluations call it with
    contexts of their own)."""
    if request.recommendation_type == RecommendationType.CATEGORY_LIST:
        return _category_answer(state, request, context)
    started = time.perf_counter()
    # Enough to fill the answer and the ordered head twice over, whatever the filters drop.
    fill = 2 * max(state.config.ordering_size, request.limit or 0) + len(context.exclude)
    model, candidates, supplier = _retrieve(
        cascade_models(state, request.recommendation_type, Phase.RETRIEVAL),
        context,
        state.config.retrieval_size,
        fill,
    )
    retrieval = (model.name, model.identifier or model.name)
    retrieved_at = time.perf_counter()

    index = catalogue_index(context.catalogue)
    candidate_rows = np.fromiter(map(index.get, candidates, repeat(-1)), dtype=np.int64, count=len(candidates))
    candidate_rows = candidate_rows[candidate_rows >= 0]
    scorer, scored = _first_answer(
        cascade_models(state, request.recommendation_type, Phase.SCORING),
        context,
        Phase.SCORING,
        lambda m: _scored(m, context, candidates, candidate_rows),
    )
    scored_at = time.perf_counter()

    enough = None if request.limit is None else max(request.limit, state.config.ordering_size)
    in_stock, out_of_stock = _filter(state, scored.skus, context.exclude, enough)
    # Diversity re-ranks within the in-stock variants only: stock order survives every phase.
    items = _order(state, in_stock) + out_of_stock
    if request.limit is not None:
        items = items[: request.limit]
    ordered_at = time.perf_counter()
    unscored = scored.unscored
    served_by = [supplier.get(sku, scorer.name) if sku in unscored else scorer.name for sku in items]

    return PredictionAnswer(
        items=items,
        recommendation_type=request.recommendation_type,
        retrieval_model=retrieval,
        scoring_model=(scorer.name, scorer.identifier or scorer.name),
        durations={
            "retrieval": retrieved_at - started,
            "scoring": scored_at - retrieved_at,
            "ordering": ordered_at - scored_at,
        },
        served_by=served_by,
    )


@dataclass(frozen=True)
class _Scored:
    """A scoring model's answer for the candidates: their SKUs best first, and those it could
    not score (-inf, ranked last in the retrieval order)."""

    skus: list[str]
    unscored: frozenset[str]

    def __len__(self) -> int:
        return len(self.skus)


def _scored(model: PredictionModel, context: PredictContext, candidates: list[str], rows: np.ndarray) -> _Scored:
    """The candidates as `model.score` ranks them; through the model's vectorised pass over
    their catalogue rows when it has one (the same order: best first, ties and -inf in the
    given order; a candidate outside the catalogue, which no filter lets through, is left out)."""
    values = model.score_rows(context, rows) if len(rows) else None
    if values is None:
        scored = model.score(context, candidates)
        return _Scored(
            skus=[sku for sku, _ in scored],
            unscored=frozenset(sku for sku, score in scored if score == float("-inf")),
        )
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(-values, kind="stable")
    skus = context.catalogue.skus
    unscored = values[order] == -np.inf
    return _Scored(
        skus=skus[rows[order]].tolist(),
        unscored=frozenset(skus[rows[order][unscored]].tolist()) if unscored.any() else frozenset(),
    )


def _category_answer(state: ServingState, request: PredictionRequest, context: PredictContext) -> PredictionAnswer:
    """A category list: every variant of the category and its sub-categories scored by the
    first ready model of the scoring cascade, filtered, ordered and numbered by product. The
    category's variants can be many (thousands in a large shop), so every step over them is a
    numpy pass over catalogue rows, never a Python loop."""
    started = time.perf_counter()
    candidates = category_candidates(state.snapshot, state.snapshot.categories.descendants(request.category_id))
    retrieved_at = time.perf_counter()

    scorer, scores = _first_answer(
        cascade_models(state, request.recommendation_type, Phase.SCORING),
        context,
        Phase.SCORING,
        lambda m: _row_scores(m, context, candidates.rows),
    )
    enough = None if request.limit is None else max(request.limit, state.config.ordering_size)
    (in_stock, in_slots), (out_of_stock, out_slots) = _filtered_ranking(
        state, candidates, scores, context.exclude, enough
    )
    scored_at = time.perf_counter()

    skus = state.snapshot.catalogue.skus
    total = len(in_stock) + len(out_of_stock)
    count = total if request.limit is None else min(request.limit, total)
    # Product positions need the products of every row, but SKUs only as far as the log keeps
    # them (a root category's tens of thousands are not turned into strings).
    wanted = min(count, settings.RECOMMENDER["MAX_LIMIT"]) if request.positions_only else count
    # Diversity re-orders the in-stock head; the products follow it.
    head = min(len(in_stock), state.config.ordering_size)
    head_skus = skus[in_stock[:head]].tolist()
    ordered = _order(state, head_skus)
    slots = np.concatenate((in_slots, out_slots))[:count]
    if ordered != head_skus:
        was_at = {sku: i for i, sku in enumerate(head_skus)}
        moved = in_slots[:head][[was_at[sku] for sku in ordered]]
        slots[: min(head, count)] = moved[:count]
    rest = np.concatenate((in_stock[head:], out_of_stock))[: max(wanted - head, 0)]
    items = (ordered + skus[rest].tolist())[:wanted]
    if not state.config.one_variant_per_product:
        slots = slots[_first_occurrences(slots, len(candidates.product_ids))]
    products = candidates.product_ids[slots]
    ordered_at = time.perf_counter()
    return PredictionAnswer(
        items=items,
        recommendation_type=request.recommendation_type,
        retrieval_model=(CATEGORY_RETRIEVAL, CATEGORY_RETRIEVAL),
        scoring_model=(scorer.name, scorer.identifier or scorer.name),
        durations={
            "retrieval": retrieved_at - started,
            "scoring": scored_at - retrieved_at,
            "ordering": ordered_at - scored_at,
        },
        ranked_products=products,
        served_by=[scorer.name] * len(items),
    )


# A category list with a limit first ranks this many rows per variant it needs (see
# `_RowScores.best_first`).
PREFIX_PER_ANSWER = 8


@dataclass(frozen=True)
class _RowScores:
    """A scoring model's answer for a category's rows: a score per row (a vectorised model) or
    the order its `score` gave."""

    size: int
    values: np.ndarray | None = None
    order: np.ndarray | None = None

    def __len__(self) -> int:
        return self.size

    def best_first(self, prefix: int | None) -> tuple[np.ndarray, bool]:
        """Positions in the rows best first, equal scores (and those the model cannot score, -inf,
        last) in the given order: what `score` answers. With `prefix`, just the first `prefix` of
        that order, chosen without sorting every row. Returns them and whether they are all."""
        return self.best_first_among(np.arange(self.size, dtype=np.int64), prefix)

    def best_first_among(self, positions: np.ndarray, prefix: int | None) -> tuple[np.ndarray, bool]:
        """`best_first` of the rows at `positions` (ascending) alone: the order `best_first`
        gives every row, with the others left out."""
        if self.values is None:
            member = np.zeros(self.size, dtype=bool)
            member[positions] = True
            return self.order[member[self.order]], True
        values = self.values[positions]
        if prefix is None or prefix >= len(positions):
            return positions[_stable_best_first(values)], True
        # The prefix-th best value; every row above it, then the rows equal to it in their order.
        threshold = -np.partition(-values, prefix - 1)[prefix - 1]
        above = np.flatnonzero(values > threshold)
        ties = np.flatnonzero(values == threshold)[: prefix - len(above)]
        chosen = np.concatenate((above, ties))
        return positions[chosen[np.argsort(-values[chosen], kind="stable")]], False


def _stable_best_first(values: np.ndarray) -> np.ndarray:
    """`np.argsort(-values, kind="stable")`, sorting only the values above the lowest: the rows
    at the lowest (often most of a large category: variants a session model cannot score, or
    never sold) follow in their order, which is where a stable sort puts them."""
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    low = values.min()
    above = np.flatnonzero(values > low)
    if np.isnan(low) or 2 * len(above) > len(values):
        return np.argsort(-values, kind="stable")
    return np.concatenate((above[np.argsort(-values[above], kind="stable")], np.flatnonzero(values == low)))


def _row_scores(model: PredictionModel, context: PredictContext, rows: np.ndarray) -> _RowScores:
    if not len(rows):
        return _RowScores(size=0, order=rows)
    values = model.score_rows(context, rows)
    if values is None:  # a model without a vectorised pass: through `score`
        catalogue = context.catalogue
        ranked = model.score(context, catalogue.skus[rows].tolist())
        position = {int(row): i for i, row in enumerate(rows.tolist())}
        index = catalogue.index
        order = np.fromiter((position[index[sku]] for sku, _ in ranked), dtype=np.int64, count=len(ranked))
        return _RowScores(size=len(order), order=order)
    return _RowScores(size=len(rows), values=np.asarray(values, dtype=np.float64))


def _filtered_ranking(
    state: ServingState,
    candidates: CategoryCandidates,
    scores: _RowScores,
    exclude: frozenset[str],
    enough: int | None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`_filter` over a category's rows ranked by `scores`, in numpy: available and not
    excluded, in stock first; with `one_variant_per_product` the first (best) in-stock variant of
    each product, and an out-of-stock one only for a product with none in stock. Returns (in
    stock, out of stock), each (catalogue rows, their product slots) best first, the in-stock
    ones cut at `enough`.

    The rows are filtered in the candidates' order, then each part is ranked: the same order as
    ranking every row and filtering after (a stable order keeps its relative order on any
    subset), with the flags read in catalogue order and only the rows kept sorted. A list with a
    limit ranks just the best in-stock rows it needs (`PREFIX_PER_ANSWER` per product asked,
    all of them if those hold too few products) and no out-of-stock row: with `enough` in-stock
    products, none is shown."""
    catalogue = state.snapshot.catalogue
    rows, row_slots = candidates.rows, candidates.row_slots
    slot_count = len(candidates.product_ids)
    keep = catalogue.is_available[rows]
    if exclude:
        index = catalogue.index
        excluded = np.fromiter((index[sku] for sku in exclude if sku in index), dtype=np.int64)
        keep &= ~np.isin(rows, excluded)
    stocked = catalogue.in_stock[rows]
    one_per_product = state.config.one_variant_per_product

    def in_stock_ranked(prefix: int | None) -> tuple[np.ndarray, np.ndarray, bool]:
        ranked, is_whole = scores.best_first_among(np.flatnonzero(keep & stocked), prefix)
        slots = row_slots[ranked]
        if one_per_product:
            first = _first_occurrences(slots, slot_count)
            ranked, slots = ranked[first], slots[first]
        return ranked, slots, is_whole

    ranked_in, in_slots, is_whole = in_stock_ranked(None if enough is None else PREFIX_PER_ANSWER * enough)
    if not is_whole and len(ranked_in) < enough:
        ranked_in, in_slots, is_whole = in_stock_ranked(None)
    if is_whole:
        ranked_out, _ = scores.best_first_among(np.flatnonzero(keep & ~stocked), None)
        out_slots = row_slots[ranked_out]
        if one_per_product:
            has_stock = np.zeros(slot_count, dtype=bool)
            has_stock[in_slots] = True
            first = _first_occurrences(out_slots, slot_count) & ~has_stock[out_slots]
            ranked_out, out_slots = ranked_out[first], out_slots[first]
    else:
        ranked_out, out_slots = _NO_ROWS, _NO_ROWS
    if enough is not None:
        ranked_in, in_slots = ranked_in[:enough], in_slots[:enough]
    return (rows[ranked_in], in_slots), (rows[ranked_out], out_slots)


_NO_ROWS = np.zeros(0, dtype=np.int64)


def _first_occurrences(slots: np.ndarray, slot_count: int) -> np.ndarray:
    """A mask of the first position of each distinct slot (values in 0..slot_count-1)."""
    n = len(slots)
    first = np.full(slot_count, n, dtype=np.int64)
    np.minimum.at(first, slots, np.arange(n, dtype=np.int64))
    mask = np.zeros(n, dtype=bool)
    mask[first[first < n]] = True
    return mask


def _products_of(index: dict[str, int], candidates: CategoryCandidates, items: list[str]) -> np.ndarray:
    """The product of each of the category's `items` that belongs to it, in their order."""
    rows = np.fromiter(map(index.get, items, repeat(-1)), dtype=np.int64, count=len(items))
    return candidates.products_of_rows(rows[rows >= 0])


def _distinct(products: np.ndarray) -> np.ndarray:
    """Each product once, where it first appears."""
    _, first = np.unique(products, return_index=True)
    first.sort()
    return products[first]
