"""The client half of the end-to-end run (bench/e2e.sh): talks to a running server over HTTP
only, as a shop's backend would. Loads a generated shop through /store_objects, asks for
trainings through /store_object, waits until the trainer has published them, asks for
recommendations of every type and product positions, and reads the dashboard. Exits non-zero
with a message at the first thing that is not as it should be."""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import socket
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from store.importers.demo_shop import ShopOptions, ShopStats, generate_shop  # noqa: E402


class Client:
    def __init__(self, url: str, token: str):
        parts = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=120)
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body=None, expect: int = 200):
        payload = None if body is None else json.dumps(body).encode()
        self.connection.request(method, path, body=payload, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status != expect:
            fail(f"{method} {path} answered {response.status}, expected {expect}: {data[:500]!r}")
        return json.loads(data) if data else None


def fail(message: str) -> None:
    print(f"e2e FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def step(message: str) -> None:
    print(f"e2e: {message}", flush=True)


def slow_clients_do_not_hold_the_server(url: str, token: str, stalled: int = 8) -> None:
    """Authenticated clients that send their headers and stall the body (more of them than
    gunicorn has threads) must not keep anyone else from being answered: the proxy reads bodies
    before gunicorn sees a request."""
    parts = urllib.parse.urlsplit(url)
    sockets = []
    try:
        for _ in range(stalled):
            sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
            sock.sendall(
                f"POST /store_objects HTTP/1.1\r\nHost: {parts.hostname}\r\nAuthorization: Bearer {token}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n[".encode()
            )
            sockets.append(sock)
        client = Client(url, token)
        began = time.monotonic()
        client.call("GET", "/")
        client.call("POST", "/predict", {"recommendation_type": "HOMEPAGE", "session_id": "slow", "limit": 3})
        took = time.monotonic() - began
        if took > 5:
            fail(f"with {stalled} stalled clients, two requests took {took:.1f} s")
    finally:
        for sock in sockets:
            sock.close()
    step(f"{stalled} clients stalled mid-body; the healthcheck and a prediction still answered in {took:.2f} s")


def completed_trainings(client: Client, since: datetime.datetime) -> dict[str, int]:
    """Completed trainings per model since `since`, as the dashboard's training page counts them."""
    window = {
        "date_from": since.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "date_to": (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"
        ),
    }
    training = client.call("GET", f"/dashboard/training?{urllib.parse.urlencode(window)}")
    return {
        name: data["data"]["trainings"]["completed"] for name, data in training["training"]["modelSpecific"].items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the trainings")
    args = parser.parse_args()
    client = Client(args.url, args.token)
    started = datetime.datetime.now(datetime.UTC)

    slow_clients_do_not_hold_the_server(args.url, args.token)

    unauthorised = Client(args.url, "wrong-token")
    unauthorised.call("POST", "/predict", {"recommendation_type": "HOMEPAGE", "session_id": "x"}, expect=401)
    step("the API refuses a wrong token")

    # A small GRU4Rec configuration first, so that even the trainings the trainer schedules
    # itself while the data arrive are quick.
    client.call(
        "POST",
        "/store_object",
        {
            "_model_class": "Config",
            "gru4recConfig": {
                "numEpochsOptions": [3],
                "hiddenSizeOptions": [64],
                "batchSizeOptions": [32],
                "eventsMultiplier": 1,
            },
        },
    )
    stats = ShopStats()
    payloads = list(generate_shop(ShopOptions(products=150, users=120, sessions=1200, categories=8, seed=11), stats))
    began = time.monotonic()
    for start in range(0, len(payloads), 500):
        client.call("POST", "/store_objects", payloads[start : start + 500])
    step(
        f"stored {len(payloads)} objects ({stats.variants} variants, {stats.views} views, {stats.orders} orders, "
        f"{stats.reviews} reviews) in {time.monotonic() - began:.1f} s"
    )
    client.call("POST", "/store_objects", [{"_model_class": "Nonsense"}], expect=400)

    # Every model the service says can be trained (the registry's, as the dashboard lists them).
    TRAINED = [m["name"] for m in client.call("GET", "/dashboard/configuration")["models"] if m["canBeTrained"]]
    for name in TRAINED:
        client.call("POST", "/store_object", {"_model_class": "TrainerQueueItem", "model_name": name})
    step(f"scheduled trainings of {', '.join(TRAINED)}")

    # A model is published (isTrained) before its training ends: the served evaluation runs on
    # the published artefact. Done means published and the training recorded as completed.
    deadline = time.monotonic() + args.timeout
    while True:
        models = {m["name"]: m for m in client.call("GET", "/dashboard/configuration")["models"]}
        done = completed_trainings(client, started)
        if all(models[name]["isTrained"] and done.get(name, 0) >= 1 for name in TRAINED):
            break
        if time.monotonic() > deadline:
            state = {n: (models[n]["isTrained"], done.get(n, 0)) for n in TRAINED}
            fail(f"trainings not done in {args.timeout:.0f} s (published, completed): {state}")
        time.sleep(2)
    step("the trainer published every model and completed every training")

    skus = [p["sku"] for p in payloads if p["_model_class"] == "ProductVariant"]
    viewer = next(p for p in payloads if p["_model_class"] == "ProductDetailEnter" and p.get("user_id"))
    category = next(p["category_id"] for p in payloads if p["_model_class"] == "Product" and p.get("category_id"))
    requests = {
        "HOMEPAGE": {"user_id": viewer["user_id"], "session_id": viewer["session_id"]},
        "PRODUCT_DETAIL": {"variants": ",".join(skus[:2]), "session_id": viewer["session_id"]},
        "CART": {"variants_in_cart": ",".join(skus[5:7]), "session_id": viewer["session_id"]},
        "CATEGORY_LIST": {"category_id": category, "session_id": viewer["session_id"]},
    }
    for kind, extra in requests.items():
        body = {"recommendation_type": kind, "user_id": None, "limit": 10, "country": "cz", **extra}
        items = client.call("POST", "/predict", body)
        if not items:
            fail(f"{kind} answered no items")
        models_used = {item["rs_info"]["model_name"] for item in items}
        if not models_used & set(TRAINED):
            fail(f"{kind} was not served by a trained model: {models_used}")
        step(f"{kind}: {len(items)} items from {', '.join(sorted(models_used))}")
    positions = client.call(
        "POST",
        "/predict/product_positions",
        {"recommendation_type": "CATEGORY_LIST", "category_id": category, "session_id": "e2e", "user_id": None},
    )
    if not positions or sorted(positions.values())[0] != 0:
        fail(f"product positions look wrong: {positions}")
    step(f"product positions for category {category}: {len(positions)} products")

    window = {
        "date_from": started.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "date_to": (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"
        ),
    }
    query = urllib.parse.urlencode(window)
    # Prediction results are written by a background thread a fraction of a second later.
    deadline = time.monotonic() + 10
    while True:
        performance = client.call("GET", f"/dashboard/performance?{query}")
        predictions = performance["performance"]["general"]["data"]["predictions"]
        if predictions >= 5 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if predictions < 5:
        fail(f"the dashboard counts {predictions} predictions, expected at least 5")
    completed = completed_trainings(client, started)
    if any(completed.get(name, 0) < 1 for name in TRAINED):
        fail(f"the dashboard does not show the completed trainings: {completed}")
    step(f"dashboard: {predictions} predictions, completed trainings {completed}")
    print("e2e passed")


if __name__ == "__main__":
    main()
