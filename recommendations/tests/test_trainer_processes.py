"""The trainer as real processes against the test databases: two trainers share one queue, and
the server keeps answering from the previous model while a trainer trains the next one.

Other processes cannot see in-memory SQLite test databases, so these tests run on PostgreSQL."""

from __future__ import annotations

import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from rest_framework.test import APIClient

from conftest import ALL_DATABASES
from modelstore.models import LatestIdentifier, TrainerQueueItem, TrainingFinished, TrainingStarted
from modelstore.services import trainer_queue_item_create
from recommendations.services import config_version_create
from recommendations.tests.factories import make_catalogue, make_reviews, make_sessions
from recommendations.training.services import model_train

pytestmark = [
    pytest.mark.django_db(databases=ALL_DATABASES, transaction=True),
    pytest.mark.skipif(
        any(settings.DATABASES[alias]["ENGINE"] != "django.db.backends.postgresql" for alias in ALL_DATABASES),
        reason="other processes cannot see in-memory SQLite test databases; set RS_*_DATABASE_URL to PostgreSQL",
    ),
]

BASE_DIR = Path(settings.BASE_DIR)
WAIT_SECONDS = 180


def _database_url(alias: str) -> str:
    # At test time NAME is the test database pytest-django created.
    db = settings.DATABASES[alias]
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _environment() -> dict[str, str]:
    # The server checks for a new identifier on every request here, so the test can tell
    # exactly which model answers (by default it checks once a second).
    environment = dict(
        os.environ, RS_MODEL_DIR=str(settings.MODEL_DIR), PYTHONUNBUFFERED="1", RS_STATE_CHECK_SECONDS="0"
    )
    for alias in ALL_DATABASES:
        environment[f"RS_{alias.upper()}_DATABASE_URL"] = _database_url(alias)
    return environment


def _start(arguments: list[str], log: Path) -> subprocess.Popen:
    with open(log, "w") as output:
        return subprocess.Popen(arguments, cwd=BASE_DIR, env=_environment(), stdout=output, stderr=subprocess.STDOUT)


def _trainer(name: str, log: Path, *options: str) -> subprocess.Popen:
    return _start([sys.executable, "manage.py", "run_trainer", "--name", name, *options], log)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until(condition, what: str, timeout: float = WAIT_SECONDS, processes=(), logs=()) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for process, log in zip(processes, logs):
            assert process.poll() is None, f"{what}: a process exited early:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"timed out waiting until {what}:\n" + "\n".join(
            path.read_text() for path in logs
        )
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _shop(variants: int = 12, sessions: int = 60, length: int = 6) -> list[str]:
    skus = [f"v{i}" for i in range(variants)]
    make_catalogue({sku: {"product": i, "attributes": {1: float(i % 4)}} for i, sku in enumerate(skus)})
    make_sessions(
        {f"t{n}": [skus[(n * 7 + k * (1 + n % 3)) % variants] for k in range(length)] for n in range(sessions)}
    )
    return skus


@pytest.fixture(autouse=True)
def _close_connections_before_flush():
    # pytest-django empties the tables after each test; our own connections must not hold locks.
    yield
    for connection in connections.all(initialized_only=True):
        connection.close()


def test_two_trainers_train_each_queue_item_exactly_once(tmp_path):
    skus = _shop()
    make_reviews([(f"u{u}", skus[(u * 5 + k) % len(skus)], 5) for u in range(20) for k in range(3)])
    config_version_create(
        payload={
            "gru4recConfig": {
                "numEpochsOptions": [3],
                "hiddenSizeOptions": [32],
                "batchSizeOptions": [8],
                "eventsMultiplier": 1,
            }
        }
    )
    logs = [tmp_path / "trainer-a.log", tmp_path / "trainer-b.log"]
    trainers = [_trainer(name, log, "--interval", "0.2", "--no-schedule") for name, log in zip("ab", logs)]
    try:
        _wait_until(
            lambda: all("started" in log.read_text() for log in logs),
            "both trainers started",
            processes=trainers,
            logs=logs,
        )
        rounds = []
        for _ in range(2):
            # The slow one first, so that the other trainer takes the rest.
            batch = [
                trainer_queue_item_create(model_name=name, requested_by="test")
                for name in ("gru4rec", "ease", "similarity")
            ]
            rounds.append(batch)
            _wait_until(
                lambda: not TrainerQueueItem.objects.filter(status__in=["PENDING", "RUNNING"]).exists(),
                "the queue is drained",
                processes=trainers,
                logs=logs,
            )
    finally:
        for trainer in trainers:
            _stop(trainer)

    assert [trainer.returncode for trainer in trainers] == [0, 0], "\n".join(log.read_text() for log in logs)
    items = TrainerQueueItem.objects.order_by("id")
    assert [(item.model_name, item.status, item.attempts) for item in items] == [
        (name, "COMPLETED", 1) for name in ("gru4rec", "ease", "similarity") * 2
    ]
    assert {item.claimed_by for item in items} == {"a", "b"}
    for name in ("gru4rec", "ease", "similarity"):
        started = list(TrainingStarted.objects.filter(model_name=name).order_by("create_at"))
        assert len(started) == 2, name
        finished = {
            f.training_id: f for f in TrainingFinished.objects.filter(training_id__in=[s.training_id for s in started])
        }
        assert [finished[s.training_id].outcome for s in started] == ["COMPLETED", "COMPLETED"]
        # never the same model in two trainers at once
        assert finished[started[0].training_id].create_at <= started[1].create_at
        latest = LatestIdentifier.objects.get(model_name=name)
        assert (latest.previous_identifier, latest.identifier) == tuple(s.model_identifier for s in started)
    for log in logs:
        assert "stopped after" in log.read_text()


