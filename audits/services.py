"""Writes of the governance app: review sessions and decisions, monthly audits, findings."""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import Account, SegmentOverride, Tier
from accounts.normalizers.text import normalize_line_breaks
from accounts.permissions import can_review_account, team_member_ids
from accounts.research import account_segment_override
from segmentation.tags import active_tag_checker

from . import rules
from .findings import Finding, findings_for_period
from .history import current_channel
from .models import (
    AuditRun,
    Consequence,
    ReviewItem,
    ReviewSession,
    SeverityRule,
    Violation,
)
from .periods import Period, month_period

logger = logging.getLogger(__name__)

CONFIRMATION_REASON = "Confirmed in manager review."
# Rows per INSERT or UPDATE statement when an audit writes its findings.
WRITE_BATCH_SIZE = 500


# Manager review.


def _sample_accounts(
    candidates: dict[int, list[int]],
    sample_size: int,
    seed: int,
) -> list[int]:
    """Draw up to ``sample_size`` account ids, taking turns between reps.

    Each rep's accounts are shuffled with ``seed``, then the reps take turns, so every
    rep is reviewed even when one of them segmented far more accounts.
    """
    generator = random.Random(seed)
    queues = []
    for rep_id in sorted(candidates):
        ids = sorted(candidates[rep_id])
        generator.shuffle(ids)
        queues.append(ids)
    sample: list[int] = []
    while len(sample) < sample_size and any(queues):
        for queue in queues:
            if queue and len(sample) < sample_size:
                sample.append(queue.pop())
    return sample


@transaction.atomic
def review_session_create(
    *,
    manager: AbstractBaseUser,
    rep_ids: Sequence[int],
    period: Period,
    sample_size: int = ReviewSession.DEFAULT_SAMPLE_SIZE,
    seed: int | None = None,
) -> ReviewSession:
    """Create a review of accounts that the reps own and that were segmented in the period.

    The sample is stored as ReviewItems in a fixed order. Raises ValidationError when no
    rep is given, the sample size is out of range or no account matches.
    """
    if not rep_ids:
        raise ValidationError({"reps": "Choose at least one rep to review."})
    if not 1 <= sample_size <= ReviewSession.MAX_SAMPLE_SIZE:
        raise ValidationError(
            {
                "sample_size": f"Sample size {sample_size} is out of range: use 1 to "
                f"{ReviewSession.MAX_SAMPLE_SIZE}."
            }
        )
    if period.last_day < period.first_day:
        raise ValidationError({"period_end": "The period ends before it starts."})
    if not manager.is_superuser:
        outside = sorted(set(rep_ids) - set(team_member_ids(manager)))
        if outside:
            raise ValidationError(
                {"reps": f"Users {outside} are not in your team: choose reps who report to you."}
            )
    seed = random.SystemRandom().randrange(2**62) if seed is None else seed
    candidates: dict[int, list[int]] = {}
    rows = Account.objects.filter(
        owner_id__in=rep_ids,
        scored_at__gte=period.start,
        scored_at__lt=period.end,
    ).values_list("owner_id", "id")
    for owner_id, account_id in rows:
        candidates.setdefault(owner_id, []).append(account_id)
    account_ids = _sample_accounts(candidates, sample_size, seed)
    if not account_ids:
        raise ValidationError(
            "None of the chosen reps' accounts were segmented in this period: choose a "
            "longer period or other reps."
        )

    session = ReviewSession.objects.create(
        manager=manager,
        period_start=period.first_day,
        period_end=period.last_day,
        sample_size=sample_size,
        seed=seed,
    )
    session.reps.set(rep_ids)
    accounts = Account.objects.in_bulk(account_ids)
    ReviewItem.objects.bulk_create(
        ReviewItem(
            session=session,
            position=position,
            account_id=account_id,
            rep_id=accounts[account_id].owner_id,
            sampled_tag=accounts[account_id].tag,
            sampled_tier=accounts[account_id].tier,
        )
        for position, account_id in enumerate(account_ids, start=1)
    )
    logger.info(
        "Review session %s created by user %s: %s accounts of reps %s",
        session.pk,
        manager.pk,
        len(account_ids),
        list(rep_ids),
    )
    return session


@dataclass(frozen=True)
class ShownDecision:
    """The decision on a review item that a page showed when it was rendered.

    ``decided_at`` is None for an item that was not decided yet.
    """

    decision: str
    decided_at: datetime | None


