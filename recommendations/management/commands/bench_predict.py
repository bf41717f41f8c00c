"""`manage.py bench_predict --url URL`: latency and throughput of a running server.

Requests are built from the stored data (real SKUs, categories and sessions, read from the same
databases the server uses), then sent over HTTP with keep-alive connections: every type of
/predict and /predict/product_positions, at each concurrency level asked for. It prints p50, p95
and p99 per kind and the requests per second of each level. Bounded by --requests and
--seconds; it only talks to the URL given (meant for 127.0.0.1).

Mixed load: `--writes-per-second W` streams ProductVariant updates (the variant as stored, with a
new stock) through /store_object and `--events-per-second E` product views through
/store_objects while the predictions run, as a shop's backend sends them all day; their count,
errors and p99 are printed beside the predictions'."""

from __future__ import annotations

import json
import random
import socket
import statistics
import threading
import time
import urllib.parse

from django.core.management.base import BaseCommand, CommandError

from feedback.models import Session
from products.models import AttributeProductVariant, CategoryAncestor, ProductVariant

KINDS = ("HOMEPAGE", "CATEGORY_LIST", "PRODUCT_DETAIL", "CART", "product_positions")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Command(BaseCommand):
    help = "Drive a running server with realistic prediction requests and print p50/p95/p99 and requests per second."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--requests", type=int, default=2000, help="requests per concurrency level")
        parser.add_argument("--concurrency", default="1,8", help="comma-separated levels (default 1,8)")
        parser.add_argument("--seconds", type=float, default=120.0, help="stop a level after this long")
        parser.add_argument("--token", default="", help="bearer token when the server requires one")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--writes-per-second", type=float, default=0.0, help="ProductVariant updates streamed meanwhile"
        )
        parser.add_argument(
            "--events-per-second", type=float, default=0.0, help="ProductDetailEnter events streamed meanwhile"
        )
        parser.add_argument("--json", action="store_true")

    def handle(
        self,
        *args,
        url,
        requests,
        concurrency,
        seconds,
        token,
        seed,
        json: bool,
        writes_per_second,
        events_per_second,
        **options,
    ):
        target = urllib.parse.urlsplit(url)
        if target.scheme != "http" or not target.hostname:
            raise CommandError("--url must be an http:// URL")
        try:
            levels = [int(level) for level in concurrency.split(",")]
        except ValueError as error:
            raise CommandError("--concurrency takes comma-separated integers") from error
        if requests < 1 or any(level < 1 for level in levels):
            raise CommandError("--requests and every concurrency level must be positive")
        if writes_per_second < 0 or events_per_second < 0:
            raise CommandError("--writes-per-second and --events-per-second must not be negative")
        bodies = self._bodies(random.Random(seed), requests)
        streams = self._streams(random.Random(seed + 1), writes_per_second, events_per_second)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        report = {}
        for level in levels:
            report[level] = self._run(target, headers, bodies, level, seconds, streams)
        if json:
            self.stdout.write(_dumps(report))
            return
        for level, result in report.items():
            self.stdout.write(
                f"concurrency {level}: {result['requests']} requests, {result['rps']:.0f} requests/s, errors {result['errors']}"
            )
            for kind, stats in result["kinds"].items():
                self.stdout.write(
                    f"  {kind:<18} p50 {stats['p50']:6.1f} ms  p95 {stats['p95']:6.1f} ms  p99 {stats['p99']:6.1f} ms  (n={stats['n']})"
                )
            for name, stats in result["streams"].items():
                self.stdout.write(
                    f"  meanwhile {name}: {stats['sent']} sent ({stats['per_second']:.1f}/s), errors {stats['errors']}, "
                    f"p99 {stats['p99']:.1f} ms"
                )

    def _bodies(self, rng: random.Random, count: int) -> list[tuple[str, str, bytes]]:
        skus = list(ProductVariant.objects.filter(deleted=False).values_list("sku", flat=True)[:20000])
        categories = list(CategoryAncestor.objects.values_list("category_ancestor_id", flat=True).distinct()[:1000])
        sessions = list(Session.objects.values_list("id", flat=True)[:5000])
        if not skus:
            raise CommandError("the catalogue is empty: load data first (see the README)")
        bodies = []
        for number in range(count):
            kind = KINDS[number % len(KINDS)]
            session = rng.choice(sessions) if sessions and rng.random() < 0.8 else f"bench-{number}"
            body: dict = {
                "session_id": session,
                "user_id": None,
                "limit": 10,
                "country": "cz",
                "pricelist": "CZK_retail",
            }
            if kind == "product_positions" or kind == "CATEGORY_LIST":
                if not categories:
                    continue
                body.update(recommendation_type="CATEGORY_LIST", category_id=rng.choice(categories))
                if kind == "product_positions":
                    body.pop("limit")
            elif kind == "PRODUCT_DETAIL":
                body.update(recommendation_type=kind, variants=",".join(rng.sample(skus, min(2, len(skus)))))
            elif kind == "CART":
                body.update(
                    recommendation_type=kind,
                    variants_in_cart=",".join(rng.sample(skus, min(rng.randint(0, 3), len(skus)))),
                )
            else:
                body.update(recommendation_type=kind)
            path = "/predict/product_positions" if kind == "product_positions" else "/predict"
            bodies.append((kind, path, _dumps(body).encode()))
        return bodies

    def _streams(
        self, rng: random.Random, writes_per_second: float, events_per_second: float
    ) -> list[tuple[str, float, list]]:
        """(name, rate, bodies) of the write streams: variant updates, and views in batches of 10."""
        streams = []
        if writes_per_second > 0:
            variants = list(
                ProductVariant.objects.filter(deleted=False).values_list(
                    "sku", "ean", "weight", "recommendation_weight"
                )[:5000]
            )
            links: dict[str, list[int]] = {}
            for sku, attribute in AttributeProductVariant.objects.filter(
                product_variant_id__in=[v[0] for v in variants]
            ).values_list("product_variant_id", "attribute_id"):
                links.setdefault(sku, []).append(attribute)
            bodies = []
            for _ in range(2000):
                sku, ean, weight, recommendation_weight = rng.choice(variants)
                bodies.append(
                    (
                        "/store_object",
                        _dumps(
                            {
                                "_model_class": "ProductVariant",
                                "sku": sku,
                                "ean": ean,
                                "weight": weight,
                                "stock_quantity": rng.choice([0, 3, 12, 40]),
                                "recommendation_weight": recommendation_weight,
                                "attributes": links.get(sku, []),
                                "create_at": "2024-01-01T00:00:00",
                                "update_at": "2024-01-01T00:00:00",
                            }
                        ).encode(),
                    )
                )
            streams.append(("ProductVariant updates", writes_per_second, bodies))
        if events_per_second > 0:
            skus = list(ProductVariant.objects.filter(deleted=False).values_list("sku", flat=True)[:20000])
            bodies = [
                (
                    "/store_objects",
                    _dumps(
                        [
                            {
                                "_model_class": "ProductDetailEnter",
                                "session_id": f"bench-live-{rng.randrange(5000)}",
                                "product_variant_sku": rng.choice(skus),
                            }
                            for _ in range(10)
                        ]
                    ).encode(),
                )
                for _ in range(2000)
            ]
            streams.append(("product views (batches of 10)", events_per_second / 10, bodies))
        return streams

    def _run(self, target, headers, bodies, level: int, seconds: float, streams=()) -> dict:
        latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
        errors = [0]
        lock = threading.Lock()
        cursor = [0]
        deadline = time.monotonic() + seconds
        host = target.hostname
        port = target.port or 80
        # Requests are encoded before the clock starts and sent over raw keep-alive sockets: the
        # client shares the machine's cores with the server, so it must cost as little as it can.
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())

        def encoded(path: str, body: bytes) -> bytes:
            return (
                f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )

        wire = [(kind, encoded(path, body)) for kind, path, body in bodies]

        def worker() -> None:
            connection = _RawConnection(host, port)
            while time.monotonic() < deadline:
                with lock:
                    if cursor[0] >= len(wire):
                        break
                    kind, request = wire[cursor[0]]
                    cursor[0] += 1
                ok, elapsed = connection.timed_exchange(request)
                with lock:
                    if ok:
                        latencies[kind].append(elapsed)
                    else:
                        errors[0] += 1
            connection.close()

        stop = threading.Event()
        stream_results: dict[str, dict] = {}

        def streamer(name: str, rate: float, stream_bodies: list) -> None:
            connection = _RawConnection(host, port)
            sent, failed, times = 0, 0, []
            interval = 1.0 / rate
            next_at = time.monotonic()
            while not stop.is_set():
                path, body = stream_bodies[sent % len(stream_bodies)]
                request = encoded(path, body)
                ok, elapsed = connection.timed_exchange(request)
                times.append(elapsed)
                sent += 1
                failed += not ok
                next_at += interval
                stop.wait(max(0.0, next_at - time.monotonic()))
            connection.close()
            stream_results[name] = {"sent": sent, "errors": failed, "times": times}

        stream_threads = [threading.Thread(target=streamer, args=stream) for stream in streams]
        for thread in stream_threads:
            thread.start()
        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(level)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        stop.set()
        for thread in stream_threads:
            thread.join()
        done = sum(len(v) for v in latencies.values())
        return {
            "requests": done,
            "errors": errors[0],
            "rps": done / wall if wall else 0.0,
            "streams": {
                name: {
                    "sent": result["sent"],
                    "errors": result["errors"],
                    "per_second": result["sent"] / wall if wall else 0.0,
                    "p99": _percentile(result["times"], 0.99) if result["times"] else 0.0,
                }
                for name, result in stream_results.items()
            },
            "kinds": {
                kind: {
                    "n": len(values),
                    "p50": _percentile(values, 0.50),
                    "p95": _percentile(values, 0.95),
                    "p99": _percentile(values, 0.99),
                    "mean": statistics.fmean(values),
                }
                for kind, values in latencies.items()
                if values
            },
        }


