"""The monthly audit's checks: which accounts were active in a month and what is wrong.

Checks read each account's values at the end of the month (see ``audits.asof``), so an
audit run again long after its month judges the data as it stood then. Accounts are read
in chunks with a fixed number of queries per chunk, and the segmentation engine re-scores
them in memory without writing anything.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Q, Subquery

from accounts.models import Account, ResearchNote, SegmentOverride, Tier, VerificationStatus
from accounts.selectors import unconfirmed_field_texts
from audits.asof import account_states
from audits.baseline import baseline_rows
from audits.history import Channel
from segmentation.engine import ROW_FIELDS, CompiledFramework, FrameworkError
from segmentation.models import ScoreRecord, SegmentationRun
from segmentation.overrides import REWRITE_HISTORY_REASON
from segmentation.selectors import NoActiveFrameworkError, framework_active_at

from . import rules
from .models import ViolationKind
from .periods import Period
from .selectors import display_name, with_correction_tag_setter

logger = logging.getLogger(__name__)

# Accounts read and checked per chunk.
CHUNK_SIZE = 2000
# Segmentation runs that nobody's work on an account starts: runs over every account, and
# the scoring of an import's accounts.
UNATTENDED_RUN_KINDS = (
    SegmentationRun.Kind.FULL,
    SegmentationRun.Kind.APPROVAL,
    SegmentationRun.Kind.QUARTERLY,
    SegmentationRun.Kind.IMPORT,
)
# History rows written through these channels are a person's work on the account.
PERSON_CHANNELS = (Channel.PAGE, Channel.ADMIN, Channel.API)
TAGGING_KINDS = (SegmentOverride.Kind.MANUAL_TAG, SegmentOverride.Kind.FIT_VALIDATION)
# Deliberate human decisions: the engine's result is not compared with them.
DELIBERATE_KINDS = (SegmentOverride.Kind.FIT_VALIDATION, SegmentOverride.Kind.REVIEW_CORRECTION)
SEGMENT_CHANGE_KINDS = (*TAGGING_KINDS, SegmentOverride.Kind.REVIEW_CORRECTION)

ACCOUNT_FIELDS = (
    *ROW_FIELDS,
    "owner_id",
    "tag",
    "tier",
    "tag_override",
    "tier_override",
    "framework_id",
    "verification_status",
    "field_status",
)


@dataclass(frozen=True)
class Finding:
    account_id: int
    rule_code: str
    detail: str
    responsible_id: int | None

    @property
    def kind(self) -> str:
        return rules.RULES[self.rule_code].kind

    @property
    def key(self) -> tuple[int, str]:
        return self.account_id, self.rule_code


def _in_period(field: str, period: Period) -> Q:
    return Q(**{f"{field}__gte": period.start, f"{field}__lt": period.end})


def worked_account_ids(period: Period) -> dict[int, set[int]]:
    """Return the accounts a person worked on in the period, each with who worked on it.

    Work is a note, a tag or tier change, or an edit of the account or one of its leads.
    """
    from accounts.models import Lead

    account_history = Account.history.model
    lead_history = Lead.history.model
    by_person = Q(history_channel__in=PERSON_CHANNELS, history_user__isnull=False)
    pairs = [
        ResearchNote.objects.filter(
            _in_period("created_at", period), author__isnull=False
        ).values_list("account_id", "author_id"),
        # A template rewrite has no user, because an approval wrote it and no person
        # changed the account.
        SegmentOverride.objects.filter(
            _in_period("created_at", period), user__isnull=False
        ).values_list("account_id", "user_id"),
        account_history.objects.filter(_in_period("history_date", period), by_person).values_list(
            "id", "history_user_id"
        ),
        lead_history.objects.filter(_in_period("history_date", period), by_person).values_list(
            "account_id", "history_user_id"
        ),
    ]
    workers: dict[int, set[int]] = defaultdict(set)
    for query in pairs:
        for account_id, user_id in query.distinct():
            if account_id is not None:
                workers[account_id].add(user_id)
    return dict(workers)


def active_account_ids(period: Period, worked: dict[int, set[int]]) -> set[int]:
    """Return the accounts scored, changed or worked on in the period.

    An account scored in the period only by re-segmentations of every account (a new
    framework version, the quarterly run) is not active: no person worked on it, so the
    audit would blame its owner for the framework's change. For the same reason, the
    rewrite of a tag override in a newly approved tag template does not count. Likewise an
    account that an import alone created, changed or scored: a big import would otherwise
    fill the month's audit with its accounts, which wait for enrichment. A baseline row is
    no change, so it does not count either.
    """
    account_history = Account.history.model
    ids = set(worked)
    scored = set(
        Account.objects.filter(_in_period("scored_at", period)).values_list("id", flat=True)
    )
    ids.update(scored - _only_rescored(period, scored))
    template_rewrites = Q(
        history_user__isnull=True, history_change_reason__startswith=REWRITE_HISTORY_REASON
    )
    ids.update(
        account_history.objects.filter(_in_period("history_date", period))
        .exclude(history_channel=Channel.IMPORT)
        .exclude(baseline_rows())
        .exclude(template_rewrites)
        .values_list("id", flat=True)
        .distinct()
    )
    return ids


def _only_rescored(period: Period, scored: set[int]) -> set[int]:
    """Return the accounts of ``scored`` whose period's records all come from unattended runs."""
    unattended = set(
        SegmentationRun.objects.filter(kind__in=UNATTENDED_RUN_KINDS).values_list("id", flat=True)
    )
    if not unattended:
        return set()
    rescored: set[int] = set()
    for chunk in _chunks(scored):
        records = ScoreRecord.objects.filter(
            _in_period("created_at", period), account_id__in=chunk
        ).values_list("account_id", "run_id")
        by_account: dict[int, set[bool]] = defaultdict(set)
        for account_id, run_id in records:
            by_account[account_id].add(run_id in unattended)
        rescored.update(account_id for account_id, kinds in by_account.items() if kinds == {True})
    return rescored


