"""The bridge network against the real kernel: namespaces, veths, a bridge, nftables DNAT, real sockets."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.wait import eventually

from portside.runtime.errors import InvalidArgument, NetworkError, PortInUse
from portside.runtime.network import Attachment, BridgeNetwork, PortMapping, parse_publish

# ---------------------------------------------------------------------------------------------------------------
# parse_publish: pure, no root needed


@pytest.mark.parametrize("spec, expected", [
    ("8080:80", [PortMapping("0.0.0.0", 8080, 80, "tcp")]),
    ("80", [PortMapping("0.0.0.0", 0, 80, "tcp")]),
    ("127.0.0.1:8080:80", [PortMapping("127.0.0.1", 8080, 80, "tcp")]),
    ("127.0.0.1::80", [PortMapping("127.0.0.1", 0, 80, "tcp")]),
    ("53:53/udp", [PortMapping("0.0.0.0", 53, 53, "udp")]),
    ("8080:80/tcp", [PortMapping("0.0.0.0", 8080, 80, "tcp")]),
    ("8000-8001:80-81", [PortMapping("0.0.0.0", 8000, 80, "tcp"), PortMapping("0.0.0.0", 8001, 81, "tcp")]),
    ("80-81/udp", [PortMapping("0.0.0.0", 0, 80, "udp"), PortMapping("0.0.0.0", 0, 81, "udp")]),
])
def test_parse_publish_accepts_docker_forms(spec: str, expected: list[PortMapping]) -> None:
    assert parse_publish(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("80:abc", 'invalid -p "80:abc": container port "abc" is not a number 1-65535'),
    ("abc:80", 'invalid -p "abc:80": host port "abc" is not a number 1-65535'),
    ("0:80", 'invalid -p "0:80": host port "0" is not a number 1-65535'),
    ("80:65536", 'invalid -p "80:65536": container port "65536" is not a number 1-65535'),
    ("1.2.3:80:80", 'invalid -p "1.2.3:80:80": host IP "1.2.3" is not an IPv4 address'),
    ("80:80/sctp", 'invalid -p "80:80/sctp": protocol "sctp" is not tcp or udp'),
    ("", 'invalid -p "": expected [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]'),
    ("1:2:3:4", 'invalid -p "1:2:3:4": expected [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]'),
    ("8080:", 'invalid -p "8080:": expected [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]'),
    ("81-80:80-81", 'invalid -p "81-80:80-81": host port range "81-80" ends before it starts'),
    ("8000-8002:80-81", 'invalid -p "8000-8002:80-81": host range "8000-8002" and container range "80-81" '
                        'differ in length'),
])
def test_parse_publish_rejects_with_the_bad_part_named(spec: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_publish(spec)
    assert str(err.value) == message


def test_bad_bridge_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match='bridge name "much-too-long-bridge"'):
        BridgeNetwork(tmp_path, "much-too-long-bridge")
    with pytest.raises(InvalidArgument, match='subnet "10.0.0.0/33" is not an IPv4 network'):
        BridgeNetwork(tmp_path, "pstx", "10.0.0.0/33")


# ---------------------------------------------------------------------------------------------------------------
# fixtures and probes for the real network

SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", int(sys.argv[1]))); s.listen()
print("ready", flush=True)
while True:
    c, peer = s.accept(); c.sendall(("hello from " + sys.argv[2] + "\\n").encode()); c.close()
"""

CLIENT = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as c:
    print(c.makefile().readline().strip())
