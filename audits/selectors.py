"""Reads of the governance pages: dashboards, review accuracy, audit reports and training.

Every aggregate is one GROUP BY query over indexed columns, so the pages stay fast on
a million accounts.
"""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim, TruncMonth

from accounts import roles
from accounts.filtersets import INCOMPLETE, MISSING_FIELD_CONDITIONS
from accounts.models import Account, SegmentOverride, UserProfile, VerificationStatus
from accounts.permissions import can_view_audits, team_member_ids, visible_user_ids
from enrichment.verification import ACCEPTED, MANDATORY_FIELDS, VERIFIED
from segmentation.models import Framework, ScoreRecord

from .models import (
    TRAINED_ROLES,
    AuditRun,
    ReviewItem,
    ReviewSession,
    TrainingRecord,
    Violation,
)
from .periods import Period, local_today, start_of_day, team_zone

User = AbstractBaseUser | AnonymousUser

# Training rules. New reps must finish ICP onboarding within 30 days of joining, and
# everyone trained refreshes every 180 days (twice a year), counted from their latest
# onboarding or refresher.
ONBOARDING_DUE_DAYS = 30
REFRESHER_INTERVAL_DAYS = 180

TOP_TAGS = 15
DRIFT_TAGS = 20
NO_VALUE = "(none)"


def findings_scope(user: User) -> list[int] | None:
    """Return the ids of the users whose reviews and findings ``user`` may view, or None for all.

    Sales Ops, Leadership and superusers see everyone, a Sales Manager their team, and
    other roles only themselves. ``visible_user_ids`` returns an empty list for those other
    roles because they may act on no finding, but the dashboards show every sales role the
    reviews and findings of their own accounts.
    """
    if can_view_audits(user):
        return visible_user_ids(user)
    if user.is_authenticated:
        return [user.pk]
    return []


def _scoped(queryset: QuerySet, field_name: str, user_ids: list[int] | None) -> QuerySet:
    if user_ids is None:
        return queryset
    return queryset.filter(**{f"{field_name}__in": user_ids})


# Dashboards.

# Mandatory field -> the condition that its field_status entry is verified or accepted,
# the statuses that enrichment.verification.account_verification_status counts.
FIELD_VERIFIED = {
    name: Q(**{f"field_status__{name}__status__in": [VERIFIED, ACCEPTED]})
    for name in MANDATORY_FIELDS
}
ANY_FIELD_VERIFIED = functools.reduce(operator.or_, FIELD_VERIFIED.values())


@dataclass
class AccountCounts:
    """Account totals for the dashboards: per tier, tag, geography and verification status.

    ``quality`` contains the data quality counts of ``account_counts``.
    """

    tiers: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    geographies: dict[str, int] = field(default_factory=dict)
    verification: dict[str, int] = field(default_factory=dict)
    quality: dict[str, int] = field(default_factory=dict)

    def top_tags(self, limit: int) -> list[tuple[str, int]]:
        """Return the ``limit`` largest tags, without the empty tag, largest first."""
        rows = sorted(
            ((tag, total) for tag, total in self.tags.items() if tag),
            key=lambda row: (-row[1], row[0]),
        )
        return rows[:limit]

    def geographies_by_size(self) -> list[tuple[str, int]]:
        """Return every geography with its total, largest first."""
        return sorted(self.geographies.items(), key=lambda row: (-row[1], row[0]))