def _chunks(ids: set[int]) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK_SIZE):
        yield ordered[start : start + CHUNK_SIZE]


def _missing_fields(row: dict[str, Any]) -> list[str]:
    missing = []
    if row["industry_id"] is None:
        missing.append("industry")
    size_values = (
        row["employee_count"],
        row["employee_min"],
        row["employee_max"],
        row["annual_revenue_usd"],
    )
    if all(value is None for value in size_values):
        missing.append("company size")
    if not row["country"]:
        missing.append("geography")
    return missing


def _unconfirmed_fields(row: dict[str, Any]) -> list[str]:
    return unconfirmed_field_texts(row["field_status"])


class _Engine:
    """The framework version active at the period's end, compiled once per audit.

    ``compiled`` is None when no version was approved. A past month is judged by the
    version of its end, not today's, so approving a new version changes no past finding.
    """

    def __init__(self, end: datetime) -> None:
        self.compiled: CompiledFramework | None = None
        try:
            framework = framework_active_at(end)
            self.compiled = CompiledFramework.compile(framework)
        except (NoActiveFrameworkError, FrameworkError) as error:
            logger.warning("Audit skips the framework comparison: %s", error)

    def evaluate(self, row: dict[str, Any]):
        values = tuple(row[name] for name in ROW_FIELDS)
        try:
            return self.compiled.evaluate(values)
        except (ValueError, TypeError, ArithmeticError) as error:
            logger.warning("Audit could not score account %s: %s", row["id"], error)
            return None


def _tier_label(tier: str) -> str:
    return Tier(tier).label if tier in Tier.values else "none"


