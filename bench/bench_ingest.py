"""Ingest benchmark: posts realistic catalogue objects and ProductDetailEnter events to a running
server over HTTP and prints objects per second and latency percentiles.

Standard library only, so it runs from any Python 3.11 without the project's venv:

    python bench/bench_ingest.py --url http://127.0.0.1:8001 --events 50000 --batch 100 --concurrency 4

Bodies are built and JSON-encoded before the clock starts, so the client's own CPU cost is
mostly the HTTP exchange. `--batch 1` posts one event per request to `/store_object`.

Against gunicorn (2 workers) on PostgreSQL, from the project folder:

    for a in default products feedback modelstore similarity; do
        psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE rs_bench_$a"; done
    for a in default products feedback modelstore similarity; do
        export RS_${a^^}_DATABASE_URL=postgres://postgres@127.0.0.1:5432/rs_bench_$a; done
    .venv/bin/python manage.py migrate_all
    .venv/bin/gunicorn rs_project.wsgi -w 2 -b 127.0.0.1:8001 --log-level warning &
    python bench/bench_ingest.py --url http://127.0.0.1:8001 --events 50000 --batch 100 --concurrency 4

Measured on the 2-core development machine (PostgreSQL, client and server on the same
cores, other jobs running, load average about 10): ProductDetailEnter in batches of 100,
5,739 events/s (p50 68 ms, p95 90 ms, p99 99 ms); one by one (`--batch 1`), 110 events/s.
The service it replaces: 144 events/s in batches of 100 and 76 events/s one by one."""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import random
import statistics
import sys
import threading
import time
import urllib.parse
import uuid

RECOMMENDATION_TYPES = ("HOMEPAGE", "PRODUCT_DETAIL", "CART")
# Model names echoed in the synthetic clicks' attribution (any names do for ingest).
MODELS = ("model-a", "model-b", "model-c")


def build_catalogue(rng: random.Random, products: int, variants_per_product: int) -> list[dict]:
    """A shop's catalogue in the shape the ecoseller backend sends it."""
    now = "2024-03-01T10:00:00.000000"
    objects: list[dict] = []
    for category_id in range(1, 41):
        parent = None if category_id <= 5 else rng.randint(1, category_id - 1)
        objects.append({"_model_class": "Category", "id": category_id, "parent_id": parent, "deleted": False})
    for type_id in range(1, 11):
        objects.append(
            {
                "_model_class": "AttributeType",
                "id": type_id,
                "type": "CATEGORICAL",
                "type_name": f"PROPERTY_{type_id}",
                "unit": None,
                "deleted": False,
            }
        )
    for attribute_id in range(1, 201):
        objects.append(
            {
                "_model_class": "Attribute",
                "id": attribute_id,
                "type": (attribute_id - 1) % 10 + 1,
                "raw_value": f"value {attribute_id}",
                "order": None,
                "ext_attributes": [],
                "deleted": False,
            }
        )
    for product_type_id in range(1, 6):
        objects.append(
            {
                "_model_class": "ProductType",
                "id": product_type_id,
                "name": f"Type {product_type_id}",
                "attribute_types": [1, 2, 3, product_type_id + 3],
                "products": [],
                "update_at": now,
                "create_at": now,
                "deleted": False,
            }
        )
    price_id = 0
    for product_id in range(1, products + 1):
        skus = [f"{product_id:06d}-{v}" for v in range(variants_per_product)]
        for sku in skus:
            objects.append(
                {
                    "_model_class": "ProductVariant",
                    "sku": sku,
                    "ean": "8590000000000",
                    "weight": 0.5,
                    "stock_quantity": rng.randint(0, 50),
                    "recommendation_weight": 0.5,
                    "update_at": now,
                    "create_at": now,
                    "attributes": rng.sample(range(1, 201), 4),
                    "deleted": False,
                }
            )
            price_id += 1
            objects.append(
                {
                    "_model_class": "ProductPrice",
                    "id": price_id,
                    "price_list_code": "czk_maloobchod",
                    "product_variant_sku": sku,
                    "price": round(rng.uniform(100, 5000), 2),
                    "update_at": now,
                    "create_at": now,
                    "deleted": False,
                }
            )
        objects.append(
            {
                "_model_class": "Product",
                "id": product_id,
                "published": True,
                "type": rng.randint(1, 5),
                "category_id": rng.randint(1, 40),
                "product_translations": [
                    {
                        "id": product_id,
                        "language_code": "en",
                        "title": f"Product {product_id}",
                        "meta_title": f"Product {product_id}",
                        "description": "A product.",
                        "meta_description": "A product.",
                        "short_description": "Short.",
                        "slug": f"product-{product_id}",
                    }
                ],
                "product_variants": skus,
                "update_at": now,
                "create_at": now,
                "deleted": False,
            }
        )
    return objects


