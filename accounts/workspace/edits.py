"""Edits a person makes on the account page: field values, tag and tier, fit, notes.

Every edit carries the account's ``updated_at`` from when the form was rendered (the
version) and a fingerprint of the stored value behind each of its inputs. An edit is
rejected with StaleEditError when a value behind one of the inputs it saves changed after
the form was rendered, so a change made by someone else in the meantime is never
overwritten silently. Changes to other values are kept, and the edit is saved on top of
them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, ResearchNote, SegmentOverride, Tier
from accounts.normalizers import (
    DEFAULT_RATES_TO_USD,
    MAX_AMOUNT,
    EmployeeRange,
    Money,
    UnparsedValue,
    clean_text,
    company_name_key,
    convert_to_usd,
    is_third_party_url,
    is_too_large,
    long_technologies,
    normalize_country,
    normalize_domain,
    normalize_technologies,
    parse_employee_count,
    parse_money,
    resolve_location,
    round_converted_amount,
    sentence_end,
    sentence_start,
    technology_length_message,
    website_url,
)
from accounts.permissions import (
    can_add_note,
    can_research_account,
    can_validate_fit,
)
from accounts.research import account_segment_override
from enrichment.models import Observation
from enrichment.verification import APPLIED_FIELDS, CONFLICTING, VERIFIED_FIELDS
from segmentation.engine import term_key
from segmentation.signals import auto_resegmentation_paused
from segmentation.tags import TagChecker, active_tag_checker
from segmentation.taxonomy import (
    UNKNOWN_INDUSTRY,
    IndustryResolver,
    industry_label_resolve,
    unknown_industry_api_message,
)

from .flags import cleared_flags_reason, flags_unresolved

logger = logging.getLogger(__name__)

MANUAL_SOURCE = "manual"
MANUAL_SOURCE_DETAIL = "account page"
MAX_DESCRIPTION_LENGTH = 5000
CENTS = Decimal("0.01")


class StaleEditError(Exception):
    """The account changed after the form was rendered, so the edit was not saved.

    ``account`` is the current row. ``inputs`` names the form inputs whose stored values
    changed, and is empty when the form sent no fingerprints, so that any change to the
    account rejected it. ``changes`` lists the changes since the form's version (see
    ``accounts.selectors.account_changes_since``), only those to ``inputs`` when the
    history names them.
    """

    def __init__(self, account: Account, changes: list[Any], inputs: Iterable[str] = ()) -> None:
        self.account = account
        self.changes = changes
        self.inputs = list(inputs)
        super().__init__(
            f"account {account.pk} changed after the form was opened: reload it and "
            "apply the change again."
        )


# Versions ------------------------------------------------------------------------------


def account_version(account: Account) -> str:
    """Return the version a form sends back: the account's updated_at in ISO 8601."""
    return account.updated_at.isoformat() if account.updated_at else ""


def parse_version(text: str | None) -> datetime | None:
    """Return the datetime of a version string, or None when it is missing or invalid."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if timezone.is_naive(parsed):
        return None
    return parsed


INVALID_VERSION_MESSAGE = (
    "The form has no valid version of the account, so the change was not saved: reload the "
    "page and try again."
)


# Account columns behind each input of the account page's forms. The tag and tier are
# also the segment that a fit confirmation confirms.
INPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "industry_raw": ("industry_id", "industry_raw"),
    "employees": (
        "employee_raw",
        "employee_count",
        "employee_min",
        "employee_max",
        "employee_approximate",
    ),
    "revenue": ("revenue_raw", "revenue_amount", "revenue_currency", "annual_revenue_usd"),
    "city": ("city",),
    "region": ("region",),
    "country": ("country",),
    "website": ("website", "domain"),
    "technologies": ("technologies",),
    "description": ("description",),
    "tag": ("tag",),
    "tier": ("tier",),
}
# Hexadecimal digits of SHA-256 kept in a fingerprint. A fingerprint only has to
# distinguish versions of one value, so 128 bits are plenty and keep the hidden inputs short.
FINGERPRINT_LENGTH = 32


def input_fingerprint(account: Account, input_name: str) -> str:
    """Return a digest of the stored values behind one form input (see INPUT_COLUMNS).

    Forms send the digests they were rendered with, so that a save can tell which of
    its values someone changed since, without sending the values back.
    """
    values = [getattr(account, column) for column in INPUT_COLUMNS[input_name]]
    text = json.dumps(values, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_LENGTH]


def input_fingerprints(account: Account, input_names: Iterable[str]) -> dict[str, str]:
    """Return the fingerprint of each input, keyed by the input's name."""
    return {name: input_fingerprint(account, name) for name in input_names}


def _lock_current(
    account: Account,
    version: datetime | None,
    loaded: Mapping[str, str] | None = None,
    inputs: Iterable[str] = (),
) -> Account:
    """Lock the account row and raise StaleEditError when the edit is based on a stale copy.

    ``loaded`` contains the form's fingerprints from when it was rendered (see
    input_fingerprint). When it has one for each of ``inputs``, the inputs that the edit
    saves, only a change to the values behind those inputs rejects the edit, and other
    changes are kept. Without them, any change since ``version`` rejects it. Raises
    ValidationError for a missing version, or one later than the account's or before it
    was created, which no form of the page can have sent.
    """
    locked = (
        Account.objects.select_for_update(of=("self",))
        .select_related("framework", "industry", "owner")
        .get(pk=account.pk)
    )
    if version is None or version > locked.updated_at or version < locked.created_at:
        raise ValidationError(INVALID_VERSION_MESSAGE)
    inputs = list(inputs)
    if loaded is not None and all(name in loaded for name in inputs):
        changed = [name for name in inputs if input_fingerprint(locked, name) != loaded[name]]
        if changed:
            raise StaleEditError(locked, _changes_to_inputs(locked, version, changed), changed)
        return locked
    if locked.updated_at != version:
        from accounts.selectors import account_changes_since

        raise StaleEditError(locked, account_changes_since(locked, version))
    return locked


def _changes_to_inputs(account: Account, since: datetime, inputs: list[str]) -> list[Any]:
    """Return the history entries since ``since`` that changed a value behind ``inputs``.

    Every entry since then is returned when none names such a value, as when a change
    was written without a history row, so that the rejection still names who changed the
    account.
    """
    from accounts.selectors import account_changes_since

    entries = account_changes_since(account, since)
    columns = {column for name in inputs for column in INPUT_COLUMNS[name]}
    matching = [
        entry for entry in entries if any(change.field in columns for change in entry.changes)
    ]
    return matching or entries


# Field edits ---------------------------------------------------------------------------