class AccountChecker:
    """Run every rule on chunks of accounts for one period."""

    def __init__(self, period: Period, worked: dict[int, set[int]]) -> None:
        self.period = period
        self.worked = worked
        self.engine = _Engine(period.end)
        self.checked = 0
        # Active accounts that were deleted within the period or since, so not checked.
        self.deleted = 0
        # Active accounts whose values at the period's end were not recorded, not checked.
        self.unknown_ids: set[int] = set()

    @property
    def framework_version(self) -> int | None:
        return self.engine.compiled.version if self.engine.compiled else None

    def check(self, account_ids: set[int]) -> Iterator[Finding]:
        for chunk in _chunks(account_ids):
            yield from self._check_chunk(chunk)

    def _check_chunk(self, chunk: list[int]) -> Iterator[Finding]:
        states = account_states(chunk, self.period.end, ACCOUNT_FIELDS)
        self.deleted += len(states.deleted_ids)
        self.unknown_ids.update(states.unknown_ids)
        rows = states.rows
        with_notes = set(
            ResearchNote.objects.filter(
                account_id__in=chunk,
                status=ResearchNote.Status.PUBLISHED,
                created_at__lt=self.period.end,
            )
            .values_list("account_id", flat=True)
            .distinct()
        )
        overrides: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for override in (
            SegmentOverride.objects.filter(
                account_id__in=chunk,
                kind__in=SEGMENT_CHANGE_KINDS,
                created_at__lt=self.period.end,
            )
            .order_by("account_id", "-created_at", "-id")
            .values(
                "id",
                "account_id",
                "kind",
                "user_id",
                "created_at",
                "reason",
                "old_tag",
                "new_tag",
                "old_tier",
                "new_tier",
                "user__username",
                "user__first_name",
                "user__last_name",
            )
        ):
            overrides[override["account_id"]].append(override)
        corrections = self._corrections(chunk)
        for row in rows:
            self.checked += 1
            account_overrides = overrides.get(row["id"], [])
            yield from self._check_account(
                row, account_overrides, row["id"] in with_notes, corrections
            )

    def _corrections(self, chunk: list[int]) -> dict[int, dict[str, Any]]:
        """Return the period's review corrections by id, with who set the corrected tag.

        ``tag_setter_id`` is None when the framework computed the corrected tag.
        ``framework_version`` is the version of the account's latest score record dated at
        or before the correction, which scored the corrected tag, or None without one.
        """
        scored_by = ScoreRecord.objects.filter(
            account_id=OuterRef("account_id"), created_at__lte=OuterRef("created_at")
        ).order_by("-created_at", "-id")
        corrections = with_correction_tag_setter(
            SegmentOverride.objects.filter(
                _in_period("created_at", self.period),
                account_id__in=chunk,
                kind=SegmentOverride.Kind.REVIEW_CORRECTION,
            )
        ).annotate(framework_version=Subquery(scored_by.values("framework__version")[:1]))
        return {
            correction["id"]: correction
            for correction in corrections.values("id", "tag_setter_id", "framework_version")
        }

    def _check_account(
        self,
        row: dict[str, Any],
        overrides: list[dict[str, Any]],
        has_note: bool,
        corrections: dict[int, dict[str, Any]],
    ) -> Iterator[Finding]:
        account_id = row["id"]
        owner_id = row["owner_id"]
        tagged = bool(row["tag"])
        latest = overrides[0] if overrides else None
        has_override = bool(row["tag_override"] or row["tier_override"])
        tagger_id = latest["user_id"] if latest and has_override else owner_id

        missing = _missing_fields(row)
        if missing:
            text = ", ".join(missing)
            if tagged:
                yield Finding(
                    account_id,
                    rules.INCOMPLETE_TAGGED,
                    f"Tagged “{row['tag']}” but {text} missing.",
                    tagger_id,
                )
            elif owner_id in self.worked.get(account_id, ()):
                # Only the owner's own work counts: an owner assigned by someone else has
                # not worked on the account yet.
                yield Finding(
                    account_id,
                    rules.INCOMPLETE_WORKED,
                    f"Worked on this month but {text} missing.",
                    owner_id,
                )

        if tagged and row["verification_status"] != VerificationStatus.VERIFIED:
            status = row["verification_status"]
            code = (
                rules.UNVERIFIED_CONFLICTING
                if status == VerificationStatus.CONFLICTING
                else rules.UNVERIFIED_NOT_VERIFIED
            )
            label = dict(VerificationStatus.choices).get(status, status)
            detail = f"Tagged “{row['tag']}” while verification is {label.lower()}."
            yield Finding(account_id, code, detail, owner_id)

        yield from self._check_classification(row, latest, has_override)
        for override in overrides:
            if override["created_at"] < self.period.start:
                break
            if override["kind"] == SegmentOverride.Kind.REVIEW_CORRECTION:
                yield _correction_finding(account_id, override, corrections[override["id"]])
                break

        unconfirmed = _unconfirmed_fields(row)
        tagged_by_person = next(
            (
                override
                for override in overrides
                if override["created_at"] >= self.period.start and override["kind"] in TAGGING_KINDS
            ),
            None,
        )
        if unconfirmed and tagged_by_person is not None:
            yield Finding(
                account_id,
                rules.SKIPPED_VERIFICATION,
                f"{_person(tagged_by_person)} set the segment while these fields "
                f"were unverified: {', '.join(unconfirmed)}.",
                tagged_by_person["user_id"],
            )
        if row["tier"] == Tier.HIGH and not has_note:
            yield Finding(
                account_id,
                rules.SKIPPED_RESEARCH,
                "High tier without a published research note.",
                owner_id,
            )

    def _check_classification(
        self,
        row: dict[str, Any],
        latest: dict[str, Any] | None,
        has_override: bool,
    ) -> Iterator[Finding]:
        compiled = self.engine.compiled
        if compiled is None or not (row["tag"] or row["tier"]):
            return
        if row["framework_id"] not in (None, compiled.framework_id):
            # Scored by another version than the one active at the period's end: stale
            # until re-segmentation, which is not the rep's mistake.
            return
        if has_override and latest is not None and latest["kind"] in DELIBERATE_KINDS:
            return
        if row["tag"] and row["verification_status"] == VerificationStatus.CONFLICTING:
            # The engine tags no account with a conflicting mandatory field, and the
            # tagged-while-conflicting rule already reports this tag.
            return
        evaluation = self.engine.evaluate(row)
        if evaluation is None:
            return
        responsible = latest["user_id"] if has_override and latest else row["owner_id"]
        version = compiled.version
        if evaluation.tag != row["tag"] and not evaluation.tag:
            detail = f"Tagged “{row['tag']}”, but framework v{version} gives no tag."
        elif evaluation.tag != row["tag"]:
            detail = (
                f"Tag “{row['tag']}” differs from “{evaluation.tag}”, which framework "
                f"v{version} gives."
            )
        elif evaluation.tier != row["tier"]:
            detail = (
                f"Tier {_tier_label(row['tier'])} differs from {_tier_label(evaluation.tier)}, "
                f"which framework v{version} gives."
            )
        else:
            return
        yield Finding(row["id"], rules.MISCLASSIFIED_FRAMEWORK, detail, responsible)


