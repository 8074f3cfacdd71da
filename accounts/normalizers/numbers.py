"""Decimal numbers as CRM and spreadsheet exports write them.

``parse_decimal`` accepts:

- plain numbers: ``12.5``, ``12500000``, ``.5``, ``1.2E+06`` (exponent of at most two digits);
- thousands separators in groups of three: ``12,500,000``, ``1 234 567`` (regular, non-breaking
  or thin spaces) and ``1'234'567``;
- with ``decimal_comma=True``, the continental European form: ``12,5``, ``1.234.567,89``,
  ``1 234,5``;
- a leading ``+`` or ``-`` (also U+2212 MINUS SIGN) and accounting negatives: ``(1,200)``;
- ints, floats and Decimals, returned as Decimals;
- full-width digits, which NFKC normalization turns into ASCII digits.

Placeholders such as ``-``, ``n/a`` and blank text return None. Anything else, including
a comma that is not a thousands separator in the chosen convention (``12,5`` without
``decimal_comma``), raises UnparsedValue(field="number"). So does, with
``decimal_comma=True``, one comma followed by exactly three digits (``2,000``), because
that is also how the decimal-point convention writes two thousand. Without
``decimal_comma``, ``1.250.000`` raises with a hint that names the option, and
``2.000`` reads as 2. Callers for which 2.000 is more likely two thousand, such as head
counts, check for it with is_ambiguous_dot_thousands and flag it with dot_thousands_hint.
"""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from .errors import UnparsedValue, raw_text
from .text import collapse_whitespace, is_missing

# Longer text is rejected before any regular expression runs on it.
MAX_NUMBER_TEXT_LENGTH = 100

_ACCOUNTING_NEGATIVE_RE = re.compile(r"\(\s*(.*?)\s*\)")
_EXPONENT = r"(?:e[+-]?\d{1,2})?"
_DECIMAL_POINT_FORMS = (
    re.compile(rf"\d+(?:\.\d+)?{_EXPONENT}|\.\d+{_EXPONENT}", re.IGNORECASE),
    re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?"),
    re.compile(r"\d{1,3}(?:[ ']\d{3})+(?:\.\d+)?"),
)
_DECIMAL_COMMA_FORMS = (
    re.compile(r"\d+(?:,\d+)?|,\d+"),
    re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?"),
    re.compile(r"\d{1,3}(?:[ ']\d{3})+(?:,\d+)?"),
)
# Remove group separators and turn the decimal separator into ".".
_DECIMAL_POINT_DIGITS = str.maketrans({" ": None, "'": None, ",": None})
_DECIMAL_COMMA_DIGITS = str.maketrans({" ": None, "'": None, ".": None, ",": "."})
_DECIMAL_COMMA_LIKE_RE = re.compile(r"[\d.]*\d,\d+")
# With decimal commas, 2,000 reads as 2, but it is two thousand with decimal points.
_AMBIGUOUS_DECIMAL_COMMA_RE = re.compile(r"\d{1,3},\d{3}")
_DECIMAL_POINT_LIKE_RE = re.compile(r"\d+\.\d+")
# One to three digits without a leading zero, then groups of exactly three digits after
# dots: 2.000, 10.000 or 1.250.000, the way continental European files write thousands.
# With one group the number also reads as decimals, with more it does not.
_ONE_DOT_GROUP_RE = re.compile(r"[1-9]\d{0,2}\.\d{3}")
_MANY_DOT_GROUPS_RE = re.compile(r"[1-9]\d{0,2}(?:\.\d{3}){2,}")

_HINT_EXAMPLES = "expected a number such as 12500000, 12,500,000, 12.5 or (1,200)"
_HINT_DECIMAL_COMMA = (
    "commas must separate groups of three digits. For a decimal comma, as in 12,5, write "
    '12.5 instead, or import the file with a mapping file whose options set "decimal_comma": '
    "true."
)
_HINT_DOT_THOUSANDS = (
    "periods separate groups of three digits here, as continental European files write "
    "thousands, but the file writes decimals with a point. Write the number without "
    "periods, as in 1250000, or import the file with a mapping file whose options set "
    '"decimal_comma": true.'
)
_HINT_DECIMAL_POINT = (
    "the file writes decimals with a comma, so periods must separate groups of three digits "
    "(1.234,5). Write 12,5 for twelve and a half. If the file writes decimals with a point, "
    'import it with a mapping file whose options set "decimal_comma": false.'
)


