#!/usr/bin/env bash
# Times docs/INSTALL.md's steps 2–6 on a clean Debian root filesystem (debootstrap, minbase:
# nothing of botyard's, no Rust, no curl), as far as a machine without Telegram, DNS and
# Let's Encrypt allows:
#   step 2  unpack the release archive and run install.sh (in a chroot of the clean system);
#           the service is started by hand (no systemd as PID 1 here), as its user;
#   step 3  the first admin through the printed link's API (POST /api/v1/setup);
#   step 4  skipped: @BotFather and my.telegram.org are people's work at Telegram;
#   step 5  a tenant;
#   step 6  a session (simulated Telegram instead of a real bot), its groups, a tag, a
#           template, a campaign activated and run, its first posts delivered.
# The console's forms make the same calls. Prints each step's seconds.
#
# Usage: benches/guide_run.sh [ROOTFS] [ARCHIVE]
#   ROOTFS  a clean root made once with: debootstrap --variant=minbase bookworm DIR
#           (default /tmp/cleanvps; copied, never changed)
#   ARCHIVE default: target/botyard-*-linux.tar.gz (scripts/package.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
clean=${1:-/tmp/cleanvps}
archive=${2:-$(ls -t target/botyard-*-linux.tar.gz | head -n 1)}
[ -d "$clean/etc" ] || { echo "no clean root at $clean (debootstrap --variant=minbase bookworm $clean)" >&2; exit 1; }
root=$(mktemp -d /tmp/guide-root.XXXXXX)
cp -a "$clean/." "$root/"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT
mount -t proc proc "$root/proc"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
now() { date +%s.%N; }
took() { python3 -c "print(f'{$(now) - $1:.2f}')"; }
json() { python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }

# Step 2: install.
t=$(now)
cp "$archive" "$root/root/"
name=$(basename "$archive" .tar.gz)
chroot "$root" /bin/sh -c "cd /root && tar xzf $name.tar.gz && cd $name && ./install.sh --listen 127.0.0.1:$port --no-start" >/dev/null
chroot "$root" /bin/sh -c "install -d -o botyard -g botyard -m 0700 /var/lib/botyard"
# What the unit does: the service's user, the key as its credential.
chroot "$root" /bin/sh -c "install -d -m 0755 /run/credentials && install -o botyard -m 0400 /etc/botyard/master.key /run/credentials/master.key"
chroot "$root" /usr/sbin/runuser -u botyard -- env BOTYARD_MASTER_KEY_FILE=/run/credentials/master.key \
  /usr/local/bin/botyard --config /etc/botyard/botyard.toml serve > "$root/tmp/serve.out" 2>/dev/null &
pid=$!
link=""
for _ in $(seq 300); do
  link=$(grep -o 'http://[^ ]*/console/setup?token=[^ ]*' "$root/tmp/serve.out" || true)
  [ -n "$link" ] && break
  sleep 0.05
done
[ -n "$link" ] || { echo "no setup link"; cat "$root/tmp/serve.out"; exit 1; }
step2=$(took "$t")

# Step 3: the first admin, through the link's token.
t=$(now)
token=${link##*token=}
curl -sf "$base/api/v1/setup" -H 'content-type: application/json' \
  -d "{\"token\":\"$token\",\"email\":\"admin@example.com\",\"password\":\"ilk-yonetici-parolasi-1\"}" >/dev/null
adm=$(curl -sf "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"admin@example.com","password":"ilk-yonetici-parolasi-1"}' | json '["access_token"]')
step3=$(took "$t")
H="authorization: Bearer $adm"

# Step 5: a tenant.
t=$(now)
tenant=$(curl -sf "$base/api/v1/tenants" -H "$H" -H 'content-type: application/json' \
  -d '{"name":"Kadıköy Çiçekçisi"}' | json '["id"]')
step5=$(took "$t")

# Step 6: a session, its groups, a template, a campaign run once.
t=$(now)
curl -sf "$base/api/v1/tenants/$tenant/sessions" -H "$H" -H 'content-type: application/json' \
  -d '{"kind":"sim","label":"Dükkan botu","sim":{"groups":3}}' >/dev/null
chat=""
for _ in $(seq 600); do
  chat=$(curl -sf "$base/api/v1/tenants/$tenant/groups" -H "$H" | python3 -c 'import sys,json; g=json.load(sys.stdin); print(g[0]["chat_id"] if g else "")')
  [ -n "$chat" ] && break
  sleep 0.05
done
[ -n "$chat" ] || { echo "no groups"; exit 1; }
curl -sf -X PATCH "$base/api/v1/tenants/$tenant/groups/$chat" -H "$H" -H 'content-type: application/json' \
  -d '{"enabled":true,"tags":["kampanya"]}' >/dev/null
tpl=$(curl -sf "$base/api/v1/tenants/$tenant/templates" -H "$H" -H 'content-type: application/json' \
  -d '{"name":"Hafta sonu","body":"**{group.title}**: hafta sonu %10 indirim!"}' | json '["id"]')
camp=$(curl -sf "$base/api/v1/tenants/$tenant/campaigns" -H "$H" -H 'content-type: application/json' \
  -d "{\"name\":\"Hafta sonu\",\"template_id\":$tpl,\"tags\":[\"kampanya\"],\"schedule\":{\"cron\":\"0 10 * * sat\"}}" | json '["id"]')
curl -sf -X POST "$base/api/v1/tenants/$tenant/campaigns/$camp/activate" -H "$H" >/dev/null
curl -sf -X POST "$base/api/v1/tenants/$tenant/campaigns/$camp/run" -H "$H" >/dev/null
sent=0
for _ in $(seq 600); do
  sent=$(curl -sf "$base/api/v1/tenants/$tenant/campaigns/$camp/report" -H "$H" | python3 -c 'import sys,json; r=json.load(sys.stdin); print(r.get("sent",0))')
  [ "$sent" -ge 1 ] && break
  sleep 0.05
done
[ "$sent" -ge 1 ] || { echo "nothing posted"; exit 1; }
step6=$(took "$t")
echo "guide on a clean root ($(chroot "$root" /usr/local/bin/botyard --version)):"
echo "  step 2 install + start: ${step2} s"
echo "  step 3 first admin:     ${step3} s"
echo "  step 5 tenant:          ${step5} s"
echo "  step 6 first campaign:  ${step6} s ($sent post(s) delivered)"
