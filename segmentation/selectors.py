"""Read queries of the segmentation app."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, QuerySet, Subquery

from accounts.models import Account
from accounts.normalizers import industry_key

from .authors import framework_edits, framework_submissions
from .engine import caseless_key
from .models import (
    Criterion,
    Dimension,
    Framework,
    FrameworkRevision,
    FrameworkStatus,
    Industry,
    SegmentationRun,
)


class NoActiveFrameworkError(LookupError):
    """No framework version is approved, so there is nothing to score accounts against."""


def framework_get_active() -> Framework:
    """Return the approved framework; raise NoActiveFrameworkError when there is none."""
    framework = Framework.objects.filter(status=FrameworkStatus.APPROVED).first()
    if framework is None:
        raise NoActiveFrameworkError(
            "No framework version is approved: approve one in the admin under "
            "Segmentation > Frameworks, or pass a framework explicitly."
        )
    return framework


def framework_active_at(moment: datetime) -> Framework:
    """Return the version that was active just before ``moment``, by approval dates.

    Approving a version retires the previous one, so the version active at a moment is the
    latest one approved before it, whatever its status today. When no version was approved
    before ``moment``, the earliest approved version is returned: migration
    ``segmentation.0003`` approves version 1 on the day it runs, and accounts dated before
    that day were scored by it. Raise NoActiveFrameworkError when no version was ever
    approved.
    """
    approved = Framework.objects.filter(approved_at__isnull=False)
    framework = approved.filter(approved_at__lt=moment).order_by("-approved_at", "-id").first()
    if framework is None:
        framework = approved.order_by("approved_at", "id").first()
    if framework is None:
        raise NoActiveFrameworkError(
            "No framework version has been approved: approve one in the admin under "
            "Segmentation > Frameworks."
        )
    return framework


# Run kinds that score every account with the version, as its approval does.
FULL_RUN_KINDS = (
    SegmentationRun.Kind.APPROVAL,
    SegmentationRun.Kind.QUARTERLY,
    SegmentationRun.Kind.FULL,
)


def framework_list() -> QuerySet[Framework]:
    """Return every version, newest first, with people and the ids of its latest runs.

    ``latest_run_id`` is the version's newest run of any kind, such as one over the
    accounts that a research note changed. ``full_run_id`` and ``full_run_kind`` are those
    of its newest run over every account (FULL_RUN_KINDS), such as its approval's run.
    """
    runs = SegmentationRun.objects.filter(framework=OuterRef("pk")).order_by("-created_at", "-id")
    full_runs = runs.filter(kind__in=FULL_RUN_KINDS)
    return (
        Framework.objects.order_by("-version")
        .select_related("submitted_by", "approved_by", "created_by", "based_on")
        .annotate(
            latest_run_id=Subquery(runs.values("id")[:1]),
            full_run_id=Subquery(full_runs.values("id")[:1]),
            full_run_kind=Subquery(full_runs.values("kind")[:1]),
        )
    )


def framework_get_by_version(version: int) -> Framework:
    """Return the version or raise Framework.DoesNotExist."""
    return Framework.objects.get(version=version)


def revision_list() -> QuerySet[FrameworkRevision]:
    """Return the revision register, newest first, with the people involved."""
    return FrameworkRevision.objects.select_related("author", "approver").order_by(
        "-created_at", "-id"
    )


def revisions_with_people(revisions: list[Any]) -> list[Any]:
    """Set on each register entry the people who wrote its version and who acted.

    ``version_author`` is the user who created the version. ``editors`` are the other
    users who edited it up to the entry's date (``authors.framework_edits``), in the
    order of their first edit. ``submitters`` are the users who submitted it up to the
    entry's date, before a return to draft too (``authors.framework_submissions``), in
    the order of their first submission. ``version_approver`` is who approved the
    version: the entry's approver for an approval, and the version's own approver for a
    retirement, whose stored approver approved the version that replaced it. ``action_by``
    is who submitted the version or returned it to draft, and the approver for an approval
    or retirement. Entries that are not FrameworkRevision rows, such as InitialApproval,
    are left as they are. Returns ``revisions``.
    """
    entries = [entry for entry in revisions if isinstance(entry, FrameworkRevision)]
    framework_ids = {entry.framework_id for entry in entries}
    people = Framework.objects.filter(pk__in=framework_ids).values_list(
        "pk", "created_by_id", "approved_by_id"
    )
    creators = {pk: creator_id for pk, creator_id, _approver_id in people}
    approvers = {pk: approver_id for pk, _creator_id, approver_id in people}
    edits = framework_edits(framework_ids)
    submissions = framework_submissions(framework_ids)
    user_ids = {user_id for user_id in creators.values() if user_id is not None}
    user_ids |= {user_id for user_id in approvers.values() if user_id is not None}
    user_ids |= {edit.user_id for version_edits in edits.values() for edit in version_edits}
    user_ids |= {
        submission.user_id
        for version_submissions in submissions.values()
        for submission in version_submissions
    }
    users = get_user_model().objects.in_bulk(user_ids)
    for entry in entries:
        creator_id = creators.get(entry.framework_id)
        editor_ids = [
            edit.user_id
            for edit in edits.get(entry.framework_id, [])
            if edit.changed_at <= entry.created_at and edit.user_id != creator_id
        ]
        submitter_ids = [
            submission.user_id
            for submission in submissions.get(entry.framework_id, [])
            if submission.submitted_at <= entry.created_at
        ]
        entry.version_author = users.get(creator_id)
        entry.editors = [users[user_id] for user_id in dict.fromkeys(editor_ids)]
        entry.submitters = [users[user_id] for user_id in dict.fromkeys(submitter_ids)]
        retired = entry.action == FrameworkRevision.Action.RETIRED
        approval = retired or entry.action == FrameworkRevision.Action.APPROVED
        entry.action_by = entry.approver if approval else entry.author
        if retired:
            entry.version_approver = users.get(approvers.get(entry.framework_id))
        else:
            entry.version_approver = entry.approver
    return revisions


@dataclass(frozen=True)
class InitialApproval:
    """The register row of version 1, which migration 0003 created approved.

    The version was never submitted through the workflow, so no FrameworkRevision exists
    for it. The register shows this row from the version itself, as its oldest entry.
    """

    framework: Framework
    created_at: datetime
    version: int
    summary: str = "Initial version, approved when the portal was installed."
    author: None = None
    approver: None = None
    version_author: None = None
    version_approver: None = None
    editors: tuple = ()
    submitters: tuple = ()
    action_by: None = None

    def get_action_display(self) -> str:
        return FrameworkRevision.Action.APPROVED.label


def revision_initial_approval() -> InitialApproval | None:
    """Return the register row of version 1's initial approval, or None without one."""
    framework = Framework.objects.filter(version=1).first()
    if framework is None or not framework.from_initial_setup or framework.approved_at is None:
        return None
    approved = FrameworkRevision.objects.filter(
        framework=framework, action=FrameworkRevision.Action.APPROVED
    )
    if approved.exists():
        return None
    return InitialApproval(
        framework=framework, created_at=framework.approved_at, version=framework.version
    )


