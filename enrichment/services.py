"""Services that write provenance: current values, verification, conflict resolution,
enrichment runs and proposed research notes.

The current-value and verification rules live in enrichment.verification. This module
loads observations in bulk, applies the rules and writes the results. The import of
public profiles is in enrichment.profiles.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.text import Truncator
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.importing.matching import reviewed_flag_keys
from accounts.importing.serial import (
    ENRICHMENT,
    SEGMENTATION,
    LockHolder,
    lock_holder,
    writer_lock,
)
from accounts.models import REVIEW_FLAG_LINES_KEY, Account, ResearchNote
from accounts.normalizers import (
    DEFAULT_RATES_TO_USD,
    Money,
    UnparsedValue,
    convert_to_usd,
    is_third_party_url,
    is_too_large,
    normalize_country,
    normalize_domain,
    parse_employee_count,
    parse_money,
    sentence_end,
)
from accounts.normalizers.text import normalize_line_breaks
from accounts.permissions import can_review_account
from accounts.selectors import source_label
from audits.baseline import record_account_baselines
from audits.history import current_channel
from segmentation.models import FrameworkStatus, Industry, SizeBand
from segmentation.taxonomy import IndustryResolver, industry_label_resolve

from . import feeds
from . import verification as rules
from .models import EnrichmentRun, EnrichmentRunItem, FieldResolution, Observation
from .providers import (
    PROVIDER_CLASSES,
    CompanyFacts,
    CompanyNotFound,
    LookupPending,
    Provider,
    ProviderAuthError,
    ProviderError,
    ProviderNotConfigured,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderUnavailable,
    get_provider,
)
from .website import DisallowedURL

logger = logging.getLogger(__name__)

# Accounts evaluated per transaction by accounts_verify and account_values_apply.
VERIFY_CHUNK_SIZE = 500
# Rows per UPDATE or INSERT statement.
WRITE_BATCH_SIZE = 500
# History reason of accounts that verification changed without a person's decision.
RECOMPUTED_REASON = "Values or verification recomputed from observations"
# Failed accounts listed in EnrichmentRun.error_details; every failure stays on its item.
MAX_ERROR_DETAILS = 100
CENTS = Decimal("0.01")

# A pending or running run without progress for this long is shown as waiting for a
# worker, while its tasks are queued, or else as stalled.
DEFAULT_STALLED_AFTER_SECONDS = 600
# Without a broker, a run that a page request started stops looking accounts up after
# this long, so a slow provider cannot hold the request for minutes.
DEFAULT_EAGER_TIME_BUDGET_SECONDS = 20
# The Celery tasks that record their starts in EnrichmentRun.started_tasks.
ENRICHMENT_RUN_TASK_NAMES = (
    "enrichment.tasks.accounts_enrich_task",
    "enrichment.tasks.accounts_enrich_chunk_task",
)
# error_kind of an account that a run did not request.
NOT_REACHED = "NotReached"
FINISHED_RUN_STATUSES = (
    EnrichmentRun.Status.SUCCEEDED,
    EnrichmentRun.Status.FINISHED_WITH_ERRORS,
    EnrichmentRun.Status.FAILED,
)

# Provider errors that stop a whole run: every other account would fail the same way.
RUN_STOPPING_ERRORS = (ProviderNotConfigured, ProviderAuthError, ProviderQuotaExceeded)
# Settings keys each provider needs before its first request.
REQUIRED_PROVIDER_SETTINGS: dict[str, tuple[str, ...]] = {
    "apollo": ("api_key",),
    "clearbit": ("api_key",),
    "zoominfo": ("username",),
}

# Account fields that the segmentation engine reads.
SEGMENTATION_INPUTS = frozenset(
    {
        "industry_id",
        "employee_count",
        "employee_min",
        "employee_max",
        "annual_revenue_usd",
        "country",
        "technologies",
    }
)
ACCOUNT_TEXT_LIMITS = {
    name: Account._meta.get_field(name).max_length
    for name in ("industry_raw", "employee_raw", "revenue_raw", "region", "city")
}


# Loading evidence ---------------------------------------------------------------------


def _chunks(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _evidence_by_account(account_ids: Sequence[int]) -> dict[int, list[rules.Evidence]]:
    evidence: dict[int, list[rules.Evidence]] = defaultdict(list)
    rows = (
        Observation.objects.filter(account_id__in=account_ids, field__in=rules.APPLIED_FIELDS)
        .order_by()
        .values_list(
            "id",
            "account_id",
            "field",
            "value",
            "raw_value",
            "source",
            "observed_at",
            "entered_by_id",
        )
    )
    for observation_id, account_id, name, value, raw, source, observed_at, entered_by in rows:
        evidence[account_id].append(
            rules.Evidence(observation_id, name, value, raw, source, observed_at, entered_by)
        )
    return evidence


def _resolutions_by_account(account_ids: Sequence[int]) -> dict[tuple[int, str], FieldResolution]:
    """Return the newest resolution of each account field."""
    newest: dict[tuple[int, str], FieldResolution] = {}
    resolutions = (
        FieldResolution.objects.filter(account_id__in=account_ids)
        .select_related("resolved_by")
        .order_by("account_id", "field", "-resolved_at", "-id")
    )
    for resolution in resolutions:
        newest.setdefault((resolution.account_id, resolution.field), resolution)
    return newest


def _size_bands() -> tuple[tuple[int, int | None], ...]:
    """Return the employee bounds of the approved framework's size bands."""
    rows = (
        SizeBand.objects.filter(framework__status=FrameworkStatus.APPROVED)
        .filter(Q(min_employees__isnull=False) | Q(max_employees__isnull=False))
        .order_by("position", "id")
        .values_list("min_employees", "max_employees")
    )
    bands = tuple((minimum or 0, maximum) for minimum, maximum in rows)
    return bands or rules.DEFAULT_SIZE_BANDS


def _verification_context() -> rules.VerificationContext:
    return rules.VerificationContext(
        rules=rules.SourceRules.from_settings(),
        industry_names=dict(Industry.objects.values_list("id", "name")),
        size_bands=_size_bands(),
    )


def comparison_context() -> rules.VerificationContext:
    """Return the context that rules.values_agree needs, without the industry names.

    It reads the approved framework's size bands, in one query.
    """
    return rules.VerificationContext(
        rules=rules.SourceRules.from_settings(), size_bands=_size_bands()
    )


# Account values in the observations' shape ---------------------------------------------


def account_observed_value(account: Account, name: str) -> Any:
    """Return the account's stored value of an observation field, or None when empty."""
    if name == "industry":
        if account.industry_id is None and not account.industry_raw:
            return None
        return {"industry_id": account.industry_id, "label": account.industry_raw}
    if name == "employees":
        if account.employee_count is None:
            return None
        return {
            "count": account.employee_count,
            "min": account.employee_min,
            "max": account.employee_max,
            "approximate": account.employee_approximate,
        }
    if name == "revenue":
        if account.revenue_amount is None:
            return None
        usd = account.annual_revenue_usd
        return {
            "amount": str(account.revenue_amount),
            "currency": account.revenue_currency or "USD",
            "usd": None if usd is None else str(usd),
        }
    if name == "location":
        if not (account.country or account.region or account.city):
            return None
        return {"country": account.country, "region": account.region, "city": account.city}
    if name == "technologies":
        return list(account.technologies or []) or None
    if name == "description":
        return account.description or None
    raise ValueError(f"unknown observation field {name!r}: use one of {rules.APPLIED_FIELDS}")


def _set(account: Account, changed: set[str], name: str, value: Any) -> None:
    if getattr(account, name) != value:
        setattr(account, name, value)
        changed.add(name)


