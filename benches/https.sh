#!/usr/bin/env bash
# Authenticated GET of a tenant record under 64 connections, over HTTPS (built-in TLS:
# rustls, TLS 1.3, session resumption on) next to plain HTTP, in interleaved rounds.
# Usage: benches/https.sh [seconds per round] [rounds]   (installs wrk and openssl if missing)
# Two release servers on loopback, each on a fresh data folder; the HTTPS one with a
# certificate from a CA made here. Prints wrk's latency for each round and the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
rounds=${2:-3}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl >/dev/null; }
cargo build --release -q
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -TERM $p 2>/dev/null; wait $p 2>/dev/null; done; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A CA and a certificate for localhost (P-256, as Let's Encrypt issues by default here).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench-ca \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$work/key.pem" -out "$work/req.pem" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$work/ext"
openssl x509 -req -in "$work/req.pem" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -extfile "$work/ext" -out "$work/cert.pem" 2>/dev/null

start() { # name port extra-env...
  local name=$1 port=$2; shift 2
  mkdir -m 700 "$work/$name"
  env BOTYARD_ADMIN_EMAIL=bench@example.com BOTYARD_ADMIN_PASSWORD='kirmizi-fener-1907' \
    BOTYARD_LOG_LEVEL=warn BOTYARD_WORKERS_CGROUP=false "$@" \
    ./target/release/botyard serve --listen 127.0.0.1:$port --data "$work/$name" >/dev/null 2>&1 &
  pids+=($!)
}
hp=$(free_port); sp=$(free_port)
start http $hp
start https $sp BOTYARD_TLS_CERT_FILE="$work/cert.pem" BOTYARD_TLS_KEY_FILE="$work/key.pem" BOTYARD_TLS_HTTP_LISTEN=
for _ in $(seq 100); do
  curl -sf -o /dev/null http://127.0.0.1:$hp/healthz && curl -sf -o /dev/null --cacert "$work/ca.pem" https://localhost:$sp/healthz && break
  sleep 0.1
done
json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }
token() { # base
  local tok
  tok=$(curl -sf --cacert "$work/ca.pem" $1/api/v1/auth/login -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"kirmizi-fener-1907"}' | json '["access_token"]')
  for i in $(seq 8); do
    curl -sf --cacert "$work/ca.pem" $1/api/v1/tenants -H "authorization: Bearer $tok" \
      -H 'content-type: application/json' -d "{\"name\":\"Dükkan $i\"}" >/dev/null
  done
  echo "$tok"
}
htok=$(token http://127.0.0.1:$hp)
stok=$(token https://localhost:$sp)
echo "TLS: $(curl -sv --cacert "$work/ca.pem" -o /dev/null https://localhost:$sp/healthz 2>&1 | grep -o 'SSL connection using [^ ]*' )"
p99() { awk '/ 99%/ {print $2}'; }
declare -a H S
for r in $(seq "$rounds"); do
  h=$(wrk -t2 -c64 -d${secs}s --latency -H "Authorization: Bearer $htok" http://127.0.0.1:$hp/api/v1/tenants/3)
  s=$(wrk -t2 -c64 -d${secs}s --latency -H "Authorization: Bearer $stok" https://localhost:$sp/api/v1/tenants/3)
  echo "== round $r, plain HTTP"; echo "$h" | grep -E 'Requests/sec| 50%| 99%|Non-2xx' 
  echo "== round $r, HTTPS"; echo "$s" | grep -E 'Requests/sec| 50%| 99%|Non-2xx'
  H+=("$(echo "$h" | p99)"); S+=("$(echo "$s" | p99)")
done
echo "p99 per round: HTTP ${H[*]}; HTTPS ${S[*]}"
