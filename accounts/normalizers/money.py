"""Money amounts such as revenue and funding, with their currency.

``parse_money`` accepts one amount with an optional sign, currency and magnitude:

- currency before or after the number, as a symbol (``$``, ``€``, ``£``, ``¥``, ``₹``,
  ``US$``, ``C$``, ``A$``, ``R$`` …), an ISO 4217 code (``USD 5M``, ``5M EUR``, ``5 M€``)
  or a word (``dollars``, ``euros``, ``pounds``, ``yen``, ``rupees``, ``yuan``);
- magnitudes ``k``/``thousand``, ``m``/``mm``/``mn``/``mln``/``mio``/``million``,
  ``b``/``bn``/``bln``/``mrd``/``billion``, ``t``/``tn``/``trillion`` and the Indian
  ``lakh`` (100,000) and ``crore``/``cr`` (10,000,000);
- the number forms of parse_decimal, including ``(1,200)`` and ``$-22,355.0``.

Ambiguous symbols follow ``default_currency`` when it is one of their currencies, and an
ISO code in the same value always decides. Otherwise ``$`` means USD, ``¥`` means JPY
(``CN¥``, ``RMB`` and ``元`` mean CNY) and ``Rs`` means INR. ``kr`` (SEK, NOK, DKK or ISK)
needs a code or a matching default currency.

A magnitude in the value replaces ``multiplier``, because the value then states its own scale.
Unless ``decimal_comma`` is set, an amount such as ``2.000`` or ``€ 1.500 Mio`` raises
UnparsedValue, because it may be thousands written with a period as separator. Before an
English magnitude the period is a decimal point: ``$1.125B`` is 1.125 billion.
Ranges (``$1M-$5M``), bounds (``$1B+``) and two different currencies raise UnparsedValue.

``parse_currency`` reads a currency alone, such as the ``currency`` of a JSON amount
object, with the same codes, symbols and words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from functools import cache

import pycountry

from .errors import UnparsedValue, raw_text
from .numbers import dot_thousands_hint, is_ambiguous_dot_thousands, parse_decimal
from .text import collapse_whitespace, is_missing

RATES_SETTING = "ICP_CURRENCY_RATES_TO_USD"

MAX_MONEY_TEXT_LENGTH = 100
# Amounts must stay below this: over a thousand times the largest company revenue, and
# small enough that SQLite, which can store decimals as 64-bit floats, reads them back
# within the 20 digits of the revenue columns.
MAX_AMOUNT = Decimal(10) ** 15
# Significant digits of an amount that every supported database stores exactly. SQLite
# stores decimals as 64-bit floats, which keep 15 (Django's SQLite backend rounds what it
# reads to 15), so 123456789012345.67 comes back as 123456789012346.00.
MAX_EXACT_DIGITS = 15
CENTS = Decimal("0.01")

# USD per unit of each currency, approximate reference rates for 2025-07-01 rounded to
# three significant digits. Settings override them with ICP_CURRENCY_RATES_TO_USD.
# NOTE: these are estimates, not copied from a published rate table. Check them against
# a current source before relying on converted amounts.
DEFAULT_RATES_TO_USD: dict[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("1.17"),
    "GBP": Decimal("1.37"),
    "JPY": Decimal("0.00694"),
    "CAD": Decimal("0.735"),
    "AUD": Decimal("0.657"),
    "NZD": Decimal("0.607"),
    "CHF": Decimal("1.26"),
    "INR": Decimal("0.0117"),
    "CNY": Decimal("0.140"),
    "SEK": Decimal("0.105"),
    "NOK": Decimal("0.0990"),
    "DKK": Decimal("0.157"),
    "SGD": Decimal("0.786"),
    "HKD": Decimal("0.127"),
    "BRL": Decimal("0.184"),
    "MXN": Decimal("0.0533"),
    "KRW": Decimal("0.000738"),
    "ILS": Decimal("0.298"),
    "ZAR": Decimal("0.0565"),
    "PLN": Decimal("0.276"),
}


@dataclass(frozen=True)
class Money:
    """Amount of money in one currency. ``currency`` is an ISO 4217 code such as ``"USD"``."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"amount must be a Decimal, got {type(self.amount).__name__}")
        if not (len(self.currency) == 3 and self.currency.isascii() and self.currency.isupper()):
            raise ValueError(
                f"currency must be an ISO 4217 code such as USD, got {self.currency!r}"
            )


