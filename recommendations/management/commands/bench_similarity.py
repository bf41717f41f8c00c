"""`manage.py bench_similarity`: how good and how cheap the current similarity model's stored
neighbour lists are. For a fixed random sample of variants it compares each stored list with a
brute-force exact search (every distance of the variant) and prints the recall, with variants
tied at the K-th distance counted as hits (`neighbour_recall`), then times the lookup of stored
lists that retrieval uses."""

from __future__ import annotations

import time

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from modelstore.selectors import latest_identifiers
from recommendations.algorithms.similarity import SimilarityModel, neighbour_recall
from recommendations.artefact_store import artefact_read


class Command(BaseCommand):
    help = "Recall of the current similarity model's neighbour lists against an exact search, on a sample of variants."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rows", type=int, default=1000, help="variants sampled (each costs one pass over all)")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, rows: int, seed: int, **options) -> None:
        identifier = latest_identifiers().get("similarity")
        if identifier is None:
            raise CommandError("no similarity model is trained yet: run `manage.py train similarity` first")
        if rows < 1:
            raise CommandError("--rows must be at least 1")
        started = time.perf_counter()
        model = artefact_read(SimilarityModel, model_name="similarity", identifier=identifier)
        loaded = time.perf_counter() - started
        n = len(model.skus)
        k = model.neighbour_index.shape[1]
        sample = np.sort(np.random.default_rng(seed).choice(n, size=min(rows, n), replace=False))

        started = time.perf_counter()
        exact_kth = model.exact_kth_distances(sample, k)
        exact_seconds = time.perf_counter() - started
        found_index, stored_distance = model.neighbours_of(sample)
        # The listed neighbours' distances recomputed, not taken from the list on trust.
        found_distance = model.pair_distances(np.repeat(sample, k), found_index.ravel()).reshape(found_index.shape)
        recall = neighbour_recall(sample, found_index, found_distance, exact_kth)
        stored_error = float(np.max(np.abs(stored_distance - found_distance))) if found_index.size else 0.0

        started = time.perf_counter()
        lookups = 0
        for row in sample:
            model.neighbours_of([row])
            lookups += 1
        lookup_us = (time.perf_counter() - started) / lookups * 1e6
        self.stdout.write(
            f"similarity {identifier}: {n} variants, K={k}, {len(sample)} sampled (seed {seed}): "
            f"recall@{k} {recall:.4f} (variants tied at the exact K-th distance count as hits); "
            f"stored vs recomputed distance max |diff| {stored_error:.2e}; "
            f"exact search {exact_seconds / len(sample) * 1000:.1f} ms per variant; "
            f"artefact load {loaded:.2f} s; stored-list lookup {lookup_us:.1f} us per variant"
        )