def account_counts() -> AccountCounts:
    """Count accounts for every dashboard chart in one scan of the account table.

    One query groups by tier, tag, geography and verification status and counts the
    data quality conditions per group, and the groups are added up here. Five queries
    took 0.16 to 0.19 s each at 1,000,000 accounts, because each scanned the table.
    A field counts as missing under the account list's ``missing_field`` condition, so
    each quality count equals the rows of the list filtered the same way.
    """
    missing = MISSING_FIELD_CONDITIONS
    needs = Q(needs_enrichment=True)
    conflicting = Q(verification_status=VerificationStatus.CONFLICTING)
    quality_counts = {
        "total": Count("id"),
        "complete": Count("id", filter=~INCOMPLETE),
        "missing_industry": Count("id", filter=missing["industry"]),
        "missing_size": Count("id", filter=missing["size"]),
        "missing_geography": Count("id", filter=missing["geography"]),
        "backlog": Count("id", filter=needs),
        "backlog_industry": Count("id", filter=needs & missing["industry"]),
        "backlog_size": Count("id", filter=needs & missing["size"]),
        "backlog_geography": Count("id", filter=needs & missing["geography"]),
        # The engine counts a mandatory field whose sources conflict as unknown, so such an
        # account needs enrichment although completeness counts the field as present.
        "backlog_incomplete": Count("id", filter=needs & INCOMPLETE),
        "backlog_conflicting": Count("id", filter=needs & conflicting),
        # Per-field verification, which separates partly verified accounts from the others.
        **{
            f"verified_{name}": Count("id", filter=FIELD_VERIFIED[name])
            for name in MANDATORY_FIELDS
        },
        "partly_verified": Count(
            "id",
            filter=Q(verification_status=VerificationStatus.UNVERIFIED) & ANY_FIELD_VERIFIED,
        ),
    }
    groups = (
        Account.objects.order_by()
        .values_list("tier", "tag", "geography", "verification_status")
        .annotate(**quality_counts)
    )
    counts = AccountCounts(
        verification=dict.fromkeys(VerificationStatus.values, 0),
        quality=dict.fromkeys(quality_counts, 0),
    )
    backlog_index = list(quality_counts).index("backlog")
    for tier, tag, geography, status, *totals in groups:
        total = totals[0]
        counts.tiers[tier or ""] = counts.tiers.get(tier or "", 0) + total
        # A tag counts only the accounts whose tag is in effect, as its member list shows
        # them (accounts.selectors.TAG_IN_EFFECT), so a chart bar equals its list's rows.
        in_effect = total - totals[backlog_index] if tag else total
        counts.tags[tag or ""] = counts.tags.get(tag or "", 0) + in_effect
        counts.geographies[geography or ""] = counts.geographies.get(geography or "", 0) + total
        counts.verification[status] = counts.verification.get(status, 0) + total
        for name, value in zip(quality_counts, totals, strict=True):
            counts.quality[name] += value
    return counts


# A confirmation is accurate only when it confirmed a tag. An account without a tag can no
# longer be confirmed, but such confirmations recorded earlier count as reviewed and not
# accurate. The confirmed tag is the one the confirmation's override recorded.
ACCURATE = (
    Q(decision=ReviewItem.Decision.CONFIRMED) & Q(override__isnull=False) & ~Q(override__new_tag="")
)
UNTAGGED_CONFIRMATION = Q(decision=ReviewItem.Decision.CONFIRMED) & (
    Q(override__isnull=True) | Q(override__new_tag="")
)
CORRECTED = Q(decision=ReviewItem.Decision.CORRECTED)
DECIDED = ~Q(decision=ReviewItem.Decision.PENDING)
# A confirmation or correction counts for the rep only when the rep set the reviewed tag,
# and for the framework when no person did (see ``with_tag_setter``). A decision on a tag
# that another person set counts for neither, only in the totals of every decision. A
# confirmation of an account without a tag confirmed nobody's tag, so it counts for the
# rep, whose "Needs research" queue lists the account until it is tagged.
SET_BY_REP = Q(tag_setter_id=F("rep_id"))
SET_BY_FRAMEWORK = Q(tag_setter_id__isnull=True)


def tag_setter(*, before: Any, exclude_id: Any) -> Subquery:
    """Build a subquery of the person who set the tag of the outer row's account.

    The setter is the author of the account's latest change dated before ``before``, other
    than the change ``exclude_id``. A template rewrite has no author, so its setter is the
    author of the rewritten change. The subquery returns None when no change precedes
    ``before``: the framework computed the tag. Both arguments are expressions on the
    outer query, such as ``OuterRef("created_at")``.
    """
    latest_change = (
        SegmentOverride.objects.filter(
            account_id=OuterRef("account_id"),
            created_at__lt=before,
        )
        .exclude(pk=exclude_id)
        .order_by("-created_at", "-id")
        .annotate(setter_id=Coalesce("user_id", "rewrite_of__user_id"))
        .values("setter_id")[:1]
    )
    return Subquery(latest_change)


def with_tag_setter(items: QuerySet[ReviewItem]) -> QuerySet[ReviewItem]:
    """Annotate ``tag_setter_id``: the person who set the sampled tag, or None for the framework.

    The setter is the author of the account's latest change before the session was created
    (see ``tag_setter``).
    NOTE: an item whose account was deleted has no changes to read, so it counts as a
    framework tag.
    """
    setter = tag_setter(before=OuterRef("session__created_at"), exclude_id=OuterRef("override_id"))
    return items.annotate(tag_setter_id=setter)


