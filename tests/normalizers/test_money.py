from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.normalizers import (
    DEFAULT_RATES_TO_USD,
    Money,
    UnparsedValue,
    convert_to_usd,
    parse_currency,
    parse_money,
    round_converted_amount,
)


@pytest.mark.parametrize(
    ("raw", "amount", "currency"),
    [
        ("$1.2B", "1200000000", "USD"),
        ("€500M", "500000000", "EUR"),
        ("12,500,000", "12500000", "USD"),
        ("£3.4m", "3400000", "GBP"),
        ("¥500M", "500000000", "JPY"),
        ("JP¥ 2B", "2000000000", "JPY"),
        ("CN¥ 2B", "2000000000", "CNY"),
        ("RMB 2B", "2000000000", "CNY"),
        ("USD 5M", "5000000", "USD"),
        ("5M EUR", "5000000", "EUR"),
        ("5 M€", "5000000", "EUR"),
        ("5€", "5", "EUR"),
        ("5 million", "5000000", "USD"),
        ("5 Million USD", "5000000", "USD"),
        ("2.3 bn", "2300000000", "USD"),
        ("2.3bn", "2300000000", "USD"),
        ("1.5 trillion", "1500000000000", "USD"),
        ("$250k", "250000", "USD"),
        ("$3MM", "3000000", "USD"),
        ("$-22,355.0", "-22355", "USD"),
        ("-$22,355", "-22355", "USD"),
        ("($1,200)", "-1200", "USD"),
        ("USD -5", "-5", "USD"),
        ("US$ 5M", "5000000", "USD"),
        ("C$ 5M", "5000000", "CAD"),
        ("A$5M", "5000000", "AUD"),
        ("R$ 10M", "10000000", "BRL"),
        ("$5M CAD", "5000000", "CAD"),
        ("US$ 5M USD", "5000000", "USD"),
        ("₹5 crore", "50000000", "INR"),
        ("Rs. 5 lakh", "500000", "INR"),
        ("₩ 1,000,000", "1000000", "KRW"),
        ("5 euros", "5", "EUR"),
        ("5 dollars", "5", "USD"),
        ("CHF 12", "12", "CHF"),
        ("12 chf", "12", "CHF"),
        ("$5.", "5", "USD"),
        ("$ 1 234 567", "1234567", "USD"),
    ],
)
def test_money_parses_amount_and_currency(raw: str, amount: str, currency: str) -> None:
    result = parse_money(raw)
    assert result is not None
    assert result.amount == Decimal(amount)
    assert result.currency == currency


def test_money_multiplier_scales_plain_number() -> None:
    result = parse_money("$514,405.0", multiplier=Decimal(1_000_000))
    assert result == Money(Decimal("514405000000"), "USD")


def test_money_multiplier_accepts_int() -> None:
    result = parse_money("514,405.0", multiplier=1_000_000)
    assert result == Money(Decimal("514405000000"), "USD")


def test_money_magnitude_overrides_multiplier() -> None:
    result = parse_money("$1.2B", multiplier=1_000_000)
    assert result == Money(Decimal("1200000000"), "USD")


def test_money_drops_zero_fraction() -> None:
    result = parse_money("$1.2B")
    assert result is not None
    assert str(result.amount) == "1200000000"


def test_money_keeps_precision_beyond_context() -> None:
    result = parse_money("123,456,789,012,345,678,901,234,567.89")
    assert result is not None
    assert result.amount == Decimal("123456789012345678901234567.89")


@pytest.mark.parametrize(
    ("raw", "default_currency", "currency"),
    [
        ("12,500,000", "EUR", "EUR"),
        ("$5M", "CAD", "CAD"),
        ("$5M", "EUR", "USD"),
        ("¥5M", "CNY", "CNY"),
        ("kr 5M", "SEK", "SEK"),
        ("5 kr", "NOK", "NOK"),
        ("5M kr DKK", None, "DKK"),
        ("€5M", None, "EUR"),
    ],
)
def test_money_default_currency(raw: str, default_currency: str | None, currency: str) -> None:
    result = parse_money(raw, default_currency=default_currency)
    assert result is not None
    assert result.currency == currency


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.234.567,89 €", Decimal("1234567.89")),
        ("1,5 Mio. €", Decimal("1500000")),
        ("2,3 Mrd. EUR", Decimal("2300000000")),
    ],
)
def test_money_decimal_comma(raw: str, expected: Decimal) -> None:
    result = parse_money(raw, decimal_comma=True)
    assert result is not None
    assert result.amount == expected
    assert result.currency == "EUR"