"""


def _worker() -> int:
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


@pytest.fixture
def net(needs_root: None, tmp_path: Path) -> Iterator[BridgeNetwork]:
    """A bridge with a name and a /24 of its own (per worker and test), fully removed afterwards."""
    bridge = f"pst{_worker()}{random.randrange(16**6):06x}"
    subnet = f"10.{200 + _worker()}.{random.randrange(256)}.0/24"
    network = BridgeNetwork(tmp_path / "network", bridge, subnet)
    try:
        yield network
    finally:
        try:
            for cid in network.attached():
                network.detach(cid)
            network.teardown()
        finally:
            _force_clean(network)


def _force_clean(network: BridgeNetwork) -> None:
    """Whatever a failed test left: this keeps one failure from spilling into later tests."""
    subprocess.run(["ip", "link", "del", network.bridge], capture_output=True)
    subprocess.run(["nft", "delete", "table", "ip", f"portside_{network.bridge}"], capture_output=True)
    for path in (network.state_dir / "netns").glob("*"):
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def servers() -> Iterator[list[subprocess.Popen]]:
    procs: list[subprocess.Popen] = []
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def serve_in(servers: list[subprocess.Popen], netns: Path, port: int, name: str) -> None:
    """Start a TCP server inside the namespace and wait until it listens."""
    proc = subprocess.Popen(["nsenter", f"--net={netns}", sys.executable, "-c", SERVER, str(port), name],
                            stdout=subprocess.PIPE, text=True)
    servers.append(proc)
    assert proc.stdout.readline().strip() == "ready"


def fetch(host: str, port: int, netns: Path | None = None) -> str:
    enter = ["nsenter", f"--net={netns}"] if netns else []
    proc = subprocess.run([*enter, sys.executable, "-c", CLIENT, host, str(port)], capture_output=True, text=True)
    return proc.stdout.strip() or proc.stderr.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def host_address() -> str:
    """An address of the host's uplink (not of some test's bridge, which may vanish meanwhile)."""
    routes = json.loads(subprocess.run(["ip", "-j", "-4", "route", "show", "default"], capture_output=True,
                                       text=True, check=True).stdout)
    devices = [r["dev"] for r in routes] or ["eth0"]
    out = subprocess.run(["ip", "-j", "-4", "addr", "show", "dev", devices[0]], capture_output=True, text=True)
    for link in json.loads(out.stdout or "[]"):
        for addr in link.get("addr_info", []):
            return addr["local"]
    pytest.fail(f"no IPv4 address on {devices[0]}, the host's uplink")


def leftovers(network: BridgeNetwork, cid: str, *alive: Attachment) -> list[str]:
    """Every trace an attach of ``cid`` could leave, given the attachments still ``alive``; empty if none."""
    found = []
    brif = Path("/sys/class/net", network.bridge, "brif")
    stray = {p.name for p in brif.iterdir()} - {a.veth for a in alive} if brif.exists() else set()
    if stray:
        found.append(f"veths {sorted(stray)}")
    if network.netns_path(cid).exists():
        found.append("netns file")
    if str(network.netns_path(cid)) in Path("/proc/self/mountinfo").read_text():
        found.append("netns mount")
    if cid in network.attached():
        found.append("lease")
    rules = subprocess.run(["nft", "list", "table", "ip", f"portside_{network.bridge}"],
                           capture_output=True, text=True).stdout
    targets = set(re.findall(r": (\d+\.\d+\.\d+\.\d+) \.", rules)) - {a.ip for a in alive}
    if targets:
        found.append(f"nft map elements for {sorted(targets)}")
    return found


# ---------------------------------------------------------------------------------------------------------------
# the real network


def test_containers_reach_each_other_and_the_host_reaches_them(net: BridgeNetwork, servers: list) -> None:
    a, b = net.attach("ctr-a", []), net.attach("ctr-b", [])
    assert a.ip != b.ip and a.gateway == b.gateway == net.gateway
    assert a.mac == "02:50:" + ":".join(f"{int(x):02x}" for x in a.ip.split("."))
    serve_in(servers, b.netns_path, 8080, "b")
    assert fetch(b.ip, 8080, netns=a.netns_path) == "hello from b"
    assert fetch(b.ip, 8080) == "hello from b"
    ping = subprocess.run(["nsenter", f"--net={b.netns_path}", "busybox", "ping", "-c1", "-W2", a.ip],
                          capture_output=True, text=True)
    assert ping.returncode == 0, ping.stdout + ping.stderr


def test_the_namespace_has_eth0_lo_and_a_default_route(net: BridgeNetwork) -> None:
    att = net.attach("ctr-a", [])
    show = subprocess.run(["nsenter", f"--net={att.netns_path}", "ip", "-j", "addr"], capture_output=True,
                          text=True, check=True).stdout
    links = {link["ifname"]: link for link in json.loads(show)}
    assert set(links) == {"lo", "eth0"}
    assert links["eth0"]["address"] == att.mac
    assert [(a["local"], a["prefixlen"]) for a in links["eth0"]["addr_info"] if a["family"] == "inet"] == \
        [(att.ip, att.prefixlen)]
    route = subprocess.run(["nsenter", f"--net={att.netns_path}", "ip", "route", "show", "default"],
                           capture_output=True, text=True, check=True).stdout
    assert route.startswith(f"default via {att.gateway} dev eth0")


def test_published_port_answers_on_loopback_and_host_addresses(net: BridgeNetwork, servers: list) -> None:
    port = free_port()
    att = net.attach("ctr-web", parse_publish(f"{port}:80"))
    serve_in(servers, att.netns_path, 80, "web")
    assert fetch("127.0.0.1", port) == "hello from web"
    assert fetch(host_address(), port) == "hello from web"
    # hairpin: a container reaches its own published port through the gateway
    assert fetch(att.gateway, port, netns=att.netns_path) == "hello from web"


def test_publish_on_one_host_ip_answers_only_there(net: BridgeNetwork, servers: list) -> None:
    port = free_port()
    att = net.attach("ctr-web", parse_publish(f"127.0.0.2:{port}:80"))
    serve_in(servers, att.netns_path, 80, "web")
    assert fetch("127.0.0.2", port) == "hello from web"
    assert "refused" in fetch("127.0.0.1", port).lower()


def test_any_host_port_is_resolved_and_reserved(net: BridgeNetwork) -> None:
    att = net.attach("ctr-a", parse_publish("127.0.0.1::80"))
    [mapping] = att.ports
    assert mapping.host_port > 0 and att.reserved[0].getsockname() == ("127.0.0.1", mapping.host_port)


def test_a_published_port_is_held_while_the_container_lives(net: BridgeNetwork) -> None:
    port = free_port()
    att = net.attach("ctr-a", parse_publish(f"{port}:80"))  # the reference keeps the reservation open
    with pytest.raises(PortInUse, match=f"host port 0.0.0.0:{port}/tcp is already in use"):
        net.attach("ctr-b", parse_publish(f"{port}:80"))
    with socket.socket() as other, pytest.raises(OSError):
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", port))
    assert leftovers(net, "ctr-b", att) == []
    assert att.reserved[0].getsockname()[1] == port


def test_time_wait_leftovers_of_an_earlier_server_do_not_block_the_port(net: BridgeNetwork) -> None:
    """A host server that closed first leaves its port in TIME-WAIT; publishing that port must still work."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()  # the server side closes first: its end of the connection enters TIME-WAIT
            client.recv(1)
    att = net.attach("ctr-a", parse_publish(f"{port}:80"))
    assert att.ports[0].host_port == port