def with_correction_tag_setter(
    corrections: QuerySet[SegmentOverride],
) -> QuerySet[SegmentOverride]:
    """Annotate review corrections with ``tag_setter_id``, the rule of ``with_tag_setter``.

    A correction made in a review session reads the setter when the session was created,
    so the audit and the session's accuracy name the same person. A correction recorded
    outside a session, such as through the API, reads it when the correction was made.
    """
    session_created = ReviewItem.objects.filter(override_id=OuterRef("pk")).values(
        "session__created_at"
    )[:1]
    return corrections.annotate(
        reviewed_from=Coalesce(Subquery(session_created), F("created_at"))
    ).annotate(
        tag_setter_id=tag_setter(before=OuterRef("reviewed_from"), exclude_id=OuterRef("pk"))
    )


def accuracy_counts() -> dict[str, Count]:
    """Return the aggregates that every accuracy figure is computed from.

    ``confirmed``, ``corrected``, ``untagged`` and their sum ``reviewed`` are the decisions
    that count for the rep. ``framework_confirmed`` and ``framework_corrected`` are the
    decisions on tags that the framework computed. ``all_confirmed`` and ``all_reviewed``
    count every accurate confirmation and every decision, whoever set the tag. Run them on
    a queryset from ``with_tag_setter``.
    """
    return {
        "confirmed": Count("id", filter=ACCURATE & SET_BY_REP),
        "untagged": Count("id", filter=UNTAGGED_CONFIRMATION),
        "corrected": Count("id", filter=CORRECTED & SET_BY_REP),
        "reviewed": Count(
            "id", filter=((ACCURATE | CORRECTED) & SET_BY_REP) | UNTAGGED_CONFIRMATION
        ),
        "framework_confirmed": Count("id", filter=ACCURATE & SET_BY_FRAMEWORK),
        "framework_corrected": Count("id", filter=CORRECTED & SET_BY_FRAMEWORK),
        "all_confirmed": Count("id", filter=ACCURATE),
        "all_reviewed": Count("id", filter=DECIDED),
    }


def review_accuracy_by_month(user_ids: list[int] | None) -> list[dict[str, Any]]:
    """Return each month's review decisions, by month of decision, oldest first.

    ``reviewed`` counts every decision and ``confirmed`` the accurate confirmations, whoever
    set the reviewed tag, so ``accuracy`` is the "All reviewed" figure of the review
    session pages. ``framework_confirmed`` and ``framework_corrected`` are the part of
    those decisions on tags that the framework computed.
    """
    decided = with_tag_setter(ReviewItem.objects.filter(DECIDED))
    rows = (
        _scoped(decided, "rep_id", user_ids)
        .annotate(month=TruncMonth("decided_at", tzinfo=team_zone()))
        .values("month")
        .annotate(**accuracy_counts())
        .order_by("month")
    )
    return [
        {
            "month": row["month"].date() if hasattr(row["month"], "date") else row["month"],
            "reviewed": row["all_reviewed"],
            "confirmed": row["all_confirmed"],
            "framework_confirmed": row["framework_confirmed"],
            "framework_corrected": row["framework_corrected"],
            "accuracy": percent(row["all_confirmed"], row["all_reviewed"]),
        }
        for row in rows
    ]


def violations_by_month(user_ids: list[int] | None) -> dict[date, dict[str, int]]:
    """Return the number of findings per audited month and kind."""
    rows = (
        _scoped(Violation.objects.all(), "responsible_id", user_ids)
        .values_list("audit_run__month", "kind")
        .annotate(total=Count("id"))
        .order_by("audit_run__month")
    )
    result: dict[date, dict[str, int]] = defaultdict(dict)
    for month, kind, total in rows:
        result[month][kind] = total
    return dict(result)


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


# Manager review.


@dataclass
class DecisionCounts:
    """Review decisions on one group of tags. ``confirmed`` counts confirmations of a tag
    only, and ``untagged`` the confirmations of an account without a tag, which count as
    reviewed but not accurate.
    """

    confirmed: int = 0
    corrected: int = 0
    untagged: int = 0

    @property
    def reviewed(self) -> int:
        return self.confirmed + self.corrected + self.untagged

    @property
    def accuracy(self) -> float | None:
        return percent(self.confirmed, self.reviewed)


