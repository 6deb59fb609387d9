#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what it needs first (see setup.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORTSIDE_SETUP_TESTS=1 bash "$here/scripts/setup.sh"
cd "$here"
"$here/.venv/bin/ruff" check --quiet . || { echo "test.sh: ruff found the problems above" >&2; exit 1; }
exec "$here/.venv/bin/python" -m pytest -n "${PORTSIDE_TEST_WORKERS:-4}" --dist loadgroup "$@" tests