def parse_decimal(
    raw: str | int | float | Decimal | None, *, decimal_comma: bool = False
) -> Decimal | None:
    """Parse one number and return it as a Decimal, or None for an empty value.

    See the module docstring for the accepted forms. Raises UnparsedValue(field="number")
    for text that is not a number, for booleans and for NaN or infinite values.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise UnparsedValue("number", raw_text(raw), "expected a number, not a boolean")
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise UnparsedValue("number", raw_text(raw), "expected a finite number")
        return Decimal(repr(raw))
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise UnparsedValue("number", raw_text(raw), "expected a finite number")
        return raw
    if is_missing(raw):
        return None
    return _parse_decimal_text(raw, decimal_comma=decimal_comma)


def _parse_decimal_text(raw: str, *, decimal_comma: bool) -> Decimal:
    if len(raw) > MAX_NUMBER_TEXT_LENGTH:
        raise UnparsedValue(
            "number", raw, f"the text is longer than {MAX_NUMBER_TEXT_LENGTH} characters"
        )
    text = collapse_whitespace(unicodedata.normalize("NFKC", raw).replace("\u2212", "-"))

    negative = False
    accounting = _ACCOUNTING_NEGATIVE_RE.fullmatch(text)
    if accounting is not None:
        negative = True
        text = accounting[1]
    if text[:1] in ("-", "+"):
        negative = negative != (text[0] == "-")
        text = text[1:].lstrip()

    forms = _DECIMAL_COMMA_FORMS if decimal_comma else _DECIMAL_POINT_FORMS
    if not any(form.fullmatch(text) for form in forms):
        raise UnparsedValue("number", raw, _format_hint(text, decimal_comma=decimal_comma))
    if decimal_comma and _AMBIGUOUS_DECIMAL_COMMA_RE.fullmatch(text):
        thousands = text.replace(",", "")
        raise UnparsedValue(
            "number",
            raw,
            f"{text} may be {thousands} or a number with decimals, because the file writes "
            f"decimals with a comma. Write {thousands} if it is {thousands}.",
        )

    digits = text.translate(_DECIMAL_COMMA_DIGITS if decimal_comma else _DECIMAL_POINT_DIGITS)
    try:
        value = Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the patterns above only admit valid input
        raise UnparsedValue("number", raw, _HINT_EXAMPLES) from None
    if negative and value != 0:
        value = value.copy_negate()  # exact, unlike unary minus, which rounds to 28 digits
    return value


def is_ambiguous_dot_thousands(text: str) -> bool:
    """Return True for 1 to 3 digits without a leading zero, a period and 3 digits (2.000).

    Read with decimal points 2.000 is 2, but continental European files write two
    thousand that way.
    """
    return _ONE_DOT_GROUP_RE.fullmatch(text) is not None


def dot_thousands_hint(text: str) -> str:
    """Return the hint that ``text``, such as 2.000, may be thousands or have decimals.

    The hint is for files read with decimal points, and it names both readings and the fix.
    """
    thousands = text.replace(".", "")
    with_decimals = text.rstrip("0").rstrip(".")
    return (
        f"{text} may be {thousands}, written with a period as thousands separator, or "
        f"{with_decimals}, because the file writes decimals with a point. Write {thousands} "
        f"if it is {thousands}. If the file writes all its numbers this way (1.234,5), "
        'import it with a mapping file whose options set "decimal_comma": true.'
    )


def _format_hint(text: str, *, decimal_comma: bool) -> str:
    if not decimal_comma and _DECIMAL_COMMA_LIKE_RE.fullmatch(text):
        return _HINT_DECIMAL_COMMA
    if not decimal_comma and _MANY_DOT_GROUPS_RE.fullmatch(text):
        return _HINT_DOT_THOUSANDS
    if decimal_comma and _DECIMAL_POINT_LIKE_RE.fullmatch(text):
        return _HINT_DECIMAL_POINT
    return _HINT_EXAMPLES
