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
           python3-pytest python3-docker python3-paramiko)
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

# docker-py's own integration tests, the Docker Engine API's yardstick (tests/support/dockerpy.py): the source of
# the version Debian ships, fetched once into .cache/ (which git ignores) and checked against its known digest.
if [ "${PORTSIDE_SETUP_TESTS:-0}" = 1 ]; then
    dpy="$here/.cache/docker-py-5.0.3"
    sdist="$dpy/docker-5.0.3.tar.gz"
    if [ ! -f "$dpy/tests/integration/conftest.py" ]; then
        echo "setup: fetching docker-py 5.0.3's tests"
        mkdir -p "$dpy"
        [ -f "$sdist" ] || "$venv/bin/pip" download -q --no-deps --no-binary :all: docker==5.0.3 -d "$dpy" >/dev/null
        echo "d916a26b62970e7c2f554110ed6af04c7ccff8e9f81ad17d0d40c75637e227fb  $sdist" | sha256sum -c --quiet - || {
            rm -f "$sdist"; echo "setup: docker-5.0.3.tar.gz does not match its digest" >&2; exit 1; }
        tar -xzf "$sdist" -C "$dpy" --strip-components=1 docker-5.0.3/tests
    fi
fi
