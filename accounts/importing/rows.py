"""Turn one record of an export into normalized account values, or reject it.

A value that a normalizer cannot interpret (UnparsedValue) keeps its raw text and becomes
a review flag ``{"field", "value", "message"}``, and the row is still imported. A row is
rejected (RowRejected) only when it cannot become an account:

- it has no company name and no website or domain;
- it has no company name and its website is invalid or a third-party page;
- a value is longer than its database column after cleaning;
- it is a JSON array item that is not an object, or an object none of whose keys with a
  value names a column that the import reads;
- it is a JSON object with two keys of one read column, such as "Name" and "name", whose
  values differ.

A JSON name that is not a string counts as no name, so the domain replaces it with a flag.
Other JSON objects and arrays where a plain value is expected are unpacked or flagged, as
accounts.importing.structured describes, and never stored as JSON text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.models import Account, AccountIdentifier, Lead
from accounts.normalizers import (
    EmployeeRange,
    Money,
    UnparsedValue,
    bounds_text,
    clean_company_name,
    clean_text,
    company_name_key,
    convert_to_usd,
    decode_character_references,
    employee_range_from_bounds,
    is_third_party_host,
    is_too_large,
    long_technologies,
    normalize_technologies,
    parse_currency,
    parse_decimal,
    parse_employee_count,
    parse_location_text,
    parse_money,
    registrable_domain,
    resolve_location,
    sentence_end,
    sentence_start,
    technology_length_message,
    website_url_and_host,
)
from accounts.normalizers.errors import visible_controls
from accounts.normalizers.text import is_missing
from segmentation.taxonomy import IndustryResolver

from .errors import RowRejected
from .jsontext import json_text, json_type_name
from .layouts import ColumnMapping
from .reading import REPLACEMENT_CHARACTER, KeyConflict, ObjectColumns
from .structured import (
    NumberParts,
    UnclearObject,
    has_number_keys,
    is_structured,
    location_parts,
    number_parts,
    object_text,
    plain_items,
    plain_value,
)

# Review flags shorten longer raw values. The observation keeps the full text.
MAX_FLAG_VALUE_LENGTH = 300
# Longer descriptions are rejected: no company profile is this long, and the account page
# would carry the whole text.
MAX_DESCRIPTION_CHARACTERS = 100_000
CENTS = Decimal("0.01")

CIK_RE = re.compile(r"\d{1,10}")
TICKER_RE = re.compile(r"[A-Z0-9]{1,10}(?:\.[A-Z0-9]{1,5})?")
YC_ID_RE = re.compile(r"\d{1,12}")
LINKEDIN_PATH_RE = re.compile(r"/(company|school|showcase)/([^/?#]+)", re.IGNORECASE)
YEAR_RE = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "hiring"})
FALSE_WORDS = frozenset({"false", "no", "n", "0"})

# Identifier kinds whose values repeat across systems, so they are stored as "system:value".
PREFIXED_IDENTIFIER_KINDS = frozenset({"crm", "profile"})

# Import fields read by RowParser._identifiers, _extras and _lead.
IDENTIFIER_FIELDS = ("cik", "ticker", "yc_id", "linkedin_url", "crm_id", "profile_id")
EXTRA_FIELDS = ("status", "founded", "rank", "market_cap", "ebitda", "tags")
# Fields that read a JSON array item by item, and those that read a location object.
LIST_FIELDS = frozenset({"technologies", "tags"})
LOCATION_OBJECT_FIELDS = frozenset({"location", "locations"})
# Fields that read a JSON object as a range, or as an amount or range of money, and the
# shapes that their review flags suggest.
EMPLOYEE_OBJECT_FIELDS = frozenset({"employees", "employee_range"})
MONEY_OBJECT_FIELDS = frozenset({"revenue", "revenue_range", "market_cap", "ebitda"})
EMPLOYEE_OBJECT_SHAPES = '{"min": 51, "max": 200} or {"from": 51, "to": 200}'
MONEY_OBJECT_SHAPES = (
    '{"amount": 12000000, "currency": "EUR"} or {"value": "12M", "currency": "USD"}'
)
MONEY_RANGE_OBJECT_SHAPES = (
    f'{MONEY_OBJECT_SHAPES}, or a range such as {{"min": 10000000, "max": 50000000, '
    '"currency": "USD"}'
)
LEAD_FIELDS = ("first_name", "last_name", "title", "email", "phone", "person_linkedin_url")


def _max_length(model: type, name: str) -> int:
    return model._meta.get_field(name).max_length


ACCOUNT_MAX_LENGTHS = {
    name: _max_length(Account, name)
    for name in (
        "name",
        "name_key",
        "domain",
        "website",
        "industry_raw",
        "employee_raw",
        "revenue_raw",
        "region",
        "city",
    )
}
LEAD_MAX_LENGTHS = {
    name: _max_length(Lead, name)
    for name in ("first_name", "last_name", "title", "email", "phone", "linkedin_url")
}
IDENTIFIER_MAX_LENGTH = _max_length(AccountIdentifier, "value")


@dataclass(slots=True)
class ParsedRow:
    """Normalized values of one row, ready to match and merge.

    ``values`` contains Account fields. ``observations`` contains (field, normalized value
    as JSON text or None, raw text) for enrichment.Observation. ``flags`` are the row's
    review flags. Merging may add more, and ``added_flags`` contains the ones that merging
    added to the account, leaving out those the account already had.

    Rows of one file share the dicts and lists of ``values``, ``flags`` and
    ``identifiers`` that come from repeated cells, so treat them as read-only.
    """

    line: int
    name: str
    name_key: str
    domain: str
    country: str
    values: dict[str, Any]
    identifiers: list[tuple[str, str]]
    flags: list[dict[str, str]]
    observations: list[tuple[str, Any, str]]
    lead: dict[str, str] | None = None
    added_flags: list[dict[str, str]] = field(default_factory=list)


def as_text(value: Any) -> str:
    """Return a JSON or CSV value as text: lists joined with '; ', booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "; ".join(as_text(item) for item in value if item is not None)
    return json.dumps(value, ensure_ascii=False)