CONFLICT_EDIT_MESSAGE = (
    "{label} has conflicting sources, so it cannot be edited: a Sales Manager of the "
    "account's team resolves the conflict, choosing a value and giving a reason."
)


def field_conflicting(account: Account, status_key: str) -> bool:
    """Return whether the verified field's sources conflict on the account."""
    statuses = account.field_status if isinstance(account.field_status, dict) else {}
    return (statuses.get(status_key) or {}).get("status") == CONFLICTING


@dataclass(frozen=True)
class EditableField:
    """A group of account values edited together on the account page.

    ``inputs`` are the form inputs, ``status_key`` the field_status entry that shows its
    provenance (empty when the enrichment app does not verify it).
    """

    name: str
    label: str
    inputs: tuple[str, ...]
    status_key: str = ""


EDITABLE_FIELDS: dict[str, EditableField] = {
    field_spec.name: field_spec
    for field_spec in (
        EditableField("name", "Name", ("name",)),
        EditableField("industry", "Industry", ("industry_raw",), "industry"),
        EditableField("employees", "Employees", ("employees",), "company_size"),
        EditableField("revenue", "Revenue", ("revenue",), "revenue"),
        EditableField("location", "Location", ("city", "region", "country"), "country"),
        EditableField("website", "Website", ("website",)),
        EditableField("technologies", "Technologies", ("technologies",), "technologies"),
        EditableField("description", "Description", ("description",)),
    )
}


@dataclass
class ParsedEdit:
    """Normalized values of one edit: Account fields to set and observations to record."""

    values: dict[str, Any]
    observations: list[tuple[str, Any, str]]
    warnings: list[str] = field(default_factory=list)


@dataclass
class FieldUpdateResult:
    """Outcome of account_field_update: the account and notes for the person.

    ``changed`` is False for an edit that left the field as it was and saved nothing.
    """

    account: Account
    warnings: list[str]
    changed: bool = True


def _max_length(name: str) -> int:
    return Account._meta.get_field(name).max_length


def empty_value_message(label: str, example: str) -> str:
    """Return the error for a required value that a person left empty."""
    return f"{label} is empty: enter a value such as {example}."


def _required_text(data: dict[str, str], name: str, label: str, example: str) -> str:
    text = clean_text(data.get(name) or "")
    if not text:
        raise ValidationError({name: empty_value_message(label, example)})
    return text


def _check_length(name: str, label: str, text: str, max_length: int) -> None:
    if len(text) > max_length:
        raise ValidationError(
            {name: f"{label} is {len(text)} characters long, more than the {max_length} allowed."}
        )


def _parse_name(data: dict[str, str], account: Account) -> ParsedEdit:
    text = _required_text(data, "name", "Name", "Acme Corp")
    _check_length("name", "Name", text, _max_length("name"))
    # The same rule as the API's: a name is matched by its key, which needs a letter or digit.
    name_key = company_name_key(text)
    if not name_key:
        raise ValidationError(
            {"name": f"The name “{text}” has no letters or digits: enter the company's name."}
        )
    return ParsedEdit(
        values={"name": text, "name_key": name_key[: _max_length("name_key")]},
        observations=[("name", text, text)],
    )


def _parse_industry(
    data: dict[str, str],
    account: Account,
    *,
    user: AbstractBaseUser | None = None,
    allow_unmapped: bool = False,
) -> ParsedEdit:
    """Parse an industry label, which must be an industry's name or synonym.

    With ``allow_unmapped``, a label that matches neither is saved as the raw label
    without an industry, as imports keep such labels, and Sales Ops can map it later on
    the unmapped industries page. The unmapped label the account already has passes
    too, so saving the form as it opened reports that nothing changed.
    """
    text = _required_text(data, "industry_raw", "Industry", "Computer Software")
    _check_length("industry_raw", "Industry", text, _max_length("industry_raw"))
    kept_label = account.industry_id is None and text == clean_text(account.industry_raw)
    warnings = []
    try:
        industry_id: int | None = industry_label_resolve(text, user=user)
    except ValidationError as error:
        if not (allow_unmapped or kept_label):
            raise ValidationError({"industry_raw": error}) from None
        industry_id = None
        warnings.append(
            f"“{text}” matches no industry of the taxonomy, so the account stays unmapped "
            "until Sales Ops adds it as a synonym of an industry."
        )
    return ParsedEdit(
        values={"industry_id": industry_id, "industry_raw": text},
        observations=[("industry", {"industry_id": industry_id, "label": text}, text)],
        warnings=warnings,
    )


def _parse_employees(data: dict[str, str], account: Account) -> ParsedEdit:
    text = _required_text(data, "employees", "Employees", "250 or 51-200")
    _check_length("employees", "Employees", text, _max_length("employee_raw"))
    try:
        employees = parse_employee_count(text)
    except UnparsedValue as error:
        raise ValidationError(
            {"employees": f"“{text}” is not a head count: {sentence_end(error.hint)}"}
        ) from None
    if employees is None:
        raise ValidationError(
            {"employees": f"“{text}” is not a head count: enter a number such as 250."}
        )
    value = {
        "count": employees.estimate,
        "min": employees.minimum,
        "max": employees.maximum,
        "approximate": employees.approximate,
    }
    return ParsedEdit(
        values={
            "employee_count": employees.estimate,
            "employee_min": employees.minimum,
            "employee_max": employees.maximum,
            "employee_approximate": employees.approximate,
            "employee_raw": text,
        },
        observations=[("employees", value, text)],
    )


def _currency_rates() -> dict[str, Decimal]:
    return {**DEFAULT_RATES_TO_USD, **getattr(settings, "ICP_CURRENCY_RATES_TO_USD", {})}


def _parse_revenue(data: dict[str, str], account: Account) -> ParsedEdit:
    text = _required_text(data, "revenue", "Revenue", "$12.5M or EUR 40M")
    _check_length("revenue", "Revenue", text, _max_length("revenue_raw"))
    try:
        money = parse_money(text, default_currency="USD")
    except UnparsedValue as error:
        raise ValidationError(
            {"revenue": f"“{text}” is not an amount: {sentence_end(error.hint)}"}
        ) from None
    if money is None:
        raise ValidationError({"revenue": f"“{text}” is not an amount: enter one such as $12.5M."})
    if is_too_large(money.amount):
        raise ValidationError({"revenue": f"“{text}” is too large: check the unit."})
    amount = money.amount.quantize(CENTS)
    if amount < 0:
        raise ValidationError({"revenue": f"“{text}” is negative: revenue cannot be negative."})
    warnings = []
    try:
        usd: Decimal | None = convert_to_usd(Money(amount, money.currency), _currency_rates())
        usd = round_converted_amount(usd)
    except UnparsedValue as error:
        usd = None
        warnings.append(
            f"The amount was saved but not converted to US dollars: {sentence_end(error.hint)}"
        )
    if usd is not None and usd >= MAX_AMOUNT:
        raise ValidationError(
            {"revenue": f"“{text}” is {usd:,} US dollars, too large to store: check the unit."}
        )
    return ParsedEdit(
        values={
            "revenue_amount": amount,
            "revenue_currency": money.currency,
            "annual_revenue_usd": usd,
            "revenue_raw": text,
        },
        observations=[
            (
                "revenue",
                {
                    "amount": str(amount),
                    "currency": money.currency,
                    "usd": None if usd is None else str(usd),
                },
                text,
            )
        ],
        warnings=warnings,
    )


