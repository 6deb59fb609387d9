#!/bin/sh
# Build the seed's image as my-app:latest (the image deployment.yaml runs). The Python base is bootstrapped
# from the Debian mirror the first time (about a minute); later builds reuse it and the layer cache.
# Set PORTSIDE to the command to use (default: portside) and PORTSIDE_ROOT for another engine root.
set -eu
cd "$(dirname "$0")"
portside=${PORTSIDE:-portside}
base=portside/python:3.11-bookworm
if ! $portside image inspect "$base" >/dev/null 2>&1; then
    $portside bootstrap --quiet debian:bookworm --include python3,python3-flask -t "$base"
fi
exec $portside build -t my-app:latest .