# Markers of an ambiguous currency. Each maps to the currencies it can mean and the
# currency used when neither a code in the value nor the default currency decides.
_DOLLAR = "$"
_YEN_OR_YUAN = "¥"
_KRONA = "kr"
_RUPEE = "rs"
_AMBIGUOUS_CURRENCIES: dict[str, tuple[frozenset[str], str | None]] = {
    _DOLLAR: (
        frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "TWD", "ARS", "CLP", "COP"}),
        "USD",
    ),
    _YEN_OR_YUAN: (frozenset({"JPY", "CNY"}), "JPY"),
    _KRONA: (frozenset({"SEK", "NOK", "DKK", "ISK"}), None),
    _RUPEE: (frozenset({"INR", "PKR", "LKR", "NPR"}), "INR"),
}

# Keys are casefolded with whitespace removed. Values are ISO codes or ambiguous markers.
_CURRENCY_TOKENS: dict[str, str] = {
    "$": _DOLLAR,
    "dollar": _DOLLAR,
    "dollars": _DOLLAR,
    "us$": "USD",
    "usd$": "USD",
    "c$": "CAD",
    "ca$": "CAD",
    "can$": "CAD",
    "a$": "AUD",
    "au$": "AUD",
    "nz$": "NZD",
    "hk$": "HKD",
    "s$": "SGD",
    "r$": "BRL",
    "mex$": "MXN",
    "mx$": "MXN",
    "nt$": "TWD",
    "€": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gb£": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "¥": _YEN_OR_YUAN,
    "jp¥": "JPY",
    "円": "JPY",
    "yen": "JPY",
    "cn¥": "CNY",
    "rmb": "CNY",
    "元": "CNY",
    "yuan": "CNY",
    "₹": "INR",
    "rs": _RUPEE,
    "rs.": _RUPEE,
    "rupee": _RUPEE,
    "rupees": _RUPEE,
    "kr": _KRONA,
    "kr.": _KRONA,
    "₩": "KRW",
    "₪": "ILS",
    "₽": "RUB",
    "₺": "TRY",
    "₱": "PHP",
    "₫": "VND",
    "฿": "THB",
    "₦": "NGN",
    "zł": "PLN",
    "kč": "CZK",
    "fr.": "CHF",
    "sfr": "CHF",
}

_MAGNITUDES: dict[str, Decimal] = {
    **dict.fromkeys(("k", "thousand", "thousands"), Decimal(10**3)),
    **dict.fromkeys(("lakh", "lakhs", "lac", "lacs"), Decimal(10**5)),
    **dict.fromkeys(("m", "mm", "mn", "mln", "mio", "million", "millions"), Decimal(10**6)),
    **dict.fromkeys(("crore", "crores", "cr"), Decimal(10**7)),
    **dict.fromkeys(("b", "bn", "bln", "mrd", "mld", "billion", "billions"), Decimal(10**9)),
    **dict.fromkeys(("t", "tn", "trillion", "trillions"), Decimal(10**12)),
}

# Magnitude words of continental European languages, whose files write thousands as
# 1.500. Before an English magnitude, three decimals are precision, as in $1.125B.
_CONTINENTAL_MAGNITUDES = frozenset({"mio", "mrd", "mld"})