def industry_criteria_locked(name: str, *, industry_pk: int | None = None) -> list[Criterion]:
    """Return the criteria of versions that are not drafts which name the industry ``name``.

    Criteria store industries by name, which the engine matches ignoring case and Unicode
    normalization (``engine.caseless_key``), so renaming or deleting such an industry
    would make those versions fail to compile.
    When an industry other than ``industry_pk`` has the same name ignoring case (a
    duplicate saved before names had to differ), those criteria keep matching it, so
    none lock the industry ``industry_pk`` and the list is empty.
    """
    expected = caseless_key(name)
    if industry_pk is not None:
        others = Industry.objects.exclude(pk=industry_pk).values_list("name", flat=True)
        if any(caseless_key(other) == expected for other in others):
            return []
    criteria = (
        Criterion.objects.filter(dimension=Dimension.INDUSTRY)
        .exclude(framework__status=FrameworkStatus.DRAFT)
        .select_related("framework")
        .order_by("framework__version", "position", "id")
    )
    return [
        criterion
        for criterion in criteria
        if isinstance(criterion.values, list)
        and any(caseless_key(str(value)) == expected for value in criterion.values)
    ]


def industry_locked_message(name: str, criteria: list[Criterion], action: str, fix: str) -> str:
    """Return why the industry ``name`` cannot be changed, naming the criteria that use it.

    ``action`` completes "cannot be ..." and ``fix`` is the next step to suggest.
    """
    uses = "; ".join(
        f"criterion {str(criterion)!r} of framework v{criterion.framework.version} "
        f"({criterion.framework.get_status_display().lower()})"
        for criterion in criteria
    )
    return (
        f"Industry {name!r} cannot be {action}, because versions that are not drafts name it "
        f"in their criteria and cannot change: {uses}. {fix}"
    )


def unmapped_industry_values() -> list[dict[str, Any]]:
    """Return raw industry values of accounts without a canonical industry, grouped by key.

    Values that share a lookup key (``industry_key``), such as "Crypto / Web3" and
    "crypto/web3", map together, so they form one group. One GROUP BY query. Each group is
    ``{"industry_raw": its most frequent value, "variants": [(value, accounts), ...],
    "accounts": n}``, largest first. A value without letters or digits has no key, so it
    stays a group of its own.
    """
    rows = (
        Account.objects.filter(industry__isnull=True)
        .exclude(industry_raw="")
        .values_list("industry_raw")
        .annotate(accounts=Count("id"))
        .order_by("-accounts", "industry_raw")
    )
    groups: dict[str, dict[str, Any]] = {}
    for value, accounts in rows:
        key = industry_key(value) or f"raw:{value}"
        group = groups.setdefault(key, {"industry_raw": value, "variants": [], "accounts": 0})
        group["variants"].append((value, accounts))
        group["accounts"] += accounts
    return sorted(groups.values(), key=lambda group: (-group["accounts"], group["industry_raw"]))


def accounts_without_industry_count() -> int:
    """Return the number of accounts with neither a canonical industry nor a raw value."""
    return Account.objects.filter(industry__isnull=True, industry_raw="").count()
