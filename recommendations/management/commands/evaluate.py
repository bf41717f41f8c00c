"""`manage.py evaluate MODEL`: offline quality on a time-based holdout of the stored data."""

from __future__ import annotations

import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from recommendations.algorithms.registry import EVALUATION_BASELINE, MODELS
from recommendations.training.offline import EvaluationError, evaluate_model, holdout_split


class Command(BaseCommand):
    help = (
        "Train MODEL on the sessions that start before the split and print Recall@K, MRR@K, NDCG@K and "
        "coverage of next-item prediction on the later sessions, with popularity as the reference row."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("model", help=f"one of {', '.join(MODELS)}")
        split = parser.add_mutually_exclusive_group()
        split.add_argument("--test-from", help="ISO 8601 time: sessions starting from it are the test set")
        split.add_argument("--holdout-days", type=float, help="the last N days of sessions are the test set")
        split.add_argument(
            "--holdout-fraction", type=float, default=0.1, help="the latest share of sessions (default 0.1)"
        )
        parser.add_argument("--cutoff", type=int, default=20, help="K of the metrics (default 20)")
        parser.add_argument("--max-events", type=int, help="evaluate at most this many next-item events")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(
        self, *args, model: str, test_from, holdout_days, holdout_fraction, cutoff, max_events, json: bool, **options
    ):
        if model not in MODELS:
            raise CommandError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
        if cutoff < 1:
            raise CommandError("--cutoff must be a positive integer")
        if not 0 < holdout_fraction < 1:
            raise CommandError("--holdout-fraction must lie strictly between 0 and 1")
        split_at = None
        if test_from:
            split_at = parse_datetime(test_from)
            if split_at is None:
                raise CommandError(f"--test-from {test_from!r} is not an ISO 8601 time")
            if split_at.tzinfo is None:
                split_at = split_at.replace(tzinfo=datetime.UTC)
        try:
            holdout = holdout_split(test_from=split_at, holdout_days=holdout_days, holdout_fraction=holdout_fraction)
            rows = [evaluate_model(model, holdout, cutoff=cutoff, max_events=max_events)]
            if model != EVALUATION_BASELINE:
                rows.append(evaluate_model(EVALUATION_BASELINE, holdout, cutoff=cutoff, max_events=max_events))
        except EvaluationError as error:
            raise CommandError(str(error)) from error
        if json:
            self.stdout.write(
                _json_dumps(
                    {
                        "split_at": holdout.split_at.isoformat(),
                        "test_sessions": len(holdout.test_sessions),
                        "results": rows,
                    }
                )
            )
            return
        self.stdout.write(
            f"split at {holdout.split_at.isoformat()}: {len(holdout.train.session_ids)} training sessions, "
            f"{len(holdout.test_sessions)} test sessions, {len(holdout.train.skus)} items"
        )
        keys = [f"recall@{cutoff}", f"mrr@{cutoff}", f"ndcg@{cutoff}", f"coverage@{cutoff}"]
        self.stdout.write(f"{'model':<12}" + "".join(f"{k:>14}" for k in keys) + f"{'events':>9}{'train s':>9}")
        for row in rows:
            self.stdout.write(
                f"{row['model']:<12}"
                + "".join(f"{row[k]:>14.4f}" for k in keys)
                + f"{row['events']:>9}{row['train_seconds']:>9.1f}"
            )


def _json_dumps(value) -> str:
    return json.dumps(value, indent=2)
