"""The binder seam: what the scheduler core asks of the world once it has decided.

The core never talks to an API itself. It calls a Binder: the simulator's ``InMemoryBinder`` records decisions
and applies them at once; the daemon's API binder (``apibinder.py``) sends pods/binding, evictions, nominations
and PodScheduled conditions through the client. ``bind`` returns True (bound now), False (refused: conflict or
pod gone; the core unreserves and retries with back-off) or None (in flight; the outcome comes back through
``Scheduler.bind_done``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from portside.scheduler.model import PodInfo


class Binder(Protocol):
    def bind(self, pod: PodInfo, node: str) -> bool | None: ...

    def evict(self, victim: PodInfo, preemptor: PodInfo, node: str) -> None: ...

    def nominate(self, pod: PodInfo, node: str) -> None: ...

    def refuse(self, pod: PodInfo, message: str) -> None: ...


@dataclass
class InMemoryBinder:
    """Binds by recording; ``on_evict`` lets the simulator remove victims and re-queue them."""

    bound: dict[str, str] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)
    nominations: dict[str, str] = field(default_factory=dict)
    evicted: list[tuple[str, str, str]] = field(default_factory=list)
    on_bind: Callable[[PodInfo, str], None] | None = None
    on_evict: Callable[[PodInfo, PodInfo, str], None] | None = None

    def bind(self, pod: PodInfo, node: str) -> bool:
        self.bound[pod.uid] = node
        self.refusals.pop(pod.uid, None)
        if self.on_bind is not None:
            self.on_bind(pod, node)
        return True

    def evict(self, victim: PodInfo, preemptor: PodInfo, node: str) -> None:
        self.evicted.append((victim.uid, preemptor.uid, node))
        self.bound.pop(victim.uid, None)
        if self.on_evict is not None:
            self.on_evict(victim, preemptor, node)

    def nominate(self, pod: PodInfo, node: str) -> None:
        self.nominations[pod.uid] = node

    def refuse(self, pod: PodInfo, message: str) -> None:
        self.refusals[pod.uid] = message
