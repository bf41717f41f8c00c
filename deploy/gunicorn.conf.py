"""gunicorn settings, read from the environment (see .env.example)."""

import os

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
