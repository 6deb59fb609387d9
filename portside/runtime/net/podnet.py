"""Programming the routes between nodes' pod networks into this host's kernel (the I/O edge of ``routes.py``).

``PodRoutes.sync(local, peers)`` reads what the kernel holds (our routes by their protocol number, the VXLAN
device with its neighbour and forwarding entries), plans the difference with ``routes.diff`` and applies it in
one ``ip -batch`` and one ``bridge -batch``. Reading the kernel each time makes a sync idempotent and makes a
restarted agent pick up where the last one left: nothing is remembered in memory. ``teardown`` removes our
routes and the VXLAN device. Everything runs in the network namespace of the calling process (an agent runs in
its host's), or in the one pinned at ``netns`` when that is given (``netns.run_in``).
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from portside.runtime.errors import InvalidArgument, NetworkError
from portside.runtime.net import netns as namespaces
from portside.runtime.net.routes import PROTO, Local, Peer, Route, Settings, State, diff, wanted
from portside.runtime.net.vxlan import Device

__all__ = ["PodRoutes", "SyncResult", "local_view"]


@dataclass(frozen=True)
class SyncResult:
    changed: bool
    skipped: dict[str, str]  # peer name -> why it was left out


class PodRoutes:
    """This node's side of the pod network; ``bridge`` (the pods' own) is never taken for the underlay."""

    def __init__(self, settings: Settings, bridge: str = "", netns: Path | None = None) -> None:
        self.settings = settings
        self.bridge = bridge
        self.kernel = _Kernel(netns)

    def sync(self, node_ip: str, pod_cidr: str, peers: list[Peer]) -> SyncResult:
        """Bring the kernel to ``peers``; raises NetworkError when a batch fails (nothing is half-planned:
        the next sync reads the kernel again and finishes the work)."""
        local, underlay = local_view(node_ip, pod_cidr, (self.bridge, self.settings.device), self.kernel.netns)
        want, skipped = wanted(peers, local, self.settings)
        held = self.held()
        device = Device(self.settings.device, self.settings.vni, self.settings.port, node_ip, underlay[0],
                        underlay[1], pod_cidr)
        changed = False
        if want.overlay and not self._device_ok(device):
            self.kernel.delete_link(device.name)
            self.kernel.run(["ip", "-batch", "-"], device.create())
            held, changed = self.held(), True
        batches = diff(held, want, device.name)
        self.kernel.run(["ip", "-batch", "-"], batches.ip)
        self.kernel.run(["bridge", "-batch", "-"], batches.bridge)
        if held.overlay and not want.overlay:
            self.kernel.delete_link(device.name)
            changed = True
        return SyncResult(changed or bool(batches), skipped)

    def held(self) -> State:
        """What the kernel holds of ours now."""
        state = State()
        for r in self.kernel.json(["ip", "-j", "-4", "route", "show", "proto", str(PROTO)]):
            dev = r["dev"] if "onlink" in (r.get("flags") or []) else ""
            state.routes[_cidr(r["dst"])] = Route(_cidr(r["dst"]), r.get("gateway", ""), dev)
        state.overlay = self.kernel.link_exists(self.settings.device)
        if state.overlay:
            dev = self.settings.device
            for n in self.kernel.json(["ip", "-j", "-4", "neigh", "show", "dev", dev, "nud", "permanent"]):
                if n.get("lladdr"):
                    state.neighbours[n["dst"]] = n["lladdr"]
            for f in self.kernel.json(["bridge", "-j", "fdb", "show", "dev", dev]):
                if f.get("dst") and f.get("mac") != "00:00:00:00:00:00":
                    state.fdb[f["mac"]] = f["dst"]
        return state

    def teardown(self) -> None:
        """Remove every route of ours and the VXLAN device; idempotent."""
        held = self.held()
        self.kernel.run(["ip", "-batch", "-"], diff(held, State(overlay=held.overlay), self.settings.device).ip)
        self.kernel.delete_link(self.settings.device)

    def _device_ok(self, device: Device) -> bool:
        if not self.kernel.link_exists(device.name):
            return False
        links = self.kernel.json(["ip", "-j", "-d", "addr", "show", "dev", device.name])
        return bool(links) and device.matches(links[0])


def local_view(node_ip: str, pod_cidr: str, exclude: tuple[str, ...] = (),
               netns: Path | None = None) -> tuple[Local, tuple[str, int]]:
    """This host as the planner sees it, and the underlay (the interface holding ``node_ip``, and its MTU).
    The subnets of ``exclude`` (the pods' bridge, the VXLAN device) and of loopback are not "connected"."""
    try:
        ipaddress.IPv4Network(pod_cidr)
        ipaddress.IPv4Address(node_ip)
    except ValueError as err:
        raise InvalidArgument(f"pod network of this node: {err}") from None
    connected, underlay = [], None
    for link in _Kernel(netns).json(["ip", "-j", "-4", "addr", "show"]):
        name = link.get("ifname", "")
        for a in link.get("addr_info") or []:
            if a.get("local") == node_ip:
                underlay = (name, int(link.get("mtu", 1500)))
            if name not in exclude and name != "lo" and "LOOPBACK" not in (link.get("flags") or []):
                connected.append(str(ipaddress.IPv4Network(f"{a['local']}/{a['prefixlen']}", strict=False)))
    if underlay is None:
        raise NetworkError(f"node address {node_ip} is not an address of this host")
    return Local(node_ip, pod_cidr, tuple(dict.fromkeys(connected))), underlay


def _cidr(dst: str) -> str:
    """``ip`` shows a /32 destination without its length."""
    return str(ipaddress.IPv4Network(dst))


class _Kernel:
    """``ip`` and ``bridge`` in one network namespace: the caller's, or the one pinned at ``netns``."""

    def __init__(self, netns: Path | None) -> None:
        self.netns = netns

    def _exec(self, argv: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
        if self.netns is not None:
            return namespaces.run_in(self.netns, argv, stdin)
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)

    def json(self, argv: list[str]) -> list[dict]:
        proc = self._exec(argv)
        if proc.returncode != 0:
            raise NetworkError(f"{' '.join(argv[:3])}: {proc.stderr.strip() or 'failed'}")
        return json.loads(proc.stdout or "[]")

    def run(self, argv: list[str], script: str) -> None:
        if not script:
            return
        proc = self._exec(argv, script)
        if proc.returncode != 0:
            raise NetworkError(f"{argv[0]} -batch: {_failed(script, proc.stderr)}")

    def link_exists(self, name: str) -> bool:
        return self._exec(["ip", "link", "show", "dev", name]).returncode == 0

    def delete_link(self, name: str) -> None:
        if self.link_exists(name):
            self.run(["ip", "-batch", "-"], f"link del {name}\n")


def _failed(script: str, stderr: str) -> str:
    """Name the statement that failed (``-batch`` says "Command failed -:N") with the kernel's answer."""
    lines = script.splitlines()
    for line in stderr.splitlines():
        if "Command failed -:" in line:
            n = int(line.rsplit(":", 1)[1])
            return f"{lines[n - 1]}: {stderr.strip().splitlines()[0]}"
    return stderr.strip() or "failed"
