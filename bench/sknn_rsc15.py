"""Quality, fit time and request latency of session kNN (V-SKNN) on the rsc15-100k click sample.

Standalone (no Django). Every click after the first of every test session is predicted from
the session's earlier clicks (test items unknown to the training set are skipped, as in
bench/gru4rec_rsc15.py) and ranked against all training items. Three ways to count a rank:

- expected: equal scores in random order, the protocol of session-rec (which adds random
  noise below 1e-8); we take the exact expectation instead of one draw. Items no neighbour
  holds all score 0 and tie with each other. This is the figure to compare with the papers.
- optimistic: 1 + the number of items scored strictly higher (evaluation.target_ranks, the
  GRU4Rec convention). Too kind to kNN, whose scores have many ties: a target that no
  neighbour holds still counts as a hit when fewer than 20 items have a score.
- served: the position of the target in `retrieve(context, 20)`, the list a shop would show
  (equal scores by item index, unscored items never shown).

The "product page" rows evaluate only the clicks that differ from the current item, with the
current item excluded from the list, as a product detail page does.

    .venv/bin/python bench/sknn_rsc15.py [--k 100] [--sample-size 500] [--weighting linear] ...
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rsc15 import CUTOFF, DEFAULT_DATA, FILES, read_clicks  # noqa: E402

from recommendations.algorithms import evaluation  # noqa: E402
from recommendations.algorithms.base import Catalogue, PredictContext, RecommendationType  # noqa: E402
from recommendations.algorithms.sknn import (  # noqa: E402
    SCORE_WEIGHTINGS,
    SIMILARITIES,
    WEIGHTINGS,
    SKNNData,
    SKNNModel,
    SKNNParams,
)


def read_sessions(path: Path) -> SKNNData:
    """Sessions in file order, clicks in time order, each with the time of its last click."""
    clicks = read_clicks(path)
    return SKNNData(
        session_ids=list(clicks),
        sessions=[[item for _, item in session] for session in clicks.values()],
        times=np.asarray([session[-1][0] for session in clicks.values()]),
    )


def expected_hit_and_reciprocal(higher: int, ties: int) -> tuple[float, float]:
    """Expected hit@CUTOFF and reciprocal rank@CUTOFF when the target ranks 1 + higher + U,
    U uniform on 0..ties (the other items with the target's score in random order)."""
    first, last = 1 + higher, min(1 + higher + ties, CUTOFF)
    if first > CUTOFF:
        return 0.0, 0.0
    ranks = np.arange(first, last + 1)
    return len(ranks) / (ties + 1), float(np.sum(1.0 / ranks)) / (ties + 1)


@dataclass
class Tally:
    events: int = 0
    expected_hits: float = 0.0
    expected_reciprocal: float = 0.0
    optimistic_ranks: list[int] = field(default_factory=list)
    served_hits: int = 0
    served_reciprocal: float = 0.0

    def add(self, scored_items: np.ndarray, scores: np.ndarray, n_items: int, target: int, served: list[int]) -> None:
        """One event: the model's scored items (others score 0) among `n_items` items."""
        where = np.flatnonzero(scored_items == target)
        target_score = float(scores[where[0]]) if len(where) else 0.0
        higher = int(np.sum(scores > target_score))
        if len(where):
            ties = int(np.sum(scores == target_score)) - 1
        else:
            ties = n_items - len(scores) - 1
        hit, reciprocal = expected_hit_and_reciprocal(higher, ties)
        self.events += 1
        self.expected_hits += hit
        self.expected_reciprocal += reciprocal
        self.optimistic_ranks.append(1 + higher)
        if target in served:
            self.served_hits += 1
            self.served_reciprocal += 1.0 / (served.index(target) + 1)

    def row(self, name: str) -> str:
        n = max(self.events, 1)
        ranks = np.asarray(self.optimistic_ranks)
        inside = ranks <= CUTOFF
        return (
            f"{name:<14}{self.expected_hits / n:>9.4f}{self.expected_reciprocal / n:>9.4f}"
            f"{inside.mean():>9.4f}{np.where(inside, 1.0 / ranks, 0.0).mean():>9.4f}"
            f"{self.served_hits / n:>9.4f}{self.served_reciprocal / n:>9.4f}{self.events:>8}"
        )


def parse_params(argv: list[str] | None) -> tuple[argparse.Namespace, SKNNParams]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--split",
        choices=tuple(FILES),
        default="test",
        help="test: train_full -> test (the reported numbers); valid: train_tr -> train_valid (for tuning)",
    )
    parser.add_argument(
        "--online",
        action="store_true",
        help="extend the index with each test session once it has ended (session-rec's extend=True)",
    )
    parser.add_argument(
        "--replicate",
        type=int,
        default=1,
        help="index this many copies of the training sessions, each copy later by the training "
        "span (for latency at scale; the quality figures then mean little)",
    )
    defaults = SKNNParams()
    parser.add_argument("--k", type=int, default=defaults.k)
    parser.add_argument("--sample-size", type=int, default=defaults.sample_size, help="0: every candidate")
    parser.add_argument("--weighting", choices=WEIGHTINGS, default=defaults.weighting)
    parser.add_argument("--weighting-score", choices=SCORE_WEIGHTINGS, default=defaults.weighting_score)
    parser.add_argument("--similarity", choices=SIMILARITIES, default=defaults.similarity)
    parser.add_argument("--no-remind", action="store_true", help="drop the current session's items from the scores")
    parser.add_argument("--min-session-items", type=int, default=defaults.min_session_items)
    args = parser.parse_args(argv)
    params = SKNNParams(
        k=args.k,
        sample_size=args.sample_size or None,
        weighting=args.weighting,
        weighting_score=args.weighting_score,
        similarity=args.similarity,
        remind=not args.no_remind,
        min_session_items=args.min_session_items,
    )
    return args, params


