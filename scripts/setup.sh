#!/usr/bin/env bash
# Installs what portside needs on a Debian 12 machine, where the caller is root: the distribution's packages (only
# those missing) and the Python dependencies in a virtualenv at .venv. Sourced by demo.sh and test.sh; safe to
# run again (it does nothing when everything is in place).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Packages the engine needs at run time (procps: `ps` for `container top` and the Docker API's top), then the ones
# the tests drive as real peers.
RUNTIME_PKGS=(runc iproute2 nftables iptables busybox-static debootstrap python3-venv procps)
TEST_PKGS=(docker-registry skopeo apache2-utils etcd-server prometheus dnsmasq-base redis-server docker.io docker-compose
           python3-pytest)
want=("${RUNTIME_PKGS[@]}")
[ "${PORTSIDE_SETUP_TESTS:-0}" = 1 ] && want+=("${TEST_PKGS[@]}")

missing=()
for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

venv="$here/.venv"
stamp="$venv/.portside-installed"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$here/pyproject.toml" -nt "$stamp" ]; then
    echo "setup: installing Python dependencies into .venv"
    "$venv/bin/pip" install -q --upgrade pip >/dev/null
    # compat mode puts the checkout on sys.path with a plain .pth line: the default mode installs an import hook
    # that costs every `portside` invocation ~12 ms of start-up (pathlib, urllib, re), measured on `portside run`.
    "$venv/bin/pip" install -q -e "$here[test]" --config-settings editable_mode=compat
    touch "$stamp"
fi