def is_empty_value(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, dict)):
        return not value
    return False


def flag(field_name: str, value: Any, message: str) -> dict[str, str]:
    """Build one review flag; long values are shortened."""
    text = as_text(value)
    if len(text) > MAX_FLAG_VALUE_LENGTH:
        text = text[: MAX_FLAG_VALUE_LENGTH - 1] + "…"
    return {"field": field_name, "value": text, "message": message}


def technology_length_flags(raw: str | list[Any]) -> list[dict[str, str]]:
    """Build a review flag for each technology name that normalize_technologies cuts.

    The name is stored cut, and the flag keeps it whole (up to MAX_FLAG_VALUE_LENGTH)
    with its length and the limit. Imports and enrichment both raise these flags.
    """
    return [
        flag(
            "technologies",
            name,
            technology_length_message(name, "it was stored cut, so check it on the account page"),
        )
        for name in long_technologies(raw)
    ]


def _unparsed_flag(field_name: str, error: UnparsedValue) -> dict[str, str]:
    return flag(field_name, error.value, str(error))


def _money_json(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount), "currency": currency}


def observation_json(value: Any) -> str | None:
    """Return an observation value as JSON text, or None for no value (SQL NULL).

    Keys are sorted, so equal values have equal text.
    """
    if value is None:
        return None
    return json_text(value)


# Observations as the row methods below build them, before their values become JSON.
PendingObservations = list[tuple[str, Any, str]]
RowStep = Callable[[list[Any], dict[str, Any], list[dict[str, str]], PendingObservations], None]


class CachedStep:
    """One part of RowParser.parse whose result depends only on a few columns.

    Exports repeat the same industry, size range, location and technology cells on many
    rows, so the values, flags and observations a step adds are cached by those cells.
    Cells that are not strings are keyed with their type, because ``True == 1`` in
    Python. Unhashable cells (JSON lists) are not cached. The cache is emptied when it
    contains MAX_ENTRIES results, which bounds its memory. It is turned off when fewer
    than a quarter of the first SAMPLE_LOOKUPS rows found their result in it, as happens
    with revenue amounts, which differ on most rows.
    """

    MAX_ENTRIES = 20_000
    SAMPLE_LOOKUPS = 4_000

    def __init__(self, step: RowStep, indexes: list[int], *, typed_keys: bool) -> None:
        self.step = step
        self.indexes = tuple(indexes)
        self.min_cells = max(self.indexes) + 1
        self.typed_keys = typed_keys
        getter = itemgetter(*self.indexes)
        # itemgetter returns a bare value for one index and a tuple for several.
        self.get_cells = (lambda cells: (getter(cells),)) if len(self.indexes) == 1 else getter
        self.results: dict[Any, tuple[Any, ...]] | None = {}
        self.lookups = 0
        self.hits = 0
        self.sampled = False

    def apply(
        self,
        cells: list[Any],
        values: dict[str, Any],
        flags: list[dict[str, str]],
        observations: list[tuple[str, str | None, str]],
    ) -> None:
        """Add the step's values, flags and observations for the row's cells."""
        if self.results is None:
            result = self._run(cells)
        else:
            result = self._cached_result(cells, self.results)
        step_values, step_flags, step_observations, rejection = result
        if rejection:
            raise RowRejected(rejection)
        if step_values:
            values.update(step_values)
        if step_flags:
            flags.extend(step_flags)
        if step_observations:
            observations.extend(step_observations)

    def _cached_result(self, cells: list[Any], results: dict[Any, tuple[Any, ...]]) -> tuple:
        if len(cells) >= self.min_cells:
            key: Any = self.get_cells(cells)
        else:
            key = tuple(cells[index] if index < len(cells) else None for index in self.indexes)
        if self.typed_keys:
            key = tuple((type(cell), cell) for cell in key)
        try:
            result = results.get(key)
        except TypeError:
            return self._run(cells)
        self.lookups += 1
        if result is not None:
            self.hits += 1
            return result
        result = self._run(cells)
        if not self.sampled and self.lookups >= self.SAMPLE_LOOKUPS:
            self.sampled = True
            if self.hits * 4 < self.lookups:
                self.results = None
                return result
        if len(results) >= self.MAX_ENTRIES:
            results.clear()
        results[key] = result
        return result

    def _run(self, cells: list[Any]) -> tuple[Any, ...]:
        values: dict[str, Any] = {}
        flags: list[dict[str, str]] = []
        observations: PendingObservations = []
        try:
            self.step(cells, values, flags, observations)
        except RowRejected as rejection:
            return (), (), (), str(rejection)
        return (
            tuple(values.items()),
            tuple(flags),
            tuple((name, observation_json(value), raw) for name, value, raw in observations),
            "",
        )


