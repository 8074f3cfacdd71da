"""Column layouts of known exports, layout detection and user mapping files.

A layout maps column names to import fields. Column names match case-insensitively after
trimming and collapsing whitespace. When several columns map to one field, the first
non-empty one in the layout's order wins, so ``Company`` beats ``Company Name for Emails``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from accounts.normalizers import is_currency_code

from .errors import ImportFileError

# Import fields a column can map to, with what the column must contain.
FIELDS: dict[str, str] = {
    "name": "company name",
    "website": "website URL",
    "domain": "website domain, used for the website when no website column is mapped",
    "employees": "head count or range, such as 250, 51-200 or 10,001+",
    "employee_range": "head count range, used when the employees column is empty",
    "industry": "industry label",
    "sub_industry": "more specific industry label, preferred over industry",
    "sector": "broader industry label, used when industry and sub_industry don't resolve",
    "tags": "list of labels, the last fallback for the industry",
    "city": "headquarters city",
    "region": "headquarters state or region",
    "country": "headquarters country name or code",
    "location": "headquarters as one text, such as 'Cupertino, California'",
    "locations": "several places separated by ';', of which the first is the headquarters",
    "revenue": "annual revenue, such as $12.5M or 12500000",
    "revenue_range": "annual revenue range, used when the revenue column is empty",
    "technologies": "technologies, separated by commas or as a list",
    "description": "company description",
    "linkedin_url": "LinkedIn company page URL",
    "cik": "SEC Central Index Key",
    "ticker": "stock ticker",
    "yc_id": "Y Combinator company id",
    "crm_id": "record id in the source system",
    "profile_id": "public profile slug",
    "hiring": "true or false: whether the company is hiring",
    "status": "company status such as Active or Acquired",
    "founded": "founding year",
    "market_cap": "market capitalization in the file currency",
    "ebitda": "EBITDA in the file currency",
    "rank": "rank in a list such as the Fortune 500",
    "first_name": "contact's first name",
    "last_name": "contact's last name",
    "title": "contact's job title",
    "email": "contact's e-mail address",
    "phone": "contact's phone number",
    "person_linkedin_url": "contact's LinkedIn profile URL",
}

MAPPING_OPTIONS = ("revenue_multiplier", "currency", "decimal_comma")
# Fields whose numbers the importer reads with the file's decimal separator.
NUMBER_FIELDS = ("employees", "employee_range", "revenue", "revenue_range", "market_cap", "ebitda")


def column_key(name: str) -> str:
    """Return the form column names are compared in: trimmed, single-spaced, casefolded."""
    return " ".join(name.replace("\ufeff", "").split()).casefold()


@dataclass(frozen=True)
class ColumnSpec:
    """Target of a column: the import field and, for money, the multiplier of its unit."""

    field: str
    multiplier: int = 1


@dataclass(frozen=True)
class Layout:
    """A known export layout.

    ``name`` is also the default source. ``signatures`` are sets of column keys, and the
    layout applies to a header that contains every key of at least one of them (see
    detect_layout for a header that lacks one). ``column_names`` maps each key to the
    column name as the export writes it, for messages.
    """

    name: str
    columns: tuple[tuple[str, ColumnSpec], ...]
    signatures: tuple[frozenset[str], ...] = ()
    column_names: dict[str, str] = field(default_factory=dict, compare=False)

    def missing_signature_columns(self, keys: set[str]) -> list[str]:
        """Return the names of the signature columns that the header keys lack.

        The signature closest to the header counts, so the list is empty when one fits.
        """
        if not self.signatures:
            return []
        closest = min(self.signatures, key=lambda signature: len(signature - keys))
        return [self.column_names.get(key, key) for key in sorted(closest - keys)]


def _layout(name: str, columns: list[tuple], signatures: list[set[str]]) -> Layout:
    specs = []
    names: dict[str, str] = {}
    for column in columns:
        header, target, *rest = column
        specs.append((column_key(header), ColumnSpec(target, *rest)))
        names.setdefault(column_key(header), header)
    return Layout(
        name,
        tuple(specs),
        tuple(frozenset(signature) for signature in signatures),
        names,
    )


SP500 = _layout(
    "sp500",
    [
        ("Symbol", "ticker"),
        ("Security", "name"),
        ("GICS Sub-Industry", "sub_industry"),
        ("GICS Sector", "sector"),
        ("Headquarters Location", "location"),
        ("CIK", "cik"),
        ("Founded", "founded"),
    ],
    [{"symbol", "security", "gics sector"}],
)

# The financials file's "Sector" column contains the GICS sub-industry, not the sector.
SP500_FINANCIALS = _layout(
    "sp500_financials",
    [
        ("Symbol", "ticker"),
        ("Name", "name"),
        ("Sector", "sub_industry"),
        ("Market Cap", "market_cap"),
        ("EBITDA", "ebitda"),
    ],
    [{"symbol", "name", "sector"}],
)

FORTUNE500 = _layout(
    "fortune500",
    [
        ("company_name", "name"),
        ("website", "website"),
        ("revenue ($M)", "revenue", 1_000_000),
        ("employees", "employees"),
        ("industry", "industry"),
        ("sector", "sector"),
        ("location", "location"),
        ("rank", "rank"),
    ],
    [{"company_name", "revenue ($m)"}],
)

YCOMBINATOR = _layout(
    "ycombinator",
    [
        ("id", "yc_id"),
        ("name", "name"),
        ("website", "website"),
        ("team_size", "employees"),
        ("subindustry", "sub_industry"),
        ("industry", "industry"),
        ("tags", "tags"),
        ("all_locations", "locations"),
        ("long_description", "description"),
        ("one_liner", "description"),
        ("isHiring", "hiring"),
        ("status", "status"),
    ],
    [{"name", "slug", "batch"}, {"name", "team_size", "all_locations"}],
)

APOLLO = _layout(
    "apollo",
    [
        ("Company", "name"),
        ("Company Name for Emails", "name"),
        ("Website", "website"),
        ("# Employees", "employees"),
        ("Industry", "industry"),
        ("Company City", "city"),
        ("Company State", "region"),
        ("Company Country", "country"),
        ("Annual Revenue", "revenue"),
        ("Technologies", "technologies"),
        ("Company Linkedin Url", "linkedin_url"),
        ("Short Description", "description"),
        ("Apollo Account Id", "crm_id"),
        ("First Name", "first_name"),
        ("Last Name", "last_name"),
        ("Title", "title"),
        ("Email", "email"),
        ("Work Direct Phone", "phone"),
        ("Person Linkedin Url", "person_linkedin_url"),
    ],
    [{"company", "# employees"}, {"company name for emails"}, {"apollo account id"}],
)

ZOOMINFO = _layout(
    "zoominfo",
    [
        ("Company Name", "name"),
        ("Website", "website"),
        ("Employees", "employees"),
        ("Employee Range", "employee_range"),
        ("Revenue (in 000s USD)", "revenue", 1_000),
        ("Revenue Range", "revenue_range"),
        ("Primary Sub-Industry", "sub_industry"),
        ("Primary Industry", "industry"),
        ("Company City", "city"),
        ("Company State", "region"),
        ("Company Country", "country"),
        ("ZoomInfo Company ID", "crm_id"),
        ("LinkedIn Company Profile URL", "linkedin_url"),
        ("Company Description", "description"),
        ("First Name", "first_name"),
        ("Last Name", "last_name"),
        ("Job Title", "title"),
        ("Email Address", "email"),
        ("Direct Phone Number", "phone"),
    ],
    [
        {"zoominfo company id"},
        {"company name", "revenue (in 000s usd)"},
        {"company name", "employee range"},
        {"company name", "primary industry"},
    ],
)

# ZoomInfo's company records, as its company API and its JSON exports write them. Like
# the CSV layout's "Revenue (in 000s USD)", ``revenue`` is in thousands of US dollars
# (enrichment/providers/zoominfo.py reads it the same way). The signatures are ZoomInfo's
# key names.
# NOTE: another system's JSON with a primaryIndustry key, or with employeeCount and
# revenueRange, is read as ZoomInfo's too, so its revenue is multiplied by 1,000.
ZOOMINFO_JSON = _layout(
    "zoominfo",
    [
        ("name", "name"),
        ("website", "website"),
        ("employeeCount", "employees"),
        ("employeeRange", "employee_range"),
        ("revenue", "revenue", 1_000),
        ("revenueRange", "revenue_range"),
        ("primaryIndustry", "industry"),
        ("industries", "tags"),
        ("city", "city"),
        ("state", "region"),
        ("country", "country"),
        ("id", "crm_id"),
    ],
    [{"employeecount", "revenuerange"}, {"primaryindustry"}, {"id", "domainlist"}],
)

SALES_NAVIGATOR = _layout(
    "sales_navigator",
    [
        ("Company", "name"),
        ("Company Name", "name"),
        ("Company Website", "website"),
        ("Website", "website"),
        ("Company Size", "employees"),
        ("Employee Count Range", "employees"),
        ("Industry", "industry"),
        ("Company Location", "location"),
        ("Geography", "location"),
        ("LinkedIn Company URL", "linkedin_url"),
        ("First Name", "first_name"),
        ("Last Name", "last_name"),
        ("Title", "title"),
        ("Email", "email"),
    ],
    [
        {"linkedin company url"},
        {"company", "company size"},
        {"company", "employee count range"},
        {"company", "geography"},
        {"company", "company location"},
    ],
)

HUBSPOT = _layout(
    "hubspot",
    [
        ("Company name", "name"),
        ("Company Domain Name", "domain"),
        ("Website URL", "website"),
        ("Number of Employees", "employees"),
        ("Annual Revenue", "revenue"),
        ("Industry", "industry"),
        ("City", "city"),
        ("State/Region", "region"),
        ("Country/Region", "country"),
        ("Record ID", "crm_id"),
        ("LinkedIn Company Page", "linkedin_url"),
        ("Description", "description"),
    ],
    [
        {"company name", "record id"},
        {"company domain name"},
        {"company name", "country/region"},
        {"company name", "state/region"},
    ],
)

SALESFORCE = _layout(
    "salesforce",
    [
        ("Account Name", "name"),
        ("Website", "website"),
        ("Employees", "employees"),
        ("AnnualRevenue", "revenue"),
        ("Annual Revenue", "revenue"),
        ("Industry", "industry"),
        ("BillingCity", "city"),
        ("Billing City", "city"),
        ("BillingState", "region"),
        ("Billing State/Province", "region"),
        ("BillingCountry", "country"),
        ("Billing Country", "country"),
        ("Account ID", "crm_id"),
        ("Description", "description"),
    ],
    [{"account name"}, {"account id"}, {"billingcity"}, {"billingcountry"}],
)

# Used when no known layout matches the header: common names for each field.
GENERIC = _layout(
    "csv",
    [
        ("Name", "name"),
        ("Company", "name"),
        ("Company Name", "name"),
        ("company_name", "name"),
        ("Account Name", "name"),
        ("Account", "name"),
        ("Organization", "name"),
        ("Organisation", "name"),
        ("Website", "website"),
        ("Website URL", "website"),
        ("Company Website", "website"),
        ("URL", "website"),
        ("Homepage", "website"),
        ("Domain", "domain"),
        ("Company Domain", "domain"),
        ("Employees", "employees"),
        ("Employee Count", "employees"),
        ("Number of Employees", "employees"),
        ("# Employees", "employees"),
        ("Headcount", "employees"),
        ("Company Size", "employees"),
        ("Team Size", "employees"),
        ("Employee Range", "employee_range"),
        # JSON keys of Apollo's and ZoomInfo's company records.
        ("estimated_num_employees", "employees"),
        ("employeeCount", "employees"),
        ("employeeRange", "employee_range"),
        ("Sub-Industry", "sub_industry"),
        ("Subindustry", "sub_industry"),
        ("Industry", "industry"),
        ("Sector", "sector"),
        ("City", "city"),
        ("Company City", "city"),
        ("State", "region"),
        ("Region", "region"),
        ("State/Region", "region"),
        ("Province", "region"),
        ("Company State", "region"),
        ("Country", "country"),
        ("Country/Region", "country"),
        ("Company Country", "country"),
        ("Location", "location"),
        ("Headquarters", "location"),
        ("Headquarters Location", "location"),
        ("HQ", "location"),
        ("Revenue", "revenue"),
        ("Annual Revenue", "revenue"),
        ("annual_revenue", "revenue"),
        ("Revenue Range", "revenue_range"),
        ("revenueRange", "revenue_range"),
        ("Technologies", "technologies"),
        ("Tech Stack", "technologies"),
        ("Description", "description"),
        ("LinkedIn URL", "linkedin_url"),
        ("Company LinkedIn URL", "linkedin_url"),
        ("LinkedIn Company URL", "linkedin_url"),
        ("CIK", "cik"),
        ("Ticker", "ticker"),
        ("Symbol", "ticker"),
        ("First Name", "first_name"),
        ("Last Name", "last_name"),
        ("Title", "title"),
        ("Job Title", "title"),
        ("Email", "email"),
        ("Email Address", "email"),
        ("Phone", "phone"),
    ],
    [],
)

# Checked in this order; the layout with the most matching columns wins, earlier on ties.
LAYOUTS: tuple[Layout, ...] = (
    SP500,
    SP500_FINANCIALS,
    FORTUNE500,
    YCOMBINATOR,
    APOLLO,
    ZOOMINFO,
    ZOOMINFO_JSON,
    SALES_NAVIGATOR,
    HUBSPOT,
    SALESFORCE,
)
# The ZoomInfo layouts of CSV and JSON share their name, which is listed once.
LAYOUT_NAMES = tuple(dict.fromkeys(layout.name for layout in (*LAYOUTS, GENERIC)))


@dataclass(frozen=True)
class MappingFile:
    """A user's mapping of file columns to import fields, with its options."""

    path: str
    columns: tuple[tuple[str, str], ...]
    revenue_multiplier: int = 1
    currency: str = "USD"
    decimal_comma: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the mapping as JSON data, for a queued ImportRun."""
        return {
            "path": self.path,
            "columns": [list(column) for column in self.columns],
            "revenue_multiplier": self.revenue_multiplier,
            "currency": self.currency,
            "decimal_comma": self.decimal_comma,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MappingFile:
        return cls(
            path=data["path"],
            columns=tuple((column, target) for column, target in data["columns"]),
            revenue_multiplier=data["revenue_multiplier"],
            currency=data["currency"],
            decimal_comma=data["decimal_comma"],
        )

    def as_layout(self) -> Layout:
        specs = tuple(
            (column_key(column), ColumnSpec(target, self._multiplier(target)))
            for column, target in self.columns
        )
        return Layout("mapping", specs)

    def _multiplier(self, target: str) -> int:
        return self.revenue_multiplier if target in ("revenue", "revenue_range") else 1


@dataclass
class ColumnMapping:
    """A layout applied to one file's header: which cell feeds which field."""

    layout: str
    # Field name to the indexes of its columns, in priority order.
    indexes: dict[str, list[int]]
    # Column index to the multiplier of its money unit, for columns other than 1.
    multipliers: dict[int, int]
    # Header name to field name, for the columns in use.
    columns: dict[str, str]
    ignored: list[str]
    missing: list[str] = field(default_factory=list)
    currency: str = "USD"
    column_multipliers: dict[str, int] = field(default_factory=dict)

    def number_indexes(self) -> list[int]:
        """Return the indexes of the columns whose numbers depend on the decimal separator."""
        return [index for name in NUMBER_FIELDS for index in self.indexes.get(name, ())]

    def describe(self) -> dict[str, Any]:
        """Return the mapping as stored in ImportRun.column_mapping."""
        description: dict[str, Any] = {
            "layout": self.layout,
            "columns": self.columns,
            "ignored": self.ignored,
            "currency": self.currency,
        }
        if self.column_multipliers:
            description["multipliers"] = self.column_multipliers
        if self.missing:
            description["missing"] = self.missing
        return description


