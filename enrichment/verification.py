"""Rules for an account's current values and for cross-source verification, without queries.

Current value of a field, first match wins:

1. the newest FieldResolution of the field (a person chose the value);
2. the newest observation entered by a person (``Observation.entered_by`` set);
3. the account's value when no observation reports it. Such a value was typed in the
   admin or set before observations were recorded, and it is shown as source
   ``unrecorded``;
4. the latest observation of each source, ranked by ``ENRICHMENT_SOURCE_PRIORITY`` and
   then by ``observed_at`` (newest first).

Technologies are the exception to step 4: the current list is the union of every
source's latest list, in source priority order.

Verification compares the current value with every other source's latest value. Sources
that ``ENRICHMENT_SOURCE_GROUPS`` puts in one group are one source, because they copy the
same upstream data. docs/verification.md describes the statuses and the tolerances.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.text import capfirst

from accounts.normalizers import technology_key

# Sources ranked from most to least trusted. A tuple is one rank, so its sources are
# ordered by recency alone. Sources not listed rank below all listed ones.
DEFAULT_SOURCE_PRIORITY: tuple[str | tuple[str, ...], ...] = (
    "manual",
    ("salesforce", "hubspot"),
    "zoominfo",
    "apollo",
    "clearbit",
    "sales_navigator",
    ("sp500", "sp500_financials", "fortune500"),
    "ycombinator",
    "website",
    "remoteintech",
)
# Sources that are not independent of each other. The S&P 500 financials list takes its
# constituents and GICS labels from the same Wikipedia table as the S&P 500 list.
DEFAULT_SOURCE_GROUPS: dict[str, str] = {"sp500_financials": "sp500"}

MANUAL_SOURCE = "manual"
UNRECORDED_SOURCE = "unrecorded"

# Agreement tolerances: head counts within 20 % (or in the same size band, when one of
# them is a range) and revenue within 25 % of the larger value.
EMPLOYEE_TOLERANCE = Decimal("0.20")
REVENUE_TOLERANCE = Decimal("0.25")

# Size bands used when no framework is approved: (min employees, max employees or None).
DEFAULT_SIZE_BANDS: tuple[tuple[int, int | None], ...] = ((1, 200), (201, 1000), (1001, None))

VERIFIED = "verified"
SINGLE_SOURCE = "single_source"
CONFLICTING = "conflicting"
MISSING = "missing"
ACCEPTED = "accepted"

# Verified field -> the Observation.field that reports it.
VERIFIED_FIELDS: dict[str, str] = {
    "industry": "industry",
    "company_size": "employees",
    "revenue": "revenue",
    "country": "location",
    "technologies": "technologies",
}
# Fields that decide Account.verification_status and the segment tag.
MANDATORY_FIELDS: tuple[str, ...] = ("industry", "company_size", "country")
FIELD_LABELS = {
    "industry": "industry",
    "company_size": "company size",
    "revenue": "revenue",
    "country": "country",
    "technologies": "technologies",
}
# Observation fields whose current value is copied to Account fields.
APPLIED_FIELDS: tuple[str, ...] = (
    "industry",
    "employees",
    "revenue",
    "location",
    "technologies",
    "description",
)

# Display names of import and enrichment sources.
SOURCE_LABELS = {
    "sp500": "S&P 500",
    "sp500_financials": "S&P 500 financials",
    "fortune500": "Fortune 500",
    "ycombinator": "Y Combinator",
    "apollo": "Apollo",
    "clearbit": "Clearbit",
    "zoominfo": "ZoomInfo",
    "hubspot": "HubSpot",
    "salesforce": "Salesforce",
    "sales_navigator": "Sales Navigator",
    "website": "Website",
    "manual": "Manual entry",
    "unrecorded": "Entered before sources were recorded",
    "remoteintech": "Remote-in-tech profile",
    "csv": "CSV import",
    "demo": "Demo data",
}


def source_label(source: str) -> str:
    """Return the display name of a source id, such as "S&P 500" for sp500."""
    return SOURCE_LABELS.get(source) or capfirst(source.replace("_", " "))


RESOLUTION = "resolution"
PERSON = "person"
UNRECORDED = "unrecorded"
SOURCE = "source"


@dataclass(frozen=True)
class Evidence:
    """One observation, reduced to what the rules read."""

    observation_id: int | None
    field: str
    value: Any
    raw_value: str
    source: str
    observed_at: datetime
    entered_by_id: int | None = None


@dataclass(frozen=True)
class Choice:
    """The current value of a field and where it comes from.

    ``kind`` is resolution, person, unrecorded or source.
    """

    value: Any
    source: str
    kind: str
    evidence: Evidence | None = None


@dataclass
class SourceRules:
    """Source ranks and independence groups, read from settings."""

    ranks: dict[str, int]
    groups: dict[str, str]
    unknown_rank: int

    @classmethod
    def from_settings(cls) -> SourceRules:
        priority = getattr(settings, "ENRICHMENT_SOURCE_PRIORITY", DEFAULT_SOURCE_PRIORITY)
        groups = getattr(settings, "ENRICHMENT_SOURCE_GROUPS", DEFAULT_SOURCE_GROUPS)
        return cls.build(priority, groups)

    @classmethod
    def build(
        cls,
        priority: Sequence[str | Sequence[str]],
        groups: Mapping[str, str] | None = None,
    ) -> SourceRules:
        ranks: dict[str, int] = {}
        for rank, entry in enumerate(priority):
            names = [entry] if isinstance(entry, str) else list(entry)
            for name in names:
                ranks.setdefault(name, rank)
        return cls(ranks=ranks, groups=dict(groups or {}), unknown_rank=len(priority))

    def rank(self, source: str) -> int:
        return self.ranks.get(source, self.unknown_rank)

    def group(self, source: str) -> str:
        return self.groups.get(source, source)


@dataclass
class VerificationContext:
    """Data the comparisons need: industry names and the size bands."""

    rules: SourceRules
    industry_names: dict[int, str] = field(default_factory=dict)
    size_bands: Sequence[tuple[int, int | None]] = DEFAULT_SIZE_BANDS

    def size_band(self, count: int | None) -> int | None:
        """Return the index of the band that contains the head count, or None."""
        if count is None:
            return None
        for index, (minimum, maximum) in enumerate(self.size_bands):
            if count >= minimum and (maximum is None or count <= maximum):
                return index
        return None


# Usable values ------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def is_usable(field_name: str, value: Any) -> bool:
    """Return True when an observation value carries a value for the field."""
    if value is None:
        return False
    if field_name == "industry":
        return isinstance(value, dict) and bool(value.get("label") or value.get("industry_id"))
    if field_name == "employees":
        return isinstance(value, dict) and value.get("count") is not None
    if field_name == "revenue":
        return isinstance(value, dict) and _decimal(value.get("amount")) is not None
    if field_name == "location":
        return isinstance(value, dict) and any(
            value.get(name) for name in ("country", "region", "city")
        )
    if field_name == "technologies":
        return isinstance(value, list) and bool(value)
    if field_name == "description":
        return isinstance(value, str) and bool(value.strip())
    return True


def _is_preferred(field_name: str, value: Any) -> bool:
    """Return True for values that beat the field's other values regardless of rank.

    A mapped industry beats a label that maps to no canonical industry, and a location
    with a country beats one without.
    """
    if field_name == "industry":
        return value.get("industry_id") is not None
    if field_name == "location":
        return bool(value.get("country"))
    return True


def latest_by_source(evidence: Iterable[Evidence], field_name: str) -> dict[str, Evidence]:
    """Return each source's newest usable observation of the field.

    Observations entered by a person are left out: they are handled before sources.
    """
    latest: dict[str, Evidence] = {}
    for item in evidence:
        if item.field != field_name or item.entered_by_id is not None:
            continue
        if not is_usable(field_name, item.value):
            continue
        current = latest.get(item.source)
        if current is None or _recency_key(item) > _recency_key(current):
            latest[item.source] = item
    return latest


def _recency_key(item: Evidence) -> tuple[datetime, int]:
    return (item.observed_at, item.observation_id or 0)


def _priority_key(source_rules: SourceRules, item: Evidence) -> tuple[int, float, int]:
    """Sort key that puts the best-ranked, then newest, observation first."""
    return (
        source_rules.rank(item.source),
        -item.observed_at.timestamp(),
        -(item.observation_id or 0),
    )


# Current values -----------------------------------------------------------------------


def is_recorded(field_name: str, account_value: Any, evidence: Iterable[Evidence]) -> bool:
    """Return True when some observation, of any age, reports the account's value."""
    for item in evidence:
        if item.field != field_name or not is_usable(field_name, item.value):
            continue
        if _same_recorded(field_name, account_value, item.value):
            return True
    return False


