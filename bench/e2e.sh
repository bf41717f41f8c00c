#!/usr/bin/env bash
# End-to-end run of the production topology as processes on this machine, no Docker:
# PostgreSQL on 127.0.0.1 (one database per alias), migrations, gunicorn with 2 workers, the
# trainer; then bench/e2e_client.py loads data through the HTTP API, schedules trainings,
# waits for them, asks for recommendations of every type and reads the dashboard. Everything
# started here is stopped at the end, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
PORT="${E2E_PORT:-8765}"
PREFIX="rs_e2e_$$"
WORK="$(mktemp -d)"
export RS_DATA_DIR="$WORK/data" RS_MODEL_DIR="$WORK/models" RS_API_TOKEN="e2e-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export RS_SECRET_KEY="e2e-secret" RS_BIND="127.0.0.1:$PORT" RS_GUNICORN_WORKERS=2 RS_LOG_LEVEL=WARNING
ALIASES="default products feedback modelstore similarity"
PIDS=()

cleanup() {
  status=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for alias in $ALIASES; do dropdb -h 127.0.0.1 -U postgres --if-exists "${PREFIX}_${alias}" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    echo "--- server log"; tail -n 40 "$WORK/server.log" 2>/dev/null || true
    echo "--- trainer log"; tail -n 40 "$WORK/trainer.log" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT INT TERM

pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }
for alias in $ALIASES; do
  createdb -h 127.0.0.1 -U postgres "${PREFIX}_${alias}"
  export "RS_${alias^^}_DATABASE_URL=postgres://postgres@127.0.0.1:5432/${PREFIX}_${alias}"
done

echo "e2e: migrating"
$PY manage.py migrate_all >/dev/null

echo "e2e: starting gunicorn on 127.0.0.1:$PORT and the trainer"
.venv/bin/gunicorn --config deploy/gunicorn.conf.py rs_project.wsgi >"$WORK/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/" >/dev/null || { echo "the server did not come up"; exit 1; }
$PY manage.py run_trainer --interval 2 >"$WORK/trainer.log" 2>&1 &
PIDS+=($!)

$PY bench/e2e_client.py --url "http://127.0.0.1:$PORT" --token "$RS_API_TOKEN"