class StaleDecisionError(Exception):
    """The item was decided after the page was rendered, so the new decision was not saved.

    ``item`` contains the current decision, with its override and the override's user loaded.
    """

    def __init__(self, item: ReviewItem) -> None:
        self.item = item
        super().__init__(stale_decision_message(item))


def stale_decision_message(item: ReviewItem) -> str:
    """Return who decided the item, what and when, and what the reviewer can do now."""
    override = item.override
    user = override.user if override is not None else None
    who = (user.get_full_name() or user.get_username()) if user is not None else "Someone"
    when = "at an unrecorded time"
    if item.decided_at is not None:
        local = timezone.localtime(item.decided_at)
        when = f"on {date_format(local, 'j M Y')} at {local:%H:%M:%S %Z}"
    current = item.get_decision_display().lower()
    if override is not None:
        tier = Tier(override.new_tier).label if override.new_tier else "none"
        current += f": tag “{override.new_tag or 'none'}”, tier {tier}"
    return (
        f"{who} {item.get_decision_display().lower()} {item.account_label} {when}, after "
        "this page was loaded, so your decision was not saved. The current decision is "
        f"{current}. Check it, then correct it again if it should change."
    )


def _lock_decision(item: ReviewItem) -> None:
    """Lock the item's row and load its current decision and override into ``item``.

    Requests sent together wait here, so they decide one after the other
    (tests/audits/test_review_concurrency.py sends two at once).
    """
    # of=("self",): PostgreSQL cannot lock the nullable side of the override outer join.
    current = (
        ReviewItem.objects.select_for_update(of=("self",))
        .select_related("override__user")
        .get(pk=item.pk)
    )
    item.decision = current.decision
    item.decided_at = current.decided_at
    item.override = current.override


def _check_shown(item: ReviewItem, shown: ShownDecision | None) -> None:
    """Raise StaleDecisionError when ``shown`` differs from the item's current decision."""
    if shown is None or (shown.decision, shown.decided_at) == (item.decision, item.decided_at):
        return
    logger.info(
        "Review item %s of session %s not decided: it was %s at %s, after the page showed it %s",
        item.pk,
        item.session_id,
        item.decision,
        item.decided_at,
        shown.decision,
    )
    raise StaleDecisionError(item)


def _check_reviewable(item: ReviewItem, user: AbstractBaseUser) -> None:
    if item.account_id is None:
        raise ValidationError(
            f"{item.account_label}: the account was deleted, so it cannot be reviewed."
        )
    if not can_review_account(user, item.account):
        raise PermissionDenied(f"User {user.pk} may not review account {item.account_id}.")


@transaction.atomic
def review_item_confirm(
    *,
    item: ReviewItem,
    user: AbstractBaseUser,
    reason: str = "",
    shown: ShownDecision | None = None,
) -> ReviewItem:
    """Confirm the account's current tag and tier, recorded against the item's rep.

    ``shown`` is the decision the page showed. An item that is already confirmed records
    nothing new, whatever ``shown`` is, because the outcome is the one requested.

    Raises PermissionDenied when the user may not review the account, and
    StaleDecisionError when the item was corrected after the page showed ``shown``.
    Raises ValidationError when the account was deleted or has no tag, and when the item
    was corrected, because the correction remains and confirming it would count it as the
    rep's tag.
    """
    _check_reviewable(item, user)
    _lock_decision(item)
    if item.decision == ReviewItem.Decision.CONFIRMED:
        # A second confirmation, such as a double click, records nothing new.
        return item
    _check_shown(item, shown)
    if item.decision == ReviewItem.Decision.CORRECTED:
        raise ValidationError(
            f"{item.account_label} was corrected in this review, so it cannot be confirmed: "
            "the correction stands. Correct it again to change the tag or tier."
        )
    override = account_segment_override(
        account=item.account,
        user=user,
        kind=SegmentOverride.Kind.REVIEW_CONFIRMATION,
        reason=reason.strip() or CONFIRMATION_REASON,
    )
    return _record_decision(item, ReviewItem.Decision.CONFIRMED, override)


