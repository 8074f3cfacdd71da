"""Score accounts against one framework version, in pure Python.

``CompiledFramework.compile`` reads a framework's criteria, size bands, geography map and
the industry names once. ``CompiledFramework.evaluate`` then scores one ``AccountRow``
without touching the database, so callers can stream millions of rows through it.
Rows share work: each criterion caches its judgement of a value, and of a class of head
counts or revenues that it judges alike, such as every count within its range. Such a
judgement's text contains a mark where ``evaluate`` puts the row's own number. Scores are
cached per combination of the judgements' points, tags per industry, band, country and tier.

Scoring rules:

- Each criterion checks one dimension. A known value that matches earns the criterion's
  weight. A known value that does not match earns nothing but still counts towards the
  maximum.
- An unknown value follows the criterion's unknown policy: ``neutral`` leaves the
  criterion out of the maximum, ``half`` earns half the weight, ``no_points`` earns
  nothing. It never counts as a match or a mismatch, so it can neither trigger a
  disqualifier nor break a must-have rule.
- The score is ``100 * points / maximum``, rounded half up. It is None when every
  criterion was left out.
- A disqualifier that matches sets the score to 0 and the tier to Low. Its weight is never
  counted. Its values name what is excluded, so its explanation reads "is excluded" or,
  with the outcome ``not_excluded``, "is not excluded".
- A must-have criterion whose known value does not match caps the score just below the
  Medium cut-off, so the account lands in the Low tier.
- Industry, company size and geography are mandatory. When any is unknown the account
  gets no tag and no route, and ``needs_enrichment`` is set, with the missing fields
  named. Its score and tier still show how well its known values fit.
- A mandatory field whose sources conflict (``Account.field_status``) counts as unknown,
  and the explanation gains one ``verification`` item naming the disagreeing values. A
  value a manager accepted or resolved has the status ``accepted``, so it is used.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from accounts.models import Tier, VerificationStatus
from accounts.normalizers import country_code_fix, decode_character_references, industry_key
from enrichment.verification import CONFLICTING, VERIFIED, queue_reasons

from .explanations import COUNT_MARK, MONEY_MARK, fill_marks, item_key, stored_form
from .models import (
    UNAPPROVED_STATUSES,
    Criterion,
    Dimension,
    Framework,
    Industry,
    IndustrySynonym,
)

if TYPE_CHECKING:
    from .tags import TagChecker

MATCH = "match"
MISMATCH = "mismatch"
UNKNOWN = "unknown"
DISQUALIFIED = "disqualified"
# The outcome of a disqualifier whose known value does not match.
NOT_EXCLUDED = "not_excluded"

INDUSTRY_FIELD = "industry"
COMPANY_SIZE_FIELD = "company_size"
GEOGRAPHY_FIELD = "geography"
# Mandatory fields of Account.field_status, by the missing-field name the engine uses.
CONFLICT_FIELDS = {
    "industry": INDUSTRY_FIELD,
    "company_size": COMPANY_SIZE_FIELD,
    "country": GEOGRAPHY_FIELD,
}
VERIFICATION_DIMENSION = "verification"

# Entries kept per criterion in the explanation cache (about 1 KB each). Industries and
# countries have few distinct values, but head counts and revenues can differ for every
# account. Past this size, entries are built afresh instead of stored to keep memory flat.
EXPLANATION_CACHE_SIZE = 4096

_encode_json = json.JSONEncoder(ensure_ascii=False).encode

# Entries kept in each of evaluate()'s caches of scores and placements (tag, size band,
# geography). Both have few distinct keys on real data: a placement depends on the
# industry, band, country and tier. Past this size, entries are built afresh.
RESULT_CACHE_SIZE = 20_000
# The marks of a row's own head count and revenue in a judgement's text, which a
# criterion's cache then shares between rows. A criterion whose own names contain one
# judges by value instead (see _CompiledCriterion).
_MARKS = re.compile(f"[{COUNT_MARK}{MONEY_MARK}]")

# Positions in the tuple of facts that evaluate() builds for each row.
_FACT_INDEX = {
    Dimension.INDUSTRY: 0,
    Dimension.GEOGRAPHY: 1,
    Dimension.COMPANY_SIZE: 2,
    Dimension.REVENUE: 3,
    Dimension.TECHNOLOGY: 4,
    Dimension.BUYING_SIGNALS: 5,
}

_HIGH = Tier.HIGH.value
_MEDIUM = Tier.MEDIUM.value
_LOW = Tier.LOW.value
_TIER_LABELS = {_HIGH: "High", _MEDIUM: "Medium", _LOW: "Low"}
# Orders results from worst to best; an unscored result ranks lowest.
_TIER_RANKS = {"": 0, _LOW: 1, _MEDIUM: 2, _HIGH: 3}
_SUBJECTS = {
    Dimension.INDUSTRY: "Industry",
    Dimension.GEOGRAPHY: "Country",
    Dimension.COMPANY_SIZE: "Company size",
    Dimension.REVENUE: "Revenue",
    Dimension.TECHNOLOGY: "Technologies",
    Dimension.BUYING_SIGNALS: "Buying signals",
}
_NOUNS = {
    Dimension.INDUSTRY: "industry",
    Dimension.GEOGRAPHY: "geography",
    Dimension.COMPANY_SIZE: "size band",
}
# Keys that name a buying signal or technology stored as a dict.
_ITEM_NAME_KEYS = ("kind", "type", "name", "signal", "technology")
_OPERATORS_BY_DIMENSION = {
    Dimension.INDUSTRY: {Criterion.Operator.IN, Criterion.Operator.NOT_IN},
    Dimension.GEOGRAPHY: {Criterion.Operator.IN, Criterion.Operator.NOT_IN},
    Dimension.COMPANY_SIZE: {
        Criterion.Operator.IN,
        Criterion.Operator.NOT_IN,
        Criterion.Operator.RANGE,
    },
    Dimension.REVENUE: {Criterion.Operator.RANGE},
    Dimension.TECHNOLOGY: {
        Criterion.Operator.ANY_OF,
        Criterion.Operator.ALL_OF,
        Criterion.Operator.IN,
        Criterion.Operator.NOT_IN,
    },
    Dimension.BUYING_SIGNALS: {
        Criterion.Operator.ANY_OF,
        Criterion.Operator.ALL_OF,
        Criterion.Operator.IN,
        Criterion.Operator.NOT_IN,
    },
}


class FrameworkError(ValueError):
    """A framework that cannot be compiled, such as a criterion naming an unknown industry."""


class AccountRow(NamedTuple):
    """The account fields that scoring reads, in the order ``ROW_FIELDS`` lists them."""

    id: int
    industry_id: int | None
    employee_count: int | None
    employee_min: int | None
    employee_max: int | None
    annual_revenue_usd: Decimal | float | None
    country: str
    technologies: Sequence[str] | str | None
    buying_signals: Sequence[str] | str | None
    verification_status: str = VerificationStatus.UNVERIFIED.value
    # Read only when verification_status is conflicting: a dict, its JSON text or None.
    field_status: dict[str, Any] | str | None = None


ROW_FIELDS: tuple[str, ...] = AccountRow._fields
# evaluate() reads rows by position, so callers may pass plain tuples in ROW_FIELDS order.
(
    _INDUSTRY,
    _EMPLOYEE_COUNT,
    _EMPLOYEE_MIN,
    _EMPLOYEE_MAX,
    _REVENUE,
    _COUNTRY,
    _TECHNOLOGIES,
    _BUYING_SIGNALS,
    _VERIFICATION_STATUS,
    _FIELD_STATUS,
) = range(1, len(ROW_FIELDS))
_CONFLICTING = VerificationStatus.CONFLICTING.value
# The size fact of an account whose company size is treated as unknown.
_NO_SIZE: tuple[None, None, None] = (None, None, None)


class Evaluation(NamedTuple):
    """The segmentation result for one account.

    ``explanation`` has one dict per criterion, then one per conflicting mandatory field
    and kept override. It is built from ``judgements``, whose texts may contain marks for
    ``count_text`` and ``money_text``, and ``extra``. ``stored_explanation`` is the form
    that bulk writes store (``segmentation.explanations``). The first eight fields follow
    the order of ``segmentation.services.CURRENT_FIELDS``, which compares them as a tuple
    slice.
    """

    score: int | None
    tier: str
    tag: str
    route: str
    size_band: str
    geography: str
    needs_enrichment: bool
    missing_fields: list[str]
    judgements: tuple[_Judgement, ...]
    # The row's head count and revenue as the explanation shows them, or "" when no
    # judgement's text has a mark for them.
    count_text: str
    money_text: str
    # JSON texts of the items that follow the criteria's, such as conflicting sources.
    extra: tuple[str, ...] = ()

    @property
    def explanation_json(self) -> str:
        parts = [
            fill_marks(judgement.item_json, self.count_text, self.money_text)
            if judgement.scoring.marked
            else judgement.item_json
            for judgement in self.judgements
        ]
        return "[" + ",".join(parts + list(self.extra)) + "]"

    @property
    def explanation(self) -> list[dict[str, Any]]:
        return json.loads(self.explanation_json)

    @property
    def stored_explanation(self) -> str:
        """Return the explanation as bulk writes store it: item keys and the row's numbers."""
        key_texts = [judgement.key_text for judgement in self.judgements]
        return stored_form(key_texts, self.count_text, self.money_text, self.extra)


