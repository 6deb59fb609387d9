#!/usr/bin/env bash
# The main job: the seed example (examples/seed/) built, deployed on a local portside cluster with its three
# replicas and its LoadBalancer Service, and answering on http://127.0.0.1:80/. Installs what it needs first.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/setup.sh"
exec "$here/.venv/bin/python" "$here/examples/seed/deploy.py" "$@"