@transaction.atomic
def review_item_correct(
    *,
    item: ReviewItem,
    user: AbstractBaseUser,
    reason: str,
    tag: str | None = None,
    tier: str | None = None,
    shown: ShownDecision | None = None,
) -> ReviewItem:
    """Correct the account's tag and/or tier at once and record it against the item's rep.

    ``shown`` is the decision the page showed; without it the correction replaces any
    decision. Raises StaleDecisionError when the item was decided after the page showed
    ``shown``, ValidationError when the reason is empty, the tier is invalid, nothing
    changes or the account was deleted, and PermissionDenied when the user may not review
    the account.
    """
    _check_reviewable(item, user)
    _lock_decision(item)
    _check_shown(item, shown)
    account = item.account
    tags = active_tag_checker() if tag is not None else None
    if tag is not None:
        # Compared in the framework's spelling, so a correction that only changes case or
        # dashes counts as no change.
        tag = tags.spelling(tag) if tags is not None else tag.strip()
    if (tag in (None, account.tag)) and (tier in (None, "", account.tier)):
        raise ValidationError(
            "The correction changes neither the tag nor the tier: change one, or confirm "
            "the account instead."
        )
    if not account.tag and not tag:
        # A review judges the segment, so an untagged account is corrected with its tag.
        raise ValidationError(
            {
                "tag": f"{account.name} has no tag, so a correction must give one, such as "
                "SaaS – Mid-Market – US. Leave the account undecided if its fields are "
                "missing, so its owner can research it."
            }
        )
    override = account_segment_override(
        account=account,
        user=user,
        kind=SegmentOverride.Kind.REVIEW_CORRECTION,
        reason=reason,
        tag=tag if tag and tag != account.tag else None,
        tier=tier if tier and tier != account.tier else None,
        tags=tags,
    )
    return _record_decision(item, ReviewItem.Decision.CORRECTED, override)


def _record_decision(item: ReviewItem, decision: str, override: SegmentOverride) -> ReviewItem:
    item.decision = decision
    item.override = override
    item.decided_at = timezone.now()
    item.save(update_fields=["decision", "override", "decided_at"])
    item.account.refresh_from_db(fields=["tag", "tier", "tag_override", "tier_override", "route"])
    logger.info(
        "Review item %s of session %s %s by user %s",
        item.pk,
        item.session_id,
        decision,
        override.user_id,
    )
    return item


# Monthly audit.


def _severity_rules() -> dict[str, tuple[str, str]]:
    found = {
        rule.rule_code: (rule.severity, rule.default_consequence)
        for rule in SeverityRule.objects.all()
    }
    for code, default in rules.RULES.items():
        if code not in found:
            logger.warning("Severity rule %s is missing: using its default severity", code)
            found[code] = (default.severity, default.consequence)
    return found


def _begin_run(month: date, triggered_by: AbstractBaseUser | None) -> AuditRun:
    run, created = AuditRun.objects.get_or_create(
        month=month,
        defaults={
            "started_at": timezone.now(),
            "triggered_by": triggered_by,
        },
    )
    if not created:
        run.status = AuditRun.Status.RUNNING
        run.started_at = timezone.now()
        run.finished_at = None
        run.error = ""
        run.triggered_by = triggered_by
        run.save(update_fields=["status", "started_at", "finished_at", "error", "triggered_by"])
    return run


def _write_findings(
    run: AuditRun,
    findings: dict[tuple[int, str], Finding],
    severities: dict[str, tuple[str, str]],
    unchecked_ids: frozenset[int] = frozenset(),
) -> tuple[int, int]:
    """Store the findings of a run and return (created, removed). Call it in a transaction.

    Open findings of an earlier run of the month are updated in place or removed when
    they no longer apply. Acknowledged and resolved ones stay as they are, and so do the
    findings of ``unchecked_ids``, accounts that this run could not judge.
    """
    # Two runs of one month write one after the other, so neither duplicates a finding.
    AuditRun.objects.select_for_update().filter(pk=run.pk).first()
    existing = {
        (violation.account_id, violation.rule_code): violation
        for violation in Violation.objects.filter(audit_run=run)
    }
    created: list[Violation] = []
    changed: list[Violation] = []
    for key, finding in findings.items():
        severity, consequence = severities[finding.rule_code]
        violation = existing.get(key)
        if violation is None:
            created.append(
                Violation(
                    audit_run=run,
                    account_id=finding.account_id,
                    kind=finding.kind,
                    rule_code=finding.rule_code,
                    detail=finding.detail[:500],
                    severity=severity,
                    responsible_id=finding.responsible_id,
                    consequence=consequence,
                )
            )
            continue
        if violation.status != Violation.Status.OPEN:
            continue
        values = (finding.detail[:500], severity, finding.responsible_id)
        if (violation.detail, violation.severity, violation.responsible_id) != values:
            violation.detail, violation.severity, violation.responsible_id = values
            changed.append(violation)

    stale = [
        violation.pk
        for key, violation in existing.items()
        if key not in findings
        and violation.status == Violation.Status.OPEN
        and violation.account_id not in unchecked_ids
    ]
    history = {"history_channel": current_channel()}
    if created:
        bulk_create_with_history(
            created, Violation, batch_size=WRITE_BATCH_SIZE, custom_historical_attrs=history
        )
    if changed:
        bulk_update_with_history(
            changed,
            Violation,
            ["detail", "severity", "responsible"],
            batch_size=WRITE_BATCH_SIZE,
            custom_historical_attrs=history,
        )
    if stale:
        # Deleted one by one through the ORM, so each deletion gets a history row.
        Violation.objects.filter(pk__in=stale).delete()
    return len(created), len(stale)


