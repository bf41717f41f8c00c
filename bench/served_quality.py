"""Served quality: replays test sessions through a running server exactly as a shop would send
them, and measures what shoppers get from `/predict`, not what a model scores offline.

For every click of the first `--sessions` test sessions, in order: the click is stored
(`/store_object` ProductDetailEnter for the session, stamped when it arrives, like live
traffic), then `/predict` is asked for that session:

* HOMEPAGE: a hit when the session's next click is in the answer (every next click);
* PRODUCT_DETAIL with `variants` = the clicked SKU: a hit when the next click is in the answer,
  for the next clicks on another product (a product page never shows its own product's
  variants; a file without a ProductId column counts every item as its own product).

Next clicks on items the training file never saw are left out, as in the offline evaluation
(the catalogue does not know them). Prints Recall@K and MRR@K per type, and the latency of
the `/predict` calls (p50, p99) and errors. Standard library only:

    python bench/served_quality.py --url http://127.0.0.1:8001 \\
        --test-file ../shared/data/rsc15-100k/yoochoose-clicks-100k_test.txt \\
        --train-file ../shared/data/rsc15-100k/yoochoose-clicks-100k_train_full.txt --sessions 1000

The server should hold the training file (`manage.py import_interactions FILE --format rsc15`)
and its trained models; the README gives the whole procedure and the figures."""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import statistics
import sys
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path


def read_sessions(path: Path, limit: int | None) -> tuple[list[tuple[str, list[str]]], dict[str, int]]:
    """(session id, item ids in click order) of the file's first `limit` sessions, file order,
    and the product of each item where the file has a ProductId column (a held-out file of
    `generate_demo_shop`); rsc15's numeric item ids are their own product ids."""
    sessions: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    products: dict[str, int] = {}
    order: list[str] = []
    with path.open(newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle, delimiter="\t")):
            session = row["SessionId"]
            if session not in sessions:
                if limit is not None and len(order) >= limit:
                    break
                order.append(session)
            sessions[session].append((float(row["Time"]), line, row["ItemId"]))
            if row.get("ProductId"):
                products[row["ItemId"]] = int(row["ProductId"])
    return [(session, [item for _, _, item in sorted(sessions[session])]) for session in order], products


def read_items(path: Path) -> set[str]:
    with path.open(newline="") as handle:
        return {row["ItemId"] for row in csv.DictReader(handle, delimiter="\t")}


class Client:
    """One keep-alive HTTP connection."""

    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def post(self, path: str, body: object) -> tuple[int, object]:
        data = json.dumps(body)
        for attempt in range(2):
            try:
                self.connection.request("POST", path, data, self.headers)
                response = self.connection.getresponse()
                payload = response.read()
                return response.status, json.loads(payload) if payload else None
            except (http.client.HTTPException, ConnectionError, OSError):
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                if attempt:
                    raise
        raise AssertionError("unreachable")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--test-file", type=Path, required=True)
    parser.add_argument(
        "--train-file", type=Path, help="items it holds are the known ones (default: every target counts)"
    )
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--cutoff", type=int, default=20)
    parser.add_argument("--types", default="HOMEPAGE,PRODUCT_DETAIL")
    parser.add_argument("--token")
    parser.add_argument("--prefix", default=f"served-{int(time.time())}-", help="prefix of the replayed session ids")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.cutoff < 1:
        parser.error("--sessions and --cutoff must be positive")
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    if not types or set(types) - {"HOMEPAGE", "PRODUCT_DETAIL"}:
        parser.error("--types takes HOMEPAGE and/or PRODUCT_DETAIL")

    sessions, products = read_sessions(args.test_file, args.sessions)
    known = read_items(args.train_file) if args.train_file else None
    client = Client(args.url, args.token, args.timeout)
    hits = {t: 0 for t in types}
    reciprocal = {t: 0.0 for t in types}
    events = {t: 0 for t in types}
    latencies: dict[str, list[float]] = {t: [] for t in types}
    errors: dict[str, int] = defaultdict(int)
    began = time.monotonic()
    for number, (session, clicks) in enumerate(sessions, start=1):
        session_id = f"{args.prefix}{session}"
        for position, item in enumerate(clicks):
            status, _ = client.post(
                "/store_object",
                {
                    "_model_class": "ProductDetailEnter",
                    "session_id": session_id,
                    "product_variant_sku": item,
                    "product_id": products.get(item, int(item) if item.isdigit() else None),
                },
            )
            if status != 200:
                errors["store_object"] += 1
            if position + 1 >= len(clicks):
                continue
            target = clicks[position + 1]
            if known is not None and target not in known:
                continue
            for kind in types:
                if kind == "PRODUCT_DETAIL" and (
                    target == item or (item in products and products.get(target) == products[item])
                ):
                    continue  # a product page never shows its own product's variants
                body = {"recommendation_type": kind, "session_id": session_id, "limit": args.cutoff}
                if kind == "PRODUCT_DETAIL":
                    body["variants"] = item
                started = time.perf_counter()
                status, answer = client.post("/predict", body)
                latencies[kind].append(time.perf_counter() - started)
                if status != 200:
                    errors[kind] += 1
                    continue
                skus = [entry["product_variant_sku"] for entry in answer][: args.cutoff]
                events[kind] += 1
                if target in skus:
                    hits[kind] += 1
                    reciprocal[kind] += 1.0 / (skus.index(target) + 1)
        if not args.json and number % 100 == 0:
            print(f"  {number} sessions replayed", file=sys.stderr)

    result = {
        "sessions": len(sessions),
        "seconds": round(time.monotonic() - began, 1),
        "errors": dict(errors),
        "types": {
            kind: {
                "events": events[kind],
                f"recall@{args.cutoff}": round(hits[kind] / events[kind], 4) if events[kind] else None,
                f"mrr@{args.cutoff}": round(reciprocal[kind] / events[kind], 4) if events[kind] else None,
                "p50_ms": round(1000 * statistics.median(latencies[kind]), 1) if latencies[kind] else None,
                "p99_ms": round(1000 * percentile(latencies[kind], 0.99), 1) if latencies[kind] else None,
            }
            for kind in types
        },
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{len(sessions)} sessions replayed in {result['seconds']} s; errors: {dict(errors) or 'none'}")
        for kind, figures in result["types"].items():
            print(
                f"{kind:15} events {figures['events']:6}  Recall@{args.cutoff} {figures[f'recall@{args.cutoff}']}"
                f"  MRR@{args.cutoff} {figures[f'mrr@{args.cutoff}']}  p50 {figures['p50_ms']} ms  p99 {figures['p99_ms']} ms"
            )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
