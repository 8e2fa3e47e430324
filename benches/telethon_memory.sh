#!/bin/sh
# Real session memory, side by side: botyard's grammers workers against Telethon clients.
# Makes a venv with Telethon from PyPI (once), then runs the bench binary.
#   benches/telethon_memory.sh [N] [stream seconds]
set -eu
cd "$(dirname "$0")/.."
venv=${TELETHON_VENV:-target/telethon-venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'telethon==1.45.0'
fi
"$venv/bin/python" -c 'import telethon; print("Telethon", telethon.__version__)'
TELETHON_PYTHON="$venv/bin/python" BENCH_SESSIONS="${1:-20}" BENCH_STREAM_SECS="${2:-30}" \
    cargo bench --bench sessions_memory
