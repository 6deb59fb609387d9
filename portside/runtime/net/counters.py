"""A network namespace's interface counters, read through one of its processes (``/proc/PID/net/dev``)."""

from __future__ import annotations

from portside.runtime.plain import Plain


class InterfaceCounters(Plain):
    """docker's per-interface ``networks`` entry of its stats."""

    __slots__ = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets", "tx_errors",
                 "tx_dropped")

    def __init__(self, rx_bytes: int = 0, rx_packets: int = 0, rx_errors: int = 0, rx_dropped: int = 0,
                 tx_bytes: int = 0, tx_packets: int = 0, tx_errors: int = 0, tx_dropped: int = 0) -> None:
        self.rx_bytes, self.rx_packets, self.rx_errors, self.rx_dropped = rx_bytes, rx_packets, rx_errors, rx_dropped
        self.tx_bytes, self.tx_packets, self.tx_errors, self.tx_dropped = tx_bytes, tx_packets, tx_errors, tx_dropped

    def to_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


def interface_counters(pid: int) -> dict[str, InterfaceCounters]:
    """Every interface but loopback in the network namespace of ``pid``; empty when the process is gone."""
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.readlines()[2:]
    except OSError:
        return {}
    out = {}
    for line in lines:
        name, _, rest = line.partition(":")
        name, values = name.strip(), [int(v) for v in rest.split()]
        if name != "lo" and len(values) >= 12:
            # receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets errs drop
            out[name] = InterfaceCounters(values[0], values[1], values[2], values[3], values[8], values[9],
                                          values[10], values[11])
    return out
