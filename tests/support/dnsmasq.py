"""Debian's dnsmasq as a local DNS server a test starts itself: names from a hosts file, on one loopback address
of its own (127.53.X.Y, port 53), never forwarding anywhere (``--no-resolv``: any other name is NXDOMAIN, as
on the Internet). Stopped, even on failure, by the
context manager."""

from __future__ import annotations

import os
import random
import socket
import subprocess
from pathlib import Path

from support.wait import eventually


class Dnsmasq:
    def __init__(self, workdir: Path, hosts: dict[str, str], address: str = "") -> None:
        """``hosts``: name -> address, the names it answers."""
        self.workdir, self.hosts = Path(workdir), hosts
        self.address = address or f"127.53.{random.randrange(256)}.{random.randrange(2, 255)}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Dnsmasq:
        hosts = self.workdir / f"dnsmasq-{os.getpid()}-{self.address}.hosts"
        hosts.write_text("".join(f"{ip} {name}\n" for name, ip in self.hosts.items()))
        self.proc = subprocess.Popen(
            ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
             f"--addn-hosts={hosts}", f"--listen-address={self.address}", "--bind-interfaces", "--port=53",
             "--address=/#/", "--pid-file=", "--user=root", "--cache-size=10000", "--log-facility=-"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        eventually(self._answers, 10, what=f"dnsmasq answering on {self.address}")
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"dnsmasq exited {self.proc.returncode}: {self.proc.stderr.read()}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01"  # ". A"
            try:
                s.sendto(query, (self.address, 53))
                return s.recv(512)[:2] == b"\x12\x34"
            except OSError:
                return False

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
