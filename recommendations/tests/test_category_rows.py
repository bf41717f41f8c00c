"""A category list is scored, filtered and numbered over catalogue rows in numpy (issue 15);
its answer must be exactly what the list-based path (`score`, `_filter`, `_order`) gives, for
every model that can score it, with out-of-stock, unavailable and excluded variants, several
variants per product and sub-categories."""

import random

import pytest

from conftest import ALL_DATABASES
from recommendations import pipeline
from recommendations.algorithms.base import RecommendationType
from recommendations.services import config_version_create
from recommendations.serving import category_candidates, serving_state
from recommendations.tests.factories import make_catalogue, make_orders, make_sessions
from recommendations.training.services import model_train

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _shop(seed: int) -> None:
    rng = random.Random(seed)
    variants = {
        f"p{p}-{k}": {
            "product": p,
            "stock": rng.choice([0, 0, 3, 10]),
            "deleted": rng.random() < 0.05,
            "price": 10 + p,
            "attributes": {1: float(p % 5), 2: "red" if p % 3 else "blue"},
        }
        for p in range(40)
        for k in range(rng.randint(1, 3))
    }
    products = {p: {"category": 1 + p % 3, "published": rng.random() > 0.05} for p in range(40)}
    make_catalogue(variants, products=products, categories={1: None, 2: 1, 3: 1})
    skus = list(variants)
    make_sessions({f"s{n}": rng.sample(skus, 5) for n in range(80)})
    make_orders([(f"s{n}", rng.choice(skus), rng.randint(1, 3)) for n in range(30)])


def _reference(state, request, context, scorer_name):
    """The list-based path the category list took before it ran on rows."""
    candidates = category_candidates(state.snapshot, state.snapshot.categories.descendants(request.category_id))
    skus = state.snapshot.catalogue.skus[candidates.rows].tolist()
    scored = state.models[scorer_name].score(context, skus)
    enough = None if request.limit is None else max(request.limit, state.config.ordering_size)
    in_stock, out_of_stock = pipeline._filter(state, [sku for sku, _ in scored], context.exclude, enough)
    items = pipeline._order(state, in_stock) + out_of_stock
    return items if request.limit is None else items[: request.limit]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("cascade", [["sknn"], ["ease"], ["popularity"], ["selection"], ["dummy"]])
def test_the_vectorised_category_list_equals_the_list_based_one(seed, cascade):
    _shop(seed)
    for name in ("similarity", "ease", "sknn"):
        model_train(model_name=name, force=True)
    config_version_create(payload={"categoryListScoringCascade": cascade, "oneVariantPerProduct": seed == 1})
    state = serving_state()
    answers = 0
    for session_id in ("s3", "s7", None):
        for category in (1, 2):
            for limit in (None, 4):
                request = pipeline.PredictionRequest(
                    RecommendationType.CATEGORY_LIST, session_id, category_id=category, limit=limit
                )
                context = pipeline._context(state, request)
                answer = pipeline.prediction_answer(state, request, context)
                expected = _reference(state, request, context, answer.scoring_model[0])

                assert answer.items == expected
                products = {str(state.snapshot.product_of[sku]) for sku in answer.items}
                assert set(answer.product_positions) == products
                assert sorted(answer.product_positions.values()) == list(range(len(products)))
                answers += answer.scoring_model[0] == cascade[0]
    assert answers > 0  # the model under test answered at least once
