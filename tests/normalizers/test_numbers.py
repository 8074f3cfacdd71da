from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.normalizers import UnparsedValue, parse_decimal


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12,500,000", Decimal("12500000")),
        ("12.5", Decimal("12.5")),
        ("12500000", Decimal("12500000")),
        ("0", Decimal("0")),
        (".5", Decimal("0.5")),
        ("1,234.56", Decimal("1234.56")),
        ("1 234 567", Decimal("1234567")),
        ("1\u00a0234\u00a0567", Decimal("1234567")),
        ("1\u202f234", Decimal("1234")),
        ("1'234'567.5", Decimal("1234567.5")),
        ("  42  ", Decimal("42")),
        ("+42", Decimal("42")),
        ("-42", Decimal("-42")),
        ("- 42", Decimal("-42")),
        ("\u221242", Decimal("-42")),
        ("1.2E+06", Decimal("1200000")),
        ("1e3", Decimal("1000")),
        ("１２３", Decimal("123")),
    ],
)
def test_decimal_parses_point_format(raw: str, expected: Decimal) -> None:
    assert parse_decimal(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12,5", Decimal("12.5")),
        ("1 234,5", Decimal("1234.5")),
        ("1.234.567,89", Decimal("1234567.89")),
        ("1.234", Decimal("1234")),
        ("1234", Decimal("1234")),
        (",5", Decimal("0.5")),
        ("-3,75", Decimal("-3.75")),
        ("(1.200,50)", Decimal("-1200.50")),
    ],
)
def test_decimal_parses_comma_format(raw: str, expected: Decimal) -> None:
    assert parse_decimal(raw, decimal_comma=True) == expected


@pytest.mark.parametrize("raw", ["2,000", "1,200", "-12,500", "(2,000)"])
def test_decimal_comma_three_decimals_ambiguous(raw: str) -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_decimal(raw, decimal_comma=True)
    assert "or a number with decimals" in caught.value.hint


def test_decimal_comma_is_not_thousands() -> None:
    assert parse_decimal("12,5", decimal_comma=True) != Decimal("125")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(1,200)", Decimal("-1200")),
        ("( 1,200.50 )", Decimal("-1200.50")),
        ("(0)", Decimal("0")),
    ],
)
def test_decimal_accounting_negative(raw: str, expected: Decimal) -> None:
    assert parse_decimal(raw) == expected


def test_decimal_negative_zero_is_zero() -> None:
    result = parse_decimal("-0")
    assert result == 0
    assert not result.is_signed()


@pytest.mark.parametrize(
    "raw", [None, "", "   ", "-", "--", "—", "n/a", "N/A", "NA", "#N/A", "null", "None", "nan"]
)
def test_decimal_empty_values_return_none(raw: str | None) -> None:
    assert parse_decimal(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (12, Decimal(12)),
        (-3, Decimal(-3)),
        (12.5, Decimal("12.5")),
        (0.1, Decimal("0.1")),
        (Decimal("7.25"), Decimal("7.25")),
    ],
)
def test_decimal_accepts_numbers(raw: int | float | Decimal, expected: Decimal) -> None:
    assert parse_decimal(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "12abc",
        "1.2.3",
        "1,23",
        "12,5",
        "1,2345",
        "1 23",
        "12-5",
        "$12",
        "12%",
        "()",
        "+",
        "1e999",
        "--5",
        "-(5)",
        "1" * 101,
    ],
)
def test_decimal_garbage_raises(raw: str) -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_decimal(raw)
    assert caught.value.field == "number"
    assert caught.value.value == raw


@pytest.mark.parametrize("raw", ["12.5", "1,234.5", "1.23,4"])
def test_decimal_comma_mode_rejects_point_decimals(raw: str) -> None:
    with pytest.raises(UnparsedValue):
        parse_decimal(raw, decimal_comma=True)


def test_decimal_comma_hint_names_fix() -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_decimal("12,5")
    assert "decimal_comma=True" not in caught.value.hint
    assert "write 12.5 instead" in caught.value.hint
    assert 'mapping file whose options set "decimal_comma": true' in caught.value.hint


def test_decimal_point_hint_in_comma_mode() -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_decimal("12.5", decimal_comma=True)
    assert "decimal_comma=True" not in caught.value.hint
    assert "the file writes decimals with a comma" in caught.value.hint
    assert '"decimal_comma": false' in caught.value.hint


def test_dot_thousands_hint_in_point_mode() -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_decimal("1.250.000")
    assert "periods separate groups of three digits" in caught.value.hint
    assert "1250000" in caught.value.hint
    assert '"decimal_comma": true' in caught.value.hint


def test_dot_thousands_read_in_comma_mode() -> None:
    assert parse_decimal("1.250.000", decimal_comma=True) == Decimal("1250000")


@pytest.mark.parametrize("raw", [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity")])
def test_decimal_non_finite_raises(raw: float | Decimal) -> None:
    with pytest.raises(UnparsedValue):
        parse_decimal(raw)


def test_decimal_boolean_raises() -> None:
    with pytest.raises(UnparsedValue):
        parse_decimal(True)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.booleans())
def test_parse_decimal_never_crashes(raw: str, decimal_comma: bool) -> None:
    try:
        result = parse_decimal(raw, decimal_comma=decimal_comma)
    except UnparsedValue:
        return
    assert result is None or result.is_finite()


@settings(max_examples=200, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=2))
def test_parse_decimal_round_trips_formatted(value: Decimal) -> None:
    assert parse_decimal(f"{value:,}") == value
