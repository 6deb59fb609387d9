"""``resolv.conf`` read and written: the nameservers, search domains and options a stub resolver uses.

The node's file (``/etc/resolv.conf``, or the one ``--resolv-conf`` names, as the kubelet's flag does) is where
pods with ``dnsPolicy: Default`` get their resolver settings, where ``ClusterFirst`` pods get the host's search
domains, and where the cluster DNS finds the upstream servers it forwards other names to. Parsing follows glibc:
``domain`` and ``search`` replace each other (the last one wins), ``options`` accumulate, unknown keywords and
comments are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_PATH", "ResolvConf", "parse", "read"]

DEFAULT_PATH = "/etc/resolv.conf"


@dataclass(frozen=True)
class ResolvConf:
    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()  # "ndots:5", "edns0", ...

    def render(self) -> str:
        lines = [f"nameserver {ns}" for ns in self.nameservers]
        if self.searches:
            lines.append("search " + " ".join(self.searches))
        if self.options:
            lines.append("options " + " ".join(self.options))
        return "".join(f"{line}\n" for line in lines)


def parse(text: str) -> ResolvConf:
    nameservers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if not words:
            continue
        key, args = words[0], words[1:]
        if key == "nameserver" and args:
            nameservers.append(args[0])
        elif key in ("search", "domain"):
            searches = args if key == "search" else args[:1]
        elif key == "options":
            options.extend(args)
    return ResolvConf(tuple(nameservers), tuple(searches), tuple(options))


def read(path: str | Path = DEFAULT_PATH) -> ResolvConf:
    """The file's settings; an absent or unreadable file reads as empty (glibc then asks 127.0.0.1)."""
    try:
        return parse(Path(path).read_text())
    except OSError:
        return ResolvConf()
