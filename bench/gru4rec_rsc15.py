"""Quality and training time of GRU4Rec on the rsc15-100k click sample, next to popularity.

Standalone (no Django). Every click after the first of every test session is predicted from
the session's earlier clicks and ranked against all items (rank = 1 + number of items scored
strictly higher); prints Recall@20, MRR@20 and training seconds.

    .venv/bin/python bench/gru4rec_rsc15.py [--data DIR] [--epochs 10] [--hidden 480] ...
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rsc15 import CUTOFF, DEFAULT_DATA, FILES, read_clicks  # noqa: E402

from recommendations.algorithms.base import SessionData  # noqa: E402
from recommendations.algorithms.gru4rec import GRU4RecModel, GRU4RecParams  # noqa: E402

try:  # the team's shared metric code, when present
    from recommendations.algorithms import evaluation  # noqa: E402
except ImportError:
    evaluation = None


def read_sessions(path: Path) -> tuple[list[list[str]], list[float]]:
    """Sessions (item ids in time order) and their start times; rows are grouped by session."""
    sessions = read_clicks(path).values()
    return [[item for _, item in clicks] for clicks in sessions], [clicks[0][0] for clicks in sessions]


def ranks_metrics(ranks: np.ndarray) -> tuple[float, float]:
    hits = ranks <= CUTOFF
    return float(hits.mean()), float(np.where(hits, 1.0 / ranks, 0.0).mean())


def popularity_ranks(train: list[np.ndarray], test: list[np.ndarray], n_items: int) -> np.ndarray:
    counts = np.bincount(np.concatenate(train), minlength=n_items)
    targets = np.concatenate([s[1:] for s in test if len(s) > 1])
    # rank = 1 + number of items with a strictly higher count
    sorted_counts = np.sort(counts)
    return 1 + len(counts) - np.searchsorted(sorted_counts, counts[targets], side="right")


class _EpochPrinter:
    """Progress callback printing one line per phase (epoch), with the time since the start."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.message = None

    def __call__(self, message: str, fraction: float) -> None:
        if message != self.message:
            self.message = message
            print(f"  [{time.perf_counter() - self.started:7.1f} s] {fraction:6.1%} {message}", flush=True)


def parse_params(argv: list[str] | None) -> tuple[argparse.Namespace, GRU4RecParams]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--split",
        choices=("test", "valid"),
        default="test",
        help="test: train_full -> test (the reported numbers); valid: train_tr -> train_valid (for tuning)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    defaults = GRU4RecParams()
    for f in fields(GRU4RecParams):
        if f.name.endswith("_options"):
            value = getattr(defaults, f.name)
            kind = type(value[0])
            parser.add_argument(f"--{f.name[: -len('_options')].replace('_', '-')}", type=kind, nargs="+", default=None)
    parser.add_argument("--validation-fraction", type=float, default=defaults.validation_fraction)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    args = parser.parse_args(argv)
    overrides = {}
    for f in fields(GRU4RecParams):
        if f.name.endswith("_options"):
            value = getattr(args, f.name[: -len("_options")])
            if value is not None:
                overrides[f.name] = tuple(value)
    params = GRU4RecParams(**overrides, validation_fraction=args.validation_fraction, seed=args.seed)
    return args, params


def main(argv: list[str] | None = None) -> None:
    args, params = parse_params(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    train_file, test_file = FILES[args.split]
    train_sessions, train_starts = read_sessions(args.data / train_file)
    test_sessions, _ = read_sessions(args.data / test_file)
    skus = list(dict.fromkeys(item for session in train_sessions for item in session))
    index = {sku: i for i, sku in enumerate(skus)}
    train = [np.array([index[item] for item in s], dtype=np.int64) for s in train_sessions]
    test = [np.array([index[item] for item in s if item in index], dtype=np.int64) for s in test_sessions]
    print(f"train: {sum(map(len, train))} clicks, {len(train)} sessions, {len(skus)} items")
    print(f"{args.split} split, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    print(f"test: {sum(len(s) - 1 for s in test if len(s) > 1)} next-item events")

    data = SessionData(skus=skus, sessions=train, session_start_times=np.array(train_starts))
    started = time.perf_counter()
    cpu_started = time.process_time()
    model, result = GRU4RecModel.fit(data, params, progress=_EpochPrinter(started))
    fit_seconds = time.perf_counter() - started
    fit_cpu_seconds = time.process_time() - cpu_started
    for hyperparameters, step_metrics in result.steps:
        print(f"  tried {hyperparameters} -> {step_metrics}")
    print(f"chosen: {result.hyperparameters}")
    print(f"validation: {result.metrics}")

    ranks = model.next_item_ranks(test)
    recall, mrr = ranks_metrics(ranks)
    if evaluation is not None:
        # The team's shared metric code on the same score matrices must agree.
        evaluator = evaluation.NextItemEvaluator(k=CUTOFF)
        for scores, targets in model.next_item_scores(test):
            evaluator.add(scores, targets)
        shared = evaluator.result()
        assert abs(shared[f"recall@{CUTOFF}"] - recall) < 1e-9 and abs(shared[f"mrr@{CUTOFF}"] - mrr) < 1e-9, shared
        print(f"evaluation.NextItemEvaluator agrees: {shared}")
    # The batched evaluation must agree with the single-request path (float ties aside).
    event = 0
    for session in test[:50]:
        for t in range(1, len(session)):
            scores = model.score_all(session[:t].tolist())
            single = 1 + int((scores > scores[session[t]]).sum())
            assert abs(single - int(ranks[event])) <= 1, (single, int(ranks[event]))
            event += 1
    pop_recall, pop_mrr = ranks_metrics(popularity_ranks(train, test, len(skus)))
    print(f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'model':<12}{'Recall@20':>10}{'MRR@20':>10}{'train s':>10}")
    print(
        f"{'gru4rec':<12}{recall:>10.4f}{mrr:>10.4f}{result.metrics['refit_seconds']:>10.1f}"
        f"   (whole fit incl. validation: {fit_seconds:.1f} s wall, {fit_cpu_seconds:.1f} s CPU; {len(ranks)} events)"
    )
    print(f"{'popularity':<12}{pop_recall:>10.4f}{pop_mrr:>10.4f}{0.0:>10.1f}")


if __name__ == "__main__":
    main()
