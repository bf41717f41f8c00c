"""`CatalogueRows` maps catalogue rows to model rows incrementally (issue 15): whatever the
sequence of stock changes, appended variants and items a growing model gains, the mapping equals
one computed from scratch."""

import random

import numpy as np

from recommendations.algorithms.base import Catalogue
from recommendations.algorithms.ranking import CatalogueRows


def _fresh(model_skus: list[str], catalogue: Catalogue) -> list[int]:
    index = {sku: i for i, sku in enumerate(model_skus)}
    return [index.get(str(sku), -1) for sku in catalogue.skus]


def test_incremental_mapping_equals_a_fresh_one():
    rng = random.Random(5)
    catalogue_skus = [f"c{i}" for i in range(50)]
    model_skus = [f"c{i}" for i in range(0, 60, 2)]  # some the catalogue has not (yet)
    catalogue = Catalogue.build(catalogue_skus)
    mapping = CatalogueRows({sku: i for i, sku in enumerate(model_skus)}, skus=list(model_skus))
    assert mapping(catalogue).tolist() == _fresh(model_skus, catalogue)

    for step in range(40):
        action = rng.choice(["stock", "variants", "model", "both"])
        if action == "stock":  # the same SKU array, new flags
            catalogue = Catalogue(
                skus=catalogue.skus,
                is_available=~catalogue.is_available,
                in_stock=catalogue.in_stock,
                recommendation_weight=catalogue.recommendation_weight,
                popularity=catalogue.popularity,
                index=catalogue.index,
            )
        if action in ("variants", "both"):
            grown = list(catalogue.skus) + [f"c{len(catalogue.skus) + k}" for k in range(rng.randint(1, 4))]
            catalogue = Catalogue.build(grown)
        if action in ("model", "both"):
            model_skus = model_skus + [f"c{rng.randint(0, 120)}x{step}", f"c{rng.randint(0, 80)}"]
            model_skus = list(dict.fromkeys(model_skus))
            mapping = CatalogueRows(
                {sku: i for i, sku in enumerate(model_skus)}, skus=list(model_skus), previous=mapping
            )
        assert mapping(catalogue).tolist() == _fresh(model_skus, catalogue), step

    # A catalogue rebuilt in another order is mapped from scratch.
    shuffled = list(catalogue.skus)
    rng.shuffle(shuffled)
    catalogue = Catalogue.build(shuffled)
    assert mapping(catalogue).tolist() == _fresh(model_skus, catalogue)
    # Scores of catalogue rows: the model's score where it knows the SKU, -inf elsewhere.
    rows = np.arange(len(catalogue.skus))
    model_scores = np.arange(len(model_skus)) * 1.0
    expected = [float(r) if r >= 0 else -np.inf for r in _fresh(model_skus, catalogue)]
    assert mapping.scores_of(catalogue, rows, model_scores).tolist() == expected
