"""Employee counts and company-size ranges.

``parse_employee_count`` accepts (case-insensitive, en and em dashes accepted as ``-``):

- exact counts: ``240``, ``1,200``, the int ``240``, integral floats such as ``240.0``;
- closed ranges: ``51-200``, ``1,001-5,000``, ``51 – 200``, ``51 to 200``, ``0-1`` (LinkedIn);
- open ranges: ``10,001+``, ``10000 or more``, ``at least 500``, ``>= 500``;
- exclusive open ranges: ``over 500``, ``more than 500`` and ``> 500`` start at 501;
- upper bounds: ``up to 50`` and ``<= 50`` give 1-50;
- exclusive upper bounds: ``under 50``, ``less than 50`` and ``< 50`` give 1-49;
- thousands and millions with ``k`` or ``m``: ``5k``, ``1.5k``, ``10K+``, ``2.1M``;
- approximations marked by ``~``, ``≈``, ``about``, ``approx.``, ``approximately``,
  ``around``, ``roughly``, ``circa``, ``ca.``, ``c.``, ``est.`` or ``estimated``;
- LinkedIn's ``Self-employed`` bucket, read as exactly 1;
- trailing words (``51-200 employees``, ``240 staff``), a leading ``Employees:`` label, a
  single trailing note in parentheses (``200+ (as of October 2022)`` reads as ``200+``),
  Wikipedia footnote markers and the ``Increase``/``Decrease`` arrow labels of scraped
  Wikipedia infoboxes.

A count written with ``k`` or ``m``, or with an approximation marker, is approximate.
Blank values and placeholders return None. So do counts whose only information is zero
(``0``, ``0-0``, ``0+``), because directories such as Y Combinator's write team size 0 for
"not reported". A range with zero as its lower bound (``0-1``) is a real range. Free text
(``25 employees + 50 contractors``, ``small team``), negative counts, fractions, reversed
ranges and counts above MAX_EMPLOYEES raise UnparsedValue(field="employee count"). So does, unless
``decimal_comma`` is set, a count such as ``2.000`` or ``10.000``, which may be thousands
written with a period as separator or a number with three decimals.

``employee_range_from_bounds`` reads a range given as two bounds, such as a JSON
``{"min": 51, "max": 200}``, by the same rules as ``51-200``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from .errors import UnparsedValue, raw_text
from .numbers import dot_thousands_hint, is_ambiguous_dot_thousands, parse_decimal
from .text import collapse_whitespace, is_missing, strip_footnotes

FIELD = "employee count"

# The largest employers (national militaries, Walmart) have roughly 2-3 million employees,
# so this limit leaves headroom but still rejects typos such as 99999999.
MAX_EMPLOYEES = 10_000_000

MAX_EMPLOYEE_TEXT_LENGTH = 100

_SUFFIX_FACTORS = {"k": 1_000, "m": 1_000_000}

# Longest run of ASCII digits that parse_employee_count reads without its patterns.
_MAX_PLAIN_COUNT_DIGITS = 9


@dataclass(frozen=True)
class EmployeeRange:
    """Headcount range with inclusive bounds. ``maximum`` is None for an open range (``10001+``).

    ``approximate`` marks values that were rounded or estimated at the source (``~20``,
    ``5k``, size buckets).
    """

    minimum: int
    maximum: int | None
    approximate: bool = False

    def __post_init__(self) -> None:
        if self.minimum < 0:
            raise ValueError(f"minimum must be 0 or more, got {self.minimum}")
        if self.maximum is not None and self.maximum < self.minimum:
            raise ValueError(f"maximum {self.maximum} is below minimum {self.minimum}")

    @property
    def estimate(self) -> int:
        """Single headcount for sorting and scoring.

        The midpoint rounded down for a closed range, the minimum for an open range, and
        the count itself for an exact value.
        """
        if self.maximum is None:
            return self.minimum
        return (self.minimum + self.maximum) // 2

    @property
    def label(self) -> str:
        """Display text: ``"51-200"``, ``"10001+"`` or ``"240"``, without an approximation mark."""
        if self.maximum is None:
            return f"{self.minimum}+"
        if self.maximum == self.minimum:
            return str(self.minimum)
        return f"{self.minimum}-{self.maximum}"


# Word buckets of public directories. The bounds are conventions, so every bucket is
# approximate.
_SIZE_BUCKETS: dict[str, EmployeeRange] = {
    "startup": EmployeeRange(1, 10, approximate=True),
    "tiny": EmployeeRange(1, 10, approximate=True),
    "small": EmployeeRange(11, 50, approximate=True),
    "medium": EmployeeRange(51, 200, approximate=True),
    "large": EmployeeRange(201, 1000, approximate=True),
    "enterprise": EmployeeRange(1001, None, approximate=True),
}

_APPROXIMATE = (
    r"(?P<approximate>(?:~|≈|approx\.?|approximately|about|around|circa|ca\.|c\.|est\.|estimated"
    r"|roughly)\s*)?"
)


def _count_pattern(name: str) -> str:
    return rf"(?P<{name}>\d(?:[\d.,' ]*\d)?)\s*(?P<{name}_suffix>[km])?"


_EXACT_RE = re.compile(_APPROXIMATE + _count_pattern("low"))
_RANGE_RE = re.compile(
    _APPROXIMATE + _count_pattern("low") + r"\s*(?:-|to)\s*" + _count_pattern("high")
)
_AT_LEAST_RE = re.compile(
    _APPROXIMATE
    + r"(?:(?:>=|≥|at least)\s*"
    + _count_pattern("low")
    + r"|"
    + _count_pattern("plus")
    + r"\s*(?:\+|or more|and above|and up|plus))"
)
_MORE_THAN_RE = re.compile(_APPROXIMATE + r"(?:>|over|more than|above)\s*" + _count_pattern("low"))
_UP_TO_RE = re.compile(_APPROXIMATE + r"(?:<=|≤|up to|at most)\s*" + _count_pattern("high"))
_LESS_THAN_RE = re.compile(
    _APPROXIMATE + r"(?:<|under|less than|fewer than|below)\s*" + _count_pattern("high")
)

_DASHES_RE = re.compile(r"[‐‑‒–—−]")
_TRAILING_NOTE_RE = re.compile(r"(?P<count>.+?)\s*\([^()]*\)")
_LEADING_LABEL_RE = re.compile(
    r"(?:(?:employees|headcount|team size|staff|number of employees)\s*:\s*)?"
    r"(?:(?:increase|decrease|steady)\s+)?"
)
_TRAILING_WORD_RE = re.compile(
    r"\s*(?:employees?|emps?|people|persons|staff|ftes?|workers|headcount|team members)\.?$"
)
_SELF_EMPLOYED = frozenset({"self-employed", "self employed"})
# A count with a minus sign, such as "-5", "−1,200" or "~-5k", alone or as a range's start.
_NEGATIVE_RE = re.compile(_APPROXIMATE + r"-\s*\d")

NEGATIVE_HINT = (
    "the number of employees cannot be negative. Enter a count such as 240 or a range "
    "such as 51-200, or leave the cell empty."
)


def parse_employee_count(
    raw: str | int | float | None, *, decimal_comma: bool = False
) -> EmployeeRange | None:
    """Parse an employee count or size range into an EmployeeRange.

    See the module docstring for the accepted forms and the values that return None.
    ``decimal_comma`` selects how separators inside numbers are read (``1.5k`` or
    ``1,5k``), as in parse_decimal. Raises UnparsedValue(field="employee count").
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise UnparsedValue(FIELD, raw_text(raw), "expected a number of employees, not a boolean")
    if isinstance(raw, int):
        return _exact_range(raw, str(raw), approximate=False)
    if isinstance(raw, float):
        if not math.isfinite(raw) or not raw.is_integer():
            raise UnparsedValue(FIELD, raw_text(raw), "expected a whole number of employees")
        return _exact_range(int(raw), str(raw), approximate=False)
    if not isinstance(raw, str):
        # JSON exports can hold a list or an object where a count belongs.
        raise UnparsedValue(FIELD, raw_text(raw), "expected a number of employees or a range")
    if raw.isdigit() and raw.isascii() and len(raw) <= _MAX_PLAIN_COUNT_DIGITS:
        # A plain count such as "240" reads the same in both decimal conventions.
        return _exact_range(int(raw), raw, approximate=False)
    if is_missing(raw):
        return None
    return _parse_employee_text(raw, decimal_comma=decimal_comma)


