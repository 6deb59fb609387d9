"""Quantities: the grammar, exact values, canonical text and Kubernetes' error messages."""

from fractions import Fraction

import pytest

from portside.api import quantity
from portside.api.quantity import QuantityError, canonical, cpu_millis, parse_quantity, to_bytes

VALUES = [
    ("100m", Fraction(1, 10)),
    ("128Mi", 128 * 2**20),
    ("1.5Gi", 3 * 2**29),
    ("1e3", 1000),
    ("1E3", 1000),
    ("1.5e-3", Fraction(15, 10000)),
    ("0.1", Fraction(1, 10)),
    ("2k", 2000),
    ("500Ki", 500 * 1024),
    ("1E", 10**18),
    ("5n", Fraction(5, 10**9)),
    ("3u", Fraction(3, 10**6)),
    ("-2", -2),
    ("+7M", 7 * 10**6),
    (".5", Fraction(1, 2)),
    ("5.", 5),
    ("0", 0),
    (2, 2),
    (0.5, Fraction(1, 2)),
    ("0.0000000001", Fraction(1, 10**9)),  # finer than 1n rounds up, as Kubernetes does
]


@pytest.mark.parametrize(("text", "value"), VALUES)
def test_parse_is_exact(text: str, value: Fraction) -> None:
    assert parse_quantity(text) == value


CANONICAL = [
    ("1.5Gi", "1536Mi"),
    ("0.1", "100m"),
    ("1e3", "1e3"),
    ("1000", "1k"),
    ("1500", "1500"),
    ("1.5", "1500m"),
    ("2048", "2048"),
    ("2048Ki", "2Mi"),
    ("1025Ki", "1025Ki"),
    ("0.5Ki", "512"),
    ("100m", "100m"),
    ("0", "0"),
    ("0Mi", "0"),
    ("1e-3", "1e-3"),
    ("12e6", "12e6"),
    ("1.5e1", "15"),
    ("-1.5k", "-1500"),
    ("0.0000000001", "1n"),
]


@pytest.mark.parametrize(("text", "expected"), CANONICAL)
def test_canonical_form(text: str, expected: str) -> None:
    assert canonical(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12x", quantity.FORMAT_MESSAGE),
        ("", quantity.FORMAT_MESSAGE),
        ("Mi", quantity.FORMAT_MESSAGE),
        (".", quantity.FORMAT_MESSAGE),
        ("1.2.3", quantity.FORMAT_MESSAGE),
        ("1 Mi", quantity.FORMAT_MESSAGE),
        ("12kk", quantity.SUFFIX_MESSAGE),
        ("1e", quantity.SUFFIX_MESSAGE),
        ("1Ki3", quantity.SUFFIX_MESSAGE),
        ("1i", quantity.SUFFIX_MESSAGE),
        (True, quantity.FORMAT_MESSAGE),
        (None, quantity.FORMAT_MESSAGE),
    ],
)
def test_errors_carry_kubernetes_messages(text: object, message: str) -> None:
    with pytest.raises(QuantityError) as err:
        parse_quantity(text)  # type: ignore[arg-type]
    assert str(err.value) == message


def test_format_message_is_the_one_kubernetes_prints() -> None:
    assert quantity.FORMAT_MESSAGE.endswith("'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


@pytest.mark.parametrize(("text", "millis"), [("100m", 100), ("1", 1000), ("0.5", 500), ("1n", 1), (2, 2000)])
def test_cpu_millis_rounds_up(text: str, millis: int) -> None:
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(("text", "size"), [("128Mi", 134217728), ("1G", 10**9), ("1500m", 2), ("1k", 1000)])
def test_to_bytes_rounds_up(text: str, size: int) -> None:
    assert to_bytes(text) == size


def test_fraction_inputs_pass_through() -> None:
    assert cpu_millis(Fraction(1, 4)) == 250
    assert to_bytes(Fraction(3, 2)) == 2


def test_arithmetic_is_exact() -> None:
    total = parse_quantity("0.1") + parse_quantity("0.2")
    assert quantity.format_quantity(total) == "300m"


def test_binary_values_are_capped_at_int64() -> None:
    assert parse_quantity("9Ei") == 2**63 - 1


def test_quantity_str_is_canonical() -> None:
    assert str(quantity.parse("1Gi")) == "1Gi"
    assert quantity.parse("1Gi").format is quantity.Format.BINARY_SI
