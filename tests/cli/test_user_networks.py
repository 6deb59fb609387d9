"""User-defined networks through the CLI, as docker's: real bridges and nftables isolation, and names answered by
the engine's DNS responder to busybox's nslookup and ping inside the containers. Other names go to a dnsmasq the
test starts on loopback, named as the only upstream (``resolv_conf`` in engine.json): nothing leaves the host."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.dnsmasq import Dnsmasq
from support.engineroot import cleanup, make_root
from support.require import require
from support.wait import eventually

OUTSIDE = {"outside.example.test": "192.0.2.7"}  # what only the upstream knows


@pytest.fixture
def upstream(portside):
    """A dnsmasq answering OUTSIDE, and the root's engine.json naming it as the host's only resolver."""
    require("dnsmasq")
    with Dnsmasq(portside.root, OUTSIDE) as dnsmasq:
        resolv = portside.root / "resolv.conf"
        # no search domain: busybox's nslookup would ask NAME.DOMAIN alone for a single label (its C library's
        # resolver asks NAME first, with the ndots:0 the engine writes)
        resolv.write_text(f"nameserver {dnsmasq.address}\noptions timeout:1 attempts:2\n")
        settings = json.loads((portside.root / "engine.json").read_text())
        (portside.root / "engine.json").write_text(json.dumps({**settings, "resolv_conf": str(resolv)}))
        yield dnsmasq


def lookups(portside, *names: str, network: str = "", where: str = "") -> dict[str, str]:
    """The address each name has for a container on ``network`` (a new one) or for ``where`` (by exec), asked
    with busybox's nslookup; "" for a name it could not resolve."""
    script = "".join(f"echo '== {name}'; nslookup {name} 2>&1; " for name in names)
    argv = ("exec", where) if where else ("run", "--rm", "--network", network, "busybox")
    out = portside(*argv, "sh", "-c", script, check=False).stdout
    found = {}
    for section in out.split("== ")[1:]:
        name, _, rest = section.partition("\n")
        answers = rest.split("Name:", 1)[1] if "Name:" in rest else ""
        found[name] = next((line.split()[-1] for line in answers.splitlines() if line.startswith("Address")), "")
    return found


def lookup(portside, name: str, where: str) -> str:
    return lookups(portside, name, where=where)[name]


def address(portside, container: str, network: str) -> str:
    return portside.inspect(container)["NetworkSettings"]["Networks"][network]["IPAddress"]


def bridge_of(portside, network: str) -> str:
    return json.loads(portside("network", "inspect", network).stdout)[0]["Options"]["com.docker.network.bridge.name"]


def test_containers_on_a_network_resolve_each_other_and_nothing_crosses_networks(portside, upstream) -> None:
    portside("network", "create", "front")
    portside("network", "create", "back")
    bridges = [bridge_of(portside, "front"), bridge_of(portside, "back")]
    web = portside("run", "-d", "--name", "web", "--network", "front", "--network-alias", "www", "busybox",
                   "sleep", "600").stdout.strip()
    portside("run", "-d", "--name", "db", "--network", "back", "busybox", "sleep", "600")
    web_ip, db_ip = address(portside, "web", "front"), address(portside, "db", "back")
    assert web_ip and db_ip and web_ip.rsplit(".", 1)[0] != db_ip.rsplit(".", 1)[0]  # subnets of their own
    names = ("web", "www", web[:12], "web.front", "WEB", "outside.example.test", "db")
    assert lookups(portside, *names, network="front") == {
        **dict.fromkeys(names[:5], web_ip),
        "outside.example.test": "192.0.2.7",  # forwarded to the upstream
        "db": ""}  # another network's container: not answered
    assert lookups(portside, "web", "db", network="back") == {"web": "", "db": db_ip}
    out = portside("run", "--rm", "--network", "front", "busybox", "sh", "-c",
                   f"cat /etc/resolv.conf; ping -c1 -W2 web >/dev/null && echo reached; "
                   f"ping -c1 -W1 {db_ip} >/dev/null || echo isolated").stdout
    gateway = portside.inspect("web")["NetworkSettings"]["Networks"]["front"]["Gateway"]
    assert f"nameserver {gateway}\noptions timeout:1 attempts:2 ndots:0\n" in out
    assert "reached" in out and "isolated" in out
    assert portside.inspect("web")["NetworkSettings"]["IPAddress"] == ""  # docker's: the default bridge's only

    refused = portside("network", "rm", "front", check=False)
    assert refused.returncode == 1
    assert refused.stderr == (f'portside: error while removing network: network front has active endpoints '
                              f'(name:"web" id:"{web[:12]}")\n')
    portside("rm", "-f", "web", "db")
    portside("network", "rm", "front", "back")
    assert portside.leftovers() == [] and portside.network_leftovers(bridges) == []


