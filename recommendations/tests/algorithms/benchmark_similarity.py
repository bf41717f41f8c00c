"""Times similarity training on a synthetic catalogue (not a test: pytest does not collect it).

Run: .venv/bin/python -m recommendations.tests.algorithms.benchmark_similarity 100000
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np

from recommendations.algorithms.base import Catalogue, PredictContext, RecommendationType
from recommendations.algorithms.similarity import SimilarityData, SimilarityModel, SimilarityParams


def synthetic_catalogue(n: int, seed: int = 0) -> SimilarityData:
    # Roughly an e-commerce shape: 2 price lists, 8 numerical and 6 categorical attribute
    # types, about a third of the values missing, one multi-valued type (genres).
    rng = np.random.default_rng(seed)
    prices = {code: np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(5, 1, n)) for code in ("CZK", "EUR")}
    numerical = np.where(rng.random((n, 8)) < 0.35, np.nan, rng.normal(size=(n, 8)))
    categorical = []
    for t, cardinality in enumerate((5, 20, 50, 200, 1000, 30)):
        values = [f"v{i}" for i in range(cardinality)]
        per_sku = []
        for _ in range(n):
            if rng.random() < 0.35:
                per_sku.append(frozenset())
            else:
                count = rng.integers(1, 4) if t == 5 else 1
                per_sku.append(frozenset(rng.choice(values, size=count, replace=False).tolist()))
        categorical.append(per_sku)
    return SimilarityData([f"sku{i}" for i in range(n)], prices, numerical, categorical)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2188
    started = time.perf_counter()
    data = synthetic_catalogue(n)
    built = time.perf_counter()
    model, result = SimilarityModel.fit(data, SimilarityParams())
    trained = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"variants={n} data={built - started:.1f}s fit={trained - built:.1f}s peak_rss={peak_mib:.0f}MiB")
    print(f"metrics={result.metrics}")
    catalogue = Catalogue.build(data.skus)
    rng = np.random.default_rng(1)
    viewed = rng.choice(n, size=20, replace=False)
    started = time.perf_counter()
    for i in viewed:
        context = PredictContext(RecommendationType.PRODUCT_DETAIL, catalogue, viewed_variant=data.skus[i])
        model.retrieve(context, 1000)
    retrieve_ms = (time.perf_counter() - started) / len(viewed) * 1000
    started = time.perf_counter()
    model.distances([data.skus[i] for i in rng.choice(n, size=50, replace=False)])
    distances_ms = (time.perf_counter() - started) * 1000
    print(f"retrieve(n=1000) {retrieve_ms:.1f} ms per request; distances(50 skus) {distances_ms:.1f} ms")


if __name__ == "__main__":
    main()
