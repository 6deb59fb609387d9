"""The engine's DNS responder process (``portside-dns``): what ``resolver._spawn`` starts, one per engine root.

It listens on every user network's gateway (UDP and TCP, port 53, through ``runtime.net.dnsserver``), answers
from the networks' lease tables with the rules of ``resolver`` (see its docstring), forwards other names to the
host's resolvers, and takes ``sync``, ``ping`` and ``stop`` on ``ROOT/networks/dns.sock``. A lock file makes it
the root's only one; it ends with its last network, on SIGTERM, or when the root is deleted.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from portside.engine.resolver import (
    LOCK,
    PROCESS_NAME,
    SOCKET,
    TTL,
    Member,
    Net,
    addresses,
    pointer,
    querier,
    reverse_ip,
)


class Responder:
    """Listeners on every user network's gateway, answering from the lease tables."""

    def __init__(self, root: Path) -> None:
        from portside.engine.networks import Networks
        from portside.engine.records import read_json

        try:
            settings = read_json(root / "engine.json")
        except FileNotFoundError:
            settings = {}
        self.root, self.settings = root, settings
        self.networks = Networks(root, settings)
        self.records: list = []
        self.servers: dict[str, object] = {}  # gateway -> DNSServer
        self.forwarder = None
        self._cache: tuple[tuple, list[Net]] = ((), [])

    async def sync(self) -> str:
        """Listen on the gateways of the networks as they are now; "" or what failed."""
        from portside.runtime.net.dnsforward import Forwarder
        from portside.runtime.net.dnsserver import DNSServer
        from portside.runtime.net.resolvconf import read

        self.records = self.networks.user_networks()
        wanted = {r.gateway for r in self.records}
        for gateway in set(self.servers) - wanted:
            await self.servers.pop(gateway).close()
        errors = []
        for gateway in sorted(wanted - set(self.servers)):
            server = DNSServer(self.resolve, gateway, 53)
            try:
                await server.start()
            except OSError as err:
                await server.close()
                errors.append(f"cannot listen on {gateway}:53: {err.strerror or err}")
                continue
            self.servers[gateway] = server
        upstreams = list(read(self.settings.get("resolv_conf") or "/etc/resolv.conf").nameservers)
        self.forwarder = Forwarder(upstreams, own=wanted)
        self._cache = ((), [])
        return "; ".join(errors)

    def view(self) -> list[Net]:
        """The networks' members, re-read only when a lease table changed (a stat per network per query)."""
        stamps = tuple(_stamp(self.networks.dir / r.id / f"{r.bridge}.leases.json") for r in self.records)
        if stamps != self._cache[0]:
            nets = []
            for record in self.records:
                leases = self.networks.bridge(record).leases()
                nets.append(Net(record.name, record.internal,
                                [Member(cid, lease.ip, lease.names) for cid, lease in leases.items()]))
            self._cache = (stamps, nets)
        return self._cache[1]

    async def resolve(self, query, client: tuple):
        import dns.flags
        import dns.message
        import dns.rcode
        import dns.rdatatype
        import dns.rrset

        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if len(query.question) != 1 or query.opcode() != 0:
            response.set_rcode(dns.rcode.NOTIMP if query.question else dns.rcode.FORMERR)
            return response, False
        _cid, shared = querier(self.view(), client[0] if client else "")
        if not shared:
            response.set_rcode(dns.rcode.REFUSED)
            return response, False
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        reverse = reverse_ip(name)
        ptr = pointer(shared, reverse) if reverse else ""
        found = [] if ptr else addresses(shared, name)
        if ptr or found:
            response.flags |= dns.flags.AA
            if ptr and question.rdtype == dns.rdatatype.PTR:
                response.answer.append(dns.rrset.from_text(question.name, TTL, "IN", "PTR", ptr + "."))
            elif found and question.rdtype == dns.rdatatype.A:
                response.answer.append(dns.rrset.from_text(question.name, TTL, "IN", "A", *found))
            return response, False  # NODATA for other types of our names
        if all(net.internal for net in shared):
            response.set_rcode(dns.rcode.REFUSED)
            return response, False
        forwarded = await self.forwarder.ask(query)
        if forwarded is None:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response, False
        return forwarded, False

    async def close(self) -> None:
        for server in self.servers.values():
            await server.close()
        self.servers.clear()


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_ino)


async def _serve(root: Path, ready_fd: int) -> int:
    import asyncio
    import fcntl
    import logging
    import signal

    directory = root / "networks"
    lock = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        _say(ready_fd, "busy")  # another responder serves this root; the spawner talks to it
        return 0
    responder = Responder(root)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)

    async def command(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        word = (await reader.readline()).decode().strip()
        if word == "sync":
            errors = await responder.sync()
            writer.write((f"error {errors}" if errors else "ok").encode() + b"\n")
            if not responder.records:
                done.set()  # no network left to serve
        elif word == "ping":
            writer.write(b"ok\n")
        elif word == "stop":
            writer.write(b"ok\n")
            done.set()
        else:
            writer.write(b"error unknown command\n")
        await writer.drain()
        writer.close()

    from portside.runtime.attach import Address

    errors = await responder.sync()
    (directory / SOCKET).unlink(missing_ok=True)  # a stale socket of a responder that was killed: the lock is ours
    address = Address(directory / SOCKET)
    try:
        control = await asyncio.start_unix_server(command, path=address.name)
    finally:
        address.close()
    os.chmod(directory / SOCKET, 0o600)
    if errors:
        logging.warning("%s", errors)  # and each sync answers them to the engine, which reports them
    _say(ready_fd, "ready")
    try:
        while not done.is_set() and directory.is_dir():
            try:
                await asyncio.wait_for(done.wait(), 10.0)  # also wakes now and then: a deleted root ends it
            except TimeoutError:
                pass
    finally:
        control.close()
        (directory / SOCKET).unlink(missing_ok=True)
        await responder.close()
    return 0


def _say(fd: int, line: str) -> None:
    try:
        os.write(fd, line.encode() + b"\n")
        os.close(fd)
    except OSError:
        pass


def main(argv: list[str]) -> int:
    """``python -m portside.engine.resolverd ROOT READY_FD``: what ``_spawn`` runs."""
    import asyncio
    import logging

    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {PROCESS_NAME} %(levelname)s %(message)s")
    with open("/proc/self/comm", "w") as comm:
        comm.write(PROCESS_NAME)
    started = time.monotonic()
    code = asyncio.run(_serve(Path(argv[0]), int(argv[1])))
    logging.info("stopped after %.0f s", time.monotonic() - started)
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