def _parse_location(data: dict[str, str], account: Account) -> ParsedEdit:
    city = clean_text(data.get("city") or "")
    region = clean_text(data.get("region") or "")
    country = clean_text(data.get("country") or "")
    if not country:
        raise ValidationError({"country": "Country is empty: enter a name or code such as DE."})
    try:
        normalize_country(country)
    except UnparsedValue as error:
        raise ValidationError(
            {"country": f"“{country}” is not a country: {sentence_end(error.hint)}"}
        ) from None
    location = resolve_location(city=city, region=region, country=country)
    if location.country is None:
        raise ValidationError(
            {"country": f"“{country}” is not a country: enter a name or code such as DE."}
        )
    _check_length("city", "City", location.city, _max_length("city"))
    _check_length("region", "Region", location.region, _max_length("region"))
    found = {"city": location.city, "region": location.region, "country": location.country}
    raw = ", ".join(part for part in (city, region, country) if part)
    return ParsedEdit(
        values=dict(found),
        observations=[("location", found, raw)],
        warnings=[sentence_start(flag.removeprefix("Needs review: ")) for flag in location.flags],
    )


def third_party_message(url: str) -> str:
    """Return the error for a website or domain that is a platform's page, such as LinkedIn."""
    return (
        f"{url} is a third-party page, not the company's own website: enter the company's website."
    )


def domain_owner(domain: str, account: Account | None) -> Account | None:
    """Return another account that has ``domain``, or None when no other account has it."""
    others = Account.objects.filter(domain=domain)
    if account is not None and account.pk is not None:
        others = others.exclude(pk=account.pk)
    return others.only("pk", "name").first()


def domain_taken_message(other: Account, domain: str, account: Account | None) -> str:
    """Return the error for a domain that ``other`` already has, naming that account."""
    if account is not None and account.pk is not None:
        fix = "merge the two accounts or enter another website"
    else:
        fix = "update that account instead of creating another one"
    return f"Account “{other.name}” (id {other.pk}) already has the domain {domain}: {fix}."


def website_values(
    text: str, account: Account | None, company_name: str | None = None
) -> tuple[str, str]:
    """Return the cleaned URL of a website that a person enters and its registrable domain.

    ``account`` is the account being edited, None for a new one. ``company_name`` is the
    company's name when it differs from the account's (a new or renamed account). Raises
    ValidationError on ``website`` for a value that is not a website, a third-party page
    (unless the page is on the company's own domain, as facebook.com is for Facebook), a
    URL longer than the column, or a domain that another account has.
    """
    try:
        url = website_url(text)
        domain = normalize_domain(url) if url else None
    except UnparsedValue as error:
        raise ValidationError(
            {"website": f"“{text}” is not a website: {sentence_end(error.hint)}"}
        ) from None
    if not url or not domain:
        raise ValidationError({"website": f"“{text}” is not a website: enter one like acme.com."})
    if company_name is None:
        company_name = account.name if account is not None else ""
    own_domain = account.domain if account is not None else ""
    if is_third_party_url(url, company_domain=own_domain, company_name=company_name):
        raise ValidationError({"website": third_party_message(url)})
    _check_length("website", "Website", url, _max_length("website"))
    other = domain_owner(domain, account)
    if other is not None:
        raise ValidationError({"website": domain_taken_message(other, domain, account)})
    return url, domain


WEBSITE_EXAMPLE = "https://example.com"


def _parse_website(data: dict[str, str], account: Account) -> ParsedEdit:
    text = _required_text(data, "website", "Website", WEBSITE_EXAMPLE)
    url, domain = website_values(text, account)
    return ParsedEdit(
        values={"website": url, "domain": domain},
        observations=[("website", url, text), ("domain", domain, text)],
    )


def technology_problem(technologies: list[str]) -> str:
    """Return why a person's technology list is invalid, or "" when every name is valid.

    A name needs a letter or digit, so "C#" and ".NET" pass and an emoji alone does not.
    Angle brackets mean markup was pasted in place of a name.
    """
    for technology in technologies:
        if not any(character.isalnum() for character in technology):
            return (
                f"“{technology}” is not a technology name: a name needs a letter or a digit, "
                "such as Salesforce or C#."
            )
        if "<" in technology or ">" in technology:
            return (
                f"“{technology}” contains < or >, which look like pasted markup: enter the "
                "technology's name only, such as Snowflake."
            )
    return ""


def _parse_technologies(data: dict[str, str], account: Account) -> ParsedEdit:
    text = _required_text(data, "technologies", "Technologies", "Salesforce, Snowflake")
    long_names = long_technologies(text)
    if long_names:
        raise ValidationError({"technologies": technology_length_message(long_names[0])})
    technologies = normalize_technologies(text)
    if not technologies:
        raise ValidationError(
            {
                "technologies": "Enter technologies separated by commas, such as "
                "Salesforce, Snowflake."
            }
        )
    problem = technology_problem(technologies)
    if problem:
        raise ValidationError({"technologies": problem})
    # A list a person enters replaces the union of the sources' lists (see
    # enrichment.verification.choose_technologies), so the page shows exactly this list.
    return ParsedEdit(
        values={"technologies": technologies},
        observations=[("technologies", technologies, text)],
    )


def _parse_description(data: dict[str, str], account: Account) -> ParsedEdit:
    text = (data.get("description") or "").strip()
    if not text:
        raise ValidationError({"description": "Description is empty: enter a sentence or two."})
    _check_length("description", "Description", text, MAX_DESCRIPTION_LENGTH)
    return ParsedEdit(values={"description": text}, observations=[("description", text, text)])


PARSERS = {
    "name": _parse_name,
    "industry": _parse_industry,
    "employees": _parse_employees,
    "revenue": _parse_revenue,
    "location": _parse_location,
    "website": _parse_website,
    "technologies": _parse_technologies,
    "description": _parse_description,
}


