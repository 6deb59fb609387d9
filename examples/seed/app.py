"""The seed's web app: answers with the name of the pod (or host) that served the request.

Behind a Service with several replicas, repeated requests show the load being spread. ``/healthz`` is for
readiness and liveness probes: it answers as soon as the server accepts connections.
"""

import os
import signal
import socket
import sys

from flask import Flask

app = Flask(__name__)


def served_by() -> str:
    """The pod's name when Kubernetes passes it in (downward API), else the container's hostname."""
    return os.environ.get("POD_NAME") or socket.gethostname()


@app.route("/")
def hello() -> str:
    return f"Hello from {served_by()}\n"


@app.route("/healthz")
def healthz() -> str:
    return "ok\n"


if __name__ == "__main__":
    # As a container's first process the app gets no default SIGTERM action: without this handler every pod
    # deletion would wait out the whole grace period before the SIGKILL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))