@pytest.mark.parametrize("raw", ["2.000", "€ 10.000", "EUR 2.000", "1.500 Mio €", "2.500 Mrd. EUR"])
def test_money_dot_thousands_ambiguous(raw: str) -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_money(raw, default_currency="EUR")
    assert caught.value.field == "revenue"
    assert caught.value.value == raw
    assert "written with a period as thousands separator" in caught.value.hint
    assert '"decimal_comma": true' in caught.value.hint


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$1.125B", Decimal("1125000000")),
        ("2.500M", Decimal("2500000")),
        ("$2.5", Decimal("2.5")),
        ("0.125", Decimal("0.125")),
    ],
)
def test_money_english_magnitude_keeps_point(raw: str, expected: Decimal) -> None:
    result = parse_money(raw)
    assert result is not None
    assert result.amount == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2.000", Decimal("2000")), ("1.500 Mio €", Decimal("1500000000"))],
)
def test_money_dot_thousands_comma_mode(raw: str, expected: Decimal) -> None:
    result = parse_money(raw, default_currency="EUR", decimal_comma=True)
    assert result is not None
    assert result.amount == expected


@pytest.mark.parametrize(
    ("raw", "amount"),
    [(12, Decimal(12)), (12.5, Decimal("12.5")), (Decimal("7.25"), Decimal("7.25"))],
)
def test_money_accepts_numbers(raw: int | float | Decimal, amount: Decimal) -> None:
    assert parse_money(raw) == Money(amount, "USD")


def test_money_number_with_multiplier() -> None:
    assert parse_money(3, multiplier=1000) == Money(Decimal(3000), "USD")


@pytest.mark.parametrize("raw", [None, "", "  ", "-", "n/a", "N/A", "undisclosed"])
def test_money_empty_returns_none(raw: str | None) -> None:
    assert parse_money(raw) is None


@pytest.mark.parametrize(
    ("raw", "hint_part"),
    [
        ("five million", "expected one amount"),
        ("USD", "expected one amount"),
        ("$", "expected one amount"),
        ("$1M-$5M", "range"),
        ("$1M - 5M", "range"),
        ("1M to 5M", "range"),
        ("$1B+", "bound"),
        ("<$1M", "bound"),
        ("€5M USD", "two currencies"),
        ("$5M EUR", "cannot mean EUR"),
        ("¥5M USD", "cannot mean USD"),
        ("kr 5M", "ISO code"),
        ("5 XYZ", "not a known currency"),
        ("5 MUSD", "not a known currency"),
        ("approx $5M", "not a known currency"),
        ("12,5M", "write 12.5 instead"),
        ("--5", "one sign"),
        ("1" * 101, "longer than"),
    ],
)
def test_money_unparseable_raises(raw: str, hint_part: str) -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_money(raw)
    assert caught.value.field == "revenue"
    assert caught.value.value == raw
    assert hint_part in caught.value.hint


def test_money_without_currency_names_currency_in_hint() -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_money("5M", default_currency=None)
    assert caught.value.field == "revenue"
    assert "currency" in caught.value.hint


def test_money_number_without_currency_raises() -> None:
    with pytest.raises(UnparsedValue):
        parse_money(5, default_currency=None)


def test_money_field_name_in_error() -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_money("lots", field="funding")
    assert caught.value.field == "funding"


def test_money_invalid_default_currency_raises() -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        parse_money("5M", default_currency="usd")


def test_money_rejects_bad_currency_code() -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        Money(Decimal(1), "dollars")


def test_money_rejects_float_amount() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        Money(1.5, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("money", "expected"),
    [
        (Money(Decimal("100"), "USD"), Decimal("100")),
        (Money(Decimal("100"), "EUR"), Decimal("117.00")),
        (Money(Decimal("-10"), "GBP"), Decimal("-13.70")),
    ],
)
def test_convert_to_usd_uses_rates(money: Money, expected: Decimal) -> None:
    assert convert_to_usd(money, DEFAULT_RATES_TO_USD) == expected