def field_edit_parse(
    field_name: str,
    data: dict[str, str],
    account: Account,
    *,
    user: AbstractBaseUser | None = None,
    allow_unmapped: bool = False,
) -> ParsedEdit:
    """Normalize the inputs of one editable field with the import normalizers.

    ``user`` picks the fix that an unknown industry's message names, and
    ``allow_unmapped`` keeps an industry label that matches no industry (see
    _parse_industry). Raises ValidationError with a message per input name when a value
    is invalid.
    """
    if field_name not in PARSERS:
        raise ValidationError(
            f"field {field_name!r} cannot be edited: use one of {', '.join(EDITABLE_FIELDS)}."
        )
    if field_name == "industry":
        return _parse_industry(data, account, user=user, allow_unmapped=allow_unmapped)
    return PARSERS[field_name](data, account)


def field_initial(account: Account, field_name: str) -> dict[str, str]:
    """Return the current values of an editable field's inputs, as the person typed them."""
    if field_name == "name":
        return {"name": account.name}
    if field_name == "industry":
        return {
            "industry_raw": account.industry_raw
            or (account.industry.name if account.industry else "")
        }
    if field_name == "employees":
        text = account.employee_raw or (
            str(account.employee_count) if account.employee_count is not None else ""
        )
        return {"employees": text}
    if field_name == "revenue":
        return {"revenue": account.revenue_raw}
    if field_name == "location":
        return {"city": account.city, "region": account.region, "country": account.country}
    if field_name == "website":
        return {"website": account.website or account.domain}
    if field_name == "technologies":
        return {"technologies": ", ".join(str(item) for item in account.technologies or [])}
    return {"description": account.description}


def _input_text(name: str, text: str) -> str:
    """Return an input as its parser reads it: a description keeps its inner line breaks."""
    return text.strip() if name == "description" else clean_text(text)


def field_edit_unchanged(
    account: Account, field_name: str, data: dict[str, str], parsed: ParsedEdit
) -> bool:
    """Return whether an edit leaves the field as the account has it, so it is not saved.

    The edit is unchanged when its inputs equal those the form opens with, or when its
    normalized values equal the account's. The first test matters where the form shows a
    value in short, such as a head count for a range without a source value.
    """
    opened_with = field_initial(account, field_name)
    if all(
        _input_text(name, data.get(name) or "") == _input_text(name, opened_with.get(name) or "")
        for name in EDITABLE_FIELDS[field_name].inputs
    ):
        return True
    return all(getattr(account, name) == value for name, value in parsed.values.items())


def account_field_update(
    *,
    account: Account,
    field_name: str,
    data: dict[str, str],
    user: AbstractBaseUser,
    version: datetime | None,
    loaded: Mapping[str, str] | None = None,
    allow_unmapped: bool = False,
) -> FieldUpdateResult:
    """Save a person's value for one field, record it as a manual observation and re-score.

    The value is validated with the normalizers first. The observation has source
    ``manual`` and ``entered_by`` set, so verification treats it as the current value.
    The account is then verified again and segmented. An edit that leaves the field as
    it is (see field_edit_unchanged) saves nothing and returns ``changed=False``, as an
    unchanged value sent through the API does: otherwise saving the form as it opened
    would mark a single-source field ``accepted`` and the account verified without a
    second source. ``loaded`` contains the form's fingerprints of the field's inputs (see
    _lock_current). An industry label that matches no industry or synonym is rejected
    with code UNKNOWN_INDUSTRY unless ``allow_unmapped`` is set. Raises PermissionDenied,
    a ValidationError per input, or StaleEditError when someone changed the field since
    the form was rendered.
    """
    if not can_research_account(user, account):
        raise PermissionDenied(f"{user} may not edit account {account.pk}.")
    parsed = field_edit_parse(field_name, data, account, user=user, allow_unmapped=allow_unmapped)
    spec = EDITABLE_FIELDS[field_name]
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_current(account, version, loaded, spec.inputs)
        # An edit would replace both sources' values without the resolution's reason.
        if spec.status_key and field_conflicting(locked, spec.status_key):
            raise ValidationError(CONFLICT_EDIT_MESSAGE.format(label=spec.label))
        if field_edit_unchanged(locked, field_name, data, parsed):
            logger.info("account %s: user %s saved %s unchanged", locked.pk, user.pk, field_name)
            return FieldUpdateResult(account=locked, warnings=[], changed=False)
        changed_names = [
            name for name, value in parsed.values.items() if getattr(locked, name) != value
        ]
        for name, value in parsed.values.items():
            setattr(locked, name, value)
        _clear_corrected_flags(locked, changed_names)
        # Attributes the history row to the user outside requests too, such as in tests.
        locked._history_user = user
        # _segment() below scores the account at once, so the save queues no second run.
        with auto_resegmentation_paused():
            locked.save()
        Observation.objects.bulk_create(
            [
                Observation(
                    account=locked,
                    field=observation_field,
                    value=value,
                    raw_value=raw,
                    source=MANUAL_SOURCE,
                    source_detail=MANUAL_SOURCE_DETAIL,
                    observed_at=now,
                    entered_by=user,
                )
                for observation_field, value, raw in parsed.observations
            ]
        )
        warnings = list(parsed.warnings)
        warnings += _verify(locked)
    warnings += _segment(locked)
    logger.info("account %s: user %s edited %s", locked.pk, user.pk, field_name)
    return FieldUpdateResult(account=Account.objects.get(pk=locked.pk), warnings=warnings)


def _clear_corrected_flags(account: Account, changed_names: list[str]) -> None:
    """Drop the review flags that the new values correct, with the reason in the history."""
    flags = list(account.review_flags or [])
    remaining = flags_unresolved(flags, changed_names)
    if len(remaining) != len(flags):
        account.review_flags = remaining
        account._change_reason = cleared_flags_reason(flags, remaining)


def _verify(account: Account) -> list[str]:
    """Verify the account's fields again; return a warning when verification is unavailable."""
    try:
        from enrichment.services import accounts_verify
    except ImportError:
        logger.warning("account %s: enrichment.services is missing, not verified", account.pk)
        return ["The value was saved but not verified: the enrichment app is not installed."]
    accounts_verify(account_ids=[account.pk])
    return []


def _segment(account: Account) -> list[str]:
    """Score the account again; return a warning when it could not be scored."""
    from segmentation.services import accounts_segment

    try:
        accounts_segment(account_ids=[account.pk])
    except LookupError as error:  # NoActiveFrameworkError: nothing to score against
        logger.warning("account %s was not scored again: %s", account.pk, error)
        return [f"The value was saved but the account was not scored again: {error}"]
    return []