def _text(value: Any, name: str) -> str:
    return str(value or "")[: ACCOUNT_TEXT_LIMITS[name]]


def _decimal_or_none(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


def _apply_choice(account: Account, name: str, choice: rules.Choice, changed: set[str]) -> None:
    """Copy a chosen observation value to the account's fields."""
    value = choice.value
    raw = choice.evidence.raw_value if choice.evidence is not None else ""
    if name == "industry":
        _set(account, changed, "industry_id", value.get("industry_id"))
        _set(account, changed, "industry_raw", _text(value.get("label"), "industry_raw"))
    elif name == "employees":
        _set(account, changed, "employee_count", value.get("count"))
        _set(account, changed, "employee_min", value.get("min"))
        _set(account, changed, "employee_max", value.get("max"))
        _set(account, changed, "employee_approximate", bool(value.get("approximate")))
        _set(account, changed, "employee_raw", _text(raw or value.get("count"), "employee_raw"))
    elif name == "revenue":
        amount = _decimal_or_none(value.get("amount"))
        currency = value.get("currency") or "USD"
        usd = _decimal_or_none(value.get("usd"))
        if usd is None and currency == "USD":
            usd = amount
        _set(account, changed, "revenue_amount", amount)
        _set(account, changed, "revenue_currency", currency)
        _set(account, changed, "annual_revenue_usd", usd)
        _set(account, changed, "revenue_raw", _text(raw or value.get("amount"), "revenue_raw"))
    elif name == "location":
        _set(account, changed, "country", value.get("country") or "")
        _set(account, changed, "region", _text(value.get("region"), "region"))
        _set(account, changed, "city", _text(value.get("city"), "city"))
    elif name == "technologies":
        _set(account, changed, "technologies", list(value))
    elif name == "description":
        _set(account, changed, "description", value)


# Evaluating one account ----------------------------------------------------------------


@dataclass
class _Evaluation:
    changed_fields: set[str]
    field_status: dict[str, Any]
    verification_status: str


def _resolution_info(resolution: FieldResolution) -> dict[str, Any]:
    user = resolution.resolved_by
    return {
        "by": (user.get_full_name() or user.get_username()) if user is not None else "",
        "at": resolution.resolved_at.isoformat(),
        "reason": resolution.reason,
    }


def _evaluate(
    account: Account,
    evidence: list[rules.Evidence],
    resolutions: dict[tuple[int, str], FieldResolution],
    context: rules.VerificationContext,
) -> _Evaluation:
    """Choose the current values of one account, copy them and verify its fields."""
    resolution_field = {
        observation_field: verified_field
        for verified_field, observation_field in rules.VERIFIED_FIELDS.items()
    }
    changed: set[str] = set()
    choices: dict[str, rules.Choice | None] = {}
    for name in rules.APPLIED_FIELDS:
        account_value = account_observed_value(account, name)
        if name == "technologies":
            choice = rules.choose_technologies(evidence, context.rules, account_value=account_value)
        else:
            resolution = resolutions.get((account.pk, resolution_field.get(name, "")))
            choice = rules.choose_current(
                name,
                evidence,
                context.rules,
                resolution_value=resolution.value if resolution is not None else None,
                resolution_at=resolution.resolved_at if resolution is not None else None,
                account_value=account_value,
            )
        choices[name] = choice
        if choice is not None and choice.kind != rules.UNRECORDED:
            _apply_choice(account, name, choice, changed)

    statuses: dict[str, Any] = {}
    for verified_field, observation_field in rules.VERIFIED_FIELDS.items():
        latest = rules.latest_by_source(evidence, observation_field)
        if verified_field == "country":
            latest = {source: item for source, item in latest.items() if item.value.get("country")}
        resolution = resolutions.get((account.pk, verified_field))
        statuses[verified_field] = rules.field_status(
            verified_field,
            choices[observation_field],
            latest,
            context,
            resolution=_resolution_info(resolution) if resolution is not None else None,
        )
    rules.mark_file_conflicts(statuses, file_conflict_flags(account.review_flags))
    return _Evaluation(changed, statuses, rules.account_verification_status(statuses))


def file_conflict_flags(review_flags: Any) -> list[dict[str, Any]]:
    """Return the review flags of rows of one file that disagree (REVIEW_FLAG_LINES_KEY)."""
    return [
        flag
        for flag in review_flags or []
        if isinstance(flag, dict) and REVIEW_FLAG_LINES_KEY in flag
    ]


# Verifying accounts --------------------------------------------------------------------


@dataclass
class VerificationResult:
    """Outcome of accounts_verify.

    ``resegment_ids`` are the accounts whose segmentation inputs or mandatory-field
    conflicts changed, so their tag and score must be computed again. ``changed_ids`` are
    the accounts whose values changed.
    """

    account_ids: list[int] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)
    resegment_ids: list[int] = field(default_factory=list)
    verified_ids: list[int] = field(default_factory=list)
    conflicting_ids: list[int] = field(default_factory=list)

    def add(self, other: VerificationResult) -> None:
        self.account_ids += other.account_ids
        self.changed_ids += other.changed_ids
        self.resegment_ids += other.resegment_ids
        self.verified_ids += other.verified_ids
        self.conflicting_ids += other.conflicting_ids


def _conflicting_mandatory(statuses: dict[str, Any]) -> frozenset[str]:
    return frozenset(
        name
        for name in rules.MANDATORY_FIELDS
        if (statuses.get(name) or {}).get("status") == rules.CONFLICTING
    )


def account_review_flags_add(
    flags_by_account: dict[int, list[dict[str, str]]], *, change_reason: str
) -> int:
    """Add review flags to accounts and return how many were added.

    A flag is one per field and value, as imports raise them, so a flag already on the
    account is not added again, and one that a person marked reviewed (in
    reviewed_flags) is not raised again. The change is recorded in the account history.
    """
    account_ids = [account_id for account_id, flags in flags_by_account.items() if flags]
    if not account_ids:
        return 0
    added = 0
    with transaction.atomic():
        accounts = list(
            Account.objects.select_for_update(of=("self",))
            .filter(pk__in=account_ids)
            .order_by("pk")
        )
        now = timezone.now()
        changed: list[Account] = []
        for account in accounts:
            current = list(account.review_flags or [])
            known = reviewed_flag_keys([*current, *(account.reviewed_flags or [])])
            for review_flag in flags_by_account[account.pk]:
                key = (review_flag["field"], review_flag["value"])
                if key in known:
                    continue
                known.add(key)
                current.append(review_flag)
                added += 1
            if len(current) != len(account.review_flags or []):
                account.review_flags = current
                account.updated_at = now
                changed.append(account)
        if changed:
            # As in _verify_chunk, a baseline first lets the trail compare with the stored values.
            record_account_baselines(account.pk for account in changed)
            bulk_update_with_history(
                changed,
                Account,
                ["review_flags", "updated_at"],
                batch_size=WRITE_BATCH_SIZE,
                default_change_reason=change_reason,
                custom_historical_attrs={"history_channel": current_channel()},
            )
    return added


