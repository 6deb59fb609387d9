"""The engine's DNS responder: container names answered to the containers of user-defined networks.

Docker's embedded DNS answers at 127.0.0.11 inside each container (a listener per container namespace, reached
through a DNAT rule there). Portside answers on each user network's gateway address instead, and a container on a
user network has that address as the nameserver of its ``/etc/resolv.conf`` (with the host's search domains and
options). Why: nothing per container (no socket opened in each namespace, no nftables table inside it), so a start
costs only the resolv.conf it writes anyway; the gateway is on the container's own link, so it needs no route
and no rule; and the querier is known by its source address, unique across the engine's non-overlapping
subnets. A container on several networks asks one nameserver and is answered, as under docker, for the names of
every network it is on; when it leaves the network whose gateway its resolv.conf names, the engine rewrites the
file (a bind mount, rewritten in place) with the gateway of a network it is still on.

What is answered, as docker's embedded DNS: a container's name, its short (12-character) id and its network
aliases, alone or followed by ``.NETWORK``, each with the container's address on the networks it shares with the
querier (an alias several containers share gives all of them); the reverse (PTR) names of those addresses; NODATA
for other types of those names. Other names are forwarded to the upstream resolvers of the host's resolv.conf
(``ROOT/engine.json`` may name another file as ``resolv_conf``), from the host's namespace, so loopback resolvers
work too; a querier that is only on ``--internal`` networks gets REFUSED for them (nothing leaves an internal
network), and so does an address that is no container of a user network.

Where it runs: one process per engine root (``portside-dns``, ``resolverd.py``), started on demand by the engine
(network create, a container's attach, the daemon's start) and independent of every other process, so that
containers resolve with or without ``portside daemon``, across restarts of the daemon and of the commands that
started them. The engine talks to it over ``ROOT/networks/dns.sock``: ``sync`` makes it re-read the networks and listen on each
gateway before it answers, so a container started right after ``network create`` is answered from its first
query; with no network left, it ends. The names themselves are read from the networks' lease tables (``names``
of each lease), stat-checked at each query, so an attach or a ``connect --alias`` is seen at once.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

SOCKET, LOCK, SPAWN_LOCK, LOG = "dns.sock", "dns.lock", "dns.spawn.lock", "dns.log"
TTL = 600  # docker's
SYNC_TIMEOUT_S = 30.0
SPAWN_TRIES = 20
PROCESS_NAME = "portside-dns"


# -- the engine's side -----------------------------------------------------------------------------------------

def sync(root: Path, required: bool = True, word: str = "sync") -> None:
    """The responder serves the networks as they are now: told so if it runs, started if not (and needed).
    ``required``: raise NetworkError when it cannot be reached or started; else a failure is left for the next
    sync (a removal must not fail because DNS is down)."""
    from portside.runtime.errors import NetworkError

    directory = Path(root) / "networks"
    try:
        if _tell(directory, word) is not None:
            return
        if not _has_networks(directory):
            return
        import fcntl

        with open(directory / SPAWN_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            _tell_or_spawn(Path(root), word)
    except NetworkError:
        if required:
            raise


def _tell_or_spawn(root: Path, word: str) -> None:
    """Under the spawn lock. A responder that is ending (its last network went) still holds its lock for a
    moment, and a new one then says "busy" and leaves: so a few tries, a tenth of a second apart."""
    import time

    from portside.runtime.errors import NetworkError

    directory = root / "networks"
    for attempt in range(SPAWN_TRIES):
        if _tell(directory, word if attempt == 0 else "sync") is not None:
            return
        _spawn(root)
        if _tell(directory, "sync") is not None:
            return
        time.sleep(0.1)
    raise NetworkError(f"the DNS responder of {root} does not answer (see {directory / LOG})")


def ensure(root: Path) -> None:
    """At a container's attach: the responder runs (after a reboot or a kill, it is started again); its
    listeners already follow the networks. A failure does not keep the container from starting."""
    sync(root, required=False, word="ping")


def stop(root: Path) -> None:
    """End the responder, if it runs (engine clean-up)."""
    _tell(Path(root) / "networks", "stop")


def _has_networks(directory: Path) -> bool:
    try:
        return any(len(e.name) == 64 for e in directory.iterdir())
    except FileNotFoundError:
        return False


def _tell(directory: Path, word: str) -> str | None:
    """Send one command; its answer, or None when no responder listens. An error answer raises NetworkError."""
    from portside.runtime.attach import Address
    from portside.runtime.errors import NetworkError

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(SYNC_TIMEOUT_S)
    address = Address(directory / SOCKET)  # a root deep enough to make the path too long for an address
    try:
        sock.connect(address.name)
        sock.sendall(word.encode() + b"\n")
        answer = sock.makefile().readline().strip()
    except (FileNotFoundError, ConnectionRefusedError, BrokenPipeError, ConnectionResetError):
        return None  # none listens, or one that was ending closed the connection it had queued
    except OSError as err:
        raise NetworkError(f"the DNS responder of {directory.parent} did not answer: {err}") from None
    finally:
        sock.close()
        address.close()
    if answer.startswith("error"):
        raise NetworkError(f"DNS for user networks: {answer[6:]}")
    return answer or None


def _spawn(root: Path) -> None:
    """Start the responder in a session of its own (``setsid -f``: nobody's child) and wait until it listens."""
    from portside.runtime.errors import NetworkError

    directory = root / "networks"
    ready_r, ready_w = os.pipe()
    try:
        with open(directory / LOG, "a") as log:
            argv = ["setsid", "-f", sys.executable, "-m", "portside.engine.resolverd", str(root), str(ready_w)]
            subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(ready_w,), check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        os.close(ready_r)
        raise NetworkError(f"cannot start the DNS responder: {err}") from None
    finally:
        os.close(ready_w)
    with os.fdopen(ready_r) as ready:
        said = ready.readline().strip()  # EOF (empty) when it died first
    if said not in ("ready", "busy"):
        raise NetworkError(f"the DNS responder did not start: {said or 'it exited'} (see {directory / LOG})")


# -- what is answered (pure) -----------------------------------------------------------------------------------

class Member:
    """One container on one network: its address there and the names it answers to."""

    __slots__ = ("cid", "ip", "names")

    def __init__(self, cid: str, ip: str, names: list[str]) -> None:
        self.cid, self.ip, self.names = cid, ip, [n.lower() for n in names]


class Net:
    __slots__ = ("name", "internal", "members")

    def __init__(self, name: str, internal: bool, members: list[Member]) -> None:
        self.name, self.internal, self.members = name, internal, members


def querier(nets: list[Net], source: str) -> tuple[str, list[Net]]:
    """The container at ``source`` and the networks it is on; ("", []) for an address that is none of them."""
    cid = next((m.cid for net in nets for m in net.members if m.ip == source), "")
    return cid, [net for net in nets if cid and any(m.cid == cid for m in net.members)]


def addresses(shared: list[Net], name: str) -> list[str]:
    """The addresses ``name`` (lower case, no trailing dot) has on the networks the querier is on."""
    found = []
    for net in shared:
        local = name[:-len(net.name) - 1] if name.endswith("." + net.name.lower()) else name
        found += [m.ip for m in net.members if local in m.names and m.ip not in found]
    return found


def pointer(shared: list[Net], ip: str) -> str:
    """``NAME.NETWORK`` of the container at ``ip`` on a shared network, or ""."""
    for net in shared:
        for m in net.members:
            if m.ip == ip and m.names:
                return f"{m.names[0]}.{net.name}"
    return ""


def reverse_ip(name: str) -> str:
    """``4.3.2.1.in-addr.arpa`` -> ``1.2.3.4``; "" for any other name."""
    labels = name.split(".")
    if labels[-2:] != ["in-addr", "arpa"] or len(labels) != 6:
        return ""
    try:
        return str(ipaddress.IPv4Address(".".join(reversed(labels[:4]))))
    except ValueError:
        return ""