@dataclass(kw_only=True)
class RepAccuracy(DecisionCounts):
    """One rep's review decisions, grouped by the rep the item was sampled for.

    ``confirmed`` and ``corrected`` count decisions on tags the rep set, as
    ``accuracy_counts``. ``framework_confirmed`` and ``framework_corrected`` count the
    decisions on the rep's accounts whose tag the framework computed, and ``all_confirmed``
    and ``all_reviewed`` every accurate confirmation and every decision on them.
    """

    rep_id: int | None
    rep_name: str
    pending: int = 0
    framework_confirmed: int = 0
    framework_corrected: int = 0
    all_confirmed: int = 0
    all_reviewed: int = 0


def _rep_accuracy(row: dict[str, Any]) -> RepAccuracy:
    """Build a ``RepAccuracy`` from a row of ``accuracy_counts`` grouped by rep."""
    return RepAccuracy(
        rep_id=row["rep_id"],
        rep_name=display_name(row["rep__first_name"], row["rep__last_name"], row["rep__username"]),
        confirmed=row["confirmed"],
        corrected=row["corrected"],
        untagged=row["untagged"],
        pending=row.get("pending", 0),
        framework_confirmed=row["framework_confirmed"],
        framework_corrected=row["framework_corrected"],
        all_confirmed=row["all_confirmed"],
        all_reviewed=row["all_reviewed"],
    )


@dataclass
class AccuracyTotals:
    """The decisions of a list of ``RepAccuracy`` rows, summed by who set the reviewed tag.

    ``others`` counts the decisions on tags that a person other than the item's rep set,
    which count for no rep, and ``total`` every decision.
    """

    framework: DecisionCounts
    others: DecisionCounts
    total: DecisionCounts


def accuracy_totals(rows: list[RepAccuracy]) -> AccuracyTotals:
    """Sum the rows' decisions into the framework's, other people's and all decisions."""
    reps = DecisionCounts(
        confirmed=sum(row.confirmed for row in rows),
        corrected=sum(row.corrected for row in rows),
        untagged=sum(row.untagged for row in rows),
    )
    framework = DecisionCounts(
        confirmed=sum(row.framework_confirmed for row in rows),
        corrected=sum(row.framework_corrected for row in rows),
    )
    all_confirmed = sum(row.all_confirmed for row in rows)
    # Every confirmation of an untagged account counts for its rep, so the rest of the
    # decisions are accurate confirmations and corrections.
    total = DecisionCounts(
        confirmed=all_confirmed,
        corrected=sum(row.all_reviewed for row in rows) - all_confirmed - reps.untagged,
        untagged=reps.untagged,
    )
    others = DecisionCounts(
        confirmed=total.confirmed - reps.confirmed - framework.confirmed,
        corrected=total.corrected - reps.corrected - framework.corrected,
    )
    return AccuracyTotals(framework=framework, others=others, total=total)


def display_name(first_name: str, last_name: str, username: str | None) -> str:
    full = f"{first_name or ''} {last_name or ''}".strip()
    return full or username or "Unassigned"


def session_accuracy(session: ReviewSession) -> list[RepAccuracy]:
    """Return each rep's confirmed, corrected and pending counts in one session."""
    rows = (
        with_tag_setter(ReviewItem.objects.filter(session=session))
        .values("rep_id", "rep__username", "rep__first_name", "rep__last_name")
        .annotate(
            **accuracy_counts(),
            pending=Count("id", filter=Q(decision=ReviewItem.Decision.PENDING)),
        )
        .order_by("rep__username")
    )
    return [_rep_accuracy(row) for row in rows]


def review_sessions(user: User) -> QuerySet[ReviewSession]:
    """Return the sessions ``user`` may open: their own, or all for a superuser."""
    sessions = ReviewSession.objects.select_related("manager").annotate(
        item_count=Count("items"),
        decided_count=Count("items", filter=~Q(items__decision=ReviewItem.Decision.PENDING)),
    )
    if user.is_superuser:
        return sessions
    return sessions.filter(manager_id=user.pk)


@dataclass
class AccuracyTrend:
    """Accuracy per rep across sessions, in the shape of a Chart.js line chart.

    ``framework_corrected[i]`` counts the corrections of framework tags in session ``i``,
    which count for no rep.
    """

    labels: list[str] = field(default_factory=list)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    framework_corrected: list[int] = field(default_factory=list)