# Tag, tier and fit ---------------------------------------------------------------------


def changed_segment(
    account: Account, tag: str, tier: str, tags: TagChecker | None
) -> tuple[str | None, str | None]:
    """Return the tag and tier that differ from the account's, None for each that does not."""
    # Compared in the framework's spelling, so "saas - smb - us" leaves "SaaS – SMB – US"
    # unchanged.
    new_tag = tag.strip() or None
    if new_tag and tags is not None:
        new_tag = tags.spelling(new_tag)
    new_tier = tier or None
    if new_tag == account.tag:
        new_tag = None
    if new_tier == account.tier:
        new_tier = None
    return new_tag, new_tier


def account_segment_edit(
    *,
    account: Account,
    user: AbstractBaseUser,
    tag: str,
    tier: str,
    reason: str,
    version: datetime | None,
    loaded: Mapping[str, str] | None = None,
) -> SegmentOverride:
    """Set the tag and/or tier by hand with a reason, as a manual_tag override.

    An empty ``tag`` or ``tier`` keeps the account's. ``loaded`` contains the form's
    fingerprints of the tag and tier (see _lock_current), and only those sent non-empty
    are compared. Raises PermissionDenied, ValidationError when nothing changes or the
    reason is missing, or StaleEditError when someone changed a sent value since the
    form was rendered.
    """
    if not can_research_account(user, account):
        raise PermissionDenied(f"{user} may not tag account {account.pk}.")
    if not (reason or "").strip():
        raise ValidationError({"reason": "Reason is empty: say why the tag or tier changes."})
    with transaction.atomic():
        locked = _lock_current(account, version, loaded, _sent_segment_inputs(tag, tier))
        tags = active_tag_checker()
        new_tag, new_tier = changed_segment(locked, tag, tier, tags)
        if new_tag is None and new_tier is None:
            raise ValidationError(
                {"tag": "The tag and tier are unchanged: change one of them or cancel."}
            )
        return account_segment_override(
            account=locked,
            user=user,
            kind=SegmentOverride.Kind.MANUAL_TAG,
            reason=reason,
            tag=new_tag,
            tier=new_tier,
            tags=tags,
        )


def _sent_segment_inputs(tag: str, tier: str) -> list[str]:
    """Return the segment inputs that an edit sets: an empty one keeps the account's value."""
    return [name for name, value in (("tag", tag.strip()), ("tier", tier)) if value]


FIT_CONFIRM = "confirm"
FIT_REFINE = "refine"
# Labels of the missing fields of a score (segmentation.engine), as the page names them.
MISSING_FIELD_LABELS = {
    "industry": "industry",
    "company_size": "company size",
    "geography": "geography (country)",
}


def fit_confirm_refusal(account: Account) -> str:
    """Return why the account's segment cannot be confirmed, "" when it can.

    An account without a tag has no segment to confirm: scoring leaves the tag empty
    while a mandatory field is missing. A refinement with a tag stays possible.
    """
    if account.tag:
        return ""
    missing = [
        MISSING_FIELD_LABELS.get(str(name), str(name).replace("_", " "))
        for name in account.missing_fields or []
    ]
    if missing:
        cause = f"its mandatory fields {', '.join(missing)} are missing"
        if len(missing) == 1:
            cause = f"its mandatory field {missing[0]} is missing"
        fix = "Enter them on the account page so that it is tagged, then confirm the fit"
        if len(missing) == 1:
            fix = "Enter it on the account page so that it is tagged, then confirm the fit"
    else:
        cause = "it has not been tagged yet"
        fix = "Tag it first, then confirm the fit"
    return (
        f"Account {account.pk} has no tag, so there is no segment to confirm: {cause}. "
        f"{fix}, or refine the fit with a tag."
    )


def account_fit_validate(
    *,
    account: Account,
    user: AbstractBaseUser,
    decision: str,
    reason: str,
    tag: str = "",
    tier: str = "",
    version: datetime | None,
    loaded: Mapping[str, str] | None = None,
) -> SegmentOverride:
    """Record an AE's fit decision from discovery as a fit_validation override.

    ``decision`` is ``confirm`` (the segment stays) or ``refine`` (a new tier and/or
    tag). Raises PermissionDenied for users other than the owning AE or their manager,
    ValidationError for a missing reason or a refinement that changes nothing, and
    StaleEditError when someone changed the tag or tier since the form was rendered, so
    that nobody confirms a segment they were not shown. ``loaded`` contains the form's
    fingerprints of the tag and tier (see _lock_current). A refinement is compared on
    the values it sets, and a confirmation on both.
    """
    if not can_validate_fit(user, account):
        raise PermissionDenied(
            f"{user} may not validate the fit of account {account.pk}: only its AE or their "
            "manager may."
        )
    if decision not in (FIT_CONFIRM, FIT_REFINE):
        raise ValidationError({"decision": f"Decision {decision!r} is invalid: confirm or refine."})
    if tier and tier not in Tier.values:
        raise ValidationError({"tier": f"Tier {tier!r} is invalid: choose High, Medium or Low."})
    inputs = ["tag", "tier"] if decision == FIT_CONFIRM else _sent_segment_inputs(tag, tier)
    with transaction.atomic():
        locked = _lock_current(account, version, loaded, inputs)
        if decision == FIT_CONFIRM:
            refusal = fit_confirm_refusal(locked)
            if refusal:
                raise ValidationError({"decision": refusal})
            return account_segment_override(
                account=locked, user=user, kind=SegmentOverride.Kind.FIT_VALIDATION, reason=reason
            )
        tags = active_tag_checker()
        new_tag, new_tier = changed_segment(locked, tag, tier, tags)
        if new_tag is None and new_tier is None:
            raise ValidationError(
                {
                    "tier": "The refinement changes nothing: choose a new tier or tag, or "
                    "confirm the fit."
                }
            )
        return account_segment_override(
            account=locked,
            user=user,
            kind=SegmentOverride.Kind.FIT_VALIDATION,
            reason=reason,
            tag=new_tag,
            tier=new_tier,
            tags=tags,
        )


# Research notes ------------------------------------------------------------------------


# Buying signal that a published note of each kind adds to its account, with the
# signals already recorded that mean the same.
NOTE_SIGNALS: dict[str, tuple[str, ...]] = {
    ResearchNote.Kind.FUNDING: ("recent funding", "funding"),
    ResearchNote.Kind.HIRE: ("hiring",),
    ResearchNote.Kind.EXPANSION: ("expansion",),
}
# A note about an older event is background, not a buying signal.
NOTE_SIGNAL_MAX_AGE = timedelta(days=365)
NOTE_SOURCE_DETAIL = "research note"