_AMOUNT_RE = re.compile(r"(?P<before>\D*?)(?P<number>\d(?:[\d.,' ]*\d)?)(?P<after>\D*)")
_BEFORE_RE = re.compile(r"(?P<leading_sign>[-+]?)(?P<currency>[^-+]*)(?P<trailing_sign>[-+]?)")
_LEADING_WORD_RE = re.compile(r"(?P<word>[^\W\d_]+)\.?")
_ACCOUNTING_NEGATIVE_RE = re.compile(r"\(\s*(.*?)\s*\)")
_RANGE_RE = re.compile(r".*\d.*?\s*(?:-|–|—|to)\s*\D{0,5}\d.*")
_WHITESPACE_RE = re.compile(r"\s+")
# ASCII digits without a leading zero, optionally in comma groups of three: 12500000 or
# 12,500,000.
_PLAIN_AMOUNT_RE = re.compile(r"[1-9][0-9]{0,29}|[1-9][0-9]{0,2}(?:,[0-9]{3}){1,9}")


def parse_money(
    raw: str | int | float | Decimal | None,
    *,
    default_currency: str | None = "USD",
    multiplier: Decimal | int = 1,
    decimal_comma: bool = False,
    field: str = "revenue",
) -> Money | None:
    """Parse one money amount with its currency.

    ``default_currency`` applies when the value names no currency. ``multiplier`` scales
    values without a magnitude word, for columns such as "Revenue ($M)". ``field`` names
    the column in error messages. Blank values and placeholders return None. Raises
    UnparsedValue when the value is not one amount or its currency is missing or unclear.
    """
    if raw is None:
        return None
    if isinstance(raw, (bool, int, float, Decimal)):
        return _money_from_number(raw, default_currency, Decimal(multiplier), field)
    plain = _PLAIN_AMOUNT_RE.fullmatch(raw)
    if plain is not None and default_currency is not None and not decimal_comma:
        # Digits with optional comma groups, the most common form in exports, give the
        # same result as the general path below.
        number = Decimal(raw.replace(",", ""))
        currency = _validate_default_currency(default_currency)
        if multiplier != 1:
            number = _multiply(number, Decimal(multiplier))
        return Money(_tidy_amount(number), currency)
    if is_missing(raw):
        return None
    if len(raw) > MAX_MONEY_TEXT_LENGTH:
        raise UnparsedValue(
            field, raw, f"the text is longer than {MAX_MONEY_TEXT_LENGTH} characters"
        )

    text = collapse_whitespace(unicodedata.normalize("NFKC", raw).replace("\u2212", "-"))
    negative = False
    accounting = _ACCOUNTING_NEGATIVE_RE.fullmatch(text)
    if accounting is not None:
        negative = True
        text = accounting[1]

    match = _AMOUNT_RE.fullmatch(text)
    if match is None:
        raise UnparsedValue(field, raw, _no_amount_hint(text))

    before = _BEFORE_RE.fullmatch(_WHITESPACE_RE.sub("", match["before"]))
    if before is None or (before["leading_sign"] and before["trailing_sign"]):
        raise UnparsedValue(field, raw, "expected at most one sign before the number")
    if "-" in (before["leading_sign"], before["trailing_sign"]):
        negative = not negative

    after = match["after"].strip()
    if after.endswith("+") or any(mark in match["before"] for mark in "<>≤≥"):
        raise UnparsedValue(
            field, raw, "it is a bound, not an amount. Enter one amount, for example $1B."
        )

    scale = Decimal(multiplier)
    magnitude_word = ""
    magnitude = _LEADING_WORD_RE.match(after)
    if magnitude is not None and magnitude["word"].casefold() in _MAGNITUDES:
        magnitude_word = magnitude["word"].casefold()
        scale = _MAGNITUDES[magnitude_word]
        after = after[magnitude.end() :].strip()
    if after == ".":
        after = ""  # a sentence-ending period, as in "$5."

    currency = _resolve_currency(before["currency"], after, default_currency, raw, field)

    if (
        not decimal_comma
        and is_ambiguous_dot_thousands(match["number"])
        and (not magnitude_word or magnitude_word in _CONTINENTAL_MAGNITUDES)
    ):
        raise UnparsedValue(field, raw, dot_thousands_hint(match["number"]))
    try:
        number = parse_decimal(match["number"], decimal_comma=decimal_comma)
    except UnparsedValue as error:
        raise UnparsedValue(field, raw, error.hint) from None
    assert number is not None  # the pattern only matches digits
    return Money(_tidy_amount(_multiply(number, scale), negative=negative), currency)