def _verify_chunk(
    account_ids: list[int],
    context: rules.VerificationContext,
    *,
    write_status: bool,
    change_reason: str | None = None,
    user: AbstractBaseUser | None = None,
) -> VerificationResult:
    result = VerificationResult(account_ids=list(account_ids))
    with transaction.atomic():
        accounts = list(
            Account.objects.select_for_update(of=("self",))
            .filter(pk__in=account_ids)
            .order_by("pk")
        )
        evidence = _evidence_by_account(account_ids)
        resolutions = _resolutions_by_account(account_ids)
        now = timezone.now()
        with_history: list[Account] = []
        status_only: list[Account] = []
        history_fields: set[str] = set()
        for account in accounts:
            before_conflicts = _conflicting_mandatory(account.field_status or {})
            before_status = account.verification_status
            evaluation = _evaluate(account, evidence.get(account.pk, []), resolutions, context)
            changed = set(evaluation.changed_fields)
            if write_status:
                if account.field_status != evaluation.field_status:
                    account.field_status = evaluation.field_status
                    changed.add("field_status")
                if before_status != evaluation.verification_status:
                    account.verification_status = evaluation.verification_status
                    changed.add("verification_status")
                if evaluation.verification_status == rules.VERIFIED:
                    result.verified_ids.append(account.pk)
                elif evaluation.verification_status == rules.CONFLICTING:
                    result.conflicting_ids.append(account.pk)
            if evaluation.changed_fields:
                result.changed_ids.append(account.pk)
            conflicts_changed = write_status and before_conflicts != _conflicting_mandatory(
                evaluation.field_status
            )
            if evaluation.changed_fields & SEGMENTATION_INPUTS or conflicts_changed:
                result.resegment_ids.append(account.pk)
            if not changed:
                continue
            account.updated_at = now
            if changed - {"field_status"}:
                with_history.append(account)
                history_fields |= changed
            else:
                status_only.append(account)

        if with_history:
            # Accounts without history get a baseline first, so the trail compares the
            # change with the stored values and an audit of an earlier month reads the
            # values before it. This holds for runs without a person, such as enrichment.
            record_account_baselines(account.pk for account in with_history)
            # Rows get the union of the changed fields, so the history shows every change.
            bulk_update_with_history(
                with_history,
                Account,
                sorted(history_fields | {"field_status", "updated_at"}),
                batch_size=WRITE_BATCH_SIZE,
                default_user=user,
                default_change_reason=change_reason or RECOMPUTED_REASON,
                custom_historical_attrs={"history_channel": current_channel()},
            )
        if status_only:
            Account.objects.bulk_update(
                status_only, ["field_status", "updated_at"], batch_size=WRITE_BATCH_SIZE
            )
    return result


def _verify(
    account_ids: Iterable[int],
    *,
    write_status: bool,
    change_reason: str | None = None,
    user: AbstractBaseUser | None = None,
) -> VerificationResult:
    ids = sorted(set(account_ids))
    result = VerificationResult()
    if not ids:
        return result
    context = _verification_context()
    for chunk in _chunks(ids, VERIFY_CHUNK_SIZE):
        result.add(
            _verify_chunk(
                chunk, context, write_status=write_status, change_reason=change_reason, user=user
            )
        )
    return result


def account_values_apply(account_ids: Iterable[int]) -> list[int]:
    """Recompute the current values of the accounts from their observations.

    Sets industry, employee range, revenue, location, technologies and description by
    the current-value rule of enrichment.verification. A field without observations is
    left alone. Returns the ids of the accounts whose values changed. Reads and writes
    in chunks of VERIFY_CHUNK_SIZE accounts with a fixed number of queries per chunk.
    """
    return _verify(account_ids, write_status=False).changed_ids


def accounts_verify(
    *,
    account_ids: Iterable[int],
    change_reason: str | None = None,
    user: AbstractBaseUser | None = None,
) -> VerificationResult:
    """Apply the current values, then verify every field and store the statuses.

    Writes Account.field_status and Account.verification_status. Does not segment: the
    caller scores ``result.resegment_ids`` (accounts_import segments all its accounts).
    ``change_reason`` and ``user`` go into the history rows of changed accounts, which
    otherwise name RECOMPUTED_REASON and the request's user, if any. A reason longer
    than the history column is cut.
    """
    if change_reason is not None:
        column = Account.history.model._meta.get_field("history_change_reason")
        change_reason = Truncator(change_reason).chars(column.max_length)
    result = _verify(account_ids, write_status=True, change_reason=change_reason, user=user)
    logger.info(
        "verified %s accounts: %s changed, %s verified, %s conflicting",
        len(result.account_ids),
        len(result.changed_ids),
        len(result.verified_ids),
        len(result.conflicting_ids),
    )
    return result


def accounts_resegment(account_ids: Iterable[int]) -> None:
    """Score the accounts again with the approved framework, if one is approved."""
    ids = sorted(set(account_ids))
    if not ids:
        return
    from segmentation.services import accounts_segment

    try:
        accounts_segment(account_ids=ids)
    except LookupError as error:  # NoActiveFrameworkError
        logger.warning("%s accounts were not scored again: %s", len(ids), error)


# Conflict resolution -------------------------------------------------------------------


def _resolution_value(account: Account, name: str, value: Any, user: AbstractBaseUser) -> Any:
    """Turn a value a person typed into the observation shape of the field.

    Raises ValidationError naming the value and the expected form.
    """
    if name == "industry":
        if isinstance(value, Industry):
            return {"industry_id": value.pk, "label": value.name}
        if isinstance(value, int) and not isinstance(value, bool):
            industry = Industry.objects.filter(pk=value).first()
            if industry is None:
                raise ValidationError(f"industry id {value} was not found: choose an industry.")
            return {"industry_id": industry.pk, "label": industry.name}
        label = str(value or "").strip()
        industry_id = industry_label_resolve(label, user=user)
        return {"industry_id": industry_id, "label": label}
    if name == "company_size":
        try:
            employees = parse_employee_count(value)
        except UnparsedValue as error:
            raise ValidationError(
                f"Company size {value!r} is invalid: {sentence_end(error.hint)}"
            ) from error
        if employees is None:
            raise ValidationError("Company size is missing: enter a head count such as 250.")
        return {
            "count": employees.estimate,
            "min": employees.minimum,
            "max": employees.maximum,
            "approximate": employees.approximate,
        }
    if name == "revenue":
        return _revenue_value(value)
    if name == "country":
        try:
            country = normalize_country(str(value or ""))
        except UnparsedValue as error:
            raise ValidationError(
                f"Country {value!r} is invalid: {sentence_end(error.hint)}"
            ) from error
        if not country:
            raise ValidationError("Country is missing: enter a name or code such as DE.")
        same = account.country == country
        return {
            "country": country,
            "region": account.region if same else "",
            "city": account.city if same else "",
        }
    raise ValidationError(
        f"field {name!r} cannot be resolved: use one of {', '.join(FieldResolution.Field.values)}."
    )


def _revenue_value(value: Any) -> dict[str, Any]:
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        money = Money(Decimal(value), "USD")
    else:
        try:
            money = parse_money(str(value or ""), default_currency="USD")
        except UnparsedValue as error:
            raise ValidationError(
                f"Revenue {value!r} is invalid: {sentence_end(error.hint)}"
            ) from error
        if money is None:
            raise ValidationError("Revenue is missing: enter an amount such as $12.5M.")
    if is_too_large(money.amount):
        raise ValidationError(f"Revenue {value!r} is too large: check the unit.")
    amount = money.amount.quantize(CENTS)
    try:
        usd: Decimal | None = convert_to_usd(money, _currency_rates()).quantize(CENTS)
    except UnparsedValue:
        usd = None
    return {"amount": str(amount), "currency": money.currency, "usd": _str_or_none(usd)}