class _Scoring(NamedTuple):
    """The part of a judgement that the score depends on."""

    points: float
    max_points: int
    disqualified: bool
    must_have_failed: bool
    # True when the judgement's text contains the count or money mark, to be replaced by
    # the row's own number.
    marked: bool


class _Outcome(NamedTuple):
    """The score, tier and route that a row's judgements add up to.

    Every row with the same scorings shares one.
    """

    score: int | None
    tier: str
    route: str
    marked: bool


class _Judgement(NamedTuple):
    outcome: str
    scoring: _Scoring
    item_json: str
    # The ExplanationItem key of item_json, and the key as text.
    key: int
    key_text: str


def caseless_key(value: str) -> str:
    """Return ``value`` case-folded and in Unicode normalization form C, for comparing names.

    Canonically equivalent spellings get the same key, so "Café" typed with U+00E9 matches
    "Café" typed as "e" followed by U+0301 COMBINING ACUTE ACCENT, which prints alike.
    """
    if value.isascii():
        # ASCII text is already in every normalization form. Scoring keys every technology
        # and buying signal of every account, and this skips two normalize() calls.
        return value.casefold()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", value).casefold())


def term_key(value: str) -> str:
    """Normalize a technology or buying-signal name: ``caseless_key``, ``-``/``_`` as spaces.

    HTML character references are decoded, so a criterion ``AT&T`` matches an account
    whose list was stored as ``AT&amp;T``.

    A criterion value matches an item that contains the value's words in order as whole
    words, so ``hiring`` matches ``Hiring SDRs`` but ``data`` does not match ``Datadog``.
    """
    text = caseless_key(decode_character_references(value))
    return " ".join(text.replace("_", " ").replace("-", " ").split())


class _MarkedCount(int):
    """A head count that formats as the count mark, for judging head counts by class."""

    def __format__(self, spec: str) -> str:
        return COUNT_MARK


class _MarkedMoney(float):
    """A revenue that format_usd() shows as the money mark, for judging revenues by class."""


def format_usd(amount: Decimal | float) -> str:
    """Format a US dollar amount to three significant digits, such as $950K, $75.3M or $1.2B."""
    if isinstance(amount, _MarkedMoney):
        return MONEY_MARK
    value = float(amount)
    sign = "-" if value < 0 else ""
    value = abs(value)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        # 999,600 rounds to 1,000K, so it is shown as $1M instead.
        if value >= threshold * 0.9995:
            scaled = value / threshold
            number = f"{scaled:.3g}" if scaled < 999.5 else f"{scaled:.0f}"
            return f"{sign}${number}{suffix}"
    return f"{sign}${value:.0f}"


