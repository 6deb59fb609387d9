"""Backend selection, pure: no sockets, no clock of its own, a seeded ``random.Random`` where chance is involved.

A ``Balancer`` holds one Service port's ready backends and how many connections each has open through this
process. ``pick`` chooses a backend for a new connection and counts it; ``release`` uncounts it when that
connection ends. Replacing the backend set keeps the counts of backends that stay (their connections are still
open) and forgets those that left: a departed backend is never picked again, and its connections end on their
own (draining). A release for a backend no longer present is ignored.

Why three algorithms: round-robin is exact and cheapest; least-connections avoids a slow backend, whose
connections pile up; power-of-two-choices (two random candidates, the less loaded wins) gets most of that
benefit without scanning every backend, and does not herd every new connection onto one momentarily idle
backend the way least-connections does when several proxies make the same choice at once.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ALGORITHMS", "Affinity", "Backend", "Balancer", "UnknownAlgorithm", "make_balancer"]


@dataclass(frozen=True, slots=True, order=True)
class Backend:
    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


class UnknownAlgorithm(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f'unknown lb-algorithm "{name}" (expected one of: {", ".join(ALGORITHMS)})')


class Balancer:
    """Round-robin; the base of the others, which override ``_choose``."""

    name = "round-robin"

    def __init__(self, backends: Sequence[Backend] = (), rng: random.Random | None = None) -> None:
        self.backends: list[Backend] = []
        self.active: dict[Backend, int] = {}
        self._next = 0
        self._rng = rng or random.Random()
        self.update(backends)

    def update(self, backends: Sequence[Backend]) -> None:
        """Replace the ready set; counts of backends that remain are kept."""
        self.backends = list(backends)
        self.active = {b: self.active.get(b, 0) for b in self.backends}

    def pick(self) -> Backend | None:
        """The backend for a new connection (counted as open), or None when none is ready."""
        if not self.backends:
            return None
        backend = self._choose()
        self.active[backend] += 1
        return backend

    def release(self, backend: Backend) -> None:
        if self.active.get(backend, 0) > 0:
            self.active[backend] -= 1

    def _choose(self) -> Backend:
        self._next = (self._next + 1) % len(self.backends)
        return self.backends[self._next]


class LeastConnections(Balancer):
    """The backend with the fewest open connections; ties go round-robin so an idle pool still spreads."""

    name = "least-connections"

    def _choose(self) -> Backend:
        n = len(self.backends)
        start = self._next = (self._next + 1) % n
        best = self.backends[start]
        for i in range(1, n):
            candidate = self.backends[(start + i) % n]
            if self.active[candidate] < self.active[best]:
                best = candidate
        return best


class PowerOfTwo(Balancer):
    """Two distinct random backends; the one with fewer open connections wins (the first on a tie)."""

    name = "power-of-two-choices"

    def _choose(self) -> Backend:
        if len(self.backends) == 1:
            return self.backends[0]
        a, b = self._rng.sample(self.backends, 2)
        return b if self.active[b] < self.active[a] else a


ALGORITHMS: dict[str, type[Balancer]] = {cls.name: cls for cls in (Balancer, LeastConnections, PowerOfTwo)}


def make_balancer(algorithm: str, backends: Sequence[Backend] = (), rng: random.Random | None = None) -> Balancer:
    cls = ALGORITHMS.get(algorithm)
    if cls is None:
        raise UnknownAlgorithm(algorithm)
    return cls(backends, rng)


class Affinity:
    """sessionAffinity ClientIP: a client keeps its backend while it returns within ``timeout`` seconds.

    Time is passed in (``now``), so the table is tested without waiting. A remembered backend that is no longer
    ready is forgotten and the client gets a fresh pick.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._seen: dict[str, tuple[Backend, float]] = {}

    def pick(self, balancer: Balancer, client_ip: str, now: float) -> Backend | None:
        held = self._seen.get(client_ip)
        if held is not None and now - held[1] < self.timeout and held[0] in balancer.active:
            balancer.active[held[0]] += 1
            backend = held[0]
        else:
            backend = balancer.pick()
        if backend is not None:
            self._seen[client_ip] = (backend, now)
        return backend

    def expire(self, now: float) -> None:
        self._seen = {ip: held for ip, held in self._seen.items() if now - held[1] < self.timeout}