def monthly_audit_run(*, month: date, triggered_by: AbstractBaseUser | None = None) -> AuditRun:
    """Audit the accounts active in ``month`` (team's time zone) and store the violations.

    Running it again for the same month updates the month's run: open findings are
    replaced without duplicates, acknowledged and resolved ones keep their status.
    Errors mark the run failed and are raised again.
    """
    period = month_period(month)
    run = _begin_run(period.first_day, triggered_by)
    logger.info("Monthly audit of %s started (run %s)", f"{period.first_day:%Y-%m}", run.pk)
    try:
        checked_period = findings_for_period(period)
        findings = checked_period.findings
        severities = _severity_rules()
        with transaction.atomic():
            created, removed = _write_findings(
                run, findings, severities, checked_period.unknown_ids
            )
            counts = Counter(str(finding.kind) for finding in findings.values())
            run.status = AuditRun.Status.SUCCEEDED
            run.finished_at = timezone.now()
            run.accounts_checked = checked_period.checked
            run.violations_found = len(findings)
            run.violations_created = created
            run.violations_removed = removed
            run.counts = {
                "kinds": dict(counts),
                "framework_version": checked_period.framework_version,
                "deleted_accounts": checked_period.deleted,
                "unknown_accounts": len(checked_period.unknown_ids),
            }
            run.save()
    except Exception as error:
        logger.exception("Monthly audit of %s failed (run %s)", f"{period.first_day:%Y-%m}", run.pk)
        AuditRun.objects.filter(pk=run.pk).update(
            status=AuditRun.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(error).__name__}: {error}",
        )
        raise
    logger.info(
        "Monthly audit of %s finished (run %s): %s accounts checked, %s findings, "
        "%s new, %s no longer apply, %s deleted accounts not checked, %s accounts without "
        "recorded values at the month's end not checked",
        f"{period.first_day:%Y-%m}",
        run.pk,
        checked_period.checked,
        len(findings),
        created,
        removed,
        checked_period.deleted,
        len(checked_period.unknown_ids),
    )
    if checked_period.unknown_ids:
        unknown = sorted(checked_period.unknown_ids)
        logger.warning(
            "Monthly audit of %s (run %s) did not check %s accounts, because their first "
            "history row is a change after the month's end with no baseline before it; "
            "their open findings were kept. First ids: %s",
            f"{period.first_day:%Y-%m}",
            run.pk,
            len(unknown),
            unknown[:20],
        )
    return run


# Findings.


def violation_update(
    *,
    violation: Violation,
    user: AbstractBaseUser,
    status: str,
    consequence: str,
    consequence_notes: str = "",
) -> Violation:
    """Set a finding's status and consequence; resolving records who and when.

    Raises ValidationError for an unknown status or consequence.
    """
    errors = {}
    if status not in Violation.Status.values:
        errors["status"] = (
            f"Status {status!r} is not valid: use one of {', '.join(Violation.Status.values)}."
        )
    if consequence not in Consequence.values:
        errors["consequence"] = (
            f"Consequence {consequence!r} is not valid: use one of {', '.join(Consequence.values)}."
        )
    if errors:
        raise ValidationError(errors)
    violation.status = status
    violation.consequence = consequence
    violation.consequence_notes = normalize_line_breaks(consequence_notes).strip()
    if status == Violation.Status.RESOLVED:
        if violation.resolved_at is None:
            violation.resolved_at = timezone.now()
            violation.resolved_by = user
    else:
        violation.resolved_at = None
        violation.resolved_by = None
    violation._history_user = user
    violation.save()
    logger.info(
        "Violation %s set to %s with consequence %s by user %s",
        violation.pk,
        status,
        consequence,
        user.pk,
    )
    return violation