def _choice_label(choices: type, value: str) -> str:
    """Return the admin label of a choice value, or the value when it is not a choice."""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _or_list(items: list[str]) -> str:
    """Join items as "a, b or c"."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


# Values that one error lists before it counts the rest, such as "and 12 more".
LISTED_VALUES_MAX = 10


def _and_list(items: list[str]) -> str:
    """Join items as "a, b and c", listing at most LISTED_VALUES_MAX and counting the rest."""
    if len(items) > LISTED_VALUES_MAX:
        listed = ", ".join(items[:LISTED_VALUES_MAX])
        return f"{listed} and {len(items) - LISTED_VALUES_MAX} more"
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _sorted_values(values: Iterable[str]) -> list[str]:
    return sorted(values, key=lambda value: (value.casefold(), value))


def _geography_values_message(owner: str, unknown: set[str], invalid_codes: dict[str, str]) -> str:
    """Return one message naming every unknown geography and invalid country code, sorted."""
    sentences = []
    if unknown:
        sentences.append(_unknown_geographies_sentence(owner, unknown))
    if invalid_codes:
        sentences.append(_invalid_codes_sentence(owner, invalid_codes))
    return " ".join(sentences)


def _unknown_geographies_sentence(owner: str, unknown: set[str]) -> str:
    if len(unknown) == 1:
        return (
            f"{owner} names unknown geography {next(iter(unknown))!r}: use a region or label "
            "of the framework's geography map, or a two-letter country code."
        )
    names = _and_list([repr(value) for value in _sorted_values(unknown)])
    return (
        f"{owner} names {len(unknown)} unknown geographies, {names}: use regions or "
        "labels of the framework's geography map, or two-letter country codes."
    )


def _invalid_codes_sentence(owner: str, invalid_codes: dict[str, str]) -> str:
    """Name each value with the fix of ``country_code_fix``, such as "use GB" for UK."""
    if len(invalid_codes) == 1:
        [(code, fix)] = invalid_codes.items()
        return f"{owner} names {code!r}, which is not an ISO 3166-1 country code: {fix}."
    codes = _sorted_values(invalid_codes)
    # Fixes other than a suggested code say "check the code", which the sentence says once.
    suggested = [code for code in codes if invalid_codes[code].startswith("use ")]
    listed = _and_list(
        [f"{code!r} ({invalid_codes[code]})" if code in suggested else repr(code) for code in codes]
    )
    if len(suggested) == len(codes):
        fix = "Use the suggested codes."
    elif suggested:
        fix = "Use the suggested codes, and check the others, such as DE for Germany."
    else:
        fix = "Check each code, such as DE for Germany."
    return (
        f"{owner} names {len(codes)} values that are not ISO 3166-1 country codes, {listed}. {fix}"
    )


def _format_points(points: float) -> int | float:
    return int(points) if float(points).is_integer() else points


def _terms_fact(raw: Sequence[str] | str | None) -> tuple | str | None:
    """Return a hashable copy of a technologies or buying-signals value."""
    if isinstance(raw, list):
        return tuple(raw)
    return raw


def _item_name(item: Any) -> str:
    """Return the name of a list item: the string itself or a dict's kind, type or name."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        for key in _ITEM_NAME_KEYS:
            value = item.get(key)
            if isinstance(value, str):
                return value
    return ""


def _terms(raw: Sequence[Any] | str | None) -> frozenset[str]:
    """Return the normalized names of a technologies or buying-signals value.

    Items are strings or dicts such as ``{"kind": "funding", "detail": "Series B"}``, and
    other items are ignored. Raises ValueError for a value that is not a list or string.
    """
    if raw is None:
        return frozenset()
    if isinstance(raw, str):
        raw = [raw]
    elif not isinstance(raw, list | tuple):
        raise ValueError(f"expected a list of names, got {type(raw).__name__} {raw!r}")
    keys = (term_key(_item_name(item)) for item in raw)
    return frozenset(key for key in keys if key)


def _contains_words(term: str, value: str) -> bool:
    return f" {value} " in f" {term} "


class _IntervalLookup:
    """A lookup of the first band containing a value, by bisecting the bands' bounds.

    Every value between two consecutive bounds falls in the same band, so ``first_band``
    runs once per interval and each row costs one bisect.
    """

    def __init__(self, bounds: Iterable[float], first_band: Callable[[float], str | None]):
        self._bounds = sorted(set(bounds))
        below = self._bounds[0] - 1 if self._bounds else 0
        self._bands = [first_band(below)] + [first_band(bound) for bound in self._bounds]

    def __call__(self, value: float) -> str | None:
        return self._bands[bisect_right(self._bounds, value)]


@dataclass(frozen=True, slots=True)
class _SizeBand:
    name: str
    min_employees: int | None
    max_employees: int | None
    min_revenue: float | None
    max_revenue: float | None

    def contains_employees(self, count: int) -> bool:
        if self.min_employees is None and self.max_employees is None:
            return False
        if self.min_employees is not None and count < self.min_employees:
            return False
        return self.max_employees is None or count <= self.max_employees

    def contains_revenue(self, revenue: float) -> bool:
        if self.min_revenue is None and self.max_revenue is None:
            return False
        if self.min_revenue is not None and revenue < self.min_revenue:
            return False
        return self.max_revenue is None or revenue < self.max_revenue


def _size_basis(band: str | None, estimate: int | None, revenue: Any) -> str:
    """Describe what a size band rests on, such as "300 employees" or "revenue $75M"."""
    if estimate is not None:
        text = f"{estimate:,} employees"
    elif revenue is not None:
        text = f"revenue {format_usd(revenue)}"
    else:
        return ""
    if band is None:
        text += " fit no size band" if estimate is not None else " fits no size band"
    return text


def conflicting_fields(field_status: dict[str, Any] | str | None) -> list[tuple[str, str]]:
    """Return (missing-field name, reason) for each mandatory field whose sources conflict.

    ``field_status`` is Account.field_status as a dict or JSON text. The reason is the
    enrichment queue's sentence, with sources by name, such as "Industry: sources disagree
    (fortune500: …; sp500: …). Resolve the conflict." Raises ValueError for text that is
    not a JSON object.
    """
    if isinstance(field_status, str):
        field_status = json.loads(field_status)
    if not field_status:
        return []
    if not isinstance(field_status, dict):
        raise ValueError(
            f"Invalid field_status {field_status!r}: expected a JSON object of per-field "
            'statuses, such as {"industry": {"status": "verified"}}.'
        )
    conflicting = {}
    for name in CONFLICT_FIELDS:
        entry = field_status.get(name)
        if isinstance(entry, dict) and entry.get("status") == CONFLICTING:
            # PostgreSQL's jsonb orders keys by length, so sources are sorted again by name.
            values = entry.get("values")
            values = dict(sorted(values.items())) if isinstance(values, dict) else {}
            conflicting[name] = {**entry, "values": values}
    if not conflicting:
        return []
    # queue_reasons() gives one sentence per field that is not verified, in the order of
    # CONFLICT_FIELDS, so the other fields are passed as verified.
    verified = {"status": VERIFIED}
    reasons = queue_reasons({name: conflicting.get(name, verified) for name in CONFLICT_FIELDS})
    pairs = zip(conflicting, reasons, strict=True)
    return [(CONFLICT_FIELDS[name], reason) for name, reason in pairs]


