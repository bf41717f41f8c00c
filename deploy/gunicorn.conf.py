"""gunicorn settings, read from the environment (see .env.example)."""

import os
import shutil
import tempfile

bind = os.environ.get("RS_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("RS_GUNICORN_WORKERS", "2"))
# Two threads per worker overlap one request's database round trips with another's computing.
threads = int(os.environ.get("RS_GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("RS_GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("RS_GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Load models and the app once per worker after fork; the app itself is light to import.
preload_app = False
accesslog = "-" if os.environ.get("RS_ACCESS_LOG", "false").lower() in ("1", "true", "yes") else None
access_log_format = 'method=%(m)s path="%(U)s" status=%(s)s bytes=%(B)s ms=%(M)s'
errorlog = "-"
loglevel = os.environ.get("RS_LOG_LEVEL", "info").lower()

# --- Prometheus metrics across workers (see core/metrics.py) ---------------------------------
# Each worker writes its counters to memory-mapped files in one folder and /metrics sums them
# over every worker. The folder must belong to this server alone: it is emptied at start. Unset,
# a fresh temporary folder is made (and removed when the server stops).
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
_metrics_dir_is_ours = os.environ.get("RS_METRICS_DIR_IS_OURS") == "1"
if not _metrics_dir:
    _metrics_dir = tempfile.mkdtemp(prefix="rs-prometheus-")
    _metrics_dir_is_ours = True
    # The workers inherit both; a configuration reload (HUP) keeps the same folder.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
    os.environ["RS_METRICS_DIR_IS_OURS"] = "1"


def on_starting(server):
    # Counts left by an earlier run of this server would be summed with this run's.
    os.makedirs(_metrics_dir, exist_ok=True)
    for name in os.listdir(_metrics_dir):
        if name.endswith(".db"):
            os.remove(os.path.join(_metrics_dir, name))


def child_exit(server, worker):
    # An exited worker's counters keep counting in the sums; its live gauges are dropped.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _metrics_dir_is_ours:
        shutil.rmtree(_metrics_dir, ignore_errors=True)


def post_worker_init(worker):
    # Build the serving state (catalogue snapshot, models) as the worker starts, in the
    # background, so the first requests do not wait for it (seconds at a million variants).
    from recommendations.serving import serving_warm_up

    serving_warm_up()