def employee_range_from_bounds(
    minimum: str | int | float | None,
    maximum: str | int | float | None,
    *,
    decimal_comma: bool = False,
) -> EmployeeRange | None:
    """Build the EmployeeRange of separate bounds, such as JSON's ``{"min": 51, "max": 200}``.

    Both bounds follow the rules of parse_employee_count for ``51-200``: the estimate is the
    midpoint rounded down, 0 is a real minimum, and ``0-0`` returns None. A minimum alone
    is an open range, as ``10001+`` is, and a maximum alone starts at 1, as ``up to 50``
    does. No bound returns None. Each bound is one count, such as 51, "1,001" or "5k".
    Raises UnparsedValue(field="employee count") for a bound that is not one count and for
    a minimum above the maximum.
    """
    text = bounds_text(minimum, maximum)
    low = _bound_count(minimum, text, decimal_comma)
    high = _bound_count(maximum, text, decimal_comma)
    if high is None:
        if low is None:
            return None
        return _open_range(low[0], approximate=low[1])
    if low is None:
        return _upper_bound_range(high[0], text, approximate=high[1])
    if high[0] < low[0]:
        raise UnparsedValue(FIELD, text, f"the minimum {low[0]} is above the maximum {high[0]}")
    if high[0] == 0:
        return None
    return EmployeeRange(low[0], high[0], approximate=low[1] or high[1])