def _same_recorded(field_name: str, account_value: Any, value: Any) -> bool:
    if field_name == "industry":
        if account_value.get("industry_id") is not None:
            return value.get("industry_id") == account_value["industry_id"]
        return (value.get("label") or "") == (account_value.get("label") or "")
    if field_name == "employees":
        return value.get("count") == account_value.get("count")
    if field_name == "revenue":
        return _decimal(value.get("amount")) == _decimal(account_value.get("amount")) and (
            value.get("currency") or "USD"
        ) == (account_value.get("currency") or "USD")
    if field_name == "location":
        if account_value.get("country"):
            return value.get("country") == account_value["country"]
        return (value.get("region"), value.get("city")) == (
            account_value.get("region"),
            account_value.get("city"),
        )
    return value == account_value


def choose_current(
    field_name: str,
    evidence: Sequence[Evidence],
    rules: SourceRules,
    *,
    resolution_value: Any = None,
    resolution_at: datetime | None = None,
    account_value: Any = None,
) -> Choice | None:
    """Return the current value of one field of one account, or None when nothing reports it.

    ``evidence`` contains the account's observations of any field. ``resolution_value`` is
    the newest FieldResolution's value, made at ``resolution_at``, and ``account_value``
    the account's stored value in the observation's shape. A value a person entered after
    the resolution replaces it. Technologies use choose_technologies instead.
    """
    entered = [
        item
        for item in evidence
        if item.field == field_name
        and item.entered_by_id is not None
        and is_usable(field_name, item.value)
    ]
    newest = max(entered, key=_recency_key) if entered else None
    if resolution_value is not None and (
        newest is None or resolution_at is None or newest.observed_at <= resolution_at
    ):
        return Choice(resolution_value, MANUAL_SOURCE, RESOLUTION)
    if newest is not None:
        return Choice(newest.value, newest.source, PERSON, newest)

    if account_value is not None and not is_recorded(field_name, account_value, evidence):
        return Choice(account_value, UNRECORDED_SOURCE, UNRECORDED)

    candidates = list(latest_by_source(evidence, field_name).values())
    if not candidates:
        return None
    preferred = [item for item in candidates if _is_preferred(field_name, item.value)]
    pool = preferred or candidates
    winner = min(pool, key=lambda item: _priority_key(rules, item))
    return Choice(winner.value, winner.source, SOURCE, winner)


