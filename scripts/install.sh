#!/bin/sh
# Installs botyard as a systemd service on Debian or Ubuntu.
#
#   sudo scripts/install.sh [--binary PATH] [--domain NAME --email ADDR]
#                           [--public-url URL] [--listen ADDR] [--no-start] [--root DIR]
#
# --domain serves HTTPS on port 443 with a Let's Encrypt certificate for NAME (which must
# point at this server, ports 80 and 443 open), ADDR getting the authority's notices.
#
# It copies the binary to /usr/local/bin, creates the `botyard` system user, writes
# /etc/botyard/botyard.toml (only when missing) and a master key /etc/botyard/master.key (only
# when missing; the unit hands it to the server as a credential), installs the units, starts
# the service, and prints the one-time link that creates the first admin.
#
# Run it again to upgrade: the binary and units are replaced, the configuration and key kept,
# and the service restarted. --root DIR installs into DIR instead of / (no user, no systemctl):
# for packaging and for the tests.
set -eu

binary=""
domain=""
email=""
public_url=""
listen=""
start=yes
root=""

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        --domain) domain=$2; shift 2 ;;
        --email) email=$2; shift 2 ;;
        --public-url) public_url=$2; shift 2 ;;
        --listen) listen=$2; shift 2 ;;
        --no-start) start=no; shift ;;
        --root) root=$2; start=no; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "install.sh: unknown argument $1" >&2; usage 2 >&2 ;;
    esac
done

if [ -n "$domain" ]; then
    public_url=${public_url:-https://$domain}
    listen=${listen:-0.0.0.0:443}
fi

# The repository (scripts/install.sh) or an unpacked release (install.sh at its top).
here=$(cd "$(dirname "$0")" && pwd)
[ -d "$here/systemd" ] || here=$(cd "$here/.." && pwd)
if [ -z "$binary" ]; then
    for candidate in "$here/botyard" "$here/target/dist/botyard" "$here/target/release/botyard"; do
        if [ -x "$candidate" ]; then binary=$candidate; break; fi
    done
fi
if [ -z "$binary" ] || [ ! -x "$binary" ]; then
    echo "install.sh: no botyard binary; build one (cargo build --profile dist) or pass --binary" >&2
    exit 1
fi
if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (sudo)" >&2
    exit 1
fi

say() { printf '==> %s\n' "$*"; }

say "installing $("$binary" --version)"
install -d -m 0755 "$root/usr/local/bin" "$root/etc/systemd/system" "$root/usr/local/share/doc/botyard"
# Copy then rename, so a running server's binary is never half-written.
install -m 0755 "$binary" "$root/usr/local/bin/.botyard.new"
mv -f "$root/usr/local/bin/.botyard.new" "$root/usr/local/bin/botyard"
for unit in botyard.service botyard-backup.service botyard-backup.timer; do
    install -m 0644 "$here/systemd/$unit" "$root/etc/systemd/system/$unit"
done
for doc in README.md docs/OPERATIONS.md docs/INSTALL.md docs/INSTALL.tr.md; do
    if [ -f "$here/$doc" ]; then install -m 0644 "$here/$doc" "$root/usr/local/share/doc/botyard/"; fi
done

if [ -z "$root" ] && ! id botyard >/dev/null 2>&1; then
    say "creating the system user botyard"
    useradd --system --user-group --home-dir /var/lib/botyard --no-create-home \
        --shell /usr/sbin/nologin --comment "botyard appliance" botyard
fi

install -d -m 0750 "$root/etc/botyard"
if [ -z "$root" ]; then chgrp botyard "$root/etc/botyard"; fi
config="$root/etc/botyard/botyard.toml"
if [ ! -f "$config" ]; then
    say "writing $config"
    {
        echo "# botyard configuration; every key and its default: botyard config example"
        echo "[server]"
        echo "listen = \"${listen:-0.0.0.0:8080}\""
        echo "data = \"/var/lib/botyard\""
        if [ -n "$public_url" ]; then echo "public_url = \"$public_url\""; fi
        if [ -n "$domain" ]; then
            echo ""
            echo "[tls]"
            echo "acme_domains = \"$domain\""
            if [ -n "$email" ]; then echo "acme_email = \"$email\""; fi
        fi
    } > "$config"
    chmod 0640 "$config"
    if [ -z "$root" ]; then chgrp botyard "$config"; fi
else
    say "keeping $config"
fi
"$root/usr/local/bin/botyard" --config "$config" config check >/dev/null

key="$root/etc/botyard/master.key"
if [ ! -f "$key" ]; then
    say "writing a new master key to $key (keep a copy apart from the backups)"
    "$root/usr/local/bin/botyard" keys new "$key" >/dev/null
else
    say "keeping $key"
fi

if [ "$start" = no ]; then
    say "installed; start with: systemctl enable --now botyard.service"
    exit 0
fi

systemctl daemon-reload
if systemctl is-active --quiet botyard.service; then
    say "restarting botyard"
    systemctl restart botyard.service
else
    say "starting botyard"
    systemctl enable --now botyard.service
fi
systemctl enable --now botyard-backup.timer
# Type=notify: `systemctl start` returned once the server was serving.
link=$(journalctl -u botyard.service -o cat -n 200 --no-pager | grep -o 'https\{0,1\}://[^ ]*/console/setup?token=[^ ]*' | tail -n 1 || true)
if [ -n "$link" ]; then
    say "open this link within the hour to create the first admin:"
    echo "    $link"
else
    say "botyard is running. An admin exists already; a lost password: sudo -u botyard botyard admin reset-password EMAIL"
fi
