#!/usr/bin/env bash
# Fuzzes the running API with schemathesis against its own OpenAPI document: any 5xx, response
# off its schema or status the document does not list fails. Used by .ci/run.
# `positive_data_acceptance` is left out: the schemas carry types, not every rule (a name's
# length, a date's shape), so a schema-valid request may get a documented 422.
#   scripts/schemathesis.sh [BINARY] [MAX_EXAMPLES]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/botyard}
examples=${2:-25}
venv=${SCHEMATHESIS_VENV:-target/schemathesis-venv}
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'schemathesis>=4,<5'
fi
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -m 700 "$work/data"
password='schema-fuzz-kapisi-42'
env -i PATH="$PATH" BOTYARD_ADMIN_EMAIL=fuzz@example.com BOTYARD_ADMIN_PASSWORD="$password" \
  BOTYARD_LOG_LEVEL=warn BOTYARD_WORKERS_CGROUP=false BOTYARD_STORE_SHARDS=2 \
  "$bin" serve --listen 127.0.0.1:0 --data "$work/data" >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 300); do
  base=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/out" | head -1 || true)
  [ -n "$base" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/err"; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "the server did not start"; cat "$work/err"; exit 1; }
login() {
  curl -sf "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"fuzz@example.com\",\"password\":\"$password\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
token=$(login)
# Something to find: a plan, a tenant on it with an owner and a simulated session.
curl -sf "$base/api/v1/plans" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"name":"Fuzz","limits":{"sessions":2,"groups":20,"templates":10,"campaigns":5,"sends_per_day":100,"retention_days":30,"worker_memory_mb":128}}' >/dev/null
curl -sf "$base/api/v1/tenants" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"name":"Fuzz","plan_id":1}' >/dev/null
curl -sf "$base/api/v1/tenants/1/sessions" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"kind":"sim","label":"fuzz"}' >/dev/null
"$venv/bin/schemathesis" run "$base/api/openapi.json" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --header "Authorization: Bearer $token" \
  --max-examples "$examples" \
  --workers 2 \
  --exclude-path /api/v1/auth/logout \
  --exclude-path /api/v1/auth/password \
  --exclude-path-regex '^/api/v1/tenants/\{id\}$' \
  --no-color
# The server kept serving.
curl -sf "$base/healthz" >/dev/null