@dataclass
class NoteResult:
    """A saved or deleted research note, the buying signals it changed and warnings.

    ``signal`` is the buying signal that the note added to its account, and
    ``removed_signal`` the one that an edit or deletion took off it ("" for none).
    ``changed`` is False for an edit that changed nothing and so saved nothing.
    """

    note: ResearchNote
    signal: str = ""
    warnings: list[str] = field(default_factory=list)
    changed: bool = True
    removed_signal: str = ""

    @property
    def signals_changed(self) -> bool:
        """Whether the account's buying signals changed, so that it was scored again."""
        return bool(self.signal or self.removed_signal)


def note_signal(note: ResearchNote, today: date | None = None, *, from_feed: bool = False) -> str:
    """Return the buying signal that a published note adds, or "" for none.

    Other kinds of note, and notes about events more than a year old, add none. A note
    that a person writes without a date is about current news, but a feed item without a
    date may be years old, so a note from a feed (``from_feed``) needs a date to add one.
    """
    names = NOTE_SIGNALS.get(note.kind)
    if not names or note.status != ResearchNote.Status.PUBLISHED:
        return ""
    if from_feed and note.happened_on is None:
        return ""
    today = today or timezone.localdate()
    if note.happened_on is not None and note.happened_on < today - NOTE_SIGNAL_MAX_AGE:
        return ""
    return names[0]


def _note_signal_add(
    note: ResearchNote, user: AbstractBaseUser, *, from_feed: bool = False
) -> NoteResult:
    """Add the note's buying signal to its account unless it has it, and score the account.

    The signal is recorded as the user's observation, with the note's text as the raw
    value, so the account's sources show where it came from.
    """
    signal = note_signal(note, from_feed=from_feed)
    if not signal:
        return NoteResult(note=note)
    same = set(NOTE_SIGNALS[note.kind])
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=note.account_id)
        recorded = account.buying_signals if isinstance(account.buying_signals, list) else []
        if any(term_key(item) in same for item in recorded if isinstance(item, str)):
            return NoteResult(note=note)
        account.buying_signals = [*recorded, signal]
        account._history_user = user
        with auto_resegmentation_paused():
            account.save(update_fields=["buying_signals", "updated_at"])
        Observation.objects.create(
            account=account,
            field="buying_signals",
            value=[signal],
            raw_value=note.text,
            source=MANUAL_SOURCE,
            source_detail=NOTE_SOURCE_DETAIL,
            observed_at=timezone.now(),
            entered_by=user,
        )
    logger.info("account %s: note %s added buying signal %r", account.pk, note.pk, signal)
    return NoteResult(note=note, signal=signal, warnings=_segment(account))


def research_note_create(
    *,
    account: Account,
    user: AbstractBaseUser,
    kind: str,
    text: str,
    source_url: str = "",
    happened_on: date | None = None,
) -> NoteResult:
    """Publish a research note written by a person. The form validates the values.

    A recent funding, hire or expansion note adds its buying signal to the account, which
    is then scored again.
    """
    if not can_add_note(user, account):
        raise PermissionDenied(f"{user} may not add notes to account {account.pk}.")
    note = ResearchNote(
        account=account,
        kind=kind,
        status=ResearchNote.Status.PUBLISHED,
        text=text.strip(),
        source_url=source_url.strip(),
        happened_on=happened_on,
        author=user,
    )
    note.full_clean()
    note.save()
    logger.info("account %s: user %s added note %s", account.pk, user.pk, note.pk)
    return _note_signal_add(note, user)


def research_note_review(*, note: ResearchNote, user: AbstractBaseUser, status: str) -> NoteResult:
    """Publish or dismiss a note that enrichment proposed.

    A published note adds its buying signal as ``research_note_create`` does. Raises
    PermissionDenied and ValidationError when the note is not proposed or the status is
    not published or dismissed.
    """
    if not can_add_note(user, note.account):
        raise PermissionDenied(f"{user} may not review notes of account {note.account_id}.")
    allowed = (ResearchNote.Status.PUBLISHED, ResearchNote.Status.DISMISSED)
    if status not in allowed:
        raise ValidationError(f"Status {status!r} is invalid: use published or dismissed.")
    if note.status != ResearchNote.Status.PROPOSED:
        raise ValidationError(
            f"Note {note.pk} is already {note.get_status_display().lower()}: reload the page."
        )
    note.status = status
    if status == ResearchNote.Status.PUBLISHED and note.author_id is None:
        note.author = user
    note.save(update_fields=["status", "author", "updated_at"])
    logger.info("note %s %s by user %s", note.pk, status, user.pk)
    # Only enrichment proposes notes, from feed items.
    return _note_signal_add(note, user, from_feed=True)


# Values set through the API --------------------------------------------------------------

API_SOURCE_DETAIL = "API"

# Observation fields and the Account fields that report them.
OBSERVED_ACCOUNT_FIELDS: dict[str, tuple[str, ...]] = {
    "industry": ("industry_id", "industry_raw"),
    "employees": ("employee_count", "employee_min", "employee_max"),
    "revenue": ("revenue_amount", "revenue_currency", "annual_revenue_usd"),
    "location": ("country", "region", "city"),
    "website": ("website",),
    "domain": ("domain",),
    "technologies": ("technologies",),
    "description": ("description",),
}


def api_changed_values(account: Account | None, attrs: dict[str, Any]) -> dict[str, Any]:
    """Return the API values that differ from the account's, all of them for a new one."""
    if account is None:
        return dict(attrs)
    return {name: value for name, value in attrs.items() if getattr(account, name) != value}


def _observed_empty(name: str, values: dict[str, Any]) -> bool:
    """Return whether the Account fields of one observation field are all empty."""
    if name == "industry":
        return values["industry_id"] is None and not values["industry_raw"]
    if name == "employees":
        return values["employee_count"] is None
    if name == "revenue":
        return values["revenue_amount"] is None and values["annual_revenue_usd"] is None
    if name == "location":
        # The account page also requires a country: a location without one cannot be scored.
        return not values["country"]
    return not values[OBSERVED_ACCOUNT_FIELDS[name][0]]