def test_port_taken_by_another_program_leaves_nothing_behind(net: BridgeNetwork) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(PortInUse, match=f"host port 0.0.0.0:{port}/tcp"):
            net.attach("ctr-a", parse_publish(f"{free_port()}:81") + parse_publish(f"{port}:80"))
    assert leftovers(net, "ctr-a") == []
    assert not Path("/sys/class/net", net.bridge).exists()


def test_a_failure_midway_undoes_every_step(net: BridgeNetwork) -> None:
    att = net.attach("ctr-a", [])
    subprocess.run(["nft", "delete", "table", "ip", f"portside_{net.bridge}"], check=True)
    port = free_port()
    with pytest.raises(NetworkError, match="nft failed"):
        net.attach("ctr-b", parse_publish(f"{port}:80"))
    assert leftovers(net, "ctr-b", att) == []
    with socket.socket() as probe:
        probe.bind(("", port))  # the reservation was released


def test_detach_and_teardown_leave_nothing(net: BridgeNetwork) -> None:
    att = net.attach("ctr-a", parse_publish(f"{free_port()}:80/udp"))
    assert Path("/sys/class/net", net.bridge).exists()
    net.teardown()  # refused while attached
    assert Path("/sys/class/net", net.bridge).exists()
    # the probe sees each trace while they exist, so its empty answer below means something
    assert leftovers(net, "ctr-a") == [f"veths {[att.veth]}", "netns file", "netns mount", "lease",
                                       f"nft map elements for {[att.ip]}"]
    net.detach("ctr-a")
    net.detach("ctr-a")  # idempotent
    for sock in att.reserved:
        sock.close()
    assert leftovers(net, "ctr-a") == []
    net.teardown()
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True).stdout
    assert f"portside_{net.bridge}" not in tables
    assert not Path("/sys/class/net", net.bridge).exists()


def test_detach_without_waiting_leaves_the_veth_to_the_kernel(net: BridgeNetwork) -> None:
    first = net.attach("ctr-a", parse_publish(f"{free_port()}:80"))
    net.detach("ctr-a", wait=False)
    assert not first.netns_path.exists() and net.attached() == {}
    again = net.attach("ctr-a", [])  # at once, while the old veth may still be on its way out
    assert again.veth != first.veth and again.ip == first.ip


ATTACH_ONE = """
import sys
from pathlib import Path
from portside.runtime.network import BridgeNetwork
print(BridgeNetwork(Path(sys.argv[1]), sys.argv[2], sys.argv[3]).attach(sys.argv[4], []).ip)
"""