def detect_layout(header: list[str]) -> Layout:
    """Return the known layout that fits the header best, or the generic layout.

    A layout fits when the header contains every column of one of its signatures. When
    none fits, a layout still applies to a header that lacks one column of a signature of
    three or more columns, as an export with an optional column removed does, provided
    that the header has the layout's name column and the layout maps more of its columns
    than the generic layout would. ``apply_layout`` then lists the missing column.
    """
    keys = {column_key(name) for name in header}
    best: Layout | None = None
    best_matches = 0
    for layout in LAYOUTS:
        if not any(signature <= keys for signature in layout.signatures):
            continue
        matches = _matching_columns(layout, keys)
        if matches > best_matches:
            best, best_matches = layout, matches
    if best is not None:
        return best

    # More than the generic layout's matches, so a partial layout never maps fewer columns.
    best_matches = _matching_columns(GENERIC, keys)
    for layout in LAYOUTS:
        if not _fits_partially(layout, keys):
            continue
        matches = _matching_columns(layout, keys)
        if matches > best_matches:
            best, best_matches = layout, matches
    return best or GENERIC


def _matching_columns(layout: Layout, keys: set[str]) -> int:
    return sum(1 for key, _spec in layout.columns if key in keys)


def _fits_partially(layout: Layout, keys: set[str]) -> bool:
    """Return True when the header lacks exactly one column of a 3+ column signature and
    has a column that the layout reads as the company name."""
    has_name = any(spec.field == "name" and key in keys for key, spec in layout.columns)
    if not has_name:
        return False
    return any(
        len(signature) >= 3 and len(signature - keys) == 1 for signature in layout.signatures
    )