def _currency_rates() -> dict[str, Decimal]:
    return {**DEFAULT_RATES_TO_USD, **getattr(settings, "ICP_CURRENCY_RATES_TO_USD", {})}


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def field_conflict_resolve(
    *,
    account: Account,
    field: str,
    user: AbstractBaseUser,
    reason: str,
    value: Any = None,
    observation_id: int | None = None,
) -> FieldResolution:
    """Record a person's choice for a verified field, apply it and verify the account again.

    Pass either ``observation_id`` (one of the account's observations of the field) or
    ``value`` (an industry, head count, revenue or country as a person would type it).
    The chosen value then wins over every later import and provider run. Raises
    PermissionDenied when the user may not review the account and ValidationError for a
    missing reason, an unknown field or an invalid value.
    """
    if field not in FieldResolution.Field.values:
        raise ValidationError(
            f"field {field!r} cannot be resolved: use one of "
            f"{', '.join(FieldResolution.Field.values)}."
        )
    if not can_review_account(user, account):
        raise PermissionDenied(
            f"{user} may not resolve fields of account {account.pk}: only a Sales Manager of "
            "the account's team or a superuser may."
        )
    reason = normalize_line_breaks(reason or "").strip()
    if not reason:
        raise ValidationError("reason is missing: say why the chosen value is right.")
    if (value is None) == (observation_id is None):
        raise ValidationError("pass either value or observation_id, not both or neither.")

    observation = None
    if observation_id is not None:
        observation_field = rules.VERIFIED_FIELDS[field]
        observation = Observation.objects.filter(
            pk=observation_id, account=account, field=observation_field
        ).first()
        if observation is None:
            raise ValidationError(
                f"observation {observation_id} does not report {observation_field} for "
                f"account {account.pk}: choose one listed for this field."
            )
        if not rules.is_usable(observation_field, observation.value):
            raise ValidationError(
                f"observation {observation_id} has no usable value (raw {observation.raw_value!r})"
                ": enter the value instead."
            )
        chosen = observation.value
    else:
        chosen = _resolution_value(account, field, value, user)

    previous = (account.field_status or {}).get(field, {}).get("status", "")
    with transaction.atomic():
        resolution = FieldResolution.objects.create(
            account=account,
            field=field,
            value=chosen,
            observation=observation,
            previous_status=previous,
            reason=reason,
            resolved_by=user,
            resolved_at=timezone.now(),
            channel=current_channel(),
        )
        name = user.get_full_name() or user.get_username()
        result = accounts_verify(
            account_ids=[account.pk],
            change_reason=f"{resolution.get_field_display()} resolved by {name}: {reason}",
            user=user,
        )
    logger.info(
        "account %s: %s resolved %s (was %s) to %r",
        account.pk,
        user,
        field,
        previous or "unknown",
        chosen,
    )
    accounts_resegment(result.resegment_ids)
    account.refresh_from_db()
    return resolution


# Writing observations ------------------------------------------------------------------


def _value_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class NewObservation:
    """An observation to write, unless its source's latest value of the field is the same."""

    account_id: int
    field: str
    value: Any
    raw_value: str
    source: str
    source_detail: str
    observed_at: datetime


def observations_write(new: Sequence[NewObservation]) -> int:
    """Insert observations in bulk and return how many were written.

    An observation whose value equals the latest stored value of its account, field and
    source is skipped, so the same provider response or profile read twice adds nothing.
    A value that a source reported before and then changed is written again, because the
    newest value of each source is the one that counts.
    """
    if not new:
        return 0
    account_ids = sorted({item.account_id for item in new})
    sources = sorted({item.source for item in new})
    latest: dict[tuple[int, str, str], str] = {}
    stored = (
        Observation.objects.filter(account_id__in=account_ids, source__in=sources)
        .order_by("account_id", "field", "source", "-observed_at", "-id")
        .values_list("account_id", "field", "source", "value")
    )
    for account_id, name, source, value in stored:
        latest.setdefault((account_id, name, source), _value_key(value))

    rows = []
    for item in new:
        key = (item.account_id, item.field, item.source)
        value_key = _value_key(item.value)
        if latest.get(key) == value_key:
            continue
        latest[key] = value_key
        rows.append(
            Observation(
                account_id=item.account_id,
                field=item.field,
                value=item.value,
                raw_value=item.raw_value,
                source=item.source,
                source_detail=item.source_detail[:255],
                observed_at=item.observed_at,
            )
        )
    Observation.objects.bulk_create(rows, batch_size=WRITE_BATCH_SIZE)
    return len(rows)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def facts_observations(
    facts: CompanyFacts, resolver: IndustryResolver, rates: dict[str, Decimal]
) -> list[tuple[str, Any, str]]:
    """Return (field, value, raw text) for each value of a provider response.

    Values have the shapes the importer writes, so both compare and apply alike.
    """
    rows: list[tuple[str, Any, str]] = []
    if facts.name:
        rows.append(("name", facts.name, facts.name))
    if facts.website:
        rows.append(("website", facts.website, facts.website))
    if facts.industry:
        label = facts.industry[: ACCOUNT_TEXT_LIMITS["industry_raw"]]
        rows.append(
            ("industry", {"industry_id": resolver.resolve(label), "label": label}, facts.industry)
        )
    if facts.employees is not None:
        employees = facts.employees
        value = {
            "count": employees.estimate,
            "min": employees.minimum,
            "max": employees.maximum,
            "approximate": employees.approximate,
        }
        rows.append(("employees", value, facts.employees_raw or employees.label))
    if facts.revenue is not None:
        amount = facts.revenue.amount.quantize(CENTS)
        try:
            usd: Decimal | None = convert_to_usd(facts.revenue, rates).quantize(CENTS)
        except UnparsedValue as error:
            logger.info("%s revenue for %s not converted: %s", facts.source, facts.domain, error)
            usd = None
        value = {
            "amount": str(amount),
            "currency": facts.revenue.currency,
            "usd": _str_or_none(usd),
        }
        rows.append(("revenue", value, facts.revenue_raw or str(amount)))
    if facts.country or facts.region or facts.city:
        location = {"country": facts.country, "region": facts.region, "city": facts.city}
        raw = ", ".join(part for part in (facts.city, facts.region, facts.country) if part)
        rows.append(("location", location, raw))
    if facts.technologies:
        rows.append(("technologies", list(facts.technologies), ", ".join(facts.technologies)))
    if facts.description:
        rows.append(("description", facts.description, facts.description))
    if facts.funding is not None:
        rows.append(("funding", _json_safe(asdict(facts.funding)), ""))
    if facts.social_links:
        rows.append(("social_links", dict(facts.social_links), ""))
    feed_urls = facts.raw.get("feed_urls") if isinstance(facts.raw, dict) else None
    if feed_urls:
        rows.append(("feed_urls", list(feed_urls), ""))
    return rows


# Enrichment runs -----------------------------------------------------------------------


def provider_check_configured(name: str) -> None:
    """Raise ProviderNotConfigured, naming the setting, when a provider cannot be used.

    Raises KeyError naming the known providers for an unknown name.
    """
    from .http import get_provider_config

    provider = get_provider(name)
    if name not in REQUIRED_PROVIDER_SETTINGS:
        return
    config = get_provider_config(name, provider.default_base_url)
    for key in REQUIRED_PROVIDER_SETTINGS[name]:
        if not config.options.get(key):
            raise ProviderNotConfigured(
                name,
                "",
                f"{config.setting_name(key)} is missing or empty. Set it as "
                "docs/enrichment.md describes.",
            )


