"""Reclaiming shared network namespaces whose owner is gone.

A namespace that containers join by path (``--network ns:PATH``) is a bridge attachment made for its owner, not
for any container: removing its containers leaves it, as it should, since the owner may start more. The owner
names paths when it attaches (see ``BridgeNetwork.attach``); if one disappears (the owner removed its marker,
or its whole state directory was deleted along with the program that would have cleaned up), nobody is left to
detach the namespace, its veth and its address. So the engine does, as soon as no running container is inside:
when its daemon starts, and when a container that had joined such a namespace is removed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from portside.runtime.errors import PortsideError

log = logging.getLogger("portside.engine")


def reclaim(engine) -> list[str]:
    """Detach every attachment whose owner is gone and that no running container joins; the ids detached."""
    network = engine.network
    if not network.orphans():  # the usual case, and a cheap one: no container is inspected
        return []
    inside = joined(engine, running_only=True)
    busy = {cid for cid in network.orphans() if str(network.netns_path(cid)) in inside}
    gone = network.detach_orphans(busy)
    for cid in gone:
        log.info("detached network namespace %s: its owner is gone", cid)
    return gone


def after_remove(engine) -> None:
    """After the removal of a container that had joined a shared namespace: perhaps it was the last one in a
    namespace whose owner is gone. A failure here is about that namespace, not the removal: logged, not raised."""
    try:
        reclaim(engine)
    except PortsideError as exc:
        log.warning("reclaiming shared network namespaces: %s", exc)


def joined(engine, running_only: bool = False) -> dict[str, list[str]]:
    """Namespace path -> ids of the containers that join it (``ns:PATH``), running ones only if asked."""
    out: dict[str, list[str]] = {}
    for c in engine.containers(all=True):
        mode = c.record.host.network_mode
        if mode.startswith("ns:") and (c.state.live or not running_only):
            out.setdefault(str(Path(mode[3:])), []).append(c.record.id)
    return out