class RowParser:
    """Parser for the records of one file, with its column mapping and number conventions."""

    def __init__(
        self,
        mapping: ColumnMapping,
        *,
        header: list[str],
        is_json: bool,
        source: str,
        decimal_comma: bool,
        rates: Mapping[str, Decimal],
        resolver: IndustryResolver,
        flag_replaced_bytes: bool = False,
    ) -> None:
        self.mapping = mapping
        # Flag the values that contain U+FFFD, the character that invalid bytes of a file
        # read with reading.UTF8_REPLACE_ENCODING became.
        self.flag_replaced_bytes = flag_replaced_bytes
        self.indexes = mapping.indexes
        self.header = header
        self.is_json = is_json
        self.source = source
        self.decimal_comma = decimal_comma
        self.rates = rates
        self.resolver = resolver
        # CRM and profile ids are prefixed with the system they come from.
        self.id_prefix = mapping.layout if mapping.layout not in ("csv", "mapping") else source
        self.object_columns = ObjectColumns(header)
        # Header indexes of the columns mapped to a field.
        self.read_indexes = frozenset(
            index for indexes in self.indexes.values() for index in indexes
        )
        self.steps = self._cached_steps()
        self.has_extras = any(name in self.indexes for name in EXTRA_FIELDS)
        self.has_identifiers = any(name in self.indexes for name in IDENTIFIER_FIELDS)
        self.has_lead = any(name in self.indexes for name in LEAD_FIELDS)

    def _cached_steps(self) -> list[CachedStep]:
        """Return the cached parts of parse in the order they add flags and observations.

        A part whose columns are all unmapped adds nothing, so it is left out.
        """
        parts: list[tuple[RowStep, tuple[str, ...]]] = [
            (self._industry_step, ("sub_industry", "industry", "sector", "tags")),
            (self._employees, ("employees", "employee_range")),
            (self._revenue, ("revenue", "revenue_range")),
            (self._location, ("city", "region", "country", "location", "locations")),
            (self._technologies_and_hiring, ("technologies", "hiring")),
        ]
        steps = []
        for step, field_names in parts:
            indexes = [index for name in field_names for index in self.indexes.get(name, ())]
            if indexes:
                steps.append(CachedStep(step, indexes, typed_keys=self.is_json))
        return steps

    def cells_of(self, values: Any) -> list[Any]:
        """Return the record's values in header order.

        Raises RowRejected for a JSON item that is not an object, and for an object with
        values whose keys all name columns that the import does not read. It also raises
        for an object with two keys of one read column, such as "Name" and "name", whose
        values differ.
        """
        if isinstance(values, dict):
            conflicts: list[KeyConflict] = []
            cells = self.object_columns.cells(values, conflicts=conflicts)
            for conflict in conflicts:
                if conflict.index in self.read_indexes:
                    raise RowRejected(_key_conflict_reason(conflict))
            if not any(not is_empty_value(cells[index]) for index in self.read_indexes) and any(
                not is_empty_value(value) for value in values.values()
            ):
                raise RowRejected(self._unread_object_reason(values))
            return cells
        if not self.is_json:
            return values
        raise RowRejected(
            f"the item is a JSON {json_type_name(values)}, not an object: each array item "
            'must be one company object such as {"name": "Acme"}.'
        )

    def _unread_object_reason(self, item: dict[str, Any]) -> str:
        keys = [str(key) for key, value in item.items() if not is_empty_value(value)]
        listed = ", ".join(f'"{visible_controls(key)}"' for key in keys[:5])
        if len(keys) > 5:
            listed += " and more"
        read = ", ".join(
            f'"{visible_controls(name)}"'
            for index, name in enumerate(self.header)
            if index in self.read_indexes
        )
        return (
            f"the object's keys {listed} match no column that the import reads ({read}). "
            "Rename the keys to those columns, or import such objects in a file of their own."
        )

    @staticmethod
    def is_blank(cells: list[Any]) -> bool:
        if all(type(cell) is str for cell in cells):
            # Whitespace-only cells join to whitespace-only text.
            return not "".join(cells).strip()
        return all(is_empty_value(cell) for cell in cells)

    def _values(self, cells: list[Any], field_name: str) -> list[tuple[Any, int]]:
        """Return the non-empty values of the field's columns in priority order."""
        found = []
        for index in self.indexes.get(field_name, ()):
            value = cells[index] if index < len(cells) else None
            if is_empty_value(value) or (isinstance(value, str) and is_missing(value)):
                continue
            found.append((value, index))
        return found

    def _first(self, cells: list[Any], field_name: str) -> Any:
        for index in self.indexes.get(field_name, ()):
            value = cells[index] if index < len(cells) else None
            if is_empty_value(value) or (isinstance(value, str) and is_missing(value)):
                continue
            return value
        return None

    def _first_text(self, cells: list[Any], field_name: str) -> str:
        indexes = self.indexes.get(field_name)
        if not indexes:
            return ""
        if len(indexes) == 1 and indexes[0] < len(cells):
            value = cells[indexes[0]]
            if type(value) is str:
                # The usual case of one text column, without the generic checks of _first.
                if is_missing(value):
                    return ""
                return clean_text(value)
        value = self._first(cells, field_name)
        return "" if value is None else clean_text(as_text(value))

    def _replaced_bytes_flags(self, cells: list[Any]) -> list[dict[str, str]]:
        flags = []
        for field_name, indexes in self.indexes.items():
            for index in indexes:
                cell = cells[index] if index < len(cells) else None
                if isinstance(cell, str) and REPLACEMENT_CHARACTER in cell:
                    flags.append(
                        flag(
                            field_name,
                            cell,
                            f"the file had bytes here that are not valid UTF-8, shown as "
                            f"{REPLACEMENT_CHARACTER}: enter the value as it should read.",
                        )
                    )
        return flags

    def parse(self, line: int, cells: list[Any]) -> ParsedRow:
        """Normalize one non-blank record. Raises RowRejected with the reason."""
        flags: list[dict[str, str]] = []
        observations: list[tuple[str, str | None, str]] = []
        values: dict[str, Any] = {}
        if self.is_json:
            cells = self._plain_json_cells(cells, flags)

        # A JSON name that is not a string, such as an object, is not turned into text.
        name_problem = self._json_name_problem(cells) if self.is_json else ""
        raw_name = "" if name_problem else self._first_text(cells, "name")
        name = clean_company_name(raw_name) if raw_name else ""
        website_observations: PendingObservations = []
        try:
            website, domain = self._website(cells, flags, website_observations, name=name)
        except RowRejected as rejection:
            if name_problem:
                raise RowRejected(f"{name_problem}. Without it {rejection}") from None
            raise
        for field_name, value, raw in website_observations:
            observations.append((field_name, observation_json(value), raw))
        if not name:
            name = domain
            if name_problem:
                flags.append(
                    flag(
                        "name",
                        json.dumps(self._first(cells, "name"), ensure_ascii=False),
                        f"{name_problem}, so the domain {domain} is used as the name. Enter "
                        "the company name as text.",
                    )
                )
            else:
                flags.append(
                    flag(
                        "name",
                        "",
                        f"the row has no company name, so the domain {domain} is used as the "
                        "name. Enter the company name.",
                    )
                )
        _check_length("company name", name, ACCOUNT_MAX_LENGTHS["name"])
        name_key = company_name_key(name)[: ACCOUNT_MAX_LENGTHS["name_key"]]
        observations.append(("name", observation_json(name), raw_name))
        if website:
            _check_length("website", website, ACCOUNT_MAX_LENGTHS["website"])
            values["website"] = website

        for step in self.steps:
            step.apply(cells, values, flags, observations)
        if "description" in self.indexes:
            self._description(cells, values, observations)
        if self.has_extras:
            pending: PendingObservations = []
            self._extras(cells, flags, pending)
            observations.extend(
                (field_name, observation_json(value), raw) for field_name, value, raw in pending
            )
        identifiers = self._identifiers(cells, flags) if self.has_identifiers else []
        lead = self._lead(cells, flags) if self.has_lead else None
        if self.flag_replaced_bytes:
            flags.extend(self._replaced_bytes_flags(cells))

        return ParsedRow(
            line=line,
            name=name,
            name_key=name_key,
            domain=domain,
            country=values.get("country", ""),
            values=values,
            identifiers=identifiers,
            flags=flags,
            observations=observations,
            lead=lead,
        )

    def _plain_json_cells(self, cells: list[Any], flags: list[dict[str, str]]) -> list[Any]:
        """Return the cells with JSON objects and arrays unpacked into plain values.

        An object or array whose plain value is unclear is flagged and left out, so its
        JSON text is never stored. Location objects are left for _location to read,
        amount and range objects for _employees, _revenue and _extras (see
        _is_number_object), and a name without a plain value for _json_name_problem.
        """
        unpacked: list[Any] | None = None
        for field_name, indexes in self.indexes.items():
            if field_name in LOCATION_OBJECT_FIELDS:
                continue
            for index in indexes:
                value = cells[index] if index < len(cells) else None
                if not is_structured(value) or _is_number_object(field_name, value):
                    continue
                if field_name in LIST_FIELDS:
                    items = value if isinstance(value, list) else [value]
                    plain, unclear = plain_items(items)
                    new_value = plain or None
                else:
                    new_value = plain_value(value)
                    unclear = [] if new_value is not None else [value]
                if unclear and field_name == "name":
                    continue
                if unclear:
                    flags.append(_structured_flag(field_name, value, unclear))
                if unpacked is None:
                    unpacked = list(cells)
                unpacked[index] = new_value
        return cells if unpacked is None else unpacked

    def _json_name_problem(self, cells: list[Any]) -> str:
        """Return why a JSON name is not used as text, or "" for a string or no name."""
        value = self._first(cells, "name")
        if value is None or isinstance(value, str):
            return ""
        return f"the name is a JSON {json_type_name(value)}, {_json_excerpt(value)}, not a string"

    def _website(
        self,
        cells: list[Any],
        flags: list[dict[str, str]],
        observations: list[tuple[str, Any, str]],
        *,
        name: str,
    ) -> tuple[str, str]:
        """Return the cleaned website and its domain ("" when unknown).

        A platform's own website, such as producthunt.com for Product Hunt, is not a
        third-party page (see is_platform_company).
        """
        website = ""
        domain = ""
        problem = ""
        for field_name in ("website", "domain"):
            raw = self._first_text(cells, field_name)
            if not raw or domain:
                continue
            try:
                parsed = website_url_and_host(raw)
            except UnparsedValue as error:
                flags.append(_unparsed_flag(field_name, error))
                problem = (
                    problem or f'{field_name} "{visible_controls(raw)}" is invalid ({error.hint})'
                )
                website = website or raw
                continue
            if parsed is None:
                continue
            url, host = parsed
            website = website or url
            if is_third_party_host(host, company_name=name):
                flags.append(
                    flag(
                        field_name,
                        raw,
                        f"{url} is a third-party page, not the company's own website, so it "
                        "does not set the domain. Enter the company's website.",
                    )
                )
                problem = problem or f"{field_name} {url} is a third-party page"
                continue
            try:
                domain = registrable_domain(host, value=url)
            except UnparsedValue as error:  # website_url accepted the host, so this is rare
                flags.append(_unparsed_flag(field_name, error))
                problem = (
                    problem or f'{field_name} "{visible_controls(raw)}" is invalid ({error.hint})'
                )
                continue
            observations.append(("website", url, raw))
            observations.append(("domain", domain, raw))

        if not name and not domain:
            if problem:
                raise RowRejected(
                    f"the row has no company name and its {problem}: add the company name or "
                    "the company's own website."
                )
            raise RowRejected(
                "the row has no company name and no website or domain: add at least one of them."
            )
        return website, domain

    def _industry_step(
        self,
        cells: list[Any],
        values: dict[str, Any],
        flags: list[dict[str, str]],
        observations: list[tuple[str, Any, str]],
    ) -> None:
        self._industry(cells, values, observations)

    def _industry(
        self,
        cells: list[Any],
        values: dict[str, Any],
        observations: list[tuple[str, Any, str]],
    ) -> None:
        labels = [self._first_text(cells, name) for name in ("sub_industry", "industry", "sector")]
        labels.extend(self._tags(cells))
        # A label stored as "Hotels &amp; Resorts" would show the reference on every page.
        labels = [decode_character_references(label) for label in labels if label]
        if not labels:
            return
        industry_id, label = self.resolver.resolve_first(labels)
        label = clean_text(label)
        _check_length("industry", label, ACCOUNT_MAX_LENGTHS["industry_raw"])
        values["industry_id"] = industry_id
        values["industry_raw"] = label
        observations.append(("industry", {"industry_id": industry_id, "label": label}, label))

    def _tags(self, cells: list[Any]) -> list[str]:
        raw = self._first(cells, "tags")
        if raw is None:
            return []
        items = raw if isinstance(raw, list) else re.split(r"[,;]", as_text(raw))
        return [clean_text(as_text(item)) for item in items if not is_empty_value(item)]

    def _employees(
        self,
        cells: list[Any],
        values: dict[str, Any],
        flags: list[dict[str, str]],
        observations: list[tuple[str, Any, str]],
    ) -> None:
        candidates = self._values(cells, "employees") + self._values(cells, "employee_range")
        first_error: UnparsedValue | None = None
        for raw, _index in candidates:
            text = ""
            try:
                if isinstance(raw, dict):
                    employees, text = self._employee_object(raw)
                else:
                    employees = parse_employee_count(raw, decimal_comma=self.decimal_comma)
            except _ObjectFlagged as flagged:
                flags.append(flagged.flag)
                continue
            except UnparsedValue as error:
                # Without its traceback, the kept error does not refer back to this frame.
                first_error = first_error or error.with_traceback(None)
                continue
            if employees is None:
                # Zero and "not reported" placeholders mean the size is unknown.
                continue
            text = text or clean_text(as_text(raw))
            _check_length("employees", text, ACCOUNT_MAX_LENGTHS["employee_raw"])
            values.update(
                employee_count=employees.estimate,
                employee_min=employees.minimum,
                employee_max=employees.maximum,
                employee_approximate=employees.approximate,
                employee_raw=text,
            )
            observations.append(
                (
                    "employees",
                    {
                        "count": employees.estimate,
                        "min": employees.minimum,
                        "max": employees.maximum,
                        "approximate": employees.approximate,
                    },
                    text,
                )
            )
            return
        if first_error is not None:
            text = clean_text(first_error.value)
            _check_length("employees", text, ACCOUNT_MAX_LENGTHS["employee_raw"])
            values["employee_raw"] = text
            flags.append(_unparsed_flag("employees", first_error))
            observations.append(("employees", None, text))

    def _employee_object(self, raw: dict[str, Any]) -> tuple[EmployeeRange | None, str]:
        """Read a range object such as {"min": 51, "max": 200}, and return it with its text.

        The bounds follow the rules of a "51-200" cell. Raises _ObjectFlagged when the
        object's meaning is unclear.
        """
        try:
            parts = number_parts(raw, money=False)
            employees = employee_range_from_bounds(
                parts.minimum, parts.maximum, decimal_comma=self.decimal_comma
            )
        except UnclearObject as error:
            raise _ObjectFlagged(
                _number_object_flag("employees", raw, str(error), EMPLOYEE_OBJECT_SHAPES)
            ) from None
        except UnparsedValue as error:
            raise _ObjectFlagged(
                _number_object_flag("employees", raw, error.hint, EMPLOYEE_OBJECT_SHAPES)
            ) from None
        return employees, clean_text(bounds_text(parts.minimum, parts.maximum))

    def _money_object(
        self, raw: dict[str, Any], index: int, field_name: str, *, is_range: bool
    ) -> tuple[Decimal, str, str]:
        """Read an amount object, or in a range column a range object, of money.

        Returns the amount, its currency and the object's text, such as "12M USD". The
        amount is read like a cell of its column, with the object's currency as the
        default, and a range gives its midpoint, or its minimum when it has no maximum,
        like "$10M - $50M" and "$1B+" in a range column. Raises _EmptyMoney for an object
        without an amount, and _ObjectFlagged when its meaning is unclear.
        """
        label = field_name.replace("_", " ")
        shapes = MONEY_RANGE_OBJECT_SHAPES if is_range else MONEY_OBJECT_SHAPES
        try:
            parts = number_parts(raw, money=True)
            if parts.is_empty:
                raise _EmptyMoney
            currency = self._object_currency(parts.currency, label)
            if parts.is_range:
                if not is_range:
                    raise UnclearObject("it is a range, where one amount is expected")
                amount, found = self._money_object_range(parts, index, label, currency)
            else:
                amount, found = self._money_part(parts.amount, "amount", index, label, currency)
            if currency is not None and found != currency:
                raise UnclearObject(f"its amount is in {found}, but its currency is {currency}")
        except UnclearObject as error:
            raise _ObjectFlagged(_number_object_flag(field_name, raw, str(error), shapes)) from None
        number = (
            bounds_text(parts.minimum, parts.maximum) if parts.is_range else as_text(parts.amount)
        )
        text = clean_text(f"{number} {as_text(parts.currency or '')}")
        return amount, found, text

    def _object_currency(self, raw: Any, label: str) -> str | None:
        """Return the ISO code of an object's currency, or None when it has none."""
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise UnclearObject(f"its currency {_json_excerpt(raw)} is not text such as USD")
        try:
            return parse_currency(raw, default_currency=self.mapping.currency, field=label)
        except UnparsedValue as error:
            raise UnclearObject(
                f"its currency {_json_excerpt(raw)} is invalid: {error.hint}"
            ) from None

    def _money_part(
        self, raw: Any, part: str, index: int, label: str, currency: str | None
    ) -> tuple[Decimal, str]:
        """Read one amount or bound of a money object, in ``currency`` unless it names one."""
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise UnclearObject(f"its {part} {_json_excerpt(raw)} is not a number")
        try:
            return self._money(raw, index, label, default_currency=currency)
        except UnparsedValue as error:
            raise UnclearObject(
                f"its {part} {_json_excerpt(raw)} could not be read: {error.hint}"
            ) from None

    def _money_object_range(
        self, parts: NumberParts, index: int, label: str, currency: str | None
    ) -> tuple[Decimal, str]:
        if parts.minimum is None:
            raise UnclearObject("it has a maximum only, which is a bound, not an amount")
        low, low_currency = self._money_part(parts.minimum, "minimum", index, label, currency)
        if parts.maximum is None:
            return low, low_currency
        high, high_currency = self._money_part(parts.maximum, "maximum", index, label, currency)
        if high_currency != low_currency:
            raise UnclearObject(
                f"its minimum is in {low_currency}, but its maximum is in {high_currency}"
            )
        if high < low:
            raise UnclearObject(
                f"its minimum {_json_excerpt(parts.minimum)} is above its maximum "
                f"{_json_excerpt(parts.maximum)}"
            )
        return ((low + high) / 2).quantize(CENTS), low_currency

    def _money(
        self, raw: Any, index: int, field_name: str, *, default_currency: str | None = None
    ) -> tuple[Decimal, str]:
        money = parse_money(
            raw,
            default_currency=default_currency or self.mapping.currency,
            multiplier=self.mapping.multipliers.get(index, 1),
            decimal_comma=self.decimal_comma,
            field=field_name,
        )
        if money is None:
            raise _EmptyMoney
        if is_too_large(money.amount):
            raise UnparsedValue(
                field_name, as_text(raw), "the amount is too large: check the unit and multiplier"
            )
        return money.amount.quantize(CENTS), money.currency

    def _revenue(
        self,
        cells: list[Any],
        values: dict[str, Any],
        flags: list[dict[str, str]],
        observations: list[tuple[str, Any, str]],
    ) -> None:
        candidates = [(raw, index, False) for raw, index in self._values(cells, "revenue")] + [
            (raw, index, True) for raw, index in self._values(cells, "revenue_range")
        ]
        first_error: UnparsedValue | None = None
        for raw, index, is_range in candidates:
            text = ""
            try:
                if isinstance(raw, dict):
                    amount, currency, text = self._money_object(
                        raw, index, "revenue", is_range=is_range
                    )
                elif is_range:
                    amount, currency = self._money_range(raw, index)
                else:
                    amount, currency = self._money(raw, index, "revenue")
                if amount < 0:
                    raise UnparsedValue(
                        "revenue", text or as_text(raw), "revenue cannot be negative"
                    )
            except _ObjectFlagged as flagged:
                flags.append(flagged.flag)
                continue
            except UnparsedValue as error:
                # Without its traceback, the kept error does not refer back to this frame.
                first_error = first_error or error.with_traceback(None)
                continue
            except _EmptyMoney:
                continue
            text = text or clean_text(as_text(raw))
            _check_length("revenue", text, ACCOUNT_MAX_LENGTHS["revenue_raw"])
            values.update(revenue_amount=amount, revenue_currency=currency, revenue_raw=text)
            usd = None
            try:
                usd = convert_to_usd(Money(amount, currency), self.rates).quantize(CENTS)
            except UnparsedValue as error:
                flags.append(_unparsed_flag("revenue", error))
            values["annual_revenue_usd"] = usd
            observations.append(
                (
                    "revenue",
                    {**_money_json(amount, currency), "usd": None if usd is None else str(usd)},
                    text,
                )
            )
            return
        if first_error is not None:
            text = clean_text(first_error.value)
            _check_length("revenue", text, ACCOUNT_MAX_LENGTHS["revenue_raw"])
            values["revenue_raw"] = text
            flags.append(_unparsed_flag("revenue", first_error))
            observations.append(("revenue", None, text))

    def _money_range(self, raw: Any, index: int) -> tuple[Decimal, str]:
        """Return the midpoint of a range such as "$10M - $50M", or the bound of "$1B+"."""
        text = clean_text(as_text(raw))
        if text.endswith("+"):
            return self._money(text[:-1], index, "revenue range")
        parts = re.split(r"\s*(?:-|–|—|\bto\b)\s*", text)
        if len(parts) != 2:
            return self._money(text, index, "revenue range")
        low, low_currency = self._money(parts[0], index, "revenue range")
        high, high_currency = self._money(parts[1], index, "revenue range")
        if low_currency != high_currency or high < low:
            raise UnparsedValue(
                "revenue range", text, "expected a range such as $10M - $50M in one currency"
            )
        return ((low + high) / 2).quantize(CENTS), low_currency

    def _location(
        self,
        cells: list[Any],
        values: dict[str, Any],
        flags: list[dict[str, str]],
        observations: list[tuple[str, Any, str]],
    ) -> None:
        city = self._first_text(cells, "city")
        region = self._first_text(cells, "region")
        country = self._first_text(cells, "country")
        raw = ", ".join(part for part in (city, region, country) if part)
        try:
            if raw:
                location = resolve_location(city=city, region=region, country=country)
            else:
                place = self._first(cells, "location")
                if place is None:
                    place = self._first(cells, "locations")
                if place is None:
                    return
                if is_structured(place):
                    parts = location_parts(place)
                    raw = clean_text(parts.joined())
                    if not raw:
                        flags.append(_location_object_flag(place))
                        return
                    if parts.has_parts:
                        location = resolve_location(
                            city=parts.city, region=parts.region, country=parts.country
                        )
                    else:
                        location = parse_location_text(raw)
                else:
                    # Of several places separated by ";", the first that is not remote is
                    # used.
                    raw = clean_text(as_text(place))
                    location = parse_location_text(raw)
        except UnparsedValue as error:
            flags.append(_unparsed_flag("location", error))
            observations.append(("location", None, raw))
            return

        flags.extend(flag("location", raw, message) for message in location.flags)
        found = {
            "city": location.city or "",
            "region": location.region or "",
            "country": location.country or "",
        }
        for name in ("city", "region"):
            _check_length(name, found[name], ACCOUNT_MAX_LENGTHS[name])
        values.update({name: value for name, value in found.items() if value})
        observations.append(("location", found, raw))

    def _technologies_and_hiring(
        self,
        cells: list[Any],
        values: dict[str, Any],
        flags: list[dict[str, str]],
        observations: list[tuple[str, Any, str]],
    ) -> None:
        raw_technologies = self._first(cells, "technologies")
        if raw_technologies is not None:
            if not isinstance(raw_technologies, list):
                raw_technologies = as_text(raw_technologies)
            technologies = normalize_technologies(raw_technologies)
            flags.extend(technology_length_flags(raw_technologies))
            if technologies:
                values["technologies"] = technologies
                observations.append(("technologies", technologies, as_text(raw_technologies)))

        raw_hiring = self._first(cells, "hiring")
        if raw_hiring is not None:
            text = as_text(raw_hiring).strip().casefold()
            if text in TRUE_WORDS:
                values["buying_signals"] = ["hiring"]
                observations.append(("buying_signals", ["hiring"], as_text(raw_hiring)))
            elif text not in FALSE_WORDS:
                flags.append(
                    flag("hiring", raw_hiring, "expected true or false for whether it is hiring")
                )

    def _description(
        self,
        cells: list[Any],
        values: dict[str, Any],
        observations: list[tuple[str, str | None, str]],
    ) -> None:
        description = self._first_text(cells, "description")
        if description and len(description) > MAX_DESCRIPTION_CHARACTERS:
            raise RowRejected(
                f"the description is {len(description):,} characters long, more than the "
                f"{MAX_DESCRIPTION_CHARACTERS:,} allowed. Such a value is usually other rows "
                "taken in by an open quote: check the quotes, or shorten the description."
            )
        if description:
            values["description"] = description
            observations.append(("description", observation_json(description), description))

    def _extras(
        self,
        cells: list[Any],
        flags: list[dict[str, str]],
        observations: list[tuple[str, Any, str]],
    ) -> None:
        """Record values that have no Account field as observations only."""
        status = self._first_text(cells, "status")
        if status:
            observations.append(("status", status, status))

        founded = self._first_text(cells, "founded")
        if founded:
            year = YEAR_RE.search(founded)
            observations.append(("founded", int(year[1]) if year else None, founded))

        rank = self._first_text(cells, "rank")
        if rank:
            try:
                number = parse_decimal(rank)
                value = int(number) if number is not None and number == int(number) else None
            except UnparsedValue:
                value = None
            observations.append(("rank", value, rank))

        for field_name, label in (("market_cap", "market cap"), ("ebitda", "EBITDA")):
            for raw, index in self._values(cells, field_name)[:1]:
                text = clean_text(as_text(raw))
                try:
                    if isinstance(raw, dict):
                        amount, currency, text = self._money_object(
                            raw, index, field_name, is_range=False
                        )
                    else:
                        amount, currency = self._money(raw, index, label)
                except _EmptyMoney:
                    continue
                except _ObjectFlagged as flagged:
                    flags.append(flagged.flag)
                    continue
                except UnparsedValue as error:
                    flags.append(_unparsed_flag(field_name, error))
                    observations.append((field_name, None, text))
                    continue
                observations.append((field_name, _money_json(amount, currency), text))

        tags = self._tags(cells)
        if tags:
            observations.append(("tags", tags, as_text(self._first(cells, "tags"))))

    def _identifiers(self, cells: list[Any], flags: list[dict[str, str]]) -> list[tuple[str, str]]:
        identifiers: list[tuple[str, str]] = []
        parsers = (
            ("cik", "cik", _parse_cik),
            ("ticker", "ticker", _parse_ticker),
            ("yc_id", "yc", _parse_yc_id),
            ("linkedin_url", "linkedin", _parse_linkedin_page),
            ("crm_id", "crm", _parse_system_id),
            ("profile_id", "profile", _parse_system_id),
        )
        for field_name, kind, parse in parsers:
            raw = self._first_text(cells, field_name)
            if not raw:
                continue
            try:
                value = parse(raw)
            except UnparsedValue as error:
                flags.append(_unparsed_flag(field_name, error))
                continue
            if kind in PREFIXED_IDENTIFIER_KINDS:
                value = f"{self.id_prefix}:{value}"
            _check_length(field_name, value, IDENTIFIER_MAX_LENGTH)
            identifiers.append((kind, value))
        return identifiers

    def _lead(self, cells: list[Any], flags: list[dict[str, str]]) -> dict[str, str] | None:
        lead = {
            "first_name": self._first_text(cells, "first_name"),
            "last_name": self._first_text(cells, "last_name"),
            "title": self._first_text(cells, "title"),
            "email": self._first_text(cells, "email").lower(),
            "phone": self._first_text(cells, "phone"),
            "linkedin_url": self._first_text(cells, "person_linkedin_url"),
        }
        if lead["email"]:
            try:
                validate_email(lead["email"])
            except ValidationError:
                flags.append(
                    flag("email", lead["email"], "not a valid e-mail address, so it was not saved")
                )
                lead["email"] = ""
        if not (lead["first_name"] or lead["last_name"] or lead["email"]):
            return None
        for name, value in lead.items():
            _check_length(f"contact {name}", value, LEAD_MAX_LENGTHS[name])
        return lead


