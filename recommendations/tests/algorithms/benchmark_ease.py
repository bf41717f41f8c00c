"""Times EASE training (3 validated l2 options + the final fit) on synthetic interactions
(not a test: pytest does not collect it).

Run: .venv/bin/python -m recommendations.tests.algorithms.benchmark_ease 5000 50000
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np

from recommendations.algorithms.ease import EASEModel, EASEParams, build_ease_data


def main() -> None:
    items = int(sys.argv[1]) if len(sys.argv) > 1 else 2188
    users = int(sys.argv[2]) if len(sys.argv) > 2 else 10 * items
    rng = np.random.default_rng(0)
    # Zipf-like item popularity, 2-30 interactions per user, weights like view/cart/purchase.
    popularity = 1.0 / np.arange(1, items + 1) ** 0.8
    popularity /= popularity.sum()
    lengths = rng.integers(2, 31, size=users)
    user_of = np.repeat(np.arange(users), lengths)
    item_of = rng.choice(items, size=len(user_of), p=popularity)
    weight_of = rng.choice([1.0, 3.0, 5.0], size=len(user_of), p=[0.8, 0.15, 0.05])
    started = time.perf_counter()
    data = build_ease_data(zip((f"u{u}" for u in user_of), (f"sku{i}" for i in item_of), weight_of.tolist()))
    built = time.perf_counter()
    model, result = EASEModel.fit(data, EASEParams())
    trained = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"items={len(model.skus)} users={users} interactions={data.matrix.nnz} "
        f"build={built - started:.1f}s fit={trained - built:.1f}s peak_rss={peak_mib:.0f}MiB"
    )
    for hyperparameters, metrics in result.steps:
        print(f"  step {hyperparameters}: {metrics}")
    print(f"chosen {result.hyperparameters['l2']}: {result.metrics}")


if __name__ == "__main__":
    main()