def test_connect_and_disconnect_a_running_container(portside, upstream) -> None:
    portside("network", "create", "front")
    portside("network", "create", "back", "--subnet", "10.89.250.0/24")
    portside("run", "-d", "--name", "app", "--network", "front", "busybox", "sleep", "600")
    portside("run", "-d", "--name", "cache", "--network", "back", "busybox", "sleep", "600")
    assert lookup(portside, "cache", "app") == ""

    portside("network", "connect", "--alias", "api", "--ip", "10.89.250.77", "back", "app")
    assert address(portside, "app", "back") == "10.89.250.77"
    assert portside("exec", "app", "ip", "-o", "-4", "addr", "show", "eth1").stdout.split()[3] == "10.89.250.77/24"
    assert lookup(portside, "cache", "app") == address(portside, "cache", "back")
    assert lookups(portside, "api", "app", where="cache") == {"api": "10.89.250.77", "app": "10.89.250.77"}
    taken = portside("network", "connect", "back", "app", check=False)
    assert taken.stderr == "portside: endpoint with name app already exists in network back\n"

    portside("network", "disconnect", "back", "app")
    assert "eth1" not in portside("exec", "app", "ip", "-o", "link").stdout
    assert lookup(portside, "cache", "app") == "" and lookup(portside, "api", "cache") == ""
    not_there = portside("network", "disconnect", "back", "app", check=False)
    assert not_there.stderr.startswith("portside: container ") and "is not connected to network back" in \
        not_there.stderr

    portside("stop", "-t", "0", "app")  # connected while stopped: attached at the next start
    portside("network", "connect", "back", "app")
    portside("start", "app")
    assert set(portside.inspect("app")["NetworkSettings"]["Networks"]) == {"front", "back"}
    assert lookup(portside, "cache", "app") == address(portside, "cache", "back")


def test_two_roots_creating_networks_at_once_never_pick_the_same_block(portside, tmp_path_factory,
                                                                       busybox_rootfs_tar) -> None:
    """An engine sees another root's block as taken once its bridge's route exists: without the host's lock
    over the pick and the bridge, two creates at once took the same block (and the second's DNS responder found
    the gateway's port 53 taken)."""
    other = make_root(tmp_path_factory.mktemp("other"), busybox_rootfs_tar)
    try:
        with ThreadPoolExecutor(8) as pool:
            for job in [pool.submit(ps, "network", "create", f"race{i}") for i in range(4) for ps in (portside, other)]:
                job.result()
        subnets = {json.loads(ps("network", "inspect", f"race{i}").stdout)[0]["IPAM"]["Config"][0]["Subnet"]
                   for i in range(4) for ps in (portside, other)}
        assert len(subnets) == 8
    finally:
        cleanup(other)


def test_network_commands_and_their_refusals(portside) -> None:
    created = portside("network", "create", "--label", "team=a", "--internal", "quiet").stdout.strip()
    assert len(created) == 64
    info = json.loads(portside("network", "inspect", "quiet").stdout)[0]
    subnet = info["IPAM"]["Config"][0]["Subnet"]
    assert (info["Id"], info["Driver"], info["Internal"], info["Labels"]) == (created, "bridge", True, {"team": "a"})
    second = json.loads(portside("network", "inspect", portside("network", "create", "loud").stdout.strip()[:12])
                        .stdout)[0]
    assert second["IPAM"]["Config"][0]["Subnet"] != subnet  # the pool's next block, not the same
    assert portside("network", "ls", "--format", "json").stdout.count('"Name"') == 5  # with bridge, host, none
    assert portside("network", "ls", "-q").stdout.split()[3:] == [created[:12], second["Id"][:12]]

    def fails(*args: str) -> str:
        proc = portside(*args, check=False)
        assert proc.returncode != 0, args
        return proc.stderr

    assert fails("network", "create", "quiet") == "portside: network with name quiet already exists\n"
    assert fails("network", "create", "--subnet", subnet, "again").startswith(
        "portside: invalid pool request: Pool overlaps with other one on this address space")
    assert fails("network", "create", "--subnet", "10.77.0.0/24", "--gateway", "10.78.0.1", "gw") == \
        'portside: gateway "10.78.0.1" is not a host address of subnet 10.77.0.0/24\n'
    assert fails("network", "inspect", "nosuch") == "portside: network nosuch not found\n"
    assert fails("network", "rm", "bridge") == "portside: bridge is a pre-defined network and cannot be removed\n"
    assert fails("run", "--rm", "--network", "nosuch", "busybox", "true") == "portside: network nosuch not found\n"
    assert fails("run", "--rm", "--network-alias", "x", "busybox", "true").startswith(
        "portside: network-scoped aliases are supported only")
    assert fails("run", "--rm", "--network", "quiet", "-p", "8080:80", "busybox", "true").startswith(
        "portside: -p cannot be used with network quiet: it is internal")
    internal = portside("run", "--rm", "--network", "quiet", "busybox", "ip", "route").stdout
    assert "default" not in internal  # nothing leaves an internal network

    bridges = [bridge_of(portside, "quiet"), second["Options"]["com.docker.network.bridge.name"]]
    assert portside("network", "prune", "-f").stdout == "Deleted Networks:\nquiet\nloud\n"
    assert portside.network_leftovers(bridges) == []