def accuracy_trend(user: User, *, limit: int = 20) -> AccuracyTrend:
    """Return each rep's accuracy in the latest ``limit`` sessions that ``user`` may open."""
    session_ids = list(
        review_sessions(user).order_by("-created_at", "-id").values_list("id", flat=True)[:limit]
    )
    decided = ReviewItem.objects.filter(session_id__in=session_ids).exclude(
        decision=ReviewItem.Decision.PENDING
    )
    rows = (
        with_tag_setter(decided)
        .values(
            "session_id",
            "session__created_at",
            "rep_id",
            "rep__username",
            "rep__first_name",
            "rep__last_name",
        )
        .annotate(**accuracy_counts())
        .order_by("session__created_at", "session_id")
    )
    sessions: dict[int, str] = {}
    framework_corrected: dict[int, int] = defaultdict(int)
    by_rep: dict[int | None, dict[str, Any]] = {}
    for row in rows:
        created = row["session__created_at"].astimezone(team_zone())
        sessions.setdefault(row["session_id"], f"#{row['session_id']} {created:%Y-%m-%d}")
        framework_corrected[row["session_id"]] += row["framework_corrected"]
        rep = by_rep.setdefault(
            row["rep_id"],
            {
                "label": display_name(
                    row["rep__first_name"], row["rep__last_name"], row["rep__username"]
                ),
                "values": {},
            },
        )
        rep["values"][row["session_id"]] = percent(row["confirmed"], row["reviewed"])
    order = list(sessions)
    return AccuracyTrend(
        labels=[sessions[session_id] for session_id in order],
        datasets=[
            {"label": rep["label"], "data": [rep["values"].get(pk) for pk in order]}
            for rep in sorted(by_rep.values(), key=lambda rep: rep["label"])
        ],
        framework_corrected=[framework_corrected[pk] for pk in order],
    )


def review_corrections(
    user: User,
    *,
    rep_id: int | None = None,
    reviewer_id: int | None = None,
    period: Period | None = None,
    search: str = "",
) -> QuerySet[SegmentOverride]:
    """Return review corrections of the reps ``user`` may see, newest first."""
    corrections = SegmentOverride.objects.filter(
        kind=SegmentOverride.Kind.REVIEW_CORRECTION
    ).select_related("account", "user", "rep")
    corrections = _scoped(corrections, "rep_id", findings_scope(user))
    if rep_id is not None:
        corrections = corrections.filter(rep_id=rep_id)
    if reviewer_id is not None:
        corrections = corrections.filter(user_id=reviewer_id)
    if period is not None:
        corrections = corrections.filter(created_at__gte=period.start, created_at__lt=period.end)
    if search:
        corrections = corrections.filter(
            Q(account__name__icontains=search) | Q(deleted_account_name__icontains=search)
        )
    return corrections.order_by("-created_at", "-id")


def reps_for(user: User) -> QuerySet:
    """Return the reps ``user`` may review: their team, or every rep for a superuser."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    if user.is_superuser:
        return users.filter(groups__name__in=(roles.SDR, roles.AE)).distinct()
    return users.filter(pk__in=team_member_ids(user)).exclude(pk=user.pk)


def default_review_reps(user: User) -> list[int]:
    """Return the ids of the reps ticked on a new review form.

    These are the listed reps who report to ``user``, or every listed rep when none does,
    such as for a superuser who manages no team.
    """
    listed = list(reps_for(user).values_list("pk", flat=True))
    team = set(team_member_ids(user))
    managed = [pk for pk in listed if pk in team and pk != user.pk]
    return managed or listed


# Monthly audit.


@dataclass
class ReportCounts:
    """Findings of one audit run counted by kind, severity, status and responsible user."""

    total: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    by_rep: list[dict[str, Any]] = field(default_factory=list)


def report_counts(run: AuditRun, user_ids: list[int] | None) -> ReportCounts:
    """Count a run's findings that the user may see, with one GROUP BY query."""
    rows = (
        _scoped(Violation.objects.filter(audit_run=run), "responsible_id", user_ids)
        .values(
            "kind",
            "severity",
            "status",
            "responsible_id",
            "responsible__username",
            "responsible__first_name",
            "responsible__last_name",
        )
        .annotate(total=Count("id"))
        .order_by()
    )
    counts = ReportCounts()
    reps: dict[int | None, dict[str, Any]] = {}
    for row in rows:
        total = row["total"]
        counts.total += total
        counts.by_kind[row["kind"]] = counts.by_kind.get(row["kind"], 0) + total
        counts.by_severity[row["severity"]] = counts.by_severity.get(row["severity"], 0) + total
        counts.by_status[row["status"]] = counts.by_status.get(row["status"], 0) + total
        rep = reps.setdefault(
            row["responsible_id"],
            {
                "id": row["responsible_id"],
                "name": display_name(
                    row["responsible__first_name"],
                    row["responsible__last_name"],
                    row["responsible__username"],
                ),
                "total": 0,
                "minor": 0,
                "moderate": 0,
                "severe": 0,
            },
        )
        rep["total"] += total
        rep[row["severity"]] += total
    counts.by_rep = sorted(reps.values(), key=lambda rep: (-rep["total"], rep["name"]))
    return counts