class _RawConnection:
    """A minimal HTTP/1.1 keep-alive client: send prepared bytes, read one response (status and
    body by Content-Length)."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self._connect()

    def _connect(self) -> None:
        self.socket = socket.create_connection(self.address, timeout=30)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def exchange(self, request: bytes) -> int:
        self.socket.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        header, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = header.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        closing = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                closing = True
        # Chunks joined once: adding each to the body copies it again (a product positions
        # answer of a large category is megabytes, and the copies would count as its latency).
        chunks, received = [rest], len(rest)
        while received < length:
            chunk = self._receive(store=False)
            chunks.append(chunk)
            received += len(chunk)
        rest = b"".join(chunks) if len(chunks) > 1 else rest
        self.buffer = rest[length:]
        if closing:
            # gunicorn's sync workers answer one request per connection.
            self.close()
            self._connect()
        return status

    def timed_exchange(self, request: bytes) -> tuple[bool, float]:
        """(answered 200, milliseconds taken); a connection that fails is opened again and the
        request counts as failed."""
        began = time.perf_counter()
        try:
            ok = self.exchange(request) == 200
        except OSError:
            self.close()
            self._connect()
            ok = False
        return ok, (time.perf_counter() - began) * 1000

    def _receive(self, store: bool = True) -> bytes:
        chunk = self.socket.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        if store:
            self.buffer += chunk
        return chunk

    def close(self) -> None:
        self.socket.close()


def _dumps(value) -> str:
    return json.dumps(value, indent=2)