def api_values_complete(
    account: Account | None,
    attrs: dict[str, Any],
    *,
    domain_text: str | None = None,
    allow_unmapped: bool = False,
) -> dict[str, Any]:
    """Return the Account fields an API change implies beyond those the client sent.

    Only values that differ from the account's count as changed, and a related value the
    client sent, changed or not, is kept as sent. An industry id without a label takes
    the industry's name as the label, and a label without an id is looked up in the
    taxonomy, as on the account page. A changed label that matches no industry is kept
    without one only with ``allow_unmapped``, the page's "Save as unmapped anyway". A new
    country without a region or city clears the old ones, as a country resolution does. A
    head count without a range sets the range to that count, and a range without a count
    sets the count to its estimate. Revenue in US dollars without an amount becomes the
    amount in USD, and an amount without US dollars is converted, or leaves them empty
    when no rate is configured. So no value stays from before the change that contradicts
    it. ``domain_text`` is the domain as the client sent it, before cleaning.

    Raises ValidationError, by input name, for such a label without ``allow_unmapped``
    (code UNKNOWN_INDUSTRY), when the change would clear the website or a value that
    verification reads (an entry cannot be empty, so the old one would
    return), when the converted revenue is too large to store, or when the revenue values
    sent contradict each other.
    """
    changed = api_changed_values(account, attrs)
    extra: dict[str, Any] = _api_website_domain(account, attrs, changed, domain_text)
    if {"industry", "industry_raw"} & changed.keys() and attrs.get("industry") is not None:
        label = clean_text(attrs.get("industry_raw") or "")
        resolved = IndustryResolver.load().resolve_first([label])[0] if label else None
        if resolved is not None and resolved != attrs["industry"].pk:
            raise ValidationError(
                {
                    "industry_raw": f"“{label}” is another industry than industry_id "
                    f"{attrs['industry'].pk} ({attrs['industry'].name}): send values that "
                    "match, or leave industry_raw out."
                }
            )
    if "industry" in changed and "industry_raw" not in attrs:
        industry = changed["industry"]
        extra["industry_raw"] = industry.name if industry is not None else ""
    elif "industry_raw" in changed and "industry" not in attrs:
        label = clean_text(changed["industry_raw"] or "")
        industry_id = IndustryResolver.load().resolve_first([label])[0] if label else None
        if label and industry_id is None and not allow_unmapped:
            message = unknown_industry_api_message(label)
            raise ValidationError({"industry_raw": ValidationError(message, code=UNKNOWN_INDUSTRY)})
        extra["industry_id"] = industry_id
    if changed.get("country") and not {"region", "city"} & attrs.keys():
        # A region and city of the old country would describe a place in neither.
        extra.update(region="", city="")
    employee_names = {"employee_count", "employee_min", "employee_max"}
    if "employee_count" in changed and not {"employee_min", "employee_max"} & attrs.keys():
        count = changed["employee_count"]
        extra.update(employee_min=count, employee_max=count)
    elif "employee_count" not in attrs and {"employee_min", "employee_max"} & changed.keys():
        low = attrs.get("employee_min", getattr(account, "employee_min", None))
        high = attrs.get("employee_max", getattr(account, "employee_max", None))
        if low is None and high is None:
            extra["employee_count"] = None
        else:
            extra["employee_count"] = EmployeeRange(low or 0, high).estimate
    if employee_names & changed.keys():
        extra.update(employee_approximate=False, employee_raw="")
    amount_after = attrs.get("revenue_amount", getattr(account, "revenue_amount", None))
    if "revenue_currency" in changed and not changed["revenue_currency"] and amount_after:
        raise ValidationError(
            {
                "revenue_currency": "revenue_currency is empty, but the revenue has an "
                "amount: send its currency code, such as USD."
            }
        )
    revenue_names = {"annual_revenue_usd", "revenue_amount", "revenue_currency"}
    if (
        "annual_revenue_usd" in changed
        and not {"revenue_amount", "revenue_currency"} & attrs.keys()
    ):
        usd = changed["annual_revenue_usd"]
        extra.update(revenue_amount=usd, revenue_currency="USD" if usd is not None else "")
    elif (
        "annual_revenue_usd" not in attrs
        and {"revenue_amount", "revenue_currency"} & changed.keys()
    ):
        amount = attrs.get("revenue_amount", getattr(account, "revenue_amount", None))
        currency = (
            attrs.get("revenue_currency") or getattr(account, "revenue_currency", "") or "USD"
        )
        usd = None
        if amount is not None:
            try:
                usd = round_converted_amount(
                    convert_to_usd(Money(amount, currency), _currency_rates())
                )
            except UnparsedValue:
                usd = None
        if usd is not None and usd >= MAX_AMOUNT:
            raise ValidationError(
                {
                    "revenue_amount": f"{amount} {currency} is {usd:,} US dollars, too large to "
                    "store: check the unit."
                }
            )
        extra.update(annual_revenue_usd=usd, revenue_currency=currency)
    elif "revenue_amount" not in attrs and revenue_names & changed.keys():
        extra.update(
            _usd_with_currency_amount(attrs["annual_revenue_usd"], attrs["revenue_currency"])
        )
    if revenue_names & changed.keys():
        extra["revenue_raw"] = ""
        _check_usd_amounts_agree(account, {**attrs, **extra}, sent=attrs.keys())
    if account is not None:
        _check_not_conflicting(account, {**changed, **extra}, sent=changed.keys())
        _check_not_cleared(account, {**changed, **extra}, sent=changed.keys())
    return extra


def _usd_with_currency_amount(usd: Decimal | None, currency: str) -> dict[str, Any]:
    """Return the amount that US dollars sent with a currency but no amount imply.

    Only US dollars are their own amount. In another currency the amount would need a
    rate the client did not send, and the old amount belongs to the old revenue.
    """
    if currency == "USD" or usd is None:
        return {"revenue_amount": usd}
    if not currency:
        raise ValidationError(
            {
                "revenue_currency": "revenue_currency is empty, but annual_revenue_usd has an "
                "amount: send USD, or leave revenue_currency out."
            }
        )
    raise ValidationError(
        {
            "revenue_amount": f"annual_revenue_usd was sent with revenue_currency {currency} "
            f"but without revenue_amount, so the amount in {currency} is unknown: send "
            "revenue_amount too, or leave revenue_currency out to store the amount in USD."
        }
    )


def _check_usd_amounts_agree(
    account: Account | None, values: dict[str, Any], *, sent: Iterable[str]
) -> None:
    """Raise ValidationError when an amount in USD differs from its US dollars."""

    def after(name: str) -> Any:
        return values[name] if name in values else getattr(account, name, None)

    amount, usd = after("revenue_amount"), after("annual_revenue_usd")
    # An amount without a currency is taken as USD, as in the conversion above.
    currency = after("revenue_currency") or "USD"
    if currency != "USD" or amount is None or usd is None or amount == usd:
        return
    field = "revenue_amount" if "revenue_amount" in sent else "annual_revenue_usd"
    raise ValidationError(
        {
            field: f"revenue_amount {amount} USD differs from annual_revenue_usd {usd}, "
            "although an amount in USD is its own value in US dollars: send equal values, "
            "or send only one of them."
        }
    )


