"""Resource lists (``{"requests.cpu": "500m", ...}``) as exact quantities, with the arithmetic quota needs.

Sums keep the format of the left operand, except that a zero takes the format of what is added to it, as
Kubernetes' ``Quantity.Add`` does: so 0 + 512Mi + 512Mi prints ``1Gi`` and 0 + 500m + 1500m prints ``2``, exactly the
strings ``kubectl describe quota`` shows for Kubernetes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

from ..quantity import Format, Quantity, parse

__all__ = [
    "ResourceList", "ZERO", "parse_list", "to_wire", "plus", "minus", "add", "subtract_nonnegative", "mask",
    "is_zero", "exceeded", "pretty", "pretty_names",
]

ResourceList = dict[str, Quantity]
ZERO = Quantity(Fraction(0), Format.DECIMAL_SI)


def parse_list(wire: Mapping[str, str | int] | None) -> ResourceList:
    return {name: parse(amount) for name, amount in (wire or {}).items()}


def to_wire(rl: Mapping[str, Quantity]) -> dict[str, str]:
    return {name: str(q) for name, q in rl.items()}


def plus(a: Quantity, b: Quantity) -> Quantity:
    return Quantity(a.value + b.value, b.format if a.value == 0 else a.format)


def minus(a: Quantity, b: Quantity) -> Quantity:
    return Quantity(a.value - b.value, b.format if a.value == 0 else a.format)


def add(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> ResourceList:
    """Every name of either list; names in both are summed."""
    out = dict(a)
    for name, q in b.items():
        out[name] = plus(out[name], q) if name in out else q
    return out


def subtract_nonnegative(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> ResourceList:
    """``a - b`` per name, never below zero; names only in ``b`` appear as zero (Kubernetes' helper of that name)."""
    out: ResourceList = {}
    for name, q in a.items():
        left = minus(q, b[name]) if name in b else q
        out[name] = left if left.value > 0 else ZERO
    for name in b:
        out.setdefault(name, ZERO)
    return out


def mask(rl: Mapping[str, Quantity], names: Iterable[str]) -> ResourceList:
    keep = set(names)
    return {name: q for name, q in rl.items() if name in keep}


def is_zero(rl: Mapping[str, Quantity]) -> bool:
    return all(q.value == 0 for q in rl.values())


def exceeded(used: Mapping[str, Quantity], hard: Mapping[str, Quantity]) -> list[str]:
    """The names whose ``used`` amount is above ``hard`` (names missing from either are not compared)."""
    return sorted(name for name, limit in hard.items() if name in used and used[name].value > limit.value)


def pretty(rl: Mapping[str, Quantity]) -> str:
    """``limits.cpu=2,requests.cpu=1`` - sorted by name, as quota's messages list resources."""
    return ",".join(f"{name}={rl[name]}" for name in sorted(rl))


def pretty_names(names: Iterable[str]) -> str:
    return ",".join(sorted(names))