def percentiles(milliseconds: list[float]) -> str:
    values = np.asarray(milliseconds)
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return f"mean {values.mean():.3f} ms, median {p50:.3f} ms, p95 {p95:.3f} ms, p99 {p99:.3f} ms, max {values.max():.3f} ms"


def main(argv: list[str] | None = None) -> None:
    args, params = parse_params(argv)
    train_file, test_file = FILES[args.split]
    train = read_sessions(args.data / train_file)
    if args.replicate > 1:
        span = float(train.times.max() - train.times.min()) + 1.0
        train = SKNNData(
            session_ids=[f"{copy}-{sid}" for copy in range(args.replicate) for sid in train.session_ids],
            sessions=list(train.sessions) * args.replicate,
            times=np.concatenate([train.times + copy * span for copy in range(args.replicate)]),
        )
    test = read_sessions(args.data / test_file)
    print(f"{args.split} split, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; params {params}")

    fit_seconds = []
    for _ in range(5 if args.replicate == 1 else 1):
        started = time.perf_counter()
        model, result = SKNNModel.fit(train, params)
        fit_seconds.append(time.perf_counter() - started)
    print(f"train: {sum(map(len, train.sessions))} clicks, {len(train.sessions)} sessions; index {result.metrics}")
    print(f"fit: {fit_seconds[0]:.3f} s the first time, median of {len(fit_seconds)} {np.median(fit_seconds):.3f} s")

    index = model.sku_index
    n_items = len(model.skus)
    catalogue = Catalogue.build(model.skus)
    order = np.argsort(test.times, kind="stable")  # for --online: sessions end in this order
    whole, product_page = Tally(), Tally()
    retrieve_ms, score_ms, extend_ms = [], [], []
    check = evaluation.NextItemEvaluator(k=CUTOFF)
    dense, dense_targets = [], []
    for r in order.tolist():
        session = [sku for sku in test.sessions[r] if sku in index]
        for t in range(1, len(session)):
            history, target = tuple(session[:t]), index[session[t]]
            history_items = model.history_items(history)
            started = time.perf_counter()
            items, scores = model.item_scores(history_items)
            score_ms.append(1000 * (time.perf_counter() - started))
            context = PredictContext(RecommendationType.PRODUCT_DETAIL, catalogue, session_history=history)
            started = time.perf_counter()
            served = [index[sku] for sku in model.retrieve(context, CUTOFF)]
            retrieve_ms.append(1000 * (time.perf_counter() - started))
            whole.add(items, scores, n_items, target, served)

            row = np.zeros(n_items)
            row[items] = scores
            dense.append(row)
            dense_targets.append(target)
            if len(dense) == 512:
                check.add(np.vstack(dense), np.asarray(dense_targets))
                dense, dense_targets = [], []

            current = index[history[-1]]
            if target != current:
                keep = items != current
                excluded = PredictContext(
                    RecommendationType.PRODUCT_DETAIL,
                    catalogue,
                    session_history=history,
                    exclude=frozenset({history[-1]}),
                )
                served = [index[sku] for sku in model.retrieve(excluded, CUTOFF)]
                product_page.add(items[keep], scores[keep], n_items - 1, target, served)
        if args.online:
            started = time.perf_counter()
            model = model.extend(SKNNData([f"test-{test.session_ids[r]}"], [session], [test.times[r]]))
            extend_ms.append(1000 * (time.perf_counter() - started))
            index = model.sku_index
    if dense:
        check.add(np.vstack(dense), np.asarray(dense_targets))
    shared = check.result()
    ranks = np.asarray(whole.optimistic_ranks)
    inside = ranks <= CUTOFF
    assert abs(shared[f"recall@{CUTOFF}"] - inside.mean()) < 1e-9, shared
    assert abs(shared[f"mrr@{CUTOFF}"] - np.where(inside, 1.0 / ranks, 0.0).mean()) < 1e-9, shared
    print(f"evaluation.NextItemEvaluator agrees with the optimistic figures: {shared}")

    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print(f"{'':<14}{'expected':>18}{'optimistic':>18}{'served':>18}")
    print(f"{'':<14}{'Recall':>9}{'MRR':>9}{'Recall':>9}{'MRR':>9}{'Recall':>9}{'MRR':>9}{'events':>8}   (@{CUTOFF})")
    print(whole.row("next click"))
    print(product_page.row("product page"))
    print(f"item_scores per request: {percentiles(score_ms)}")
    print(f"retrieve(20) per request: {percentiles(retrieve_ms)}")
    if extend_ms:
        print(
            f"extend by one session ({len(extend_ms)} times, up to {model.n_sessions} sessions): {percentiles(extend_ms)}"
        )


if __name__ == "__main__":
    main()