def report_violations(
    run: AuditRun,
    user_ids: list[int] | None,
    *,
    kind: str = "",
    severity: str = "",
    status: str = "",
    responsible_id: int | None = None,
) -> QuerySet[Violation]:
    violations = _scoped(
        Violation.objects.filter(audit_run=run), "responsible_id", user_ids
    ).select_related("account", "responsible", "resolved_by")
    if kind:
        violations = violations.filter(kind=kind)
    if severity:
        violations = violations.filter(severity=severity)
    if status:
        violations = violations.filter(status=status)
    if responsible_id is not None:
        violations = violations.filter(responsible_id=responsible_id)
    return violations.order_by("kind", "rule_code", "account__name", "id")


@dataclass
class OverdueTraining:
    user_id: int
    name: str
    kind: str
    due_on: date
    as_of: date

    @property
    def days_overdue(self) -> int:
        return (self.as_of - self.due_on).days


def overdue_training(
    user_ids: list[int] | None, *, today: date | None = None
) -> list[OverdueTraining]:
    """List trained-role users whose onboarding or refresher was overdue on ``today``.

    Onboarding is due ONBOARDING_DUE_DAYS after joining, and a refresher
    REFRESHER_INTERVAL_DAYS after the latest onboarding or refresher. For a past day,
    only the users who had joined and the training completed by then count.
    """
    today = today or local_today()
    user_model = get_user_model()
    trained = user_model.objects.filter(groups__name__in=TRAINED_ROLES).values("pk")
    completed = Q(training_records__completed_on__lte=today)
    users = _scoped(
        user_model.objects.filter(
            is_active=True, pk__in=trained, date_joined__lt=start_of_day(today + timedelta(days=1))
        ),
        "pk",
        user_ids,
    ).annotate(
        onboarded_on=Max(
            "training_records__completed_on",
            filter=completed & Q(training_records__kind=TrainingRecord.Kind.ONBOARDING),
        ),
        last_training_on=Max("training_records__completed_on", filter=completed),
    )
    overdue = []
    for user in users.order_by("username"):
        name = display_name(user.first_name, user.last_name, user.get_username())
        if user.onboarded_on is None:
            joined = user.date_joined.astimezone(team_zone()).date()
            due_on = joined + timedelta(days=ONBOARDING_DUE_DAYS)
            kind = TrainingRecord.Kind.ONBOARDING
        else:
            due_on = user.last_training_on + timedelta(days=REFRESHER_INTERVAL_DAYS)
            kind = TrainingRecord.Kind.REFRESHER
        if due_on < today:
            overdue.append(OverdueTraining(user.pk, name, kind, due_on, today))
    return overdue


def training_records(
    user: User,
    *,
    person_id: int | None = None,
    manager_id: int | None = None,
    kind: str = "",
    period: Period | None = None,
    user_ids: list[int] | None = None,
) -> QuerySet[TrainingRecord]:
    """Return the training records of the people ``user`` may see, newest first.

    A Sales Manager sees their team's records, Sales Ops, Leadership and superusers
    everyone's. ``manager_id`` keeps the records of the people who report to that
    manager, ``period`` those completed on its dates, and ``user_ids`` those of the
    listed people, such as the ones overdue. Each record has ``team_name``, the name of
    its person's manager ("" without one).
    """
    manager = "user__profile__manager__"
    full_name = Trim(Concat(F(f"{manager}first_name"), Value(" "), F(f"{manager}last_name")))
    records = TrainingRecord.objects.select_related("user", "recorded_by").annotate(
        team_name=Coalesce(NullIf(full_name, Value("")), F(f"{manager}username"), Value(""))
    )
    records = _scoped(records, "user_id", findings_scope(user))
    if person_id is not None:
        records = records.filter(user_id=person_id)
    if manager_id is not None:
        records = records.filter(user__profile__manager_id=manager_id)
    if kind:
        records = records.filter(kind=kind)
    if period is not None:
        records = records.filter(
            completed_on__gte=period.first_day, completed_on__lte=period.last_day
        )
    if user_ids is not None:
        records = records.filter(user_id__in=user_ids)
    return records.order_by("-completed_on", "-id")