def bounds_text(minimum: object, maximum: object) -> str:
    """Return two bounds as one text: ``51-200``, ``10001+`` or ``up to 50``."""
    low = "" if minimum is None else raw_text(minimum).strip()
    high = "" if maximum is None else raw_text(maximum).strip()
    if low and high:
        return f"{low}-{high}"
    if low:
        return f"{low}+"
    return f"up to {high}" if high else ""


def _bound_count(
    raw: str | int | float | None, text: str, decimal_comma: bool
) -> tuple[int, bool] | None:
    """Return one bound as (count, approximate), or None when it is missing."""
    if raw is None or (isinstance(raw, str) and is_missing(raw)):
        return None
    label = f'"{raw}"' if isinstance(raw, str) else raw_text(raw)
    try:
        count = parse_employee_count(raw, decimal_comma=decimal_comma)
    except UnparsedValue as error:
        raise UnparsedValue(FIELD, text, f"the bound {label} is invalid: {error.hint}") from None
    if count is None:
        # parse_employee_count reads zero, and text that names no count, as unknown.
        if isinstance(raw, str) and not any(character.isdigit() for character in raw):
            return None
        return 0, False
    if count.maximum != count.minimum:
        raise UnparsedValue(
            FIELD, text, f"the bound {label} is a range, not one number of employees"
        )
    return count.minimum, count.approximate


def from_size_bucket(word: str | None) -> EmployeeRange | None:
    """Map a company-size word (``tiny``, ``startup``, ``small``, ``medium``, ``large``,
    ``enterprise``) to its approximate EmployeeRange.

    Blank values return None. Raises UnparsedValue(field="company size") for other words.
    """
    if word is None or is_missing(word):
        return None
    bucket = _SIZE_BUCKETS.get(collapse_whitespace(word).casefold())
    if bucket is None:
        known = ", ".join(_SIZE_BUCKETS)
        raise UnparsedValue("company size", word, f"expected one of: {known}")
    return bucket


