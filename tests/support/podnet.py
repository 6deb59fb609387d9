"""A lab host with a portside bridge on its own pod CIDR and one pod on it (see ``hosts.py``), with a server in
the pod that answers with the address it saw: the probe of "no NAT between pods"."""

from __future__ import annotations

import json
import subprocess
import sys

from portside.runtime.net import names
from portside.runtime.net.routes import PROTO
from support.hosts import Host

CLUSTER = "10.244.0.0/16"

ATTACH = """
import json, sys
from portside.runtime.net import BridgeNetwork
state, bridge, subnet, cluster, mtu, cid = sys.argv[1:]
a = BridgeNetwork(state, bridge, subnet, cluster, int(mtu)).attach(cid, [])
print(json.dumps({"ip": a.ip, "netns": str(a.netns_path)}))
"""

SYNC = """
import json, sys
from portside.runtime.net.podnet import PodRoutes
from portside.runtime.net.routes import Peer, Settings
cfg = json.loads(sys.argv[1])
routes = PodRoutes(Settings(cfg["device"], cfg["backend"], cfg.get("vni", 1), cfg.get("port", 8472)), cfg["bridge"])
if cfg.get("teardown"):
    routes.teardown()
else:
    r = routes.sync(cfg["ip"], cfg["cidr"], [Peer(**p) for p in cfg["peers"]])
    print(json.dumps({"changed": r.changed, "skipped": r.skipped}))
"""

SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 8080)); s.listen()
print("ready", flush=True)
while True:
    c, peer = s.accept()
    c.sendall((sys.argv[1] + " saw " + peer[0] + "\\n").encode() + b"x" * int(sys.argv[2])); c.close()
"""

CLIENT = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 8080), timeout=3) as c:
    f = c.makefile("rb")
    line = f.readline().decode().strip()
    print(line, len(f.read()))
"""


class PodHost:
    """A host of the lab with a portside bridge on ``pod_cidr``, one pod on it, and a server in that pod."""

    def __init__(self, host: Host, pod_cidr: str, mtu: int = 0) -> None:
        self.host, self.pod_cidr = host, pod_cidr
        self.names = names.for_node(host.name)
        out = host.python(ATTACH, str(host.dir / "network"), self.names.bridge, pod_cidr, CLUSTER, str(mtu), "pod")
        att = json.loads(out)
        self.pod_ip, self.pod_netns = att["ip"], att["netns"]

    def serve(self, payload: int = 0) -> None:
        """A server in the pod's namespace (not the host's) that answers with the address it saw."""
        proc = subprocess.Popen(["nsenter", f"--net={self.pod_netns}", sys.executable, "-c", SERVER,
                                 self.host.name, str(payload)], stdout=subprocess.PIPE, text=True)
        self.host.lab.procs.append(proc)
        assert proc.stdout.readline().strip() == "ready"

    def fetch_from_pod(self, ip: str) -> str:
        proc = subprocess.run(["nsenter", f"--net={self.pod_netns}", sys.executable, "-c", CLIENT, ip],
                              capture_output=True, text=True, timeout=20)
        return proc.stdout.strip() or (proc.stderr.strip().splitlines() or ["no output"])[-1]

    def sync(self, peers: list[PodHost], backend: str = "auto", vni: int = 1, port: int = 8472) -> dict:
        cfg = {"device": self.names.vxlan, "backend": backend, "vni": vni, "port": port, "bridge": self.names.bridge, "ip": self.host.ip,
               "cidr": self.pod_cidr, "peers": [{"name": p.host.name, "pod_cidr": p.pod_cidr,
                                                  "node_ip": p.host.ip} for p in peers]}
        return json.loads(self.host.python(SYNC, json.dumps(cfg)))

    def teardown(self) -> None:
        self.host.python(SYNC, json.dumps({"device": self.names.vxlan, "backend": "auto",
                                           "bridge": self.names.bridge, "teardown": True}))

    def routes(self) -> list[dict]:
        return json.loads(self.host.run("ip", "-j", "-4", "route", "show", "proto", str(PROTO)).stdout)

    def has_link(self, name: str) -> bool:
        return self.host.run("ip", "link", "show", "dev", name, check=False).returncode == 0