class _EmptyMoney(Exception):
    """The money value is a placeholder such as "-"."""


class _ObjectFlagged(Exception):
    """A JSON amount or range object whose meaning is unclear, with its review flag."""

    def __init__(self, review_flag: dict[str, str]) -> None:
        super().__init__(review_flag["message"])
        self.flag = review_flag


def _is_number_object(field_name: str, value: Any) -> bool:
    """Return True for a JSON object that a number field reads as an amount or range.

    That is an object with a key of such an object, and any other object that has no
    text to read (see object_text), so that its flag names the shapes that are read.
    """
    if not isinstance(value, dict):
        return False
    if field_name in EMPLOYEE_OBJECT_FIELDS:
        money = False
    elif field_name in MONEY_OBJECT_FIELDS:
        money = True
    else:
        return False
    return has_number_keys(value, money=money) or not object_text(value)


def _number_object_flag(field_name: str, value: Any, problem: str, shapes: str) -> dict[str, str]:
    """Build the review flag of an amount or range object whose meaning is unclear."""
    label = field_name.replace("_", " ")
    return flag(
        field_name,
        json.dumps(value, ensure_ascii=False),
        f"the {label} is a JSON object, {_json_excerpt(value)}, that was not imported. "
        f"{sentence_start(sentence_end(problem))} Write it as {shapes}, or as text, and "
        "import the file again.",
    )