def _parse_employee_text(raw: str, *, decimal_comma: bool) -> EmployeeRange | None:
    if len(raw) > MAX_EMPLOYEE_TEXT_LENGTH:
        raise UnparsedValue(
            FIELD, raw, f"the text is longer than {MAX_EMPLOYEE_TEXT_LENGTH} characters"
        )
    text = unicodedata.normalize("NFKC", strip_footnotes(raw)).casefold()
    text = collapse_whitespace(_DASHES_RE.sub("-", text))
    note = _TRAILING_NOTE_RE.fullmatch(text)
    if note is not None:
        text = note["count"]
    text = _LEADING_LABEL_RE.sub("", text, count=1)
    text = _TRAILING_WORD_RE.sub("", text)

    if text in _SELF_EMPLOYED:
        return EmployeeRange(1, 1)
    if is_missing(text):
        return None

    match = _EXACT_RE.fullmatch(text)
    if match is not None:
        count = _read_count(match, "low", raw, decimal_comma)
        return _exact_range(count, raw, approximate=_is_approximate(match, "low"))

    match = _RANGE_RE.fullmatch(text)
    if match is not None:
        return _closed_range(match, raw, decimal_comma)

    match = _AT_LEAST_RE.fullmatch(text)
    if match is not None:
        name = "low" if match["low"] is not None else "plus"
        count = _read_count(match, name, raw, decimal_comma)
        return _open_range(count, approximate=_is_approximate(match, name))

    match = _MORE_THAN_RE.fullmatch(text)
    if match is not None:
        count = _read_count(match, "low", raw, decimal_comma)
        return _open_range(count + 1, approximate=_is_approximate(match, "low"))

    match = _UP_TO_RE.fullmatch(text)
    if match is not None:
        count = _read_count(match, "high", raw, decimal_comma)
        return _upper_bound_range(count, raw, approximate=_is_approximate(match, "high"))

    match = _LESS_THAN_RE.fullmatch(text)
    if match is not None:
        count = _read_count(match, "high", raw, decimal_comma)
        return _upper_bound_range(count - 1, raw, approximate=_is_approximate(match, "high"))

    if _NEGATIVE_RE.match(text):
        raise UnparsedValue(FIELD, raw, NEGATIVE_HINT)
    raise UnparsedValue(
        FIELD,
        raw,
        "expected a count or range such as 240, 51-200, 10,001+ or ~5k. "
        "Enter one number or range per company.",
    )


def _read_count(match: re.Match[str], name: str, raw: str, decimal_comma: bool) -> int:
    suffix = match[f"{name}_suffix"]
    if not decimal_comma and suffix is None and is_ambiguous_dot_thousands(match[name]):
        # A head count is never a fraction, so 2.000 is far more likely 2000 than 2.
        raise UnparsedValue(FIELD, raw, dot_thousands_hint(match[name]))
    try:
        value = parse_decimal(match[name], decimal_comma=decimal_comma)
    except UnparsedValue as error:
        raise UnparsedValue(FIELD, raw, error.hint) from None
    assert value is not None  # the pattern only matches digits
    if suffix is not None:
        value *= _SUFFIX_FACTORS[suffix]
    if value != value.to_integral_value():
        raise UnparsedValue(FIELD, raw, f"{value} is not a whole number of employees")
    _check_maximum(value, raw)
    return int(value)


def _check_maximum(count: int | Decimal, raw: str) -> None:
    if count > MAX_EMPLOYEES:
        raise UnparsedValue(
            FIELD, raw, f"{count} is more than {MAX_EMPLOYEES:,} employees, which no company has"
        )


def _is_approximate(match: re.Match[str], name: str) -> bool:
    return match["approximate"] is not None or match[f"{name}_suffix"] is not None


def _exact_range(count: int, raw: str, *, approximate: bool) -> EmployeeRange | None:
    if count < 0:
        raise UnparsedValue(FIELD, raw, NEGATIVE_HINT)
    _check_maximum(count, raw)
    if count == 0:
        return None
    return EmployeeRange(count, count, approximate=approximate)


def _closed_range(match: re.Match[str], raw: str, decimal_comma: bool) -> EmployeeRange | None:
    low = _read_count(match, "low", raw, decimal_comma)
    high = _read_count(match, "high", raw, decimal_comma)
    if high < low:
        raise UnparsedValue(
            FIELD, raw, f"the range is reversed. Write the smaller number first ({high}-{low})."
        )
    if high == 0:
        return None
    approximate = _is_approximate(match, "low") or match["high_suffix"] is not None
    return EmployeeRange(low, high, approximate=approximate)


def _open_range(minimum: int, *, approximate: bool) -> EmployeeRange | None:
    if minimum == 0:
        return None
    return EmployeeRange(minimum, None, approximate=approximate)


def _upper_bound_range(maximum: int, raw: str, *, approximate: bool) -> EmployeeRange:
    if maximum < 1:
        raise UnparsedValue(FIELD, raw, "the upper bound leaves no possible headcount")
    return EmployeeRange(1, maximum, approximate=approximate)