def choose_technologies(
    evidence: Sequence[Evidence],
    rules: SourceRules,
    *,
    account_value: list[str] | None = None,
) -> Choice | None:
    """Return the current technology list.

    A list entered by a person wins. Otherwise the list is the union of every source's
    latest list, in source priority order, followed by account items that no observation
    ever reported.
    """
    entered = [
        item
        for item in evidence
        if item.field == "technologies"
        and item.entered_by_id is not None
        and is_usable("technologies", item.value)
    ]
    if entered:
        newest = max(entered, key=_recency_key)
        return Choice(list(newest.value), newest.source, PERSON, newest)

    latest = sorted(
        latest_by_source(evidence, "technologies").values(),
        key=lambda item: (rules.rank(item.source), -item.observed_at.timestamp()),
    )
    ever_reported = {
        technology_key(str(name))
        for item in evidence
        if item.field == "technologies" and isinstance(item.value, list)
        for name in item.value
    }
    merged: list[str] = []
    seen: set[str] = set()
    for item in latest:
        for name in item.value:
            key = technology_key(str(name))
            if key not in seen:
                seen.add(key)
                merged.append(str(name))
    unrecorded = [
        name
        for name in account_value or []
        if technology_key(str(name)) not in ever_reported | seen
    ]
    merged.extend(unrecorded)
    if not merged:
        return None
    source = latest[0].source if latest else UNRECORDED_SOURCE
    kind = SOURCE if latest else UNRECORDED
    return Choice(merged, source, kind)