def build_events(rng: random.Random, count: int, products: int, variants_per_product: int) -> list[dict]:
    """Storefront detail enters: sessions of a few views each, interleaved as live traffic is,
    popular products viewed more (a Zipf-like draw); one in five echoes `rs_info`."""
    weights = [1 / (rank + 1) for rank in range(products)]
    events: list[dict] = []
    live: list[list] = []
    while len(events) < count:
        if len(live) < 50:
            live.append([str(uuid.uuid4()), rng.randint(1, 15)])
        session = rng.choice(live)
        product_id = rng.choices(range(1, products + 1), weights=weights)[0]
        event = {
            "_model_class": "ProductDetailEnter",
            "session_id": session[0],
            "user_id": None,
            "product_id": product_id,
            "product_variant_sku": f"{product_id:06d}-{rng.randrange(variants_per_product)}",
        }
        if rng.random() < 0.2:
            event.update(
                recommendation_type=rng.choice(RECOMMENDATION_TYPES),
                model_identifier=f"{rng.choice(MODELS)}-1",
                model_name=rng.choice(MODELS),
                position=rng.randrange(10),
            )
        events.append(event)
        session[1] -= 1
        if session[1] == 0:
            live.remove(session)
    return events


def run(url: str, path: str, bodies: list[tuple[bytes, int]], concurrency: int, token: str) -> dict:
    """Post every body over `concurrency` keep-alive connections; answer timings and counts."""
    parsed = urllib.parse.urlsplit(url)
    headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    work: queue.Queue = queue.Queue()
    for body in bodies:
        work.put(body)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port or 80, timeout=60)
        while True:
            try:
                body, _ = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection(parsed.hostname, parsed.port or 80, timeout=60)
                status, answer = 0, str(error).encode()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    failures.append(f"{status} {answer[:200]!r}")
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"seconds": time.perf_counter() - started, "latencies": latencies, "failures": failures}


def report(label: str, objects: int, result: dict) -> None:
    latencies = sorted(result["latencies"])
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    print(
        f"{label}: {objects} objects in {len(latencies)} requests, {result['seconds']:.2f} s, "
        f"{objects / result['seconds']:,.0f} objects/s, {len(latencies) / result['seconds']:,.1f} requests/s, "
        f"latency p50 {quantiles[49] * 1000:.1f} ms, p95 {quantiles[94] * 1000:.1f} ms, "
        f"p99 {quantiles[98] * 1000:.1f} ms, failures {len(result['failures'])}"
    )
    for failure in result["failures"][:3]:
        print(f"  failure: {failure}", file=sys.stderr)


def batches(objects: list[dict], size: int) -> list[tuple[bytes, int]]:
    if size == 1:
        return [(json.dumps(o).encode(), 1) for o in objects]
    return [
        (json.dumps(objects[i : i + size]).encode(), len(objects[i : i + size])) for i in range(0, len(objects), size)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="server root, e.g. http://127.0.0.1:8001")
    parser.add_argument("--events", type=int, default=50_000, help="ProductDetailEnter events to post")
    parser.add_argument("--batch", type=int, default=100, help="events per request (1: /store_object)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel keep-alive connections")
    parser.add_argument("--products", type=int, default=2000, help="products in the catalogue")
    parser.add_argument("--variants", type=int, default=2, help="variants per product")
    parser.add_argument("--skip-catalogue", action="store_true", help="do not post the catalogue first")
    parser.add_argument("--token", default="", help="RS_API_TOKEN of the server, if set")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    # Warm-up, not timed: each worker loads the URL map (and what it imports) on its first request.
    parsed = urllib.parse.urlsplit(args.url)
    for _ in range(4 * args.concurrency):
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port or 80, timeout=120)
        connection.request("GET", "/")
        connection.getresponse().read()
        connection.close()
    if not args.skip_catalogue:
        catalogue = build_catalogue(rng, args.products, args.variants)
        result = run(args.url, "/store_objects", batches(catalogue, 100), args.concurrency, args.token)
        report("catalogue /store_objects batch=100", len(catalogue), result)

    events = build_events(rng, args.events, args.products, args.variants)
    path = "/store_object" if args.batch == 1 else "/store_objects"
    result = run(args.url, path, batches(events, args.batch), args.concurrency, args.token)
    report(f"ProductDetailEnter {path} batch={args.batch} concurrency={args.concurrency}", len(events), result)
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
