#!/bin/sh
# Build the two images the manifests run: notes-web:1 (the web tier, on the seed's Python base, bootstrapped from
# the Debian mirror the first time) and redis:7.0 (Debian's redis-server as installed on this machine, with the
# shared libraries it loads; apt-get install redis-server first).
# Set PORTSIDE to the command to use (default: portside) and PORTSIDE_ROOT for another engine root.
set -eu
cd "$(dirname "$0")"
portside=${PORTSIDE:-portside}
base=portside/python:3.11-bookworm
if ! $portside image inspect "$base" >/dev/null 2>&1; then
    $portside bootstrap --quiet debian:bookworm --include python3,python3-flask -t "$base"
fi
$portside build -t notes-web:1 web

server=$(command -v redis-server) || { echo "build.sh: redis-server not found: apt-get install redis-server" >&2; exit 1; }
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp redis/Dockerfile "$context/"
mkdir -p "$context/rootfs/usr/bin" "$context/rootfs/data"
cp "$(readlink -f "$server")" "$context/rootfs/usr/bin/redis-server"
cp "$(readlink -f "$(command -v redis-cli)")" "$context/rootfs/usr/bin/redis-cli"
# Every library either program loads, the dynamic loader included, at the path it is loaded from.
for lib in $(for bin in redis-server redis-cli; do ldd "$context/rootfs/usr/bin/$bin"; done |
             awk '$2 == "=>" && $3 ~ /^\// {print $3} $2 ~ /^\(/ && $1 ~ /^\// {print $1}' | sort -u); do
    mkdir -p "$context/rootfs$(dirname "$lib")"
    cp -L "$lib" "$context/rootfs$lib"
done
exec $portside build -t redis:7.0 "$context"