# Agreement ----------------------------------------------------------------------------


def values_agree(field_name: str, first: Any, second: Any, context: VerificationContext) -> bool:
    """Return True when two values of a verified field agree within the tolerances."""
    if field_name == "industry":
        first_id = first.get("industry_id")
        return first_id is not None and first_id == second.get("industry_id")
    if field_name == "company_size":
        return _sizes_agree(first, second, context)
    if field_name == "revenue":
        return _revenues_agree(first, second)
    if field_name == "country":
        return bool(first.get("country")) and first.get("country") == second.get("country")
    if field_name == "technologies":
        return bool(_technology_keys(first) & _technology_keys(second))
    raise ValueError(f"unknown verified field {field_name!r}: use one of {list(VERIFIED_FIELDS)}")


def _within(first: Decimal, second: Decimal, tolerance: Decimal) -> bool:
    larger = max(abs(first), abs(second))
    return abs(first - second) <= tolerance * larger


def _is_size_range(value: dict) -> bool:
    """Return True for a head-count range or bucket (``51-200``, ``1001+``), not one count."""
    minimum = value.get("min")
    return minimum is not None and value.get("max") != minimum


def _sizes_agree(first: dict, second: dict, context: VerificationContext) -> bool:
    """Return True when two head counts are within 20 %, or a range shares the other's band.

    The size band is compared only when one value is a range, because a range is no more
    precise than a band. Two single counts must be within the tolerance, so 20,000 and
    131,000 disagree although both are Enterprise.
    """
    first_count = first.get("count")
    second_count = second.get("count")
    if first_count is None or second_count is None:
        return False
    if _within(Decimal(first_count), Decimal(second_count), EMPLOYEE_TOLERANCE):
        return True
    if not (_is_size_range(first) or _is_size_range(second)):
        return False
    band = context.size_band(first_count)
    return band is not None and band == context.size_band(second_count)


def _revenue_amount(value: dict) -> tuple[Decimal | None, str]:
    usd = _decimal(value.get("usd"))
    if usd is not None:
        return usd, "USD"
    return _decimal(value.get("amount")), value.get("currency") or "USD"


def _revenues_agree(first: dict, second: dict) -> bool:
    first_amount, first_currency = _revenue_amount(first)
    second_amount, second_currency = _revenue_amount(second)
    if first_amount is None or second_amount is None or first_currency != second_currency:
        return False
    return _within(first_amount, second_amount, REVENUE_TOLERANCE)


def _technology_keys(value: Any) -> set[str]:
    return {technology_key(str(name)) for name in value or []}


def is_comparable(field_name: str, value: Any) -> bool:
    """Return True when a value can agree or disagree with another one.

    Industry labels that map to no canonical industry and locations without a country
    are shown but never compared.
    """
    if field_name == "industry":
        return value.get("industry_id") is not None
    if field_name == "country":
        return bool(value.get("country"))
    return True


# Display ------------------------------------------------------------------------------


def display_value(field_name: str, value: Any, context: VerificationContext) -> Any:
    """Return a short text for a value, as field_status stores it per source."""
    if field_name == "industry":
        label = value.get("label") or ""
        industry_id = value.get("industry_id")
        if industry_id is None:
            return f"{label} (not mapped)"
        name = context.industry_names.get(industry_id, f"industry {industry_id}")
        return name if not label or label == name else f"{label} ({name})"
    if field_name == "company_size":
        return _employees_text(value)
    if field_name == "revenue":
        amount, currency = _revenue_amount(value)
        return "" if amount is None else f"{amount:,.0f} {currency}"
    if field_name == "country":
        return value.get("country") or ""
    if field_name == "technologies":
        return list(value)
    return value