def enrichment_run_create(
    *,
    provider: str,
    account_ids: Iterable[int] | None = None,
    domain: str = "",
    all_accounts: bool = False,
    triggered_by: AbstractBaseUser | None = None,
) -> EnrichmentRun:
    """Create a pending run with one item per account in scope.

    The scope is one domain, the given ids, or with ``all_accounts`` every account that
    has a domain. Raises KeyError for an unknown provider and ValidationError for an
    empty scope or a domain that no account has.
    """
    if provider not in PROVIDER_CLASSES:
        raise KeyError(
            f"unknown enrichment provider {provider!r}: use one of "
            f"{', '.join(sorted(PROVIDER_CLASSES))}"
        )
    scope_detail = ""
    if domain:
        try:
            normalized = normalize_domain(domain) or ""
        except UnparsedValue as error:
            raise ValidationError(
                f"domain {domain!r} is invalid: {sentence_end(error.hint)}"
            ) from error
        ids = list(Account.objects.filter(domain=normalized).values_list("pk", flat=True))
        if not ids:
            raise ValidationError(
                f"no account has the domain {normalized!r}: import the company first."
            )
        scope, scope_detail = EnrichmentRun.Scope.ACCOUNT, normalized
    elif all_accounts:
        ids = list(Account.objects.exclude(domain="").order_by("pk").values_list("pk", flat=True))
        scope = EnrichmentRun.Scope.ALL
    else:
        ids = sorted(set(account_ids or []))
        scope = EnrichmentRun.Scope.SELECTION
    if not ids:
        raise ValidationError("the run has no accounts: pass a domain, account ids or all.")

    with transaction.atomic():
        run = EnrichmentRun.objects.create(
            provider=provider,
            scope=scope,
            scope_detail=scope_detail,
            total=len(ids),
            triggered_by=triggered_by,
        )
        EnrichmentRunItem.objects.bulk_create(
            [EnrichmentRunItem(run=run, account_id=account_id) for account_id in ids],
            batch_size=WRITE_BATCH_SIZE,
        )
    logger.info("enrichment run %s created: %s accounts with %s", run.pk, len(ids), provider)
    return run


class EnrichmentRunNotResumable(Exception):
    """The run is pending or running and made progress recently, so it was not resumed."""


def enrichment_run_stalled_after() -> float:
    """Return ENRICHMENT_STALLED_AFTER_SECONDS: seconds without progress until a run stalls."""
    return float(
        getattr(settings, "ENRICHMENT_STALLED_AFTER_SECONDS", DEFAULT_STALLED_AFTER_SECONDS)
    )


def enrichment_run_stalled_before(now: datetime | None = None) -> datetime:
    """Return the time before which a pending or running run's last progress means stalled."""
    return (now or timezone.now()) - timedelta(seconds=enrichment_run_stalled_after())


def eager_time_budget() -> float:
    """Return ENRICHMENT_EAGER_TIME_BUDGET_SECONDS, the lookup time of a run without a broker."""
    return float(
        getattr(settings, "ENRICHMENT_EAGER_TIME_BUDGET_SECONDS", DEFAULT_EAGER_TIME_BUDGET_SECONDS)
    )


def enrichment_run_resume(run: EnrichmentRun, *, force: bool = False) -> EnrichmentRun:
    """Make a run look up its failed and pending accounts again, in a new generation.

    A finished or failed run is always resumed. A pending or running run is resumed only
    when it is idle (stalled or waiting for a worker), unless ``force``. The check and
    the change are one UPDATE of the run's status, heartbeat, generation and queued
    tasks, so two requests that resume the same run at once resume it once. A process
    still working on the old generation stops before its next lookup and discards the
    results it has not saved. Their accounts stay pending for the new generation.
    Raises EnrichmentRunNotResumable when the run made progress within
    ENRICHMENT_STALLED_AFTER_SECONDS.
    """
    now = timezone.now()
    resumable = Q(status__in=FINISHED_RUN_STATUSES) | Q(
        heartbeat_at__lt=enrichment_run_stalled_before(now)
    )
    runs = EnrichmentRun.objects.filter(pk=run.pk)
    if not force:
        runs = runs.filter(resumable)
    with transaction.atomic():
        updated = runs.update(
            status=EnrichmentRun.Status.PENDING,
            error="",
            finished_at=None,
            heartbeat_at=now,
            generation=F("generation") + 1,
            # The old generation's queued tasks stop without work when a worker takes them.
            queued_tasks=0,
            started_tasks=[],
            lock_waiters=0,
        )
        if not updated:
            run.refresh_from_db()
            raise EnrichmentRunNotResumable(
                f"Enrichment run {run.pk} was not resumed, because it is "
                f"{run.get_status_display().lower()} and made progress at "
                f"{timezone.localtime(run.heartbeat_at):%Y-%m-%d %H:%M:%S %Z}. A run can be "
                f"resumed after {enrichment_run_stalled_after():g} s without progress."
            )
        EnrichmentRunItem.objects.filter(run=run, status=EnrichmentRunItem.Status.FAILED).update(
            status=EnrichmentRunItem.Status.PENDING
        )
    run.refresh_from_db()
    logger.info("enrichment run %s resumed as generation %s", run.pk, run.generation)
    return enrichment_run_refresh(run)


def enrichment_run_pending_ids(run: EnrichmentRun) -> list[int]:
    """Return the ids of the run's accounts not yet looked up, in id order."""
    return list(
        EnrichmentRunItem.objects.filter(run=run, status=EnrichmentRunItem.Status.PENDING)
        .order_by("account_id")
        .values_list("account_id", flat=True)
    )


def enrichment_run_pending_count(run: EnrichmentRun) -> int:
    """Return how many of the run's accounts are not yet looked up."""
    return EnrichmentRunItem.objects.filter(
        run=run, status=EnrichmentRunItem.Status.PENDING
    ).count()


def enrichment_run_start(run: EnrichmentRun, *, generation: int | None = None) -> None:
    """Mark a pending run as running, unless it was resumed after ``generation``."""
    now = timezone.now()
    runs = EnrichmentRun.objects.filter(pk=run.pk, status=EnrichmentRun.Status.PENDING)
    if generation is not None:
        runs = runs.filter(generation=generation)
    runs.update(status=EnrichmentRun.Status.RUNNING, started_at=now, heartbeat_at=now)
    run.refresh_from_db(fields=["status", "started_at", "heartbeat_at", "generation"])


def enrichment_run_heartbeat(run: EnrichmentRun, generation: int) -> bool:
    """Record that the run makes progress, and return False when it was resumed since.

    Only a run still in ``generation`` is updated, so a process whose run was resumed
    elsewhere cannot make the new generation look alive.
    """
    updated = EnrichmentRun.objects.filter(pk=run.pk, generation=generation).update(
        heartbeat_at=timezone.now()
    )
    return updated == 1


def enrichment_run_tasks_queued(run_id: int, generation: int, count: int) -> None:
    """Add ``count`` to the run's queued tasks, or subtract for tasks that were not sent.

    Callers count a task before sending it, so a worker that takes it at once finds it
    counted. Only a run still in ``generation`` is updated, and the count stays at 0 or
    above.
    """
    runs = EnrichmentRun.objects.filter(pk=run_id, generation=generation)
    if count < 0:
        runs = runs.filter(queued_tasks__gte=-count)
    runs.update(queued_tasks=F("queued_tasks") + count)


def enrichment_run_task_started(run_id: int, generation: int, task_id: str | None = None) -> None:
    """Record that a worker started one of the run's tasks, which counts as progress.

    The first start of a task counts it off ``queued_tasks`` and adds ``task_id`` to
    ``started_tasks``. A start of a task whose id is there already is the broker's second
    delivery after the first worker died, which was never counted again, so it counts
    nothing off. A task of an older generation changes nothing, because the resume reset
    both fields.
    """
    with transaction.atomic():
        run = (
            EnrichmentRun.objects.select_for_update()
            .filter(pk=run_id, generation=generation)
            .first()
        )
        if run is None:
            return
        run.heartbeat_at = timezone.now()
        fields = ["heartbeat_at"]
        if task_id is None or task_id not in run.started_tasks:
            if run.queued_tasks > 0:
                run.queued_tasks -= 1
                fields.append("queued_tasks")
            if task_id is not None:
                run.started_tasks.append(task_id)
                fields.append("started_tasks")
        run.save(update_fields=fields)