def _result_rank(outcome: _Outcome) -> tuple[int, int]:
    """Return a key that orders outcomes from the worst result to the best."""
    return _TIER_RANKS[outcome.tier], -1 if outcome.score is None else outcome.score


def _conflict_item(reason: str) -> str:
    """Return the explanation item, as JSON, for one conflicting mandatory field."""
    item = {
        "dimension": VERIFICATION_DIMENSION,
        "label": "Conflicting sources",
        "outcome": CONFLICTING,
        "points": 0,
        "max_points": 0,
        "reason": reason,
    }
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def _marked_fact(fact: Any) -> Any:
    """Return a size or revenue fact whose numbers format as marks."""
    if isinstance(fact, tuple):
        band, estimate, revenue = fact
        return (
            band,
            None if estimate is None else _MarkedCount(estimate),
            None if revenue is None else _MarkedMoney(revenue),
        )
    return None if fact is None else _MarkedMoney(fact)


def employee_estimate(row: AccountRow) -> int | None:
    """Return the head count used for size bands.

    That is the employee count when known, else the middle of the employee range, else the
    lower bound of an open range such as 10,001+.
    """
    count, low, high = row[_EMPLOYEE_COUNT], row[_EMPLOYEE_MIN], row[_EMPLOYEE_MAX]
    if count is not None:
        return count
    if low is not None and high is not None:
        return (low + high) // 2
    return high if low is None else low


def employee_count_text(row: AccountRow, estimate: int) -> str:
    """Return the head count as the explanation shows it: "1,001–5,000", "10,001+" or "250".

    A range is shown as the range, not as the estimate that placed it in a size band,
    so a midpoint such as 3,000 never reads as an exact count.

    NOTE: a criterion with an employee range still matches on the estimate, so its text
    can read "1,001–5,000 employees is within 2,000–10,000" for a range that only
    partly overlaps.
    """
    low, high = row[_EMPLOYEE_MIN], row[_EMPLOYEE_MAX]
    if low is None or low > estimate or (high is not None and high < estimate):
        return f"{estimate:,}"
    if high is None:
        return f"{low:,}+"
    if high == low:
        return f"{estimate:,}"
    return f"{low:,}–{high:,}"


