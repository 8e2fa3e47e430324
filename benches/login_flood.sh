#!/usr/bin/env bash
# Server memory under a login flood: RSS before, at the peak and after 15 s idle, for each
# binary given, interleaved ROUNDS times (medians in docs/PERFORMANCE.md).
#   benches/login_flood.sh ROUNDS BINARY...
# Every request comes from its own client address (a trusted local proxy names it), so the
# lockout does not stop them: each one is a password hash, or a 503 when the queue is full.
set -euo pipefail
rounds=$1; shift
requests=${REQUESTS:-1200}
parallel=${PARALLEL:-128}
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
run_one() {
  local bin=$1 work pid base peak before after
  work=$(mktemp -d); mkdir -m 700 "$work/data"
  env -i PATH="$PATH" BOTYARD_ADMIN_EMAIL=bench@example.com BOTYARD_ADMIN_PASSWORD=bench-kapisi-4242 \
    BOTYARD_LOG_LEVEL=error BOTYARD_WORKERS_CGROUP=false BOTYARD_STORE_SHARDS=2 \
    BOTYARD_TRUSTED_PROXIES=127.0.0.1/32 \
    "$bin" serve --listen 127.0.0.1:0 --data "$work/data" >"$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 1 300); do
    base=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/out" | head -1 || true)
    [ -n "$base" ] && break; sleep 0.1
  done
  sleep 1; before=$(rss "$pid"); peak=$before
  ( seq 1 "$requests" | xargs -P "$parallel" -I{} curl -s -o /dev/null \
      -H 'content-type: application/json' -H "x-forwarded-for: 2001:db8::{}" \
      -d '{"email":"nobody{}@example.com","password":"wrong-password-1"}' "$base/api/v1/auth/login" ) &
  local flood=$!
  while kill -0 "$flood" 2>/dev/null; do
    local now; now=$(rss "$pid"); [ "$now" -gt "$peak" ] && peak=$now; sleep 0.2
  done
  sleep 15; after=$(rss "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$work"
  echo "$(basename "$bin") before_kib=$before peak_kib=$peak idle_after_kib=$after"
}
for r in $(seq 1 "$rounds"); do
  for b in "$@"; do run_one "$b"; done
done
