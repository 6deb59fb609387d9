"""The main job, for now: import a small image, run a web server in a container with a published port, fetch a
page from it on 127.0.0.1, then clean up.

Every step is the real ``portside`` command, printed before it runs. The engine root is the machine's
(``$PORTSIDE_ROOT`` or /var/lib/portside), so ``portside ps`` and friends work against the same state afterwards.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from examples.busybox import make_tarball  # noqa: E402

PORTSIDE = str(HERE.parent / ".venv" / "bin" / "portside")
IMAGE = "portside-demo/busybox:latest"
NAME = "portside-demo"
PORT = int(os.environ.get("PORTSIDE_DEMO_PORT", "18080"))
PAGE = ("<h1>Hello from a portside container</h1>"
        "<p>container $(hostname), address $(ip -4 -o addr show eth0 | awk '{print $4}')</p>")


def portside(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    print(f"$ portside {shlex.join(args)}", flush=True)
    proc = subprocess.run([PORTSIDE, *args], text=True, capture_output=True)
    if proc.stdout.strip():
        print(proc.stdout.rstrip())
    if proc.returncode == 0 and proc.stderr.strip():  # e.g. a container's stderr, shown by logs
        print(proc.stderr.rstrip())
    if check and proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(proc.returncode)
    return proc


def fetch(url: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def start_server() -> int:
    """Publish on PORT; if something else holds it right now, say so and let the kernel pick a free one."""
    script = f'mkdir -p /www && echo "{PAGE}" > /www/index.html && exec httpd -f -v -p 8080 -h /www'
    for publish in (f"{PORT}:8080", "8080"):
        proc = portside("run", "-d", "--name", NAME, "-p", publish, "--memory", "64m", "--cpus", "0.5", IMAGE,
                        "sh", "-c", script, check=False)
        if proc.returncode == 0:
            return int(portside("port", NAME, "8080").stdout.rsplit(":", 1)[1])
        sys.stderr.write(proc.stderr)
        if "already in use" not in proc.stderr:
            raise SystemExit(proc.returncode)
        print(f"demo: port {PORT} is taken on this machine; publishing on a free port instead")
    raise SystemExit(1)


def main() -> int:
    if os.geteuid() != 0:
        sys.stderr.write("demo: containers need root here; run it as root (scripts/demo.sh)\n")
        return 1
    portside("rm", "-f", NAME, check=False)  # a demo interrupted earlier
    with tempfile.TemporaryDirectory(prefix="portside-demo-") as work:
        portside("import", str(make_tarball(Path(work))), IMAGE)
    port = start_server()
    try:
        portside("ps")
        print(f"$ curl http://127.0.0.1:{port}/")
        print(fetch(f"http://127.0.0.1:{port}/"))
        portside("logs", "--timestamps", NAME)
    finally:
        portside("rm", "-f", NAME, check=False)
        portside("rmi", IMAGE, check=False)
    print("demo: done; the container and the image are removed again")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