class _CompiledCriterion:
    """One criterion with its values normalized, plus a cache of explanation entries."""

    def __init__(self, criterion: Criterion, framework: CompiledFramework) -> None:
        self.dimension = criterion.dimension
        self.label = criterion.label or str(criterion)
        self.operator = criterion.operator
        self.weight = int(criterion.weight)
        self.is_must_have = criterion.is_must_have
        self.is_disqualifier = criterion.is_disqualifier
        self.unknown_policy = criterion.unknown_policy
        self.min_value = None if criterion.min_value is None else float(criterion.min_value)
        self.max_value = None if criterion.max_value is None else float(criterion.max_value)
        self._framework = framework
        self.fact_index = _FACT_INDEX.get(self.dimension, 0)
        self._json_prefix = (
            f'{{"dimension":{_encode_json(self.dimension)},"label":{_encode_json(self.label)},'
            '"outcome":'
        )
        self.term_names: dict[str, str] = {}
        self._by_reason: dict[tuple, _Judgement] = {}
        self._cache: dict[Hashable, _Judgement] = {}
        self._classify: Callable[[Any], Hashable] | None = None
        self._check_operator(criterion)
        self.values = self._compile_values(criterion)
        # Whether _in_phrase() describes a known value, so a disqualifier's sentence
        # already states whether the account is excluded.
        self._names_exclusion = (
            self.dimension in _NOUNS and self.operator != Criterion.Operator.RANGE
        )
        self._range_text = ""
        if self.operator == Criterion.Operator.RANGE:
            self._range_text = self._describe_range(money=self.dimension == Dimension.REVENUE)
        # Head counts and revenues are judged by class, unless a name in the text contains
        # a mark character, which the row's number would then replace.
        names = " ".join([self.label, self._range_text, *(b.name for b in framework.size_bands)])
        if not _MARKS.search(names):
            if self.dimension == Dimension.COMPANY_SIZE:
                self._classify = self._size_class
            elif self.dimension == Dimension.REVENUE:
                self._classify = self._revenue_class
        # A geography criterion may name the unmapped label, such as "Rest of World".
        self.includes_unmapped = self.dimension == Dimension.GEOGRAPHY and any(
            caseless_key(str(value)) == caseless_key(framework.unmapped_label)
            for value in criterion.values or []
        )

    def _describe(self) -> str:
        return f"Criterion {self.label!r} of framework v{self._framework.version}"

    def _check_operator(self, criterion: Criterion) -> None:
        allowed = _OPERATORS_BY_DIMENSION.get(self.dimension)
        if allowed is None:
            raise FrameworkError(
                f"{self._describe()} has unknown dimension {self.dimension!r}: use one of "
                f"{', '.join(str(label) for label in Dimension.labels)}."
            )
        if self.operator not in allowed:
            # Messages name operators and dimensions as the admin shows them.
            operator = _choice_label(Criterion.Operator, self.operator)
            dimension = _choice_label(Dimension, self.dimension)
            choices = [
                repr(str(label)) for value, label in Criterion.Operator.choices if value in allowed
            ]
            raise FrameworkError(
                f"{self._describe()} uses the operator {operator!r}, which the {dimension} "
                f"dimension does not support: use {_or_list(choices)}."
            )
        if not isinstance(criterion.values, list):
            raise FrameworkError(
                f"{self._describe()} has values {criterion.values!r}: use a JSON list, such "
                'as ["SaaS", "FinTech"].'
            )
        if self.operator == Criterion.Operator.RANGE:
            if self.min_value is None and self.max_value is None:
                raise FrameworkError(
                    f"{self._describe()} uses a range without bounds: set the minimum, the "
                    "maximum or both."
                )
        elif not criterion.values:
            raise FrameworkError(f"{self._describe()} lists no values: add at least one.")

    def _compile_values(self, criterion: Criterion) -> frozenset:
        if self.operator == Criterion.Operator.RANGE:
            return frozenset()
        values = [str(value) for value in criterion.values]
        if self.dimension == Dimension.INDUSTRY:
            return frozenset(self._framework.industry_ids_for(values, self._describe()))
        if self.dimension == Dimension.GEOGRAPHY:
            return frozenset(self._framework.countries_for(values, self._describe()))
        if self.dimension == Dimension.COMPANY_SIZE:
            return frozenset(self._framework.band_names_for(values, self._describe()))
        self.term_names = {term_key(value): value for value in values}
        return frozenset(self.term_names)

    def judge(self, fact: Hashable) -> _Judgement:
        """Return the cached judgement for ``fact``, the criterion's view of the row.

        A head count or revenue is judged by its class (see _size_class and _revenue_class):
        the judgement's text then contains a mark where the row's own number goes.
        Raises ValueError for a technologies or buying-signals value that is not a list.
        """
        classify = self._classify
        key = fact if classify is None else classify(fact)
        try:
            judgement = self._cache.get(key)
        except TypeError:
            # A list holding dicts cannot be a cache key, so it is judged uncached.
            return self._build(fact)
        if judgement is None:
            judgement = self._build(fact if classify is None else _marked_fact(fact))
            if len(self._cache) < EXPLANATION_CACHE_SIZE:
                self._cache[key] = judgement
        return judgement

    def _size_class(self, fact: tuple) -> tuple:
        """Return what a size criterion's judgement depends on, apart from the numbers shown.

        That is whether the head count is in the range, or the band and whether a head
        count or a revenue gave it.
        """
        band, estimate, revenue = fact
        if self.operator == Criterion.Operator.RANGE:
            return (None if estimate is None else self._in_range(estimate, max_inclusive=True),)
        return band, estimate is None, revenue is None

    def _revenue_class(self, revenue: Decimal | float | None) -> bool | str | None:
        if revenue is None:
            return None
        value = float(revenue)
        if value != value:
            return "nan"
        return self._in_range(value, max_inclusive=False)

    def _build(self, fact: Hashable) -> _Judgement:
        known, matched, value_text, detail = self._observe(fact)
        if not known:
            return self._unknown(value_text)
        if self.is_disqualifier:
            if matched:
                reason = f"{detail}: disqualified, so the score is 0 and the tier Low"
                return self._judgement(DISQUALIFIED, 0, 0, reason)
            if not self._names_exclusion:
                detail += ", so the account is not excluded"
            return self._judgement(NOT_EXCLUDED, 0, 0, detail)
        if matched:
            reason = f"{detail} (+{self.weight} of {self.weight})"
            return self._judgement(MATCH, self.weight, self.weight, reason)
        reason = f"{detail} (+0 of {self.weight})"
        if self.is_must_have:
            reason += (
                "; must-have not met, so the tier is capped at Low and the score at "
                f"{self._framework.must_have_score_cap}"
            )
        return self._judgement(MISMATCH, 0, self.weight, reason, must_have_failed=self.is_must_have)

    def _unknown(self, value_text: str) -> _Judgement:
        subject = f"{_SUBJECTS[self.dimension]} unknown"
        if value_text:
            subject += f" ({value_text})"
        if self.is_disqualifier:
            return self._judgement(
                UNKNOWN, 0, 0, f"{subject}: the disqualifier cannot be checked and does not apply"
            )
        rule_note = "; the must-have rule cannot be checked" if self.is_must_have else ""
        if self.unknown_policy == Criterion.Unknown.HALF:
            points = self.weight / 2
            points_text = _format_points(points)
            reason = f"{subject}: half the points (+{points_text} of {self.weight}){rule_note}"
            return self._judgement(UNKNOWN, points, self.weight, reason)
        if self.unknown_policy == Criterion.Unknown.NO_POINTS:
            reason = f"{subject}: no points (+0 of {self.weight}){rule_note}"
            return self._judgement(UNKNOWN, 0, self.weight, reason)
        return self._judgement(UNKNOWN, 0, 0, f"{subject}: left out of the score{rule_note}")

    def _judgement(
        self,
        outcome: str,
        points: float,
        max_points: int,
        reason: str,
        *,
        must_have_failed: bool = False,
    ) -> _Judgement:
        # Different facts often give the same text (revenues that round alike), so entries
        # are also shared by text.
        key = (outcome, points, reason)
        shared = self._by_reason.get(key)
        if shared is not None:
            return shared
        item_json = (
            f'{self._json_prefix}"{outcome}","points":{_format_points(points)},'
            f'"max_points":{max_points},"reason":{_encode_json(reason)}}}'
        )
        marked = self._classify is not None and bool(_MARKS.search(reason))
        scoring = _Scoring(points, max_points, outcome == DISQUALIFIED, must_have_failed, marked)
        stored_key = item_key(item_json)
        judgement = _Judgement(outcome, scoring, item_json, stored_key, str(stored_key))
        self._framework.new_items[stored_key] = item_json
        if len(self._by_reason) < EXPLANATION_CACHE_SIZE:
            self._by_reason[key] = judgement
        return judgement

    def _observe(self, fact: Hashable) -> tuple[bool, bool, str, str]:
        """Return (known, matched, text for an unknown value, sentence for a known one)."""
        if self.dimension == Dimension.INDUSTRY:
            return self._observe_industry(fact)
        if self.dimension == Dimension.GEOGRAPHY:
            return self._observe_geography(fact)
        if self.dimension == Dimension.COMPANY_SIZE:
            return self._observe_size(fact)
        if self.dimension == Dimension.REVENUE:
            return self._observe_revenue(fact)
        return self._observe_terms(fact)

    def _in_phrase(self, value_text: str, matched: bool) -> str:
        subject = _SUBJECTS[self.dimension]
        noun = _NOUNS[self.dimension]
        if self.is_disqualifier:
            # A disqualifier's values name what is excluded, never a target.
            return f"{subject} {value_text} {'is excluded' if matched else 'is not excluded'}"
        if self.operator == Criterion.Operator.NOT_IN:
            verb = "is not an excluded" if matched else "is an excluded"
        else:
            verb = "is a target" if matched else "is not a target"
        return f"{subject} {value_text} {verb} {noun}"

    def _observe_industry(self, industry_id: int | None) -> tuple[bool, bool, str, str]:
        if industry_id is None:
            return False, False, "", ""
        name = self._framework.industry_names.get(industry_id, f"#{industry_id}")
        matched = (industry_id in self.values) != (self.operator == Criterion.Operator.NOT_IN)
        return True, matched, "", self._in_phrase(name, matched)

    def _observe_geography(self, country: str) -> tuple[bool, bool, str, str]:
        if not country:
            return False, False, "", ""
        _label, region = self._framework.geography_of(country)
        code = country.upper()
        in_values = code in self.values or (
            self.includes_unmapped and not self._framework.is_mapped(code)
        )
        matched = in_values != (self.operator == Criterion.Operator.NOT_IN)
        return True, matched, "", self._in_phrase(f"{code} ({region})", matched)

    def _observe_size(self, fact: tuple) -> tuple[bool, bool, str, str]:
        band, estimate, revenue = fact
        basis = _size_basis(band, estimate, revenue)
        if self.operator == Criterion.Operator.RANGE:
            if estimate is None:
                return False, False, "no employee count", ""
            matched = self._in_range(estimate, max_inclusive=True)
            verb = "is within" if matched else "is outside"
            detail = f"Company size {estimate:,} employees {verb} {self._range_text}"
            return True, matched, "", detail
        if band is None:
            return False, False, basis, ""
        matched = (band in self.values) != (self.operator == Criterion.Operator.NOT_IN)
        return True, matched, "", self._in_phrase(f"{band} ({basis})", matched)

    def _observe_revenue(self, revenue: Decimal | float | None) -> tuple[bool, bool, str, str]:
        if revenue is None:
            return False, False, "", ""
        matched = self._in_range(float(revenue), max_inclusive=False)
        verb = "is within" if matched else "is outside"
        return True, matched, "", f"Revenue {format_usd(revenue)} {verb} {self._range_text}"

    def _observe_terms(self, raw: tuple[str, ...]) -> tuple[bool, bool, str, str]:
        subject = _SUBJECTS[self.dimension]
        terms = _terms(raw)
        if not terms:
            return False, False, "", ""
        found = {
            value for value in self.values if any(_contains_words(term, value) for term in terms)
        }
        # "funding" is found in every item that "recent funding" is found in, so only the
        # longer value is named.
        named = {
            value
            for value in found
            if not any(other != value and _contains_words(other, value) for other in found)
        }
        found_text = self._names_text(named)
        if self.operator == Criterion.Operator.ALL_OF:
            lacking = self.values - found
            if lacking:
                return True, False, "", f"{subject} lack {self._names_text(lacking)}"
            return True, True, "", f"{subject} include all of {self._names_text(found)}"
        if self.operator == Criterion.Operator.NOT_IN:
            # A disqualifier's values are what keeps an account in, not what is excluded.
            qualifier = "" if self.is_disqualifier else "excluded "
            if found:
                return True, False, "", f"{subject} include {qualifier}{found_text}"
            return True, True, "", f"{subject} include none of {self._names_text(self.values)}"
        if found:
            return True, True, "", f"{subject} include {found_text}"
        return True, False, "", f"{subject} include none of {self._names_text(self.values)}"

    def _names_text(self, keys: Iterable[str]) -> str:
        return ", ".join(sorted((self.term_names[key] for key in keys), key=str.casefold))

    def _in_range(self, value: float, *, max_inclusive: bool) -> bool:
        if self.min_value is not None and value < self.min_value:
            return False
        if self.max_value is None:
            return True
        return value <= self.max_value if max_inclusive else value < self.max_value

    def _describe_range(self, money: bool) -> str:
        def show(value: float) -> str:
            return format_usd(value) if money else f"{value:,.0f}"

        if self.max_value is None:
            return f"{show(self.min_value)} and up"
        if self.min_value is None:
            return f"below {show(self.max_value)}" if money else f"up to {show(self.max_value)}"
        return f"{show(self.min_value)} to {show(self.max_value)}"