def default_source(layout_name: str, file_format: str, *, has_mapping: bool) -> str:
    """Return the source name of an import that names none: the layout, or the format.

    A mapping file or the generic layout names no system, so the file format (csv or
    json) is the source.
    """
    if has_mapping or layout_name == GENERIC.name:
        return file_format
    return layout_name


def apply_layout(layout: Layout, header: list[str], *, currency: str = "USD") -> ColumnMapping:
    """Match the layout's columns to the header's positions."""
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        positions.setdefault(column_key(name), index)

    indexes: dict[str, list[int]] = {}
    multipliers: dict[int, int] = {}
    columns: dict[str, str] = {}
    column_multipliers: dict[str, int] = {}
    missing: list[str] = []
    used: set[int] = set()
    for key, spec in layout.columns:
        index = positions.get(key)
        if index is None:
            missing.append(key)
            continue
        if index in used:
            continue
        used.add(index)
        indexes.setdefault(spec.field, []).append(index)
        columns[header[index]] = spec.field
        if spec.multiplier != 1:
            multipliers[index] = spec.multiplier
            column_multipliers[header[index]] = spec.multiplier

    ignored = [name for index, name in enumerate(header) if index not in used and name.strip()]
    if layout.name != "mapping":
        # A known layout lists only the signature columns that the header lacks, when
        # detect_layout chose it without a complete signature. Its other columns are optional.
        missing = layout.missing_signature_columns(set(positions))
    return ColumnMapping(
        layout=layout.name,
        indexes=indexes,
        multipliers=multipliers,
        columns=columns,
        ignored=ignored,
        missing=missing,
        currency=currency,
        column_multipliers=column_multipliers,
    )