def test_concurrent_attaches_get_distinct_addresses(net: BridgeNetwork) -> None:
    args = [str(net.state_dir), net.bridge, str(net.subnet)]
    procs = [subprocess.Popen([sys.executable, "-c", ATTACH_ONE, *args, f"ctr-{i}"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(6)]
    results = [proc.communicate() for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in results]
    ips = [out.strip() for out, _ in results]
    assert len(set(ips)) == 6
    assert net.attached() == {f"ctr-{i}": ip for i, ip in enumerate(ips)}


@pytest.fixture
def runc_container(tmp_path: Path, busybox_rootfs_tar: Path) -> Iterator:
    """Start busybox containers under runc in a given network namespace; all are deleted afterwards."""
    import tarfile
    import uuid

    rootfs, state, started = tmp_path / "rootfs", tmp_path / "runc", []
    with tarfile.open(busybox_rootfs_tar) as tar:
        tar.extractall(rootfs, filter="fully_trusted")

    def start(netns_path: Path, script: str) -> None:
        cid = f"pstnet-{uuid.uuid4().hex[:12]}"
        bundle = tmp_path / cid
        bundle.mkdir()
        (bundle / "config.json").write_text(json.dumps(_config(rootfs, netns_path, script, cid)))
        started.append(cid)
        subprocess.run(["runc", "--root", str(state), "run", "-d", "--bundle", str(bundle), cid], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)

    try:
        yield start
    finally:
        for cid in started:
            subprocess.run(["runc", "--root", str(state), "delete", "--force", cid], capture_output=True)


def _config(rootfs: Path, netns_path: Path, script: str, cid: str) -> dict:
    return {
        "ociVersion": "1.0.2", "hostname": "web",
        "process": {"args": ["sh", "-c", script], "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
        "root": {"path": str(rootfs), "readonly": True},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                   {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"},
                                 {"type": "network", "path": str(netns_path)}],
                  "cgroupsPath": f"/{cid}"},
    }


def wait_answer(host: str, port: int, deadline_s: float = 5.0) -> str:
    """The server's answer once it listens (a container's start is asynchronous to ``runc run -d``)."""
    def answer() -> str | None:
        try:
            with socket.create_connection((host, port), timeout=2) as conn:
                conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
                return conn.makefile().read()
        except OSError:
            return None

    return eventually(answer, deadline_s, what=f"an answer from {host}:{port}")


def test_a_runc_container_joins_the_namespace_and_serves_a_published_port(net: BridgeNetwork,
                                                                          runc_container) -> None:
    port = free_port()
    att = net.attach("ctr-web", parse_publish(f"{port}:8080"))
    runc_container(att.netns_path, "echo served-by-runc > /tmp/index.html; exec httpd -f -p 8080 -h /tmp")
    assert "served-by-runc" in wait_answer("127.0.0.1", port)
    assert "served-by-runc" in wait_answer(att.ip, 8080)


UDP_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(100); s.sendto(b"echo " + data, peer)
"""


def test_udp_port_is_published(net: BridgeNetwork, servers: list) -> None:
    port = free_port()
    att = net.attach("ctr-dns", parse_publish(f"127.0.0.1:{port}:5353/udp"))
    proc = subprocess.Popen(["nsenter", f"--net={att.netns_path}", sys.executable, "-c", UDP_SERVER, "5353"],
                            stdout=subprocess.PIPE, text=True)
    servers.append(proc)
    assert proc.stdout.readline().strip() == "ready"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(3)
        client.sendto(b"ping", ("127.0.0.1", port))
        assert client.recv(100) == b"echo ping"


def test_lookup_returns_what_attach_recorded(net: BridgeNetwork) -> None:
    att = net.attach("ctr-a", parse_publish("127.0.0.1::80"))
    found = BridgeNetwork(net.state_dir, net.bridge, str(net.subnet)).lookup("ctr-a")  # as a restarted engine
    assert found == Attachment(att.netns_path, att.ip, att.gateway, att.prefixlen, att.mac, [], att.ports, att.veth)
    assert net.lookup("ctr-none") is None


def test_public_contract() -> None:
    import portside.runtime.net as net_package
    import portside.runtime.network as network

    names = ["Attachment", "BridgeNetwork", "PortMapping", "parse_publish"]
    assert sorted(network.__all__) == sorted(net_package.__all__) == names
    assert all(getattr(network, n) is getattr(net_package, n) for n in names)


def test_a_namespace_pin_left_by_a_crash_is_replaced(net: BridgeNetwork) -> None:
    from portside.runtime.net import netns

    stale = net.netns_path("ctr-a")
    netns.create(stale)  # as if an engine died after pinning, before recording its lease
    att = net.attach("ctr-a", [])
    # one pin, and it is the new namespace: the stale one had no eth0 (namespace inode numbers are reused, so
    # comparing them would prove nothing)
    assert Path("/proc/self/mountinfo").read_text().count(str(stale)) == 1
    links = subprocess.run(["nsenter", f"--net={att.netns_path}", "ip", "-br", "link"], capture_output=True,
                           text=True, check=True).stdout
    assert "eth0" in links


def test_a_host_ip_this_host_lacks_is_refused_and_leaves_nothing(net: BridgeNetwork) -> None:
    with pytest.raises(InvalidArgument, match=r"host IP 203\.0\.113\.7 in -p 203\.0\.113\.7:\d+->80/tcp is not an "
                                              "address of this host"):
        net.attach("ctr-a", parse_publish(f"203.0.113.7:{free_port()}:80"))
    assert leftovers(net, "ctr-a") == []
