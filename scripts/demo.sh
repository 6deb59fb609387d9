#!/usr/bin/env bash
# The main job: import a small image and run a container that answers on a published port.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/setup.sh"
exec "$here/.venv/bin/python" "$here/examples/demo.py" "$@"