def enrichment_run_task_finished(run_id: int, generation: int, task_id: str | None) -> None:
    """Remove a task that ended, with a result, an error or a retry, from ``started_tasks``.

    A retry keeps the task id, so this runs before the retry is sent: otherwise its start
    would be taken for the broker's second delivery and not counted off.
    """
    if task_id is None:
        return
    with transaction.atomic():
        run = (
            EnrichmentRun.objects.select_for_update()
            .filter(pk=run_id, generation=generation)
            .first()
        )
        if run is None or task_id not in run.started_tasks:
            return
        run.started_tasks.remove(task_id)
        run.save(update_fields=["started_tasks"])


def enrichment_run_redelivered_tasks(run: EnrichmentRun) -> int:
    """Return how many started tasks of the run wait in the broker's queue a second time.

    With Celery's acks_late, the broker puts back the task of a worker that died, at once
    when a pool process dies and after the visibility timeout when the whole worker dies.
    Such a task is in ``started_tasks`` but not in ``queued_tasks``. Returns 0 when the
    broker cannot be read (see broker_queued_messages).
    """
    from icp_portal.broker import broker_queued_messages

    if not run.started_tasks:
        return 0
    messages = broker_queued_messages(set(ENRICHMENT_RUN_TASK_NAMES))
    if messages is None:
        return 0
    started = set(run.started_tasks)
    return sum(1 for message in messages if message.task_id in started)


@contextmanager
def enrichment_run_writer_lock(run: EnrichmentRun, generation: int) -> Iterator[None]:
    """Hold the one-at-a-time lock for the block, counting the run's wait for it.

    While another import, re-scoring or enrichment run holds the lock, the run counts
    one more in ``lock_waiters``, so its page shows it as waiting for that job rather
    than as stalled. The start and the end of the wait count as progress.
    """
    waiting = False

    def count_wait() -> None:
        nonlocal waiting
        waiting = True
        _lock_waiters_add(run.pk, generation, 1)

    try:
        with writer_lock(LockHolder(ENRICHMENT, run.pk), wait=True, on_wait=count_wait):
            if waiting:
                waiting = False
                _lock_waiters_add(run.pk, generation, -1)
            yield
    finally:
        if waiting:
            _lock_waiters_add(run.pk, generation, -1)


def _lock_waiters_add(run_id: int, generation: int, count: int) -> None:
    runs = EnrichmentRun.objects.filter(pk=run_id, generation=generation)
    if count < 0:
        runs = runs.filter(lock_waiters__gte=-count)
    runs.update(lock_waiters=F("lock_waiters") + count, heartbeat_at=timezone.now())


def enrichment_run_lock_wait_holder(run: EnrichmentRun) -> LockHolder | None:
    """Return the job whose one-at-a-time lock the run waits for, or None.

    None when no process of the run waits for the lock, when the lock is free, so the
    process that waited has died, and when this run holds the lock itself, so its own
    lack of progress counts. None also when the holder is a segmentation or enrichment
    run that has stalled itself, because then nothing frees the lock soon. The operating
    system releases the lock of a process that exits, so any other holder is alive.
    """
    if not run.lock_waiters:
        return None
    holder = lock_holder()
    if holder is None or holder == LockHolder(ENRICHMENT, run.pk):
        return None
    if holder.kind == SEGMENTATION and holder.run_id is not None:
        from segmentation.models import SegmentationRun
        from segmentation.runs import segmentation_run_progress

        holder_run = SegmentationRun.objects.filter(pk=holder.run_id).first()
        if holder_run is not None and segmentation_run_progress(holder_run).stalled:
            return None
    if holder.kind == ENRICHMENT and holder.run_id is not None:
        holder_run = EnrichmentRun.objects.filter(pk=holder.run_id).first()
        if holder_run is not None and holder_run.is_stalled:
            return None
    return holder


def enrichment_run_fail(
    run: EnrichmentRun, error: Exception, *, generation: int | None = None
) -> None:
    """Stop a run because of an error that every account would hit.

    With ``generation``, a run resumed since that generation is left alone.
    """
    runs = EnrichmentRun.objects.filter(pk=run.pk)
    if generation is not None:
        runs = runs.filter(generation=generation)
    runs.update(status=EnrichmentRun.Status.FAILED, error=str(error), finished_at=timezone.now())
    run.refresh_from_db()
    logger.error("enrichment run %s stopped: %s", run.pk, error)


def enrichment_run_refresh(run: EnrichmentRun) -> EnrichmentRun:
    """Recount the run from its items and finish it when no account is pending.

    The run row is locked while counting, so the count of the last chunk to finish
    includes every other chunk's committed results.
    """
    statuses = EnrichmentRunItem.Status
    # An account that the run never requested is neither processed nor an error.
    not_reached = Q(status=statuses.FAILED, error_kind=NOT_REACHED)
    with transaction.atomic():
        locked = EnrichmentRun.objects.select_for_update().get(pk=run.pk)
        counts = EnrichmentRunItem.objects.filter(run=locked).aggregate(
            total=Count("id"),
            processed=Count("id", filter=~Q(status=statuses.PENDING) & ~not_reached),
            pending=Count("id", filter=Q(status=statuses.PENDING)),
            looked_up=Count("id", filter=Q(looked_up=True)),
            found=Count("id", filter=Q(found=True)),
            changed=Count("id", filter=Q(changed=True)),
            verified=Count("id", filter=Q(verified=True)),
            conflicts=Count("id", filter=Q(conflicting=True)),
            errors=Count("id", filter=Q(status=statuses.FAILED) & ~not_reached),
            not_reached=Count("id", filter=not_reached),
        )
        details = [
            {
                "account_id": item["account_id"],
                "domain": item["account__domain"],
                "error_kind": item["error_kind"],
                "error": item["error"],
            }
            for item in EnrichmentRunItem.objects.filter(run=locked, status=statuses.FAILED)
            .order_by("id")
            .values("account_id", "account__domain", "error_kind", "error")[:MAX_ERROR_DETAILS]
        ]
        pending = counts.pop("pending")
        for name, value in counts.items():
            setattr(locked, name, value)
        locked.error_details = details
        if locked.status != EnrichmentRun.Status.FAILED and not pending:
            locked.status = (
                EnrichmentRun.Status.FINISHED_WITH_ERRORS
                if locked.errors or locked.not_reached
                else EnrichmentRun.Status.SUCCEEDED
            )
            locked.finished_at = timezone.now()
        locked.save()
    run.refresh_from_db()
    return run


@dataclass
class EnrichmentBatch:
    """Outcome of one accounts_enrich call.

    ``retry_ids`` are accounts left pending after a transient error or a rate limit, the
    accounts that were not requested first. ``not_reached_ids`` are the accounts after a
    rate-limited one, or after the time budget ran out, which the call did not request,
    and ``retry_after`` is the wait in seconds that the provider requested, if any.
    ``out_of_time`` is True when the time budget stopped the call, and ``superseded``
    when the run was resumed elsewhere, so the call saved nothing.
    """

    processed: int = 0
    looked_up: int = 0
    found: int = 0
    changed: int = 0
    errors: int = 0
    retry_ids: list[int] = field(default_factory=list)
    not_reached_ids: list[int] = field(default_factory=list)
    retry_after: float | None = None
    out_of_time: bool = False
    superseded: bool = False


def lookup_domain(account: Account) -> str:
    """Return the domain to look an account up by: its domain, else its website's."""
    if account.domain:
        return account.domain
    if account.website and not is_third_party_url(account.website, company_name=account.name):
        try:
            return normalize_domain(account.website) or ""
        except UnparsedValue:
            return ""
    return ""


