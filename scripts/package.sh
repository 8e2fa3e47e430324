#!/bin/sh
# Makes the release archive a server installs from (docs/INSTALL.md):
#
#   scripts/package.sh [BINARY]      # default: target/dist/botyard (cargo build --profile dist)
#
# → target/botyard-VERSION-ARCH-linux.tar.gz holding the binary, install.sh, the systemd
# units, the example configuration and the operator's documentation.
set -eu
cd "$(dirname "$0")/.."
binary=${1:-target/dist/botyard}
[ -x "$binary" ] || { echo "package.sh: build first: cargo build --profile dist" >&2; exit 1; }
version=$("$binary" --version | awk '{print $2}')
name="botyard-$version-$(uname -m)-linux"
stage="target/package/$name"
rm -rf "target/package"
mkdir -p "$stage/systemd" "$stage/docs"
install -m 0755 "$binary" "$stage/botyard"
install -m 0755 scripts/install.sh "$stage/install.sh"
cp systemd/botyard.service systemd/botyard-backup.service systemd/botyard-backup.timer "$stage/systemd/"
cp docs/INSTALL.md docs/INSTALL.tr.md docs/OPERATIONS.md "$stage/docs/"
cp README.md botyard.example.toml "$stage/"
tar -C target/package -czf "target/$name.tar.gz" "$name"
echo "target/$name.tar.gz ($(du -h "target/$name.tar.gz" | cut -f1))"