def test_convert_to_usd_without_usd_rate() -> None:
    assert convert_to_usd(Money(Decimal("5"), "USD"), {}) == Decimal("5")


def test_convert_to_usd_string_rates() -> None:
    money = Money(Decimal("10"), "EUR")
    assert convert_to_usd(money, {"EUR": "1.1"}) == Decimal("11.0")
    assert convert_to_usd(money, {"EUR": 1.5}) == Decimal("15.0")


def test_convert_to_usd_unknown_currency_names_setting() -> None:
    with pytest.raises(UnparsedValue) as caught:
        convert_to_usd(Money(Decimal("5"), "XAF"), DEFAULT_RATES_TO_USD)
    assert caught.value.field == "currency"
    assert caught.value.value == "XAF"
    assert "ICP_CURRENCY_RATES_TO_USD" in caught.value.hint


@pytest.mark.parametrize("rate", [0, -1, "abc", float("nan")])
def test_convert_to_usd_invalid_rate_raises(rate: object) -> None:
    with pytest.raises(UnparsedValue) as caught:
        convert_to_usd(Money(Decimal("5"), "EUR"), {"EUR": rate})  # type: ignore[dict-item]
    assert "ICP_CURRENCY_RATES_TO_USD" in caught.value.hint


def test_default_rates_cover_major_currencies() -> None:
    expected = {"EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "INR", "CNY", "SEK", "NOK", "DKK"}
    expected |= {"SGD", "HKD", "BRL", "MXN"}
    assert expected <= set(DEFAULT_RATES_TO_USD)
    assert DEFAULT_RATES_TO_USD["USD"] == 1
    assert all(rate > 0 for rate in DEFAULT_RATES_TO_USD.values())


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.from_regex(
            r"[-(]?(\$|€|£|¥|USD |EUR )?-?\d{1,9}([.,]\d{1,3})?\s?(k|M|B|bn|mn)?( EUR| USD)?\)?"
        ),
        st.integers(),
        st.floats(),
        st.decimals(),
    ),
    st.booleans(),
)
def test_parse_money_never_crashes(raw: str | int | float | Decimal, decimal_comma: bool) -> None:
    try:
        result = parse_money(raw, decimal_comma=decimal_comma)
    except UnparsedValue:
        return
    assert result is None or result.amount.is_finite()


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("12.345", "12.34"),
        ("1234567890123.456", "1234567890123.46"),
        ("12345678901234.56", "12345678901234.60"),
        ("144444443144443.65", "144444443144444.00"),
        ("0", "0.00"),
    ],
)
def test_converted_amount_rounded_to_digits(amount, expected):
    assert round_converted_amount(Decimal(amount)) == Decimal(expected)
    assert len(round_converted_amount(Decimal(amount)).normalize().as_tuple().digits) <= 15


@pytest.mark.parametrize(
    ("raw", "default_currency", "expected"),
    [
        ("EUR", "USD", "EUR"),
        ("eur", "USD", "EUR"),
        (" USD ", "USD", "USD"),
        ("€", "USD", "EUR"),
        ("$", "USD", "USD"),
        ("$", "CAD", "CAD"),
        ("US$", "CAD", "USD"),
        ("yen", "USD", "JPY"),
        ("kr", "SEK", "SEK"),
    ],
)
def test_currency_codes_symbols_and_words(raw: str, default_currency: str, expected: str) -> None:
    assert parse_currency(raw, default_currency=default_currency) == expected


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ("XYZ", "expected an ISO 4217 code such as USD or EUR"),
        ("", "expected an ISO 4217 code such as USD or EUR"),
        ("dollars euros", "expected an ISO 4217 code such as USD or EUR"),
        ("kr", '"kr" can mean DKK, ISK, NOK, SEK'),
    ],
)
def test_currency_unknown_or_ambiguous_raises(raw: str, hint: str) -> None:
    with pytest.raises(UnparsedValue) as caught:
        parse_currency(raw, default_currency="USD")
    assert caught.value.value == raw
    assert hint in caught.value.hint