def _run_items(run: EnrichmentRun, account_ids: list[int]) -> dict[int, EnrichmentRunItem]:
    EnrichmentRunItem.objects.bulk_create(
        [EnrichmentRunItem(run=run, account_id=account_id) for account_id in account_ids],
        batch_size=WRITE_BATCH_SIZE,
        ignore_conflicts=True,
    )
    return {
        item.account_id: item
        for item in EnrichmentRunItem.objects.filter(run=run, account_id__in=account_ids)
    }


def _record_failure(
    item: EnrichmentRunItem, error: Exception, *, transient: bool, final_attempt: bool
) -> None:
    item.error_kind = type(error).__name__
    item.error = str(error)[:2000]
    pending = transient and not final_attempt
    item.status = EnrichmentRunItem.Status.PENDING if pending else EnrichmentRunItem.Status.FAILED


def _record_not_reached(
    item: EnrichmentRunItem,
    error: LookupPending | ProviderRateLimited,
    *,
    source: str,
    final_attempt: bool,
) -> None:
    """Record that an account was not requested because the provider requested a wait."""
    wait = (
        f"{source} requested a wait of {error.retry_after:.0f} s after the lookup of {error.domain}"
    )
    item.error_kind = NOT_REACHED
    if final_attempt:
        item.status = EnrichmentRunItem.Status.FAILED
        item.error = (
            f"not looked up, because {wait} and no attempt was left. Resume the run to look "
            "this account up."
        )
    else:
        item.status = EnrichmentRunItem.Status.PENDING
        item.error = f"not looked up yet, because {wait}."


def _record_out_of_time(item: EnrichmentRunItem, budget: float) -> None:
    """Record that an account was not requested because the time budget ran out."""
    item.status = EnrichmentRunItem.Status.FAILED
    item.error_kind = NOT_REACHED
    item.error = (
        f"not looked up, because the page request that ran the enrichment stopped after its "
        f"time budget of {budget:g} s (ENRICHMENT_EAGER_TIME_BUDGET_SECONDS). Resume the run "
        "to look this account up."
    )


def _out_of_time_message(run: EnrichmentRun, budget: float) -> str:
    not_reached = EnrichmentRunItem.objects.filter(
        run=run, status=EnrichmentRunItem.Status.FAILED, error_kind=NOT_REACHED
    ).count()
    accounts = f"{not_reached:,} account{'s' if not_reached != 1 else ''}"
    return (
        f"Enriching stopped after the time budget of {budget:g} s, so that the page did "
        f"not wait for a slow provider. {accounts} {'were' if not_reached != 1 else 'was'} "
        "not looked up: resume the run to look them up."
    )


def accounts_enrich(
    *,
    provider: str | Provider,
    account_ids: Iterable[int],
    run: EnrichmentRun,
    final_attempt: bool = True,
    generation: int | None = None,
    deadline: float | None = None,
) -> EnrichmentBatch:
    """Look the accounts up in a provider and record, apply and verify what it reports.

    Accounts whose run item is done are skipped, so calling again resumes the run.
    Timeouts, 5xx, 429 and malformed responses leave the account unchanged and its item
    pending (failed when ``final_attempt``), with the error on the item. A rate limit
    stops the call: the rate-limited account is recorded like a timeout, and the accounts
    after it, which were not requested, are returned in ``not_reached_ids`` and kept
    pending (failed as not reached when ``final_attempt``). Errors that
    every account would hit (not configured, rejected credentials, used-up quota) mark
    the run failed and are raised after the accounts done so far are saved.

    ``generation`` is the run generation the caller works on, the run's current one when
    omitted. When a resume has changed it, the call stops before its next lookup and
    saves nothing (``superseded``). ``deadline`` is a time.monotonic() value: once it
    has passed, the call requests no more accounts and fails the rest as not reached
    (``out_of_time``), so resuming the run looks them up.
    """
    batch = EnrichmentBatch()
    provider_instance = get_provider(provider) if isinstance(provider, str) else provider
    source = provider_instance.name
    requested = list(dict.fromkeys(account_ids))
    accounts = Account.objects.in_bulk(requested)
    ids = [account_id for account_id in requested if account_id in accounts]
    items = _run_items(run, ids)
    todo = [
        account_id
        for account_id in ids
        if items[account_id].status != EnrichmentRunItem.Status.DONE
    ]
    enrichment_run_start(run, generation=generation)
    if generation is None:
        generation = run.generation
    resolver = IndustryResolver.load()
    rates = _currency_rates()

    found_facts: dict[int, CompanyFacts] = {}
    touched: list[EnrichmentRunItem] = []
    stopping_error: ProviderError | None = None
    for position, account_id in enumerate(todo):
        item = items[account_id]
        if deadline is not None and time.monotonic() >= deadline:
            budget = eager_time_budget()
            for waiting_id in todo[position:]:
                _record_out_of_time(items[waiting_id], budget)
                touched.append(items[waiting_id])
                batch.not_reached_ids.append(waiting_id)
            batch.out_of_time = True
            logger.warning(
                "enrichment run %s: the time budget of %g s ran out, so %s accounts were "
                "not looked up",
                run.pk,
                budget,
                len(batch.not_reached_ids),
            )
            break
        if not enrichment_run_heartbeat(run, generation):
            logger.warning(
                "enrichment run %s was resumed elsewhere, so generation %s stops and "
                "discards the results of %s accounts",
                run.pk,
                generation,
                len(touched),
            )
            batch.superseded = True
            return batch
        domain = lookup_domain(accounts[account_id])
        if not domain:
            item.attempts += 1
            item.status = EnrichmentRunItem.Status.FAILED
            item.error_kind = "MissingDomain"
            item.error = (
                f"account {account_id} has no domain or website to look up: add its website."
            )
            touched.append(item)
            continue
        try:
            facts = provider_instance.lookup(domain)
        except RUN_STOPPING_ERRORS as error:
            stopping_error = error
            break
        except (ProviderRateLimited, LookupPending) as error:
            # Later accounts would most likely get the same response, so they wait for
            # the caller's next call. They keep their own state: the response was about
            # this account, so they are not failed with its error.
            batch.retry_after = error.retry_after
            item.attempts += 1
            _record_failure(item, error, transient=True, final_attempt=final_attempt)
            touched.append(item)
            for waiting_id in todo[position + 1 :]:
                waiting = items[waiting_id]
                _record_not_reached(waiting, error, source=source, final_attempt=final_attempt)
                touched.append(waiting)
                batch.not_reached_ids.append(waiting_id)
            # The next call requests the accounts not reached before those that failed,
            # so one account that keeps getting 429 cannot hold back the others.
            retry_first = [
                waiting_id
                for waiting_id in batch.not_reached_ids
                if items[waiting_id].status == EnrichmentRunItem.Status.PENDING
            ]
            batch.retry_ids = retry_first + batch.retry_ids
            if item.status == EnrichmentRunItem.Status.PENDING:
                batch.retry_ids.append(account_id)
            logger.warning(
                "enrichment run %s: %s requested a wait of %.0f s at %s, so %s accounts "
                "after it wait",
                run.pk,
                source,
                error.retry_after,
                domain,
                len(batch.not_reached_ids),
            )
            break
        except ProviderUnavailable as error:
            _record_failure(item, error, transient=True, final_attempt=final_attempt)
            if item.status == EnrichmentRunItem.Status.PENDING:
                batch.retry_ids.append(account_id)
            logger.warning("enrichment run %s: %s", run.pk, error)
        except CompanyNotFound:
            item.status = EnrichmentRunItem.Status.DONE
            item.looked_up = True
            item.error_kind = item.error = ""
        except ProviderError as error:
            _record_failure(item, error, transient=False, final_attempt=final_attempt)
            logger.warning("enrichment run %s: %s", run.pk, error)
        except Exception as error:  # noqa: BLE001 - one bad response must not stop the run
            logger.exception(
                "enrichment run %s: looking up %s in %s failed", run.pk, domain, source
            )
            _record_failure(item, error, transient=False, final_attempt=final_attempt)
            item.error = f"Internal error: {error!r}"
        else:
            found_facts[account_id] = facts
            item.status = EnrichmentRunItem.Status.DONE
            item.looked_up = True
            item.found = True
            item.error_kind = item.error = ""
        item.attempts += 1
        touched.append(item)

    if not _enrich_write(run, generation, source, found_facts, touched, resolver, rates):
        batch.superseded = True
        return batch
    enrichment_run_refresh(run)
    if batch.out_of_time:
        message = _out_of_time_message(run, eager_time_budget())
        EnrichmentRun.objects.filter(pk=run.pk, generation=generation).update(error=message)
        run.refresh_from_db()
    for item in touched:
        batch.processed += item.status != EnrichmentRunItem.Status.PENDING
        batch.looked_up += item.looked_up
        batch.found += item.found
        batch.changed += item.changed
        batch.errors += item.status == EnrichmentRunItem.Status.FAILED
    if stopping_error is not None:
        enrichment_run_fail(run, stopping_error, generation=generation)
        raise stopping_error
    return batch