def _predict(port: int, session_id: str) -> dict:
    body = json.dumps({"recommendation_type": "HOMEPAGE", "session_id": session_id, "user_id": None, "limit": 5})
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        items = json.loads(response.read())
    assert items, "an empty answer"
    (info,) = {(item["rs_info"]["model_name"], item["rs_info"]["model_identifier"]) for item in items}
    return {"model_name": info[0], "model_identifier": info[1]}


def _server_is_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _current(model_name: str) -> str | None:
    return LatestIdentifier.objects.filter(model_name=model_name).values_list("identifier", flat=True).first()


def test_server_answers_from_the_previous_model_while_training_and_from_the_new_one_after(tmp_path):
    _shop()
    gru4rec = {"hiddenSizeOptions": [32], "batchSizeOptions": [8], "eventsMultiplier": 1}
    # Only GRU4Rec scores the homepage of a session with history.
    disabled = {"similarity": True, "ease": True}
    config_version_create(payload={"gru4recConfig": {**gru4rec, "numEpochsOptions": [1]}, "modelsDisabled": disabled})
    previous = model_train(model_name="gru4rec").identifier
    # The next training is a genuinely longer one.
    config_version_create(payload={"gru4recConfig": {**gru4rec, "numEpochsOptions": [40]}, "modelsDisabled": disabled})

    port = _free_port()
    server_log, trainer_log = tmp_path / "server.log", tmp_path / "trainer.log"
    server = _start(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "rs_project.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        server_log,
    )
    trainer = None
    try:
        _wait_until(lambda: _server_is_up(port), "the server answers", processes=[server], logs=[server_log])
        assert _predict(port, "t3") == {"model_name": "gru4rec", "model_identifier": previous}

        item = trainer_queue_item_create(model_name="gru4rec", requested_by="test", full_train=True)
        trainer = _trainer("trainer", trainer_log, "--once", "--no-schedule")
        answered_while_training = 0
        deadline = time.monotonic() + WAIT_SECONDS
        while trainer.poll() is None:
            assert time.monotonic() < deadline, f"the training did not end:\n{trainer_log.read_text()}"
            is_running = TrainerQueueItem.objects.get(pk=item.pk).status == "RUNNING"
            before = _current("gru4rec")
            answer = _predict(port, "t3")
            after = _current("gru4rec")
            if before == after:
                # The server answers from whatever is current, and nothing else.
                assert answer == {"model_name": "gru4rec", "model_identifier": after}
            if is_running and before == after == previous:
                answered_while_training += 1
            time.sleep(0.05)

        assert trainer.returncode == 0, trainer_log.read_text()
        assert answered_while_training >= 3, trainer_log.read_text()
        latest = LatestIdentifier.objects.get(model_name="gru4rec")
        assert latest.previous_identifier == previous and latest.identifier != previous
        assert TrainerQueueItem.objects.get(pk=item.pk).status == "COMPLETED"
        assert _predict(port, "t3") == {"model_name": "gru4rec", "model_identifier": latest.identifier}
        assert server.poll() is None  # the same server process, never restarted
    finally:
        if trainer is not None:
            _stop(trainer)
        server.send_signal(signal.SIGTERM)
        _stop(server)


def test_a_trainer_killed_during_a_training_is_taken_over_within_90_s_and_the_killed_run_counts_as_failed(tmp_path):
    _shop(variants=20, sessions=200, length=8)
    gru4rec = {"hiddenSizeOptions": [32], "batchSizeOptions": [8], "eventsMultiplier": 1}
    disabled = {"similarity": True, "ease": True}
    # Long enough that the first trainer is surely still training when it is killed.
    config_version_create(
        payload={"gru4recConfig": {**gru4rec, "numEpochsOptions": [1000]}, "modelsDisabled": disabled}
    )
    began = datetime.datetime.now(datetime.UTC)
    item = trainer_queue_item_create(model_name="gru4rec", requested_by="test", full_train=True)
    killed_log, successor_log = tmp_path / "killed.log", tmp_path / "successor.log"
    killed = _trainer("killed", killed_log, "--interval", "0.5", "--no-schedule")
    successor = None
    try:
        _wait_until(
            lambda: "%" in killed_log.read_text() and TrainingStarted.objects.exists(),
            "the first trainer reports progress",
            processes=[killed],
            logs=[killed_log],
        )
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        killed_at = time.monotonic()
        # The next run is quick; the queue item is the same.
        config_version_create(payload={"gru4recConfig": {**gru4rec, "numEpochsOptions": [2]}})
        successor = _trainer("successor", successor_log, "--interval", "1", "--no-schedule")
        _wait_until(
            lambda: TrainerQueueItem.objects.get(pk=item.pk).status == "COMPLETED",
            "the restarted trainer finishes the item",
            timeout=90,
            processes=[successor],
            logs=[killed_log, successor_log],
        )
        finished_in = time.monotonic() - killed_at
    finally:
        _stop(killed)
        if successor is not None:
            _stop(successor)

    assert finished_in < 90
    item.refresh_from_db()
    assert (item.status, item.claimed_by, item.attempts) == ("COMPLETED", "successor", 2)
    (killed_run,) = TrainingFinished.objects.filter(outcome="FAILED")
    assert killed_run.error.startswith("trainer died: killed stopped its heartbeat at ")
    assert killed_run.error.endswith("taken over by successor")
    window = {
        "date_from": began.isoformat(),
        "date_to": (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)).isoformat(),
    }
    response = APIClient().get("/dashboard/training", window)
    assert response.status_code == 200
    trainings = response.json()["training"]["modelSpecific"]["gru4rec"]["data"]["trainings"]
    assert trainings == {"started": 2, "completed": 1, "failed": 1, "skipped": 0, "unfinished": 0}