def training_people(user: User) -> QuerySet:
    """Return the people ``user`` may see who have a training record or a trained role."""
    people = get_user_model().objects.filter(
        Q(groups__name__in=TRAINED_ROLES) | Q(training_records__isnull=False)
    )
    return _scoped(people, "pk", findings_scope(user)).distinct().order_by("username")


def training_managers(user: User) -> QuerySet:
    """Return the managers of the teams whose training records ``user`` may see."""
    people = training_people(user).values("pk")
    manager_ids = UserProfile.objects.filter(user_id__in=people).values("manager_id")
    return get_user_model().objects.filter(pk__in=manager_ids).order_by("username")


def audit_runs() -> QuerySet[AuditRun]:
    return AuditRun.objects.select_related("triggered_by").order_by("-month")


# Quarterly review.


def segment_snapshot(at: Any, field_name: str) -> dict[str, int]:
    """Count accounts per tier or tag of their latest ScoreRecord created before ``at``.

    ScoreRecords are only appended, so the highest id per account is its latest record.
    """
    latest = (
        ScoreRecord.objects.filter(created_at__lt=at)
        .values("account_id")
        .annotate(latest_id=Max("id"))
        .values("latest_id")
    )
    rows = (
        ScoreRecord.objects.filter(id__in=latest)
        .values_list(field_name)
        .annotate(total=Count("id"))
        .order_by()
    )
    return {value or NO_VALUE: total for value, total in rows}


@dataclass
class DriftRow:
    value: str
    start: int
    end: int

    @property
    def change(self) -> int:
        return self.end - self.start


def segment_drift(
    period: Period, at_end: Any, field_name: str, *, limit: int | None = None
) -> list[DriftRow]:
    start = segment_snapshot(period.start, field_name)
    end = segment_snapshot(at_end, field_name)
    rows = [
        DriftRow(value, start.get(value, 0), end.get(value, 0))
        for value in sorted(set(start) | set(end))
    ]
    if limit is not None:
        rows = sorted(rows, key=lambda row: (-abs(row.change), row.value))[:limit]
    return rows


def frameworks_approved(period: Period) -> QuerySet[Framework]:
    return (
        Framework.objects.filter(approved_at__gte=period.start, approved_at__lt=period.end)
        .select_related("approved_by")
        .order_by("approved_at")
    )


def accuracy_by_rep(period: Period, user_ids: list[int] | None) -> list[RepAccuracy]:
    """Return each rep's review decisions made in the period."""
    decided = ReviewItem.objects.filter(decided_at__gte=period.start, decided_at__lt=period.end)
    rows = (
        _scoped(with_tag_setter(decided), "rep_id", user_ids)
        .values("rep_id", "rep__username", "rep__first_name", "rep__last_name")
        .annotate(**accuracy_counts())
        .order_by("rep__username")
    )
    return [_rep_accuracy(row) for row in rows]


def active_users() -> QuerySet:
    """Return every active user by username, for filter choices."""
    return get_user_model().objects.filter(is_active=True).order_by("username")


def trail_users(user_ids: list[int] | None = None) -> QuerySet:
    """Return the users whose changes a trail scope includes, active first, for its filter.

    ``user_ids`` is the scope of ``TrailFilter.user_ids``: None lists every user. A team
    lists its members and the authors of changes to their accounts, findings and training
    records, the rows that scope shows of other people. A deactivated user's changes stay
    in the trail, and pulling a departed rep's history is a governance task, so they stay
    choosable.
    """
    from .trail import trail_subject_authors

    users = get_user_model().objects.order_by("-is_active", "username")
    if user_ids is None:
        return users
    visible = Q(pk__in=user_ids)
    for authors in trail_subject_authors(user_ids):
        visible |= Q(pk__in=authors)
    return users.filter(visible)