def _enrich_write(
    run: EnrichmentRun,
    generation: int,
    source: str,
    found_facts: dict[int, CompanyFacts],
    items: list[EnrichmentRunItem],
    resolver: IndustryResolver,
    rates: dict[str, Decimal],
) -> bool:
    """Write the observations of one call, verify the found accounts and save the items.

    Returns False, and writes nothing, when the run is no longer in ``generation``. The
    run's row stays locked until the commit, so a resume either waits and then finds this
    write's heartbeat, or commits first and this write is skipped.
    """
    new = [
        NewObservation(
            account_id, name, value, raw, source, f"enrichment run {run.pk}", facts.fetched_at
        )
        for account_id, facts in found_facts.items()
        for name, value, raw in facts_observations(facts, resolver, rates)
    ]
    with transaction.atomic():
        current = (
            EnrichmentRun.objects.select_for_update()
            .filter(pk=run.pk, generation=generation)
            .values_list("pk", flat=True)
            .first()
        )
        if current is None:
            logger.warning(
                "enrichment run %s was resumed elsewhere, so generation %s discards the "
                "results of %s accounts",
                run.pk,
                generation,
                len(items),
            )
            return False
        EnrichmentRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
        written = observations_write(new)
        # The trail then names the run and its provider beside each change it made.
        change_reason = f"Enrichment run {run.pk} ({source_label(source)})"
        account_review_flags_add(
            {account_id: facts.account_flags for account_id, facts in found_facts.items()},
            change_reason=change_reason,
        )
        result = accounts_verify(account_ids=found_facts, change_reason=change_reason)
        changed = set(result.changed_ids)
        verified = set(result.verified_ids)
        conflicting = set(result.conflicting_ids)
        for item in items:
            if item.account_id in found_facts:
                item.changed = item.account_id in changed
                item.verified = item.account_id in verified
                item.conflicting = item.account_id in conflicting
        EnrichmentRunItem.objects.bulk_update(
            items,
            [
                "status",
                "looked_up",
                "found",
                "changed",
                "verified",
                "conflicting",
                "attempts",
                "error_kind",
                "error",
                "updated_at",
            ],
            batch_size=WRITE_BATCH_SIZE,
        )
    logger.info(
        "enrichment run %s: %s accounts looked up in %s, %s found, %s observations written",
        run.pk,
        len(items),
        source,
        len(found_facts),
        written,
    )
    accounts_resegment(result.resegment_ids)
    return True


# Research notes from feeds -------------------------------------------------------------


def _note_text(note: feeds.ResearchNote) -> str:
    text = note.title
    if note.summary and note.summary != note.title:
        text = f"{note.title}: {note.summary}" if note.title else note.summary
    return feeds.shorten(text, ResearchNote.MAX_TEXT_LENGTH)


def research_notes_propose(
    *, account: Account, notes: Iterable[feeds.ResearchNote]
) -> list[ResearchNote]:
    """Create proposed research notes from feed items for a person to publish or dismiss.

    A note whose URL the account already has, in any status, is skipped, so a dismissed
    item is not proposed again. Notes without a URL are compared by text.
    """
    notes = list(notes)
    urls = {note.url[:500] for note in notes if note.url}
    existing_urls = set(
        ResearchNote.objects.filter(account=account, source_url__in=urls).values_list(
            "source_url", flat=True
        )
    )
    texts = {_note_text(note) for note in notes if not note.url}
    existing_texts = set(
        ResearchNote.objects.filter(account=account, source_url="", text__in=texts).values_list(
            "text", flat=True
        )
    )
    created = []
    for note in notes:
        url = note.url[:500]
        text = _note_text(note)
        if not text:
            continue
        if url:
            if url in existing_urls:
                continue
            existing_urls.add(url)
        else:
            if text in existing_texts:
                continue
            existing_texts.add(text)
        created.append(
            ResearchNote(
                account=account,
                kind=str(note.kind),
                status=ResearchNote.Status.PROPOSED,
                text=text,
                source_url=url,
                happened_on=note.published_at.date() if note.published_at else None,
            )
        )
    if created:
        created = bulk_create_with_history(
            created,
            ResearchNote,
            batch_size=WRITE_BATCH_SIZE,
            custom_historical_attrs={"history_channel": current_channel()},
        )
    logger.info("account %s: %s research notes proposed", account.pk, len(created))
    return created


def account_feed_urls(account: Account) -> list[str]:
    """Return the feed URLs of the account's newest website observation that lists any."""
    observation = (
        Observation.objects.filter(account=account, field="feed_urls")
        .order_by("-observed_at", "-id")
        .first()
    )
    if observation is None or not isinstance(observation.value, list):
        return []
    return [str(url) for url in observation.value if url]


# Feeds one check reads at most, so a page request stays within a few fetch time limits.
FEEDS_PER_CHECK = 3


@dataclass
class FeedCheck:
    """The outcome of reading an account's feeds: proposed notes and the feeds that failed."""

    feed_urls: list[str]
    proposed: list[ResearchNote] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


def account_feeds_check(*, account: Account, feed_urls: Sequence[str] | None = None) -> FeedCheck:
    """Read the account's feeds and propose research notes from their items.

    ``feed_urls`` defaults to the feeds found on the company's website by a website
    enrichment run; at most FEEDS_PER_CHECK are read. A feed that cannot be read is kept
    in ``failures`` with its error, and the others are still read.
    """
    urls = list(feed_urls) if feed_urls is not None else account_feed_urls(account)
    check = FeedCheck(feed_urls=urls[:FEEDS_PER_CHECK])
    for url in check.feed_urls:
        try:
            notes = feeds.read_feed(url, domain=account.domain)
        except DisallowedURL as error:
            # The full error names the setting that allows private addresses, which is for
            # the portal's operators, not for the person reading feeds, so it goes to the log.
            logger.warning("account %s: feed %s was not read: %s", account.pk, url, error)
            check.failures.append(
                (
                    url,
                    "it is not a public web address, so it is not read. Enter the feed's "
                    "public address.",
                )
            )
            continue
        except ProviderError as error:
            logger.warning("account %s: feed %s was not read: %s", account.pk, url, error)
            check.failures.append((url, error.detail))
            continue
        check.proposed += research_notes_propose(account=account, notes=notes)
    return check


def account_feeds_read(
    *, account: Account, feed_urls: Sequence[str] | None = None
) -> list[ResearchNote]:
    """Return the research notes proposed from the account's feeds (see account_feeds_check)."""
    return account_feeds_check(account=account, feed_urls=feed_urls).proposed
