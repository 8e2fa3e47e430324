#!/bin/sh
# Makes the build context of the container image (Containerfile) from a built binary:
#
#   scripts/container-rootfs.sh BINARY OUT
#
# OUT/rootfs gets the binary as /usr/local/bin/botyard, every shared library it links (as
# ldd resolves them on this machine, with the dynamic loader), the CA bundle for outgoing
# TLS (the ACME authority, SMTP), and /etc/passwd and /etc/group naming the botyard user
# (uid and gid 10001). OUT/data is the empty data folder. Time zones need no zoneinfo: the
# binary carries its own copy of the tz database.
set -eu

binary=$1
out=$2
[ -x "$binary" ] || { echo "container-rootfs.sh: $binary is not an executable" >&2; exit 1; }
rm -rf "$out"
root="$out/rootfs"
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp" "$out/data"
chmod 1777 "$root/tmp"

# A stripped copy: the image carries no debug information.
cp "$binary" "$root/usr/local/bin/botyard"
strip --strip-debug "$root/usr/local/bin/botyard" 2>/dev/null || true
chmod 0755 "$root/usr/local/bin/botyard"

# Shared libraries, with the loader, at the paths the binary looks for them.
ldd "$binary" | awk '/=> \// { print $3 } /^\t\// { print $1 }' | sort -u | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done

ca=/etc/ssl/certs/ca-certificates.crt
if [ ! -f "$ca" ]; then
    echo "container-rootfs.sh: $ca missing (apt-get install ca-certificates)" >&2
    exit 1
fi
cp "$ca" "$root/etc/ssl/certs/ca-certificates.crt"

cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/nonexistent:/nonexistent
botyard:x:10001:10001:botyard:/data:/nonexistent
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
botyard:x:10001:
GROUP
echo "$out: rootfs of $(du -sh "$root" | cut -f1) for $("$binary" --version)"