def _unknown_industry_message(name: str, owner: str) -> str:
    """Return the error for an industry name that no industry has, naming its synonym's."""
    synonym = (
        IndustrySynonym.objects.filter(key=industry_key(name)).select_related("industry").first()
    )
    if synonym is not None:
        canonical = synonym.industry.name
        return (
            f"{owner} names {name!r}, which is a synonym of {canonical}, not an industry: "
            f"use {canonical}."
        )
    return (
        f"{owner} names unknown industry {name!r}: use a canonical industry name such as SaaS "
        "or FinTech."
    )


class CompiledFramework:
    """A framework version loaded into plain Python structures for fast scoring."""

    def __init__(
        self,
        framework: Framework,
        *,
        industry_names: dict[int, str],
        size_bands: list[_SizeBand],
        geography: dict[str, tuple[str, str]],
        criteria: list[Criterion],
    ) -> None:
        self.framework_id = framework.pk
        self.version = framework.version
        self.industry_names = industry_names
        self.size_bands = size_bands
        self.unmapped_label = framework.unmapped_geography_label
        # Country codes are checked only while a version can still change, so a version
        # approved before the check existed keeps scoring.
        self._check_country_codes = framework.status in UNAPPROVED_STATUSES
        self._geography = geography
        # A criterion names industries ignoring case, so it matches every industry with
        # that name. A duplicate saved before names had to differ scores like the original.
        self._industry_ids: dict[str, list[int]] = {}
        for pk, name in industry_names.items():
            self._industry_ids.setdefault(caseless_key(name), []).append(pk)
        self._cutoffs = (framework.high_tier_min_score, framework.medium_tier_min_score)
        # The highest score of an account that fails a must-have, just below the Medium cut-off.
        self.must_have_score_cap = max(framework.medium_tier_min_score - 1, 0)
        self._routes = {
            Tier.HIGH.value: framework.high_tier_route,
            Tier.MEDIUM.value: framework.medium_tier_route,
            Tier.LOW.value: framework.low_tier_route,
        }
        self._tag_template = framework.tag_template
        self._tag_cache: dict[tuple, str] = {}
        self._tag_checker: TagChecker | None = None
        self._outcomes: dict[tuple[_Scoring, ...], _Outcome] = {}
        # Explanation items made since take_new_items() last ran, by key.
        self.new_items: dict[int, str] = {}
        self._placements: dict[tuple, tuple[str, str, str, bool, list[str]]] = {}
        self._check_tag_template()
        # Head counts are whole numbers and employee bands include both ends, so an
        # employee interval starts at a minimum or one past a maximum. Revenue bands
        # exclude their maximum, so a revenue interval starts at a minimum or a maximum.
        employee_bounds = []
        revenue_bounds = []
        for band in size_bands:
            if band.min_employees is not None:
                employee_bounds.append(band.min_employees)
            if band.max_employees is not None:
                employee_bounds.append(band.max_employees + 1)
            revenue_bounds += [b for b in (band.min_revenue, band.max_revenue) if b is not None]
        self._employee_band = _IntervalLookup(
            employee_bounds,
            lambda count: next((b.name for b in size_bands if b.contains_employees(count)), None),
        )
        self._revenue_band = _IntervalLookup(
            revenue_bounds,
            lambda revenue: next((b.name for b in size_bands if b.contains_revenue(revenue)), None),
        )
        self.criteria = [_CompiledCriterion(criterion, self) for criterion in criteria]

    @classmethod
    def compile(cls, framework: Framework) -> CompiledFramework:
        """Load a framework's rules with four queries. Raises FrameworkError for an invalid rule."""
        bands = [
            _SizeBand(
                name=band.name,
                min_employees=band.min_employees,
                max_employees=band.max_employees,
                min_revenue=None if band.min_revenue_usd is None else float(band.min_revenue_usd),
                max_revenue=None if band.max_revenue_usd is None else float(band.max_revenue_usd),
            )
            for band in framework.size_bands.order_by("position", "id")
        ]
        geography = {
            country.upper(): (label, region)
            for country, region, label in framework.geography_mappings.values_list(
                "country", "region", "label"
            )
        }
        industry_names = dict(Industry.objects.values_list("id", "name"))
        criteria = list(framework.criteria.order_by("position", "id"))
        return cls(
            framework,
            industry_names=industry_names,
            size_bands=bands,
            geography=geography,
            criteria=criteria,
        )

    def _check_tag_template(self) -> None:
        sample = {"industry": "", "size_band": "", "geography": "", "country": "", "tier": ""}
        try:
            self._tag_template.format_map(sample)
        except (KeyError, ValueError, IndexError) as error:
            raise FrameworkError(
                f"Tag template {self._tag_template!r} of framework v{self.version} is invalid "
                f"({error!r}): use only the placeholders {{industry}}, {{size_band}}, "
                "{geography}, {country} and {tier}."
            ) from error

    # Lookups used while compiling criteria.

    def industry_ids_for(self, names: list[str], owner: str) -> list[int]:
        ids = []
        for name in names:
            industry_ids = self._industry_ids.get(caseless_key(name))
            if industry_ids is None:
                raise FrameworkError(_unknown_industry_message(name, owner))
            ids.extend(industry_ids)
        return ids

    def countries_for(self, values: list[str], owner: str) -> set[str]:
        """Expand geography labels, regions and country codes to country codes.

        Raises FrameworkError naming every unknown geography and every two-letter value
        that is not an ISO 3166-1 code, so one save shows all of them.
        """
        countries: set[str] = set()
        unknown: set[str] = set()
        # Each two-letter value that is not a country code, with its fix.
        invalid_codes: dict[str, str] = {}
        for value in values:
            expected = caseless_key(value)
            matches = {
                country
                for country, (label, region) in self._geography.items()
                if expected in (caseless_key(label), caseless_key(region), country.casefold())
            }
            if not matches and expected != caseless_key(self.unmapped_label):
                if not (len(value) == 2 and value.isalpha()):
                    unknown.add(value)
                    continue
                fix = country_code_fix(value) if self._check_country_codes else ""
                if fix:
                    invalid_codes[value] = fix
                    continue
                matches = {value.upper()}
            countries |= matches
        if unknown or invalid_codes:
            raise FrameworkError(_geography_values_message(owner, unknown, invalid_codes))
        return countries

    def geography_labels(self) -> set[str]:
        """Return the geography labels of the framework's country map."""
        return {label for label, _region in self._geography.values()}

    def countries(self) -> list[str]:
        """Return the country codes of the framework's country map."""
        return sorted(self._geography)

    def is_mapped(self, country: str) -> bool:
        return country in self._geography

    def band_names_for(self, names: list[str], owner: str) -> list[str]:
        known = {caseless_key(band.name): band.name for band in self.size_bands}
        result = []
        for name in names:
            if caseless_key(name) not in known:
                raise FrameworkError(
                    f"{owner} names unknown size band {name!r}: use one of "
                    f"{', '.join(band.name for band in self.size_bands) or 'the framework bands'}."
                )
            result.append(known[caseless_key(name)])
        return result

    def geography_of(self, country: str) -> tuple[str, str]:
        """Return (label, region) for a country code, or the unmapped label twice."""
        found = self._geography.get(country) or self._geography.get(country.upper())
        if found is None:
            return self.unmapped_label, self.unmapped_label
        return found

    # Scoring.

    def route_for(self, tier: str) -> str:
        """Return the route of a tier, or "" for no tier."""
        return self._routes.get(tier, "")

    def size_band_of(self, row: AccountRow) -> str | None:
        """Return the name of the size band the account belongs to, or None."""
        return self._size_fact(row)[0]

    def _size_fact(self, row: AccountRow) -> tuple[str | None, int | None, Any]:
        """Return (band, head count used, revenue used) for a row.

        The head count decides when known. Revenue is used only without one.
        """
        estimate = row[_EMPLOYEE_COUNT]
        if estimate is None:
            estimate = employee_estimate(row)
        if estimate is not None:
            return self._employee_band(estimate), estimate, None
        revenue = row[_REVENUE]
        if revenue is None:
            return None, None, None
        band = self._revenue_band(float(revenue))
        return band, None, revenue

    def evaluate(self, row: AccountRow) -> Evaluation:
        """Score one account, given as an AccountRow or a tuple in ROW_FIELDS order.

        Raises ValueError for malformed technologies, buying signals or field_status.
        """
        size = self._size_fact(row)
        industry_id = row[_INDUSTRY]
        country = row[_COUNTRY]
        # field_status is parsed only for conflicting accounts, so other rows pay for one
        # comparison.
        conflicts = ()
        stored = None
        if row[_VERIFICATION_STATUS] == _CONFLICTING:
            conflicts = conflicting_fields(row[_FIELD_STATUS])
            if conflicts:
                stored = (industry_id, country, size)
            # A conflicting field leaves the tag and the route out, as a missing one does.
            for missing_name, _reason in conflicts:
                if missing_name == INDUSTRY_FIELD:
                    industry_id = None
                elif missing_name == COMPANY_SIZE_FIELD:
                    size = _NO_SIZE
                else:
                    country = ""
        band = size[0]
        judgements, outcome = self._judge(row, industry_id, country, size)
        if stored is not None:
            # Scored as unknown, a conflicting field could lift a must-have cap or gain
            # points that the current value does not earn. Until a manager resolves the
            # conflict, the account keeps the lower of the two results.
            stored_judgements, stored_outcome = self._judge(row, *stored)
            if _result_rank(stored_outcome) < _result_rank(outcome):
                judgements, outcome, size = stored_judgements, stored_outcome, stored[2]
        score, tier, route, marked = outcome
        count_text = money_text = ""
        if marked:
            estimate, revenue = size[1], row[_REVENUE]
            if estimate is not None:
                count_text = employee_count_text(row, estimate)
            if revenue is not None:
                money_text = format_usd(revenue)
        extra = tuple([_conflict_item(reason) for _name, reason in conflicts])

        key = (industry_id, band, country, tier)
        placement = self._placements.get(key)
        if placement is None:
            placement = self._placement(*key)
            if len(self._placements) < RESULT_CACHE_SIZE:
                self._placements[key] = placement
        tag, band_name, geography, needs_enrichment, missing = placement
        return Evaluation(
            score,
            tier,
            tag,
            # An account missing a mandatory field is enriched before it is routed.
            "" if missing else route,
            band_name,
            geography,
            needs_enrichment,
            missing,
            tuple(judgements),
            count_text,
            money_text,
            extra,
        )

    def _judge(
        self, row: AccountRow, industry_id: int | None, country: str, size: tuple
    ) -> tuple[list[_Judgement], _Outcome]:
        """Return each criterion's judgement of the row's facts and what they add up to."""
        facts = (
            industry_id,
            country,
            size,
            row[_REVENUE],
            _terms_fact(row[_TECHNOLOGIES]),
            _terms_fact(row[_BUYING_SIGNALS]),
        )
        judgements = [criterion.judge(facts[criterion.fact_index]) for criterion in self.criteria]
        scorings = tuple([judgement.scoring for judgement in judgements])
        outcome = self._outcomes.get(scorings)
        if outcome is None:
            outcome = self._outcome(scorings)
            if len(self._outcomes) < RESULT_CACHE_SIZE:
                self._outcomes[scorings] = outcome
        return judgements, outcome

    def _outcome(self, scorings: tuple[_Scoring, ...]) -> _Outcome:
        """Add up the criteria's judgements into a score, tier and route."""
        points = sum(scoring.points for scoring in scorings)
        max_points = sum(scoring.max_points for scoring in scorings)
        disqualified = any(scoring.disqualified for scoring in scorings)
        capped = any(scoring.must_have_failed for scoring in scorings)

        if disqualified:
            score: int | None = 0
        elif max_points:
            score = math.floor(100 * points / max_points + 0.5)
        else:
            score = None
        if capped and score is not None:
            score = min(score, self.must_have_score_cap)

        if score is None:
            tier = _LOW if capped else ""
        elif disqualified or capped:
            tier = _LOW
        elif score >= self._cutoffs[0]:
            tier = _HIGH
        elif score >= self._cutoffs[1]:
            tier = _MEDIUM
        else:
            tier = _LOW
        marked = any(scoring.marked for scoring in scorings)
        return _Outcome(score, tier, self._routes.get(tier, ""), marked)

    def _placement(
        self, industry_id: int | None, band: str | None, country: str, tier: str
    ) -> tuple[str, str, str, bool, list[str]]:
        """Return (tag, size band, geography, needs_enrichment, missing fields).

        The missing-field list is shared between evaluations and must not be modified.
        """
        geography = self.geography_of(country)[0] if country else ""
        missing = []
        if industry_id is None:
            missing.append(INDUSTRY_FIELD)
        if band is None:
            missing.append(COMPANY_SIZE_FIELD)
        if not country:
            missing.append(GEOGRAPHY_FIELD)
        tag = "" if missing else self._tag(industry_id, band, geography, country, tier)
        return tag, band or "", geography, bool(missing), missing

    def tag_with_tier(self, row: Sequence[Any], evaluation: Evaluation, tier: str) -> str:
        """Return the tag of ``row``'s ``evaluation`` for another tier, such as a person's.

        The template's other parts stay the evaluation's, so only a ``{tier}`` part changes.
        An account without a tag keeps none.
        """
        if not evaluation.tag:
            return ""
        return self._tag(
            row[_INDUSTRY], evaluation.size_band, evaluation.geography, row[_COUNTRY], tier
        )

    def tag_override_with_tier(self, tag_override: str, tier: str) -> str:
        """Return a person's tag with its ``{tier}`` part naming ``tier``, the tier in effect.

        The person chose the tag's other parts, and the tag editor accepts only the tier
        that the account gets, so the tier part follows the tier as the framework's tag
        does. A tag that does not follow this version's template is returned unchanged.
        """
        if "{tier" not in self._tag_template:
            return tag_override
        if self._tag_checker is None:
            # Imported here because segmentation.tags imports this module.
            from .tags import TagChecker

            self._tag_checker = TagChecker(self, self._tag_template)
        return self._tag_checker.with_tier(tag_override, tier)

    def take_new_items(self) -> dict[int, str]:
        """Return the explanation items made since the last call, by key, and forget them.

        Bulk writes store them with the records that name their keys.
        """
        items, self.new_items = self.new_items, {}
        return items

    def _tag(self, industry_id: int, band: str, geography: str, country: str, tier: str) -> str:
        key = (industry_id, band, geography, country, tier)
        tag = self._tag_cache.get(key)
        if tag is None:
            tag = self._tag_template.format(
                industry=self.industry_names.get(industry_id, ""),
                size_band=band,
                geography=geography,
                country=country.upper(),
                tier=_TIER_LABELS.get(tier, ""),
            )
            # NOTE: Account.tag and ScoreRecord.tag hold 200 characters. A longer template
            # result is cut rather than failing the whole batch.
            tag = tag[:200]
            if len(self._tag_cache) < EXPLANATION_CACHE_SIZE:
                self._tag_cache[key] = tag
        return tag