def _website_domain(website: str, company_name: str = "") -> str:
    """Return the registrable domain of a stored website, "" when it sets none.

    A third-party page, which imports keep but flag, sets no domain, unless
    ``company_name`` names that platform.
    """
    if is_third_party_url(website, company_name=company_name):
        return ""
    try:
        return normalize_domain(website) or ""
    except UnparsedValue:
        return ""


def _api_company_name(account: Account | None, attrs: dict[str, Any]) -> str:
    """Return the company name that an API write sends, else the account's name."""
    return attrs.get("name") or getattr(account, "name", "") or ""


def _api_website_domain(
    account: Account | None,
    attrs: dict[str, Any],
    changed: dict[str, Any],
    domain_text: str | None = None,
) -> dict[str, Any]:
    """Return the website and domain that an API change implies, checked as on the page.

    A new website is checked as on the account page (no third-party page, no domain of
    another account) and sets the domain to its registrable domain. A website cannot be
    emptied, as on the page. A domain sent with a website must be the website's domain.
    A domain sent alone must be the domain of the account's website, when it has one, and
    must belong to no other account. Without a website, ``domain_text`` (the domain as
    sent) must be a host name, not a URL. The serializer has already cleaned both values
    and rejected a new third-party domain.
    """
    sent_domain = attrs.get("domain")
    if "website" in changed and not changed["website"]:
        raise ValidationError({"website": empty_value_message("Website", WEBSITE_EXAMPLE)})
    if changed.get("website"):
        url, domain = website_values(changed["website"], account, _api_company_name(account, attrs))
        if sent_domain and sent_domain != domain:
            raise ValidationError(
                {
                    "domain": f"The domain {sent_domain} disagrees with the website {url}, "
                    f"whose domain is {domain}: send matching values, or leave domain out."
                }
            )
        return {"website": url, "domain": domain}
    if "domain" not in changed:
        return {}
    website = attrs.get("website", getattr(account, "website", "") or "")
    website_domain = _website_domain(website, _api_company_name(account, attrs)) if website else ""
    if website_domain and sent_domain != website_domain:
        if sent_domain:
            problem = f"The domain {sent_domain} disagrees with the website {website}"
        else:
            problem = f"The domain cannot be emptied while the website is {website}"
        raise ValidationError(
            {
                "domain": f"{problem}, whose domain is {website_domain}: send the new website "
                "as well, or leave domain out."
            }
        )
    if sent_domain and not website and domain_text and not _is_host_name(domain_text):
        raise ValidationError(
            {
                "domain": f"“{domain_text.strip()}” is a URL, and the account has no website: "
                f"send it as website, which sets the domain to {sent_domain}, or send the host "
                f"name alone, such as {sent_domain}."
            }
        )
    if sent_domain:
        other = domain_owner(sent_domain, account)
        if other is not None:
            raise ValidationError({"domain": domain_taken_message(other, sent_domain, account)})
    return {}


def _is_host_name(text: str) -> bool:
    """Return whether ``text`` is a host name alone, without scheme, port, path or query."""
    try:
        url = website_url(text)
    except UnparsedValue:
        return False
    if not url or "://" in text:
        return False
    parts = urlsplit(url)
    return parts.port is None and not parts.path and not parts.query


def _check_not_conflicting(
    account: Account, changes: dict[str, Any], *, sent: Iterable[str]
) -> None:
    """Raise ValidationError, by input, for a change of a field whose sources conflict."""
    status_keys = {observed: key for key, observed in VERIFIED_FIELDS.items()}
    errors = {}
    for name, account_fields in OBSERVED_ACCOUNT_FIELDS.items():
        status_key = status_keys.get(name)
        if status_key is None or not field_conflicting(account, status_key):
            continue
        changed = [item for item in account_fields if item.removesuffix("_id") in changes]
        if not changed:
            continue
        inputs = [item for item in account_fields if item.removesuffix("_id") in sent]
        field_name = inputs[0] if inputs else changed[0]
        errors[field_name] = CONFLICT_EDIT_MESSAGE.format(label=field_name)
    if errors:
        raise ValidationError(errors)


def _check_not_cleared(account: Account, changes: dict[str, Any], *, sent: Iterable[str]) -> None:
    before = observed_values(account)
    after = {**before, **changes}
    if "industry" in changes:
        industry = changes["industry"]
        after["industry_id"] = industry.pk if industry is not None else None
    errors = {}
    for name in APPLIED_FIELDS:
        if _observed_empty(name, before) or not _observed_empty(name, after):
            continue
        # The validated values name the industry_id input "industry".
        account_fields = OBSERVED_ACCOUNT_FIELDS[name]
        inputs = [item for item in account_fields if item.removesuffix("_id") in sent]
        field_name = inputs[0] if inputs else account_fields[0]
        errors[field_name] = (
            f"{field_name} cannot be emptied, because the sources' or an earlier entry's "
            "value would return. Send a new value, or leave it out."
        )
    if errors:
        raise ValidationError(errors)


def api_values_record(
    *, account: Account, before: dict[str, Any], user: AbstractBaseUser
) -> list[str]:
    """Record the values an API client changed as a person's entries, then verify.

    ``before`` contains the Account fields of OBSERVED_ACCOUNT_FIELDS before the change. A
    changed value gets a ``manual`` observation entered by ``user``, as an edit on the
    account page does, so verification keeps it and a later import does not replace it.
    A value cleared to empty gets none. Returns the observation fields recorded.
    """
    from enrichment.services import account_observed_value

    now = timezone.now()
    observations = []
    for name, account_fields in OBSERVED_ACCOUNT_FIELDS.items():
        if all(before.get(item) == getattr(account, item) for item in account_fields):
            continue
        if name in ("website", "domain"):
            value: Any = getattr(account, name) or None
        else:
            value = account_observed_value(account, name)
        if value is None:
            continue
        observations.append(
            Observation(
                account=account,
                field=name,
                value=value,
                raw_value="",
                source=MANUAL_SOURCE,
                source_detail=API_SOURCE_DETAIL,
                observed_at=now,
                entered_by=user,
            )
        )
    Observation.objects.bulk_create(observations)
    if observations:
        _verify(account)
    return [observation.field for observation in observations]


def observed_values(account: Account) -> dict[str, Any]:
    """Return the Account fields of OBSERVED_ACCOUNT_FIELDS, for api_values_record."""
    return {
        item: getattr(account, item)
        for account_fields in OBSERVED_ACCOUNT_FIELDS.values()
        for item in account_fields
    }
