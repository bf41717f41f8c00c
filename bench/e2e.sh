#!/usr/bin/env bash
# End-to-end run of the production topology as processes on this machine, no Docker:
# PostgreSQL on 127.0.0.1 (one database per alias), migrations, gunicorn with 2 workers behind
# nginx (Debian's package, with deploy/nginx.conf as docker compose uses it), the trainer; then
# bench/e2e_client.py, through nginx, checks that stalled clients do not hold the server, loads
# data through the HTTP API, schedules trainings, waits for them, asks for recommendations of
# every type and reads the dashboard. Then, with the trainer stopped: bench/experiment_split.py
# runs an A/B experiment over 400 sessions (split, stickiness, the dashboard's arms, /metrics
# summed over the workers), and schemathesis fuzzes every operation of /api/schema/ (no 5xx,
# every answer as the schema says). Everything started here is stopped at the end, whatever
# happens. E2E_PORT (8765) is nginx's port, E2E_APP_PORT (E2E_PORT + 1) gunicorn's, the
# databases are named E2E_DB_PREFIX_<alias> (default rs_e2e_<pid>), created and dropped here,
# and E2E_FUZZ_EXAMPLES sets the fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
PORT="${E2E_PORT:-8765}"
APP_PORT="${E2E_APP_PORT:-$((PORT + 1))}"
PREFIX="${E2E_DB_PREFIX:-rs_e2e_$$}"
FUZZ_EXAMPLES="${E2E_FUZZ_EXAMPLES:-100}"
WORK="$(mktemp -d)"
export RS_DATA_DIR="$WORK/data" RS_MODEL_DIR="$WORK/models" RS_API_TOKEN="e2e-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export RS_SECRET_KEY="e2e-secret" RS_BIND="127.0.0.1:$APP_PORT" RS_GUNICORN_WORKERS=2 RS_LOG_LEVEL=WARNING
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
    echo "--- nginx log"; tail -n 20 "$WORK/nginx.log" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT INT TERM

pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$NGINX" ] || { echo "nginx is not installed (apt-get install nginx-light)"; exit 1; }
for alias in $ALIASES; do
  createdb -h 127.0.0.1 -U postgres "${PREFIX}_${alias}"
  export "RS_${alias^^}_DATABASE_URL=postgres://postgres@127.0.0.1:5432/${PREFIX}_${alias}"
done

echo "e2e: migrating"
$PY manage.py migrate_all >/dev/null

echo "e2e: starting gunicorn on 127.0.0.1:$APP_PORT, nginx on 127.0.0.1:$PORT and the trainer"
.venv/bin/gunicorn --config deploy/gunicorn.conf.py rs_project.wsgi >"$WORK/server.log" 2>&1 &
PIDS+=($!)
sed -e "s/server server:8000;/server 127.0.0.1:$APP_PORT;/" -e "s/listen 8080;/listen 127.0.0.1:$PORT;/" \
  deploy/nginx.conf >"$WORK/nginx.conf"
"$NGINX" -e stderr -p "$WORK" -c "$WORK/nginx.conf" -g "daemon off; pid $WORK/nginx.pid;" >"$WORK/nginx.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/" >/dev/null || { echo "the server did not come up behind nginx"; exit 1; }
$PY manage.py run_trainer --interval 2 >"$WORK/trainer.log" 2>&1 &
TRAINER_PID=$!
PIDS+=($TRAINER_PID)

$PY bench/e2e_client.py --url "http://127.0.0.1:$PORT" --token "$RS_API_TOKEN"

# The trainer is done; stopped, it trains nothing the fuzzer queues and leaves the cores to the rest.
kill "$TRAINER_PID" && wait "$TRAINER_PID" 2>/dev/null || true

echo "e2e: an A/B experiment between two cascades on gunicorn and PostgreSQL"
$PY bench/experiment_split.py --url "http://127.0.0.1:$PORT" --token "$RS_API_TOKEN" --sessions 400 --stop

echo "e2e: schemathesis against every operation of /api/schema/ ($FUZZ_EXAMPLES examples each)"
# One worker: hypothesis's lambda descriptions are not thread-safe on CPython 3.11 (a SystemError
# in ast.parse). Run in the work folder so its cache stays out of the repository.
SCHEMATHESIS="$PWD/.venv/bin/schemathesis"
if ! (cd "$WORK" && "$SCHEMATHESIS" run "http://127.0.0.1:$PORT/api/schema/" \
  --header "Authorization: Bearer $RS_API_TOKEN" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "$FUZZ_EXAMPLES" --workers 1 --seed 17 --generation-database none --no-color \
  --request-timeout 60 --max-failures 20 >"$WORK/schemathesis.log" 2>&1); then
  tail -n 300 "$WORK/schemathesis.log"
  echo "e2e FAILED: schemathesis found problems"
  exit 1
fi
tail -n 22 "$WORK/schemathesis.log"
echo "e2e: schemathesis found no server error and no answer outside the schema"
