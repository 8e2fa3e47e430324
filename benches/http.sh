#!/usr/bin/env bash
# Authenticated GET of a tenant record under 64 concurrent connections, with wrk.
# Usage: benches/http.sh [seconds]   (installs wrk from Debian's packages if missing)
# Runs the release binary on a fresh data folder on loopback; prints wrk's latency
# distribution for an access token (JWT) and for an API key, side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BOTYARD_ADMIN_EMAIL=bench@example.com BOTYARD_ADMIN_PASSWORD='kirmizi-fener-1907' BOTYARD_LOG_LEVEL=warn \
  ./target/release/botyard serve --listen 127.0.0.1:$port --data "$data" >/dev/null 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do ./target/release/botyard healthcheck --addr 127.0.0.1:$port 2>/dev/null && break; sleep 0.1; done
base=http://127.0.0.1:$port
json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }
tok=$(curl -sf $base/api/v1/auth/login -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"kirmizi-fener-1907"}' | json '["access_token"]')
for i in $(seq 20); do
  curl -sf $base/api/v1/tenants -H "authorization: Bearer $tok" -H 'content-type: application/json' -d "{\"name\":\"Dükkan $i\"}" >/dev/null
done
key=$(curl -sf $base/api/v1/tenants/7/api-keys -H "authorization: Bearer $tok" -H 'content-type: application/json' \
  -d '{"name":"bench","role":"owner"}' | json '["key"]')
echo "== access token: GET /api/v1/tenants/7, 64 connections, ${secs}s"
wrk -t2 -c64 -d${secs}s --latency -H "Authorization: Bearer $tok" $base/api/v1/tenants/7
echo "== API key: GET /api/v1/tenants/7, 64 connections, ${secs}s"
wrk -t2 -c64 -d${secs}s --latency -H "Authorization: Bearer $key" $base/api/v1/tenants/7