def parse_currency(
    raw: str, *, default_currency: str | None = "USD", field: str = "currency"
) -> str:
    """Return the ISO 4217 code of a currency code, symbol or word, such as EUR for "€".

    An ambiguous symbol follows ``default_currency`` as in parse_money, so "$" is USD
    unless the default is another dollar currency. Raises UnparsedValue for text that
    names no currency, two currencies, or an ambiguous one that the default does not
    decide (``kr``).
    """
    text = collapse_whitespace(unicodedata.normalize("NFKC", raw))
    if not text or _currency_marker(_WHITESPACE_RE.sub("", text)) is None:
        raise UnparsedValue(
            field, raw, "expected an ISO 4217 code such as USD or EUR, or a symbol such as $ or €"
        )
    return _resolve_currency(text, "", default_currency, raw, field)


def is_too_large(amount: Decimal) -> bool:
    """Return whether ``amount`` rounded to cents is MAX_AMOUNT or more, in either sign.

    Checks before rounding as well, because Decimal.quantize raises InvalidOperation
    when the result needs more digits than the context precision (28 by default), as
    10^26 in cents does.
    """
    return abs(amount) >= MAX_AMOUNT or abs(amount.quantize(CENTS)) >= MAX_AMOUNT


def round_converted_amount(amount: Decimal) -> Decimal:
    """Round a converted amount to cents and to at most MAX_EXACT_DIGITS significant digits.

    So an amount of 10^13 or more is rounded to tenths and one of 10^14 or more to whole
    units, here rather than by the database without notice: 144444443144443.65 becomes
    144444443144444.00. Rounds half to even.
    """
    cents = amount.quantize(CENTS)
    if len(cents.as_tuple().digits) <= MAX_EXACT_DIGITS:
        return cents
    last_kept_place = Decimal(1).scaleb(cents.adjusted() - MAX_EXACT_DIGITS + 1)
    return cents.quantize(last_kept_place).quantize(CENTS)


def convert_to_usd(money: Money, rates: Mapping[str, Decimal | int | float | str]) -> Decimal:
    """Convert the amount to US dollars with ``rates`` (USD per unit of each currency).

    USD converts at 1 when ``rates`` has no USD entry. The result is not rounded. Raises
    UnparsedValue(field="currency") when ``rates`` has no valid positive rate for the currency.
    """
    rate_value = rates.get(money.currency)
    if rate_value is None:
        if money.currency == "USD":
            return money.amount
        raise UnparsedValue(
            "currency",
            money.currency,
            f"no exchange rate to USD is configured. Add {money.currency} to the "
            f"{RATES_SETTING} setting.",
        )
    try:
        rate = Decimal(str(rate_value))
    except InvalidOperation:
        rate = Decimal("NaN")
    if not rate.is_finite() or rate <= 0:
        raise UnparsedValue(
            "currency",
            money.currency,
            f"the exchange rate {rate_value!r} is not a positive number. Fix the "
            f"{money.currency} entry of the {RATES_SETTING} setting.",
        )
    return money.amount * rate


def _money_from_number(
    raw: bool | int | float | Decimal,
    default_currency: str | None,
    multiplier: Decimal,
    field: str,
) -> Money:
    try:
        number = parse_decimal(raw)
    except UnparsedValue as error:
        raise UnparsedValue(field, raw_text(raw), error.hint) from None
    assert number is not None  # only None input gives None
    if default_currency is None:
        raise UnparsedValue(field, raw_text(raw), _missing_currency_hint())
    amount = _tidy_amount(_multiply(number, multiplier))
    return Money(amount, _validate_default_currency(default_currency))