def test_a_published_port_on_a_user_network(portside, upstream) -> None:
    from support.net import http_get

    portside("network", "create", "front")
    port = portside.free_port()
    portside("run", "-d", "--name", "site", "--network", "front", "-p", f"{port}:80", "busybox", "sh", "-c",
             "mkdir -p /w && echo on-front > /w/index.html && exec httpd -f -p 80 -h /w")
    assert http_get(f"http://127.0.0.1:{port}/") == "on-front\n"
    assert portside("port", "site").stdout == f"80/tcp -> 0.0.0.0:{port}\n"


class Daemon:
    """``portside daemon`` for the root, stopped by SIGTERM."""

    def __init__(self, portside) -> None:
        self.log = portside.root / "daemon-test.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "portside", "--root", str(portside.root), "daemon"],
                                     stderr=open(self.log, "w"))
        eventually(lambda: "serving" in self.log.read_text() or self.proc.poll() is not None, 30,
                   what="the daemon to serve")
        assert self.proc.poll() is None, self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


def test_names_survive_a_daemon_restart_and_a_reboot_like_cleanup(portside, upstream) -> None:
    # The cleanup below deletes the network's bridge, which frees its subnet on this host: another engine root of
    # a test running beside this one could take it meanwhile (its DNS responder then holds the gateway's port 53).
    # So this network's subnet comes from a pool no other test draws from.
    settings = json.loads((portside.root / "engine.json").read_text())
    settings["default_address_pools"] = [{"base": "10.92.0.0/16", "size": 24}]
    (portside.root / "engine.json").write_text(json.dumps(settings))
    daemon = Daemon(portside)
    try:
        portside("network", "create", "front")
        bridge = bridge_of(portside, "front")
        portside("run", "-d", "--name", "web", "--network", "front", "--restart", "always", "busybox",
                 "sleep", "600")
        portside("run", "-d", "--name", "client", "--network", "front", "busybox", "sleep", "600")
        web_ip = address(portside, "web", "front")
    finally:
        daemon.stop()
    assert lookup(portside, "web", "client") == web_ip  # with no daemon at all

    # What a reboot leaves: no process, bridge, table or namespace pin; the engine root as it was.
    inits = [portside.inspect(name)["State"]["Pid"] for name in ("web", "client")]
    for pid in portside.processes():  # the monitors first (they would record the exits), and the DNS responder
        os.kill(pid, signal.SIGKILL)
    for pid in inits:
        os.kill(pid, signal.SIGKILL)
    eventually(lambda: not portside.processes(), 10, what="every process of the root to end")
    subprocess.run(["ip", "link", "del", bridge], check=True)
    subprocess.run(["nft", "delete", "table", "ip", f"portside_{bridge}"], check=True)
    for pin in (portside.root / "networks" / "netns").iterdir():
        subprocess.run(["umount", str(pin)], check=True)

    daemon = Daemon(portside)  # its first look brings back what runs --restart always, and DNS with it
    try:
        assert portside.inspect("web")["State"]["Status"] == "running"
        assert portside.inspect("client")["State"]["Status"] == "exited"
        portside("start", "client")
        assert lookup(portside, "web", "client") == address(portside, "web", "front")
    finally:
        daemon.stop()
