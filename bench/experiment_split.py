"""An A/B experiment on a running server, over HTTP only, as an operator and a shop would drive it.

Posts a Config with one active two-arm experiment through /store_object (the control is the base
config; the other arm overrides homepageScoringCascade with ["popularity"]), sends --sessions
sessions two homepage requests each, and checks that:

* the sessions split about evenly between the arms (each arm 40-60 %), exactly as the stable hash
  (sha256 of "<experiment>:<session>") places them;
* every session is served alike on both its requests (sticky), and the popularity arm by popularity;
* /dashboard/performance reports both arms with exactly two predictions per session of each;
* /metrics counts the same requests per arm in rs_predictions_total, summed over the workers;
* after --stop, no prediction belongs to an arm any more.

    python bench/experiment_split.py --url http://127.0.0.1:8000 --token "$RS_API_TOKEN" --stop

Exits non-zero at the first thing that is not as it should be. `run_split` is also called by the
test suite with an in-process client."""

from __future__ import annotations

import argparse
import datetime
import hashlib
import http.client
import json
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable

# (method, path, body or None) → (status, parsed JSON or text)
Call = Callable[[str, str, object], tuple[int, object]]

POPULAR = "popularity"


class SplitFailed(AssertionError):
    pass


def http_call(url: str, token: str) -> Call:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=120)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def call(method: str, path: str, body=None) -> tuple[int, object]:
        connection.request(method, path, body=None if body is None else json.dumps(body).encode(), headers=headers)
        response = connection.getresponse()
        data = response.read().decode()
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(data) if is_json and data else data

    return call


def expected_arm(experiment: str, session_id: str, weights: list[tuple[str, float]]) -> str:
    """The service's placement (recommendations.experiments), computed here independently."""
    point = int.from_bytes(hashlib.sha256(f"{experiment}:{session_id}".encode()).digest()[:8], "big") / 2**64
    point *= sum(weight for _, weight in weights)
    reached = 0.0
    for name, weight in weights:
        reached += weight
        if point < reached:
            return name
    return weights[-1][0]


def _ok(call: Call, method: str, path: str, body=None):
    status, data = call(method, path, body)
    if status != 200:
        raise SplitFailed(f"{method} {path} answered {status}: {str(data)[:300]}")
    return data


def _arm_counts_from_metrics(text: str, experiment: str) -> Counter:
    counts: Counter = Counter()
    for line in text.splitlines():
        if line.startswith("rs_predictions_total{") and f'experiment="{experiment}"' in line:
            arm = line.split('arm="', 1)[1].split('"', 1)[0]
            counts[arm] += int(float(line.rsplit(" ", 1)[1]))
    return counts