def _person(override: dict[str, Any]) -> str:
    """Return the full name of an override's user, or the username when it has none."""
    if override["user__username"] is None:
        return "Someone"
    return display_name(
        override["user__first_name"], override["user__last_name"], override["user__username"]
    )


def _correction_finding(
    account_id: int, override: dict[str, Any], correction: dict[str, Any]
) -> Finding:
    """Hold a review correction against the person who set the corrected tag.

    The rule is the one of review accuracy (``selectors.with_tag_setter``). A correction of
    a tag that the framework computed is a finding about the framework, with nobody
    responsible.
    """
    setter_id = correction["tag_setter_id"]
    if setter_id is not None:
        return Finding(
            account_id, rules.MISCLASSIFIED_REVIEW, _correction_text(override), setter_id
        )
    version = correction["framework_version"]
    framework = f"Framework v{version}" if version is not None else "The framework"
    detail = f"{framework} computed the corrected segment. {_correction_text(override)}"
    return Finding(account_id, rules.MISCLASSIFIED_FRAMEWORK_TAG, detail[:500], None)


def _correction_text(override: dict[str, Any]) -> str:
    changes = []
    if override["old_tag"] != override["new_tag"]:
        changes.append(f"tag “{override['old_tag']}” → “{override['new_tag']}”")
    if override["old_tier"] != override["new_tier"]:
        changes.append(
            f"tier {_tier_label(override['old_tier'])} → {_tier_label(override['new_tier'])}"
        )
    text = f"{_person(override)} corrected {' and '.join(changes) or 'the segment'}"
    return f"{text}: {override['reason']}"[:500]


@dataclass(frozen=True)
class PeriodFindings:
    """The outcome of checking one period's active accounts."""

    # Findings by (account id, rule code).
    findings: dict[tuple[int, str], Finding]
    checked: int
    framework_version: int | None
    # Active accounts deleted within the period or since: no finding can point to them.
    deleted: int
    # Active accounts whose values at the period's end were not recorded, so not checked.
    unknown_ids: frozenset[int] = frozenset()


def findings_for_period(period: Period) -> PeriodFindings:
    """Check the accounts active in the period, with their values at the period's end."""
    worked = worked_account_ids(period)
    active = active_account_ids(period, worked)
    checker = AccountChecker(period, worked)
    findings: dict[tuple[int, str], Finding] = {}
    for finding in checker.check(active):
        findings.setdefault(finding.key, finding)
    return PeriodFindings(
        findings,
        checker.checked,
        checker.framework_version,
        checker.deleted,
        frozenset(checker.unknown_ids),
    )


__all__ = [
    "Finding",
    "PeriodFindings",
    "ViolationKind",
    "active_account_ids",
    "findings_for_period",
    "worked_account_ids",
]
