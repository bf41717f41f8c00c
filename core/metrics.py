"""The service's Prometheus metrics and their text exposition.

Under gunicorn every worker is its own process with its own counters. When
`PROMETHEUS_MULTIPROC_DIR` is set (deploy/gunicorn.conf.py sets it, empties it at start and marks
exited workers dead), prometheus-client keeps each worker's values in memory-mapped files in that
folder, and a scrape sums them over every worker, the exited ones included, so a counter never
goes back. Without it (runserver, tests, scripts) the values live in this process.

Figures that are facts in a database (the trainer's queue, the trainings) are not counted here:
`monitoring.metrics` reads them when scraped, so they are right whichever process trained."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

# `_created` series double every counter for little use, and multiprocess mode has none.
disable_created_metrics()

# From a fast cached answer (about a millisecond) to a slow cold one.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
NO_EXPERIMENT = ""

predict_duration = Histogram(
    "rs_predict_duration_seconds",
    "Seconds spent per prediction, by recommendation type and pipeline phase "
    "(retrieval, scoring, ordering, and total for the whole request).",
    ["type", "phase"],
    buckets=DURATION_BUCKETS,
)
predictions = Counter(
    "rs_predictions",
    "Predictions answered, by recommendation type, retrieval and scoring model, and experiment and arm "
    "(empty outside any experiment).",
    ["type", "retrieval_model", "scoring_model", "experiment", "arm"],
)
cascade_fallbacks = Counter(
    "rs_cascade_fallbacks",
    "Predictions whose retrieval or scoring was answered by another model than the first enabled model of its "
    "cascade (that model untrained, not ready for the request, failing or empty), by type, phase and the model "
    "that answered.",
    ["type", "phase", "model"],
)
store_calls = Counter(
    "rs_store_calls",
    "Calls of /store_object and /store_objects, by endpoint and outcome (stored or rejected).",
    ["endpoint", "outcome"],
)
store_objects = Counter(
    "rs_store_objects",
    "Objects stored through /store_object(s), by _model_class.",
    ["model_class"],
)


def is_multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def metrics_exposition(*collectors) -> tuple[bytes, str]:
    """The text format of every metric (summed over the server's processes in multiprocess mode),
    followed by what `collectors` report; and its content type."""
    extra = CollectorRegistry(auto_describe=True)
    for collector in collectors:
        extra.register(collector)
    if is_multiprocess():
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    return generate_latest(counted) + generate_latest(extra), CONTENT_TYPE_PLAIN_0_0_4