def run_split(
    call: Call,
    *,
    sessions: int = 400,
    name: str | None = None,
    stop: bool = False,
    settle_seconds: float = 2.0,
    log: Callable[[str], None] = print,
) -> dict:
    name = name or f"split-{datetime.datetime.now(datetime.UTC):%Y%m%d-%H%M%S}"
    arms = [("control", 1.0), (POPULAR, 1.0)]
    started = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)
    current = _ok(call, "GET", "/dashboard/configuration")["config"].get("experiments", [])
    running = [e["name"] for e in current if e["active"]]
    if running:
        raise SplitFailed(f"experiment {running[0]} is running; stop it first")
    experiment = {
        "name": name,
        "active": True,
        "arms": [
            {"name": "control", "weight": 1},
            {"name": POPULAR, "weight": 1, "overrides": {"homepageScoringCascade": [POPULAR]}},
        ],
    }
    _ok(call, "POST", "/store_object", {"_model_class": "Config", "experiments": [*current, experiment]})
    log(f"experiment {name}: posted as a Config with arms control and {POPULAR} (homepageScoringCascade)")
    time.sleep(settle_seconds)  # each server process looks for a new config version every RS_STATE_CHECK_SECONDS
    _, metrics_before = call("GET", "/metrics", None)

    session_ids = [f"{name}-session-{number:04d}" for number in range(sessions)]
    expected = {session: expected_arm(name, session, arms) for session in session_ids}
    served: dict[str, list[str]] = {}
    began = time.monotonic()
    for _round in range(2):
        for session in session_ids:
            body = {"recommendation_type": "HOMEPAGE", "session_id": session, "user_id": None, "limit": 10}
            items = _ok(call, "POST", "/predict", body)
            served.setdefault(session, []).append(items[0]["rs_info"]["model_name"] if items else "")
    log(f"{2 * sessions} homepage requests of {sessions} sessions in {time.monotonic() - began:.1f} s")

    split = Counter(expected.values())
    shares = {arm: split[arm] / sessions for arm, _ in arms}
    log("split by the hash: " + ", ".join(f"{arm} {split[arm]} ({shares[arm]:.1%})" for arm, _ in arms))
    if not all(0.4 <= share <= 0.6 for share in shares.values()):
        raise SplitFailed(f"the split is not about even: {dict(split)}")
    unsteady = [session for session, models in served.items() if len(set(models)) != 1]
    if unsteady:
        raise SplitFailed(f"{len(unsteady)} sessions were served differently on their two requests: {unsteady[:3]}")
    wrong = [s for s, models in served.items() if expected[s] == POPULAR and models[0] != POPULAR]
    if wrong:
        raise SplitFailed(f"{len(wrong)} sessions of the {POPULAR} arm were not served by {POPULAR}: {wrong[:3]}")
    control_models = Counter(models[0] for s, models in served.items() if expected[s] == "control")
    log(f"sticky: every session served alike twice; {POPULAR} arm by {POPULAR}, control by {dict(control_models)}")

    window = urllib.parse.urlencode(
        {
            "date_from": started.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "date_to": (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z"
            ),
        }
    )
    wanted = {arm: 2 * split[arm] for arm, _ in arms}
    deadline = time.monotonic() + 15  # prediction results are written by a background thread
    while True:
        performance = _ok(call, "GET", f"/dashboard/performance?{window}")
        report = next((e for e in performance.get("experiments", []) if e["name"] == name), None)
        reported = {arm["name"]: arm["predictions"] for arm in report["arms"]} if report else {}
        if reported == wanted or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if reported != wanted:
        raise SplitFailed(f"/dashboard/performance reports {reported}, expected {wanted}")
    verdicts = {
        arm["name"]: {key: metric["verdict"] for key, metric in arm["metrics"].items()} for arm in report["arms"]
    }
    log(f"/dashboard/performance reports both arms: predictions {reported}; verdicts {verdicts[POPULAR]}")

    status, metrics_after = call("GET", "/metrics", None)
    if status == 200:
        counted = _arm_counts_from_metrics(metrics_after, name) - _arm_counts_from_metrics(str(metrics_before), name)
        if dict(counted) != wanted:
            raise SplitFailed(f"/metrics counts {dict(counted)} predictions per arm, expected {wanted}")
        log(f"/metrics rs_predictions_total per arm, summed over the workers: {dict(counted)}")

    if stop:
        latest = _ok(call, "GET", "/dashboard/configuration")["config"]["experiments"]
        for entry in latest:
            if entry["name"] == name:
                entry["active"] = False
        _ok(call, "POST", "/store_object", {"_model_class": "Config", "experiments": latest})
        time.sleep(settle_seconds)
        _, before = call("GET", "/metrics", None)
        for session in session_ids[:20]:
            _ok(call, "POST", "/predict", {"recommendation_type": "HOMEPAGE", "session_id": session, "limit": 10})
        _, after = call("GET", "/metrics", None)
        late = _arm_counts_from_metrics(str(after), name) - _arm_counts_from_metrics(str(before), name)
        if sum(late.values()):
            raise SplitFailed(f"after stopping, {dict(late)} predictions still belong to an arm")
        log(f"stopped {name}: the next 20 requests belong to no arm")
    return {"split": dict(split), "reported": reported, "verdicts": verdicts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--sessions", type=int, default=400)
    parser.add_argument("--name", help="experiment name (default: split-<UTC time>)")
    parser.add_argument("--stop", action="store_true", help="stop the experiment at the end and check it stopped")
    args = parser.parse_args()
    try:
        run_split(http_call(args.url, args.token), sessions=args.sessions, name=args.name, stop=args.stop)
    except SplitFailed as failure:
        print(f"experiment split FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
    print("experiment split passed")


if __name__ == "__main__":
    main()