def _json_excerpt(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _structured_flag(field_name: str, value: Any, unclear: list[Any]) -> dict[str, str]:
    """Build the review flag of a JSON object or array that has no clear plain value."""
    label = field_name.replace("_", " ")
    if unclear == [value]:
        problem = f"the {label} is a JSON {json_type_name(value)}, {_json_excerpt(value)}"
        outcome = "so it was not imported"
    else:
        problem = f"the {label} list contains {_json_excerpt(unclear[0])}"
        outcome = "so that item was not imported"
    return flag(
        field_name,
        json.dumps(value, ensure_ascii=False),
        f"{problem}, where a plain value is expected, {outcome}. Write the value as text or "
        'a number, or as an object with a "name" key, and import the file again.',
    )


def _location_object_flag(value: Any) -> dict[str, str]:
    return flag(
        "location",
        json.dumps(value, ensure_ascii=False),
        f"the location is a JSON {json_type_name(value)}, {_json_excerpt(value)}, with no "
        "city, region, country or address, so it was not imported. Use the keys city, "
        'region and country, such as {"city": "Austin", "region": "TX", "country": '
        '"United States"}, or write the location as text, and import the file again.',
    )


def _key_conflict_reason(conflict: KeyConflict) -> str:
    return (
        f'the object has the keys "{conflict.first_key}" with '
        f'{_json_excerpt(conflict.first_value)} and "{conflict.key}" with '
        f"{_json_excerpt(conflict.value)}. Keys that differ only in case or spacing name one "
        "column, so it is unknown which value to import: keep one of the keys and import "
        "the file again."
    )


def _check_length(label: str, value: str, max_length: int) -> None:
    if len(value) > max_length:
        preview = visible_controls(value if len(value) <= 60 else value[:59] + "…")
        raise RowRejected(
            f'{label} "{preview}" is {len(value)} characters after cleaning, more than the '
            f"{max_length} allowed: shorten it in the file."
        )


def _parse_cik(raw: str) -> str:
    text = raw.strip()
    if text.endswith(".0"):  # spreadsheets turn the number into a float
        text = text[:-2]
    if not CIK_RE.fullmatch(text) or int(text) == 0:
        raise UnparsedValue(
            "CIK", raw, "expected the SEC Central Index Key, a number of up to 10 digits"
        )
    return text.zfill(10)


def _parse_ticker(raw: str) -> str:
    # Yahoo writes share classes with a dash (BRK-B), index lists with a dot (BRK.B).
    text = raw.strip().upper().replace("-", ".").replace("/", ".")
    if not TICKER_RE.fullmatch(text):
        raise UnparsedValue("ticker", raw, "expected a stock ticker such as MSFT or BRK.B")
    return text


def _parse_yc_id(raw: str) -> str:
    text = raw.strip()
    if not YC_ID_RE.fullmatch(text):
        raise UnparsedValue("Y Combinator id", raw, "expected a whole number such as 271")
    return str(int(text))


def _parse_linkedin_page(raw: str) -> str:
    text = raw.strip()
    hint = "expected a LinkedIn page such as https://www.linkedin.com/company/acme"
    try:
        # urlsplit raises ValueError for a host with an unmatched or invalid "[" or "]",
        # which it reads as an IPv6 address.
        parts = urlsplit(text if "//" in text else "//" + text)
        host = (parts.hostname or "").lower()
    except ValueError as error:
        raise UnparsedValue("LinkedIn company URL", raw, hint) from error
    match = LINKEDIN_PATH_RE.match(parts.path)
    if not (host == "linkedin.com" or host.endswith(".linkedin.com")) or match is None:
        raise UnparsedValue("LinkedIn company URL", raw, hint)
    return f"linkedin.com/{match[1].lower()}/{match[2].lower()}"


def _parse_system_id(raw: str) -> str:
    return raw.strip()