def _employees_text(value: dict) -> str:
    minimum, maximum, count = value.get("min"), value.get("max"), value.get("count")
    prefix = "~" if value.get("approximate") else ""
    if minimum is not None and maximum is None:
        return f"{prefix}{minimum:,}+"
    if minimum is not None and maximum is not None and minimum != maximum:
        return f"{prefix}{minimum:,}-{maximum:,}"
    return f"{prefix}{count:,}"


# Status of one field ------------------------------------------------------------------


def field_status(
    name: str,
    current: Choice | None,
    latest: Mapping[str, Evidence],
    context: VerificationContext,
    *,
    resolution: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the field_status entry of one verified field.

    ``latest`` maps each source to its newest usable observation of the field. The
    entry is ``{"status", "sources", "values"}``: ``sources`` lists the sources that
    agree with the current value and ``values`` shows every source's value. A field that
    another group disagrees with also has ``disagreeing``, the source that speaks for
    each such group, so a verified field outvoting one source still shows that source.
    An accepted field also has ``resolution`` (who chose the value, when and why).

    Sources in one group count once, through their best-ranked, newest value. The field
    is verified when at least two groups agree with the current value and they outnumber
    the groups that disagree. Otherwise it is conflicting when another group disagrees,
    and single_source when no other group has a comparable value.
    """
    values: dict[str, Any] = {
        source: display_value(name, item.value, context) for source, item in sorted(latest.items())
    }
    if current is not None and current.kind != SOURCE and current.source not in values:
        values[current.source] = display_value(name, current.value, context)
    entry: dict[str, Any] = {"status": MISSING, "sources": [], "values": values}

    if current is None or (name != "technologies" and not is_comparable(name, current.value)):
        return entry
    if current.kind in (RESOLUTION, PERSON):
        entry["status"] = ACCEPTED
        entry["sources"] = [current.source]
        if resolution and current.kind == RESOLUTION:
            entry["resolution"] = dict(resolution)
        return entry
    if name == "technologies":
        return _technologies_status(entry, latest, context)

    # Each group of sources speaks with one voice: its best-ranked, newest value. The
    # current value speaks for its own group.
    source_rules = context.rules
    current_group = source_rules.group(current.source)
    voices: dict[str, Evidence] = {}
    for source, item in latest.items():
        group = source_rules.group(source)
        if source == current.source or group == current_group:
            continue
        if not is_comparable(name, item.value):
            continue
        best = voices.get(group)
        if best is None or _priority_key(source_rules, item) < _priority_key(source_rules, best):
            voices[group] = item
    agreeing_groups = {current_group}
    disagreeing_groups = set()
    for group, item in voices.items():
        if values_agree(name, current.value, item.value, context):
            agreeing_groups.add(group)
        else:
            disagreeing_groups.add(group)
    entry["sources"] = sorted(
        source
        for source, item in latest.items()
        if source == current.source
        or (
            source_rules.group(source) in agreeing_groups
            and is_comparable(name, item.value)
            and values_agree(name, current.value, item.value, context)
        )
    ) or [current.source]
    if disagreeing_groups:
        entry["disagreeing"] = sorted(voices[group].source for group in disagreeing_groups)
    if len(agreeing_groups) >= 2 and len(agreeing_groups) > len(disagreeing_groups):
        entry["status"] = VERIFIED
    elif disagreeing_groups:
        entry["status"] = CONFLICTING
    else:
        entry["status"] = SINGLE_SOURCE
    return entry


def _technologies_status(
    entry: dict[str, Any], latest: Mapping[str, Evidence], context: VerificationContext
) -> dict[str, Any]:
    """Mark technologies verified when two independent sources report a common item.

    Technology lists never conflict, because each source detects a different subset.
    """
    groups_by_key: dict[str, set[str]] = {}
    sources_by_key: dict[str, set[str]] = {}
    for source, item in latest.items():
        for key in _technology_keys(item.value):
            groups_by_key.setdefault(key, set()).add(context.rules.group(source))
            sources_by_key.setdefault(key, set()).add(source)
    confirmed = sorted(key for key, groups in groups_by_key.items() if len(groups) >= 2)
    if confirmed:
        entry["status"] = VERIFIED
        entry["sources"] = sorted(set().union(*(sources_by_key[key] for key in confirmed)))
        entry["confirmed"] = confirmed
    else:
        entry["status"] = SINGLE_SOURCE
        entry["sources"] = sorted(latest) or [UNRECORDED_SOURCE]
    return entry


# Import fields of review flags -> the verified field each is about.
FLAG_VERIFIED_FIELDS: dict[str, str] = {
    "industry": "industry",
    "employees": "company_size",
    "revenue": "revenue",
    "location": "country",
}


def mark_file_conflicts(
    statuses: dict[str, dict[str, Any]], conflicts: Iterable[Mapping[str, Any]]
) -> None:
    """Mark conflicting the fields on which two rows of one imported file disagree.

    ``conflicts`` are the account's review flags of such rows (with their ``lines``).
    Each field of one gets status conflicting and ``file_conflict``, the flag's lines and
    message, because the file counts as one source that reports two values. A field
    that a person resolved or entered stays accepted, and a missing one stays missing.
    """
    for conflict in conflicts:
        entry = statuses.get(FLAG_VERIFIED_FIELDS.get(str(conflict.get("field")), ""))
        if entry is None or entry["status"] in (ACCEPTED, MISSING):
            continue
        entry["status"] = CONFLICTING
        entry["file_conflict"] = {
            "lines": list(conflict.get("lines") or []),
            "message": str(conflict.get("message") or ""),
        }


def account_verification_status(statuses: Mapping[str, Mapping[str, Any]]) -> str:
    """Return verified, conflicting or unverified from the mandatory fields' statuses."""
    mandatory = [statuses.get(name, {}).get("status", MISSING) for name in MANDATORY_FIELDS]
    if CONFLICTING in mandatory:
        return CONFLICTING
    if all(status in (VERIFIED, ACCEPTED) for status in mandatory):
        return VERIFIED
    return "unverified"


def verified_mandatory_fields(statuses: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Return the mandatory fields that are verified or accepted, in MANDATORY_FIELDS order.

    An account is verified only when all of them are, so this list separates a partly
    verified account from one that no second source confirmed at all.
    """
    verified = []
    for name in MANDATORY_FIELDS:
        entry = statuses.get(name) if isinstance(statuses, Mapping) else None
        if isinstance(entry, Mapping) and entry.get("status") in (VERIFIED, ACCEPTED):
            verified.append(name)
    return verified


def queue_reasons(statuses: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Return why an account is in the enrichment queue, one sentence per mandatory field."""
    reasons = []
    for name in MANDATORY_FIELDS:
        entry = statuses.get(name) or {}
        status = entry.get("status", MISSING)
        label = FIELD_LABELS[name].capitalize()
        if status == CONFLICTING:
            values_text = "; ".join(
                f"{source_label(source)}: {value}"
                for source, value in (entry.get("values") or {}).items()
            )
            values_part = f" ({values_text})" if values_text else ""
            lines = (entry.get("file_conflict") or {}).get("lines")
            if lines:
                line_numbers = " and ".join(str(line) for line in lines)
                reasons.append(
                    f"{label}: sources disagree{values_part}. Lines {line_numbers} of one "
                    "imported file disagree: save the right value, or mark the review flag "
                    "reviewed."
                )
            else:
                reasons.append(f"{label}: sources disagree{values_part}. Resolve the conflict.")
        elif status == SINGLE_SOURCE:
            sources = ", ".join(map(source_label, entry.get("sources") or [])) or "one source"
            reasons.append(f"{label}: only {sources} reports it. Confirm it with a second source.")
        elif status == MISSING:
            reasons.append(f"{label}: no source reports it. Enrich the account.")
    return reasons
