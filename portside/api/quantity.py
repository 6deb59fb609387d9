"""Kubernetes resource quantities, parsed exactly.

The grammar is k8s.io/apimachinery's ``resource.Quantity``::

    <quantity>  ::= <sign>? <number> <suffix>
    <number>    ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
    <suffix>    ::= Ki | Mi | Gi | Ti | Pi | Ei              (binary SI)
                  | n | u | m | "" | k | M | G | T | P | E   (decimal SI)
                  | (e|E) <sign>? <digits>                   (decimal exponent)

Values are ``Fraction``s, never floats, so ``0.1 + 0.2`` CPU is exactly ``300m``. As in Kubernetes, a non-zero
value finer than one nano-unit is rounded up to 1n ("if you ask for some resource you get some"), and the
suffix family a quantity was written in is remembered so that :func:`canonical` formats it the same way the
Kubernetes API server does (``1.5Gi`` -> ``1536Mi``, ``0.1`` -> ``100m``, ``1e3`` -> ``1e3``).
"""

from __future__ import annotations

import enum
import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "Format",
    "Quantity",
    "QuantityError",
    "FORMAT_MESSAGE",
    "SUFFIX_MESSAGE",
    "parse",
    "parse_quantity",
    "canonical",
    "format_quantity",
    "cpu_millis",
    "to_bytes",
]

FORMAT_MESSAGE = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
SUFFIX_MESSAGE = "unable to parse quantity's suffix"

_SHAPE = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*)([-+]?[0-9]*)")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exp: suffix for suffix, exp in _DECIMAL.items()}
_BINARY_SUFFIX = {exp // 10: suffix for suffix, exp in _BINARY.items()}
_NANO = Fraction(1, 10**9)
_MAX_BINARY = Fraction(2**63 - 1)


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity; the message is the one Kubernetes gives."""


class Format(enum.Enum):
    """The suffix family a quantity was written in; it decides how the value is written back."""

    DECIMAL_SI = "DecimalSI"
    BINARY_SI = "BinarySI"
    DECIMAL_EXPONENT = "DecimalExponent"


@dataclass(frozen=True, slots=True)
class Quantity:
    """An exact amount plus the format it was written in."""

    value: Fraction
    format: Format = Format.DECIMAL_SI

    def __str__(self) -> str:
        return format_quantity(self.value, self.format)


def _as_text(q: object) -> str:
    if isinstance(q, bool) or not isinstance(q, (str, int, float)):
        raise QuantityError(FORMAT_MESSAGE)
    return q if isinstance(q, str) else repr(q)


def _suffix(suffix: str, exponent: str) -> tuple[int, int, Format]:
    """Return (base, exponent, format) for a suffix, as apimachinery's suffixer interprets it."""
    if not exponent and suffix in _BINARY:
        return 2, _BINARY[suffix], Format.BINARY_SI
    if not exponent and suffix in _DECIMAL:
        return 10, _DECIMAL[suffix], Format.DECIMAL_SI
    if suffix in ("e", "E") and exponent.lstrip("+-"):
        return 10, int(exponent), Format.DECIMAL_EXPONENT
    raise QuantityError(SUFFIX_MESSAGE)


def _round_up_to_nano(value: Fraction) -> Fraction:
    if value == 0 or 10**9 % value.denominator == 0:
        return value
    magnitude = Fraction(math.ceil(abs(value) * 10**9), 10**9)
    return magnitude if value > 0 else -magnitude


def _value(whole: str, frac: str, base: int, power: int) -> Fraction:
    """Exact digits times base**power, built from integers (Fraction arithmetic is the slow part)."""
    numerator, denominator = int(whole + frac or "0"), 10 ** len(frac)
    if power >= 0:
        numerator *= base**power
    else:
        denominator *= base ** -power
    return Fraction(numerator, denominator)


def parse(q: str | int | float) -> Quantity:
    """Parse a quantity (a JSON number is read as its decimal text, as Kubernetes does)."""
    return _parse(_as_text(q))


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Quantity:
    """Cached: manifests repeat the same few quantities, and validation of every pod parses them."""
    match = _SHAPE.fullmatch(text)
    if match is None or not (match[2] or match[3]):
        raise QuantityError(FORMAT_MESSAGE)
    sign, whole, frac, suffix, exponent = match.groups()
    base, power, fmt = _suffix(suffix, exponent)
    value = _value(whole, frac or "", base, power)
    value = _round_up_to_nano(-value if sign == "-" else value)
    if fmt is Format.BINARY_SI:
        value = max(min(value, _MAX_BINARY), -_MAX_BINARY)
        if 0 < abs(value) < 1:
            fmt = Format.DECIMAL_SI
    return Quantity(value, fmt)


def parse_quantity(q: str | int | float) -> Fraction:
    """The exact value of a quantity string such as ``100m``, ``1.5Gi`` or ``1e3``."""
    return parse(q).value


def _decimal_parts(value: Fraction) -> tuple[int, int]:
    """Integer mantissa and an exponent that is a multiple of 3, with no trailing zeros beyond that."""
    mantissa, exponent = int(value / _NANO), -9
    while mantissa and mantissa % 10 == 0:
        mantissa, exponent = mantissa // 10, exponent + 1
    while exponent % 3:
        mantissa, exponent = mantissa * 10, exponent - 1
    return mantissa, exponent


def _format_decimal(value: Fraction, fmt: Format) -> str:
    mantissa, exponent = _decimal_parts(value)
    if fmt is Format.DECIMAL_SI and exponent in _DECIMAL_SUFFIX:
        return f"{mantissa}{_DECIMAL_SUFFIX[exponent]}"
    return f"{mantissa}e{exponent}" if exponent else str(mantissa)


def _format_binary(value: int) -> str:
    steps = 0
    while value % 1024 == 0 and steps < 6:
        value, steps = value // 1024, steps + 1
    return f"{value}{_BINARY_SUFFIX.get(steps, '')}"


def format_quantity(value: Fraction | int, fmt: Format = Format.DECIMAL_SI) -> str:
    """Canonical text of an exact value: integer mantissa, largest suffix that loses nothing."""
    value = _round_up_to_nano(Fraction(value))
    if value == 0:
        return "0"
    binary = fmt is Format.BINARY_SI and abs(value) >= 1024 and value.denominator == 1
    if binary:
        return _format_binary(int(value))
    return _format_decimal(value, Format.DECIMAL_SI if fmt is Format.BINARY_SI else fmt)


def canonical(q: str | int | float) -> str:
    """The form the API server stores: ``canonical("1.5Gi") == "1536Mi"``, ``canonical("0.1") == "100m"``."""
    return _canonical(_as_text(q))


@functools.lru_cache(maxsize=4096)
def _canonical(text: str) -> str:
    return str(_parse(text))


def _exact(q: str | int | float | Fraction) -> Fraction:
    return q if isinstance(q, Fraction) else parse_quantity(q)


def cpu_millis(q: str | int | float | Fraction) -> int:
    """CPU in millicores, rounded up as Kubernetes' ``MilliValue`` does (``1n`` of CPU is still 1m)."""
    return math.ceil(_exact(q) * 1000)


def to_bytes(q: str | int | float | Fraction) -> int:
    """A memory or storage quantity in bytes, rounded up as Kubernetes' ``Value`` does."""
    return math.ceil(_exact(q))