def _multiply(number: Decimal, factor: Decimal) -> Decimal:
    # The default context rounds products to 28 significant digits.
    with localcontext() as context:
        context.prec = 2 * MAX_MONEY_TEXT_LENGTH + 50
        return number * factor


def _tidy_amount(amount: Decimal, *, negative: bool = False) -> Decimal:
    """Apply the sign and drop a zero fraction (``1200000000.0`` -> ``1200000000``)."""
    if negative and amount != 0:
        amount = amount.copy_negate()
    if amount == amount.to_integral_value():
        amount = amount.to_integral_value()
    return amount


def _resolve_currency(
    before: str, after: str, default_currency: str | None, raw: str, field: str
) -> str:
    """Return the ISO code named by the text around the number, or the default currency."""
    markers: list[str] = []
    for part in (before, after):
        if part:
            markers.extend(_currency_markers(part, raw, field))
    codes = {marker for marker in markers if marker not in _AMBIGUOUS_CURRENCIES}
    ambiguous = [marker for marker in markers if marker in _AMBIGUOUS_CURRENCIES]
    if len(codes) > 1:
        raise UnparsedValue(field, raw, f"it names two currencies ({' and '.join(sorted(codes))})")
    if not markers:
        if default_currency is None:
            raise UnparsedValue(field, raw, _missing_currency_hint())
        return _validate_default_currency(default_currency)

    code = next(iter(codes), None)
    for marker in ambiguous:
        candidates, fallback = _AMBIGUOUS_CURRENCIES[marker]
        if code is not None:
            if code not in candidates:
                raise UnparsedValue(field, raw, f'"{marker}" cannot mean {code}')
        elif default_currency in candidates:
            code = default_currency
        elif fallback is not None:
            code = fallback
        else:
            options = ", ".join(sorted(candidates))
            raise UnparsedValue(
                field, raw, f'"{marker}" can mean {options}. Add the ISO code, for example 5M SEK.'
            )
    assert code is not None
    return code


def _currency_markers(text: str, raw: str, field: str) -> list[str]:
    """Return the currency markers in the text before or after the number.

    The text is read as one marker with its spaces removed (``US $``), or else as one
    marker per space-separated word (``kr DKK``).
    """
    marker = _currency_marker(_WHITESPACE_RE.sub("", text))
    if marker is not None:
        return [marker]
    markers = [_currency_marker(word) for word in text.split()]
    if len(markers) > 1 and all(marker is not None for marker in markers):
        return [marker for marker in markers if marker is not None]
    raise UnparsedValue(
        field,
        raw,
        f'"{text}" is not a known currency or magnitude. Use an ISO 4217 code such as USD '
        "or EUR, and k, M or B for thousands, millions or billions.",
    )


def _currency_marker(token: str) -> str | None:
    key = token.casefold()
    marker = _CURRENCY_TOKENS.get(key)
    if marker is not None:
        return marker
    code = key.upper()
    if code in _iso_currency_codes():
        return code
    return None


def is_currency_code(code: str) -> bool:
    """Return True when ``code`` is an ISO 4217 currency code in upper case, such as EUR."""
    return code in _iso_currency_codes()


def _validate_default_currency(code: str) -> str:
    if code not in _iso_currency_codes():
        raise ValueError(f"default_currency must be an ISO 4217 code such as USD, got {code!r}")
    return code


def _missing_currency_hint() -> str:
    return "no currency is given and there is no default. Name the currency, for example USD 5M."


def _no_amount_hint(text: str) -> str:
    if _RANGE_RE.fullmatch(text):
        return "it is a range or list of amounts. Enter one amount, for example $5M."
    return "expected one amount such as $1.2B, €500M, 12,500,000 or USD 5M."


@cache
def _iso_currency_codes() -> frozenset[str]:
    return frozenset(currency.alpha_3 for currency in pycountry.currencies)