def load_mapping_file(path: Path) -> MappingFile:
    """Read a JSON mapping file ``{"column in file": "field", ..., "options": {...}}``.

    Raises ImportFileError naming the bad entry when the file is unreadable, a field is
    unknown or an option is invalid.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ImportFileError(f"mapping file {path} was not found: check the path.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ImportFileError(
            f"mapping file {path} is not valid UTF-8 JSON ({error}): fix the file."
        ) from error
    if not isinstance(data, dict):
        raise ImportFileError(
            f'mapping file {path} must hold a JSON object such as {{"Firma": "name"}}.'
        )

    options = data.pop("options", {}) or {}
    columns: list[tuple[str, str]] = []
    for column, target in data.items():
        if target is None or target == "":
            continue
        if not isinstance(target, str) or target not in FIELDS:
            raise ImportFileError(
                f'mapping file {path}: column "{column}" maps to unknown field {target!r}. '
                f"Use one of: {', '.join(FIELDS)}."
            )
        columns.append((column, target))
    if not columns:
        raise ImportFileError(f"mapping file {path} maps no column: add at least the name.")

    return MappingFile(path=str(path), columns=tuple(columns), **_mapping_options(path, options))


def _mapping_options(path: Path, options: Any) -> dict[str, Any]:
    if not isinstance(options, dict):
        raise ImportFileError(f'mapping file {path}: "options" must be a JSON object.')
    unknown = sorted(set(options) - set(MAPPING_OPTIONS))
    if unknown:
        raise ImportFileError(
            f"mapping file {path}: unknown option {unknown[0]!r}. "
            f"Use one of: {', '.join(MAPPING_OPTIONS)}."
        )

    parsed: dict[str, Any] = {}
    if "revenue_multiplier" in options:
        raw = options["revenue_multiplier"]
        try:
            multiplier = Decimal(str(raw))
        except InvalidOperation:
            multiplier = Decimal(0)
        if isinstance(raw, bool) or multiplier <= 0 or multiplier != int(multiplier):
            raise ImportFileError(
                f"mapping file {path}: revenue_multiplier {raw!r} is invalid. Use a positive "
                "whole number such as 1000 for thousands."
            )
        parsed["revenue_multiplier"] = int(multiplier)
    if "currency" in options:
        currency = options["currency"]
        code = currency.strip().upper() if isinstance(currency, str) else ""
        if not is_currency_code(code):
            raise ImportFileError(
                f"mapping file {path}: currency {currency!r} is not an ISO 4217 currency "
                "code. Use a three-letter code such as EUR."
            )
        parsed["currency"] = code
    if "decimal_comma" in options:
        decimal_comma = options["decimal_comma"]
        if not isinstance(decimal_comma, bool):
            raise ImportFileError(
                f"mapping file {path}: decimal_comma {decimal_comma!r} is invalid. Use true "
                "or false."
            )
        parsed["decimal_comma"] = decimal_comma
    return parsed
