"""The workflow of framework versions: draft → submitted → approved (active) → retired.

Every transition is a service here, used by the admin, the pages and the API alike. Each
checks the user's role with ``accounts.permissions`` and raises PermissionDenied or
FrameworkLifecycleError with a message naming the next step.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Case, Model, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from simple_history.utils import bulk_create_with_history

from accounts import permissions
from accounts.normalizers.text import normalize_line_breaks
from accounts.selectors import user_label

from .authors import WORKFLOW_FIELDS, framework_contributions, framework_edits
from .engine import CompiledFramework, FrameworkError
from .models import (
    UNAPPROVED_STATUSES,
    Criterion,
    Framework,
    FrameworkRevision,
    FrameworkStatus,
    GeographyMapping,
    SegmentationRun,
    SizeBand,
)
from .overrides import tag_override_rewrite_plan, tag_overrides_rewrite
from .validation import (
    ROUTE_FIELDS,
    framework_errors,
    geography_label_errors,
    geography_row_errors,
    hidden_character_error,
    hidden_value_errors,
    size_band_name_errors,
    size_band_overlaps,
    size_band_range_errors,
)

logger = logging.getLogger(__name__)


class FrameworkLifecycleError(ValueError):
    """A transition that the version's status or settings do not allow."""


def status_refusal(framework: Framework, action: str, allowed: str) -> str:
    """Return the message that the version's status does not allow ``action``.

    For example "Framework v2 is approved (active), so it cannot be submitted: only a draft
    can." ``allowed`` names the versions that allow it.
    """
    status = framework.get_status_display().lower()
    return (
        f"Framework v{framework.version} is {status}, so it cannot be {action}: only {allowed} can."
    )


def submit_rejection_message(framework: Framework) -> str:
    """Return why a version that is not a draft cannot be submitted, with the next step.

    A submitted version is usually one submitted a moment ago, by a second click or in
    another tab, so the message states that it waits for approval.
    """
    if framework.status == FrameworkStatus.SUBMITTED:
        return (
            f"Framework v{framework.version} is already submitted and waits for Sales "
            "Leadership's approval. To change it, return it to draft in the admin."
        )
    return status_refusal(framework, "submitted", "a draft") + " Create a draft from it instead."


def submission_stamp(framework: Framework) -> str:
    """Return the version's submission time as ISO 8601, which an approve form sends back."""
    return framework.submitted_at.isoformat() if framework.submitted_at else ""


def edit_stamp(framework: Framework) -> str:
    """Return the version's last save time as ISO 8601, which a change form sends back."""
    return framework.updated_at.isoformat() if framework.updated_at else ""


class FrameworkStaleEditError(FrameworkLifecycleError):
    """The version was saved by someone else after the change form was opened."""


# The change form of a version came without a valid edit_stamp, as a form from an older page
# or a hand-made request may.
EDIT_STAMP_MISSING_MESSAGE = (
    "This form does not say when the version was opened, so your changes were not saved: "
    "reload the page, then make them again."
)


def _parse_stamp(loaded_at: str) -> datetime | None:
    try:
        return parse_datetime(loaded_at or "")
    except ValueError:
        return None


def _stale_edit_message(
    framework: Framework, since: datetime, user: AbstractBaseUser | None
) -> str:
    latest = (
        framework.history.filter(updated_at__gt=since)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")
        .first()
    )
    author, when = "Someone else", ""
    if latest is not None:
        saved_by = latest.history_user
        if saved_by is not None and user is not None and saved_by.pk == user.pk:
            author = "You (in another tab or window)"
        elif saved_by is not None:
            author = user_label(saved_by)
        when = " at " + timezone.localtime(latest.history_date).strftime("%Y-%m-%d %H:%M %Z")
    return (
        f"{author} changed draft v{framework.version}{when}, after you opened this page, so "
        "your changes were not saved. Reload the page to see their changes, then make yours "
        "again."
    )


def framework_edit_check(
    *, framework: Framework, loaded_at: str, user: AbstractBaseUser | None = None
) -> None:
    """Lock the version and raise FrameworkStaleEditError unless it is as it was loaded.

    ``loaded_at`` is the ``edit_stamp`` that the change form was opened with. The row lock
    lasts until the end of the caller's transaction, so of two forms opened at the same
    stamp and saved at the same time, the second waits for the first and is rejected.
    Inline parts (criteria, size bands) are saved in that transaction too, and the
    version's ``updated_at`` changes with every save of its change form. The message names
    who saved the version last, and when, from its history; "You" when that was ``user``.
    """
    current = _locked(framework)
    since = _parse_stamp(loaded_at)
    if since is None or timezone.is_naive(since):
        raise FrameworkStaleEditError(EDIT_STAMP_MISSING_MESSAGE)
    # Compared as instants, because the same time may be written with another UTC offset.
    if since == current.updated_at:
        return
    raise FrameworkStaleEditError(_stale_edit_message(current, since, user))


def framework_next_version() -> int:
    """Return max(version) + 1, locking the table so two drafts cannot share a number.

    Call inside a transaction, and insert the version in it. Locking the existing rows is
    not enough: a draft that another request inserts meanwhile is not one of them, so both
    requests would read the same maximum. On PostgreSQL the lock mode blocks other writers
    of the table, and itself, until the transaction ends, while reads go on. SQLite
    allows one writer at a time anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"LOCK TABLE {connection.ops.quote_name(Framework._meta.db_table)}"
                " IN SHARE ROW EXCLUSIVE MODE"
            )
    versions = list(Framework.objects.select_for_update().values_list("version", flat=True))
    return max(versions, default=0) + 1


def framework_check(framework: Framework) -> list[str]:
    """Return every reason the version cannot be submitted or approved, or an empty list."""
    criteria = list(framework.criteria.all())
    errors = framework_errors(
        high_tier_min_score=framework.high_tier_min_score,
        medium_tier_min_score=framework.medium_tier_min_score,
        tag_template=framework.tag_template,
        criteria=criteria,
        routes={field: getattr(framework, field) for field in ROUTE_FIELDS},
        unmapped_geography_label=framework.unmapped_geography_label,
    )
    messages = [message for field_errors in errors.values() for message in field_errors]
    messages += _saved_text_errors(framework, criteria)
    bands = list(framework.size_bands.all())
    for band in bands:
        band_errors = size_band_range_errors(band).values()
        messages += [message for field_errors in band_errors for message in field_errors]
    messages += size_band_name_errors(bands)
    messages += size_band_overlaps(bands)
    if not criteria:
        messages.append("The version has no criteria: add at least one in the admin.")
    if not messages:
        try:
            CompiledFramework.compile(framework)
        except FrameworkError as error:
            messages.append(str(error))
    return messages


def _saved_text_errors(framework: Framework, criteria: list[Criterion]) -> list[str]:
    """Check the saved criteria and geography map for hidden characters and label spellings.

    The admin form checks them before saving, so this catches rows that a script or an
    older version of the portal saved.
    """
    messages = []
    for criterion in criteria:
        label_error = hidden_character_error(criterion.label, "The criterion label")
        if label_error:
            messages.append(label_error)
        for problem in hidden_value_errors(criterion.values):
            messages.append(f"Criterion {criterion.label!r}: {problem}")
    mappings = framework.geography_mappings.order_by("country")
    rows = list(mappings.values_list("country", "region", "label"))
    for country, region, label in rows:
        messages += geography_row_errors(country, region, label)
    messages += geography_label_errors(
        ((label, f"the geography map's row for {country}") for country, _region, label in rows),
        framework.unmapped_geography_label,
    )
    return messages


# Framework fields that describe a version's place in the approval lifecycle, not its rules.
# A draft copy starts them afresh; every other field, including fields added later, is copied.
# The copy gets its own name too, although a change of name counts as an edit.
FRAMEWORK_LIFECYCLE_FIELDS = WORKFLOW_FIELDS | {"name"}


def _field_values(instance: Model, skip: frozenset[str]) -> dict[str, Any]:
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.name not in skip
    }


def framework_copy_rejection(source: Framework) -> str:
    """Return why a draft copied from ``source`` could never be approved, or "".

    ``framework_outdated_reason`` rejects every copy of a version other than the active
    one, so only the active version is copied while one is approved. With no approved
    version, any version may be copied.
    """
    active = Framework.objects.filter(status=FrameworkStatus.APPROVED).only("pk", "version").first()
    if active is None or active.pk == source.pk:
        return ""
    status = source.get_status_display().lower()
    if source.status == FrameworkStatus.RETIRED or framework_outdated_reason(source):
        # A draft that is itself outdated cannot be submitted, so changing it is no way out.
        next_step = older_settings_hint(source, active)
    else:
        next_step = (
            f"Change v{source.version} itself, or create a draft from v{active.version} instead."
        )
    return (
        f"Framework v{source.version} is {status}, so a draft copied from it could never be "
        f"approved: approving it would undo the changes of the active v{active.version}. "
        f"{next_step}"
    )


def older_settings_hint(source: Framework, active: Framework) -> str:
    """Return how to bring back settings of ``source`` through a draft of ``active``."""
    return (
        f"To bring back settings of v{source.version}, create a draft from "
        f"v{active.version}, change it to the settings of v{source.version} (its admin "
        f"page shows them), then submit it: its impact preview lists every setting that "
        f"differs from v{active.version}."
    )


class FrameworkOpenCopyError(FrameworkLifecycleError):
    """A draft or submitted copy of the source is already open, so no other was created."""

    def __init__(self, message: str, open_copy: Framework) -> None:
        super().__init__(message)
        self.open_copy = open_copy


def framework_open_copy(source: Framework) -> Framework | None:
    """Return the newest draft or submitted copy of ``source`` that could still be approved.

    A copy made before ``source`` was approved is left out: ``framework_outdated_reason``
    rejects it, so continuing there would lose the work as well.
    """
    copies = Framework.objects.filter(based_on=source, status__in=UNAPPROVED_STATUSES)
    if source.approved_at is not None:
        copies = copies.filter(created_at__gte=source.approved_at)
    return copies.select_related("created_by", "submitted_by").order_by("-version").first()


def _minute_text(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def open_copy_message(copy: Framework) -> str:
    """Return "Draft v2 is already open, by NAME, edited WHEN." for an open copy.

    NAME and WHEN are the copy's last edit (``authors.framework_edits``), else its
    creation. A save that changes only lifecycle fields, such as a return to draft, is
    not an edit, so the person who sent the draft back is not named as its editor. When
    the draft was sent back to draft after its last edit, a second sentence names who
    sent it back, when, and their reason. A submitted copy is named with its submitter
    and submission time instead.
    """
    if copy.status == FrameworkStatus.SUBMITTED:
        author, when, state = copy.submitted_by, copy.submitted_at, "submitted"
        opening = f"Framework v{copy.version} is already submitted for approval"
    else:
        edits = framework_edits([copy.pk]).get(copy.pk, [])
        author, when = copy.created_by, copy.created_at
        if edits:
            last_edit = edits[-1]
            author = get_user_model().objects.filter(pk=last_edit.user_id).first()
            when = last_edit.changed_at
        state = "edited"
        opening = f"Draft v{copy.version} is already open"
    by = f", by {user_label(author)}" if author is not None else ""
    at = f", {state} {_minute_text(when)}" if when is not None else ""
    message = f"{opening}{by}{at}."
    if copy.status == FrameworkStatus.DRAFT:
        message += _sent_back_text(copy, edited_at=when)
    return message


def _sent_back_text(draft: Framework, *, edited_at: datetime | None) -> str:
    """Return " It was sent back to draft by NAME on WHEN: REASON." or "".

    Only a return that is the draft's latest register entry and came after its last
    edit is named, because an edit since then may already answer the reason.
    """
    latest = draft.revisions.select_related("author").order_by("-created_at", "-id").first()
    if latest is None or latest.action != FrameworkRevision.Action.RETURNED:
        return ""
    if edited_at is not None and latest.created_at < edited_at:
        return ""
    by = f" by {user_label(latest.author)}" if latest.author is not None else ""
    text = f" It was sent back to draft{by} on {_minute_text(latest.created_at)}"
    if not latest.summary.startswith(RETURN_REASON_PREFIX):
        # Sales Ops may return a version without a reason.
        return f"{text}."
    reason = latest.summary.removeprefix(RETURN_REASON_PREFIX)
    ending = "" if reason.endswith((".", "!", "?")) else "."
    return f"{text}: {reason}{ending}"


@transaction.atomic
def framework_draft_create(
    *,
    source: Framework,
    user: AbstractBaseUser | None,
    name: str = "",
    summary: str = "",
    allow_parallel: bool = False,
) -> Framework:
    """Copy a version with its criteria, size bands and geography map into a new draft.

    The draft gets version max + 1 and ``based_on`` the source. Raises PermissionDenied
    unless the user may edit frameworks (Sales Ops), FrameworkLifecycleError when the
    source is not the active version (see ``framework_copy_rejection``), and
    FrameworkOpenCopyError when a draft or submitted copy of the source is already open
    (see ``framework_open_copy``), unless ``allow_parallel`` is set. Approving one of two
    parallel copies makes the other outdated, so a second copy needs that confirmation.
    """
    if user is not None and not permissions.can_edit_framework(user):
        raise PermissionDenied("Only Sales Ops can create a framework draft.")
    rejection = framework_copy_rejection(source)
    if rejection:
        raise FrameworkLifecycleError(rejection)
    # The table lock of framework_next_version also serializes this check, so two requests
    # at once cannot both find no open copy.
    version = framework_next_version()
    open_copy = None if allow_parallel else framework_open_copy(source)
    if open_copy is not None:
        raise FrameworkOpenCopyError(open_copy_message(open_copy), open_copy)
    draft = Framework.objects.create(
        **_field_values(source, FRAMEWORK_LIFECYCLE_FIELDS),
        version=version,
        name=name or source.name,
        status=FrameworkStatus.DRAFT,
        summary=summary,
        based_on=source,
        created_by=user,
    )
    skip = frozenset({"id", "framework"})
    for model in (Criterion, SizeBand, GeographyMapping):
        copies = [
            model(framework=draft, **_field_values(item, skip))
            for item in model.objects.filter(framework=source).order_by("pk")
        ]
        if copies:
            bulk_create_with_history(copies, model, default_user=user)
    logger.info(
        "Framework v%s created as a draft from v%s by user %s",
        draft.version,
        source.version,
        getattr(user, "pk", None),
    )
    return draft


def _revision_add(
    framework: Framework,
    action: str,
    summary: str,
    *,
    author: AbstractBaseUser | None,
    approver: AbstractBaseUser | None = None,
) -> None:
    """Append one entry of the revision register for the version."""
    FrameworkRevision.objects.create(
        framework=framework,
        version=framework.version,
        action=action,
        summary=summary,
        author=author,
        approver=approver,
    )


def _locked(framework: Framework) -> Framework:
    return Framework.objects.select_for_update().get(pk=framework.pk)


def framework_outdated_reason(framework: Framework) -> str:
    """Return why approving the version could undo changes of the active version, or "".

    A version copied from v3 still has v3's settings. If v4 was approved since, approving
    the copy would silently revert v4's changes. A copy of the active version made before
    that version was approved may lack its last changes too, because a draft can change
    until it is submitted.
    """
    if framework.based_on_id is None or framework.status not in UNAPPROVED_STATUSES:
        return ""
    active = (
        Framework.objects.filter(status=FrameworkStatus.APPROVED)
        .exclude(pk=framework.pk)
        .only("pk", "version", "approved_at")
        .first()
    )
    if active is None:
        return ""
    if active.pk == framework.based_on_id:
        if active.approved_at is None or framework.created_at >= active.approved_at:
            return ""
        return (
            f"Framework v{framework.version} was copied from v{active.version} before "
            f"v{active.version} was approved, so it may lack changes made to "
            f"v{active.version} since, and approving it could undo them. Create a new draft "
            f"from v{active.version} and make the changes of v{framework.version} there."
        )
    base_version = framework.based_on.version
    return (
        f"Framework v{framework.version} was copied from v{base_version}, but v{active.version} "
        f"is the active version now, so approving v{framework.version} would undo the "
        f"changes of v{active.version}. Create a new draft from v{active.version} and make "
        f"the changes of v{framework.version} there."
    )


RETURN_REASON_MAX_LENGTH = 1000

# Starts the register summary of a return with a reason, so the reason can be found again.
RETURN_REASON_PREFIX = "Reason for return: "

# simple_history stores the change reason in a 100-character column.
_HISTORY_REASON_MAX_LENGTH = 100


def _return_reason_check(reason: str, user: AbstractBaseUser) -> str:
    """Return the normalized reason, or raise FrameworkLifecycleError when it is invalid."""
    reason = normalize_line_breaks(reason or "").strip()
    if not reason and not permissions.can_edit_framework(user):
        raise FrameworkLifecycleError(
            "The reason is missing: say what Sales Ops must change before the version is "
            "submitted again."
        )
    if len(reason) > RETURN_REASON_MAX_LENGTH:
        raise FrameworkLifecycleError(
            f"The reason has {len(reason):,} characters, more than the maximum of "
            f"{RETURN_REASON_MAX_LENGTH:,}: shorten it."
        )
    return reason


def with_return_reason(frameworks: QuerySet[Framework]) -> QuerySet[Framework]:
    """Annotate ``return_reason``: the reason a version was last sent back with, or "".

    Only the version's latest register entry counts, so a reason of an earlier return
    is not shown after the version was submitted again. One query reads the reasons of
    every version.
    """
    latest = FrameworkRevision.objects.filter(framework=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    returned_with_reason = When(
        latest_revision_action=FrameworkRevision.Action.RETURNED,
        latest_revision_summary__startswith=RETURN_REASON_PREFIX,
        then=Substr("latest_revision_summary", len(RETURN_REASON_PREFIX) + 1),
    )
    return frameworks.annotate(
        latest_revision_action=Subquery(latest.values("action")[:1]),
        latest_revision_summary=Subquery(latest.values("summary")[:1]),
    ).annotate(return_reason=Case(returned_with_reason, default=Value("")))


@transaction.atomic
def framework_return_to_draft(
    *, framework: Framework, user: AbstractBaseUser, reason: str = ""
) -> Framework:
    """Return a submitted version to draft, so Sales Ops can change it before approval.

    Sales Ops may return it without a reason. Sales Leadership send it back with a
    required ``reason`` (at most RETURN_REASON_MAX_LENGTH characters), which becomes the
    summary of the register entry and the change reason of the audit history.

    Raises PermissionDenied unless the user is Sales Ops or Sales Leadership, and
    FrameworkLifecycleError when the version is not submitted or the reason is invalid.
    """
    if not (permissions.can_edit_framework(user) or permissions.can_approve_framework(user)):
        raise PermissionDenied(
            "Only Sales Ops and Sales Leadership can return a framework version to draft."
        )
    reason = _return_reason_check(reason, user)
    framework = _locked(framework)
    if framework.status != FrameworkStatus.SUBMITTED:
        raise FrameworkLifecycleError(
            status_refusal(framework, "returned to draft", "a submitted version")
        )
    framework.status = FrameworkStatus.DRAFT
    framework.submitted_by = None
    framework.submitted_at = None
    # The audit history names the user even when no request middleware sets one.
    framework._history_user = user
    if reason:
        change_reason = f"Returned to draft: {reason}"
        # NOTE: the audit history keeps only the first 100 characters, but the revision
        # register keeps the whole reason.
        framework._change_reason = change_reason[:_HISTORY_REASON_MAX_LENGTH]
    framework.save(update_fields=["status", "submitted_by", "submitted_at", "updated_at"])
    summary = f"{RETURN_REASON_PREFIX}{reason}" if reason else framework.summary
    _revision_add(framework, FrameworkRevision.Action.RETURNED, summary, author=user)
    logger.info("Framework v%s returned to draft by user %s", framework.version, user.pk)
    return framework


def unchanged_copy_message(framework: Framework) -> str:
    """Return why a copy with the same settings as its source cannot be submitted, or "".

    The comparison is the impact preview's list of changed settings
    (``diff.framework_settings_diff``), so a new name or summary of changes alone is no
    change. A version not copied from another is never rejected here.
    """
    from .diff import framework_settings_diff

    source = framework.based_on
    if source is None or framework_settings_diff(framework, source):
        return ""
    return (
        f"Framework v{framework.version} cannot be submitted: nothing changed since it was "
        f"copied from v{source.version}, so approving it would change nothing. Change "
        "its settings, criteria, size bands or geography map in the admin first, or delete "
        "the draft in the admin if it is no longer needed."
    )


@transaction.atomic
def framework_submit(
    *,
    framework: Framework,
    user: AbstractBaseUser,
    summary: str,
) -> Framework:
    """Submit a draft for approval with its summary of changes.

    Raises PermissionDenied unless the user is Sales Ops, and FrameworkLifecycleError when
    the version is not a draft, the summary is empty, the settings are invalid or they
    equal those of the version it was copied from (``unchanged_copy_message``).
    """
    if not permissions.can_edit_framework(user):
        raise PermissionDenied("Only Sales Ops can submit a framework version.")
    summary = normalize_line_breaks(summary or "").strip()
    if not summary:
        raise FrameworkLifecycleError(
            "The summary of changes is empty: describe what this version changes before "
            "submitting it."
        )
    framework = _locked(framework)
    if framework.status != FrameworkStatus.DRAFT:
        raise FrameworkLifecycleError(submit_rejection_message(framework))
    outdated = framework_outdated_reason(framework)
    if outdated:
        raise FrameworkLifecycleError(outdated)
    problems = framework_check(framework)
    if problems:
        raise FrameworkLifecycleError(
            f"Framework v{framework.version} cannot be submitted: " + " ".join(problems)
        )
    unchanged = unchanged_copy_message(framework)
    if unchanged:
        raise FrameworkLifecycleError(unchanged)
    now = timezone.now()
    framework.status = FrameworkStatus.SUBMITTED
    framework.summary = summary
    framework.submitted_by = user
    framework.submitted_at = now
    framework.save(
        update_fields=["status", "summary", "submitted_by", "submitted_at", "updated_at"]
    )
    _revision_add(framework, FrameworkRevision.Action.SUBMITTED, summary, author=user)
    logger.info("Framework v%s submitted by user %s", framework.version, user.pk)
    return framework


def framework_second_approver_reason(framework: Framework, user: AbstractBaseUser) -> str:
    """Return why ``user`` may not approve the version, or "".

    Only with ``ICP_FRAMEWORK_SECOND_APPROVER`` on: then nobody who created, edited or
    submitted the version may approve it (``authors.framework_contributions``), even a
    member of both Sales Ops and Sales Leadership. The pages and the admin hide that
    user's approve button and show this reason in its place.
    """
    if not settings.ICP_FRAMEWORK_SECOND_APPROVER:
        return ""
    done = framework_contributions(framework).get(user.pk)
    if not done:
        return ""
    actions = done[0] if len(done) == 1 else ", ".join(done[:-1]) + " and " + done[-1]
    return (
        f"You {actions} framework v{framework.version}, and a second approver is required: "
        "ask a member of Sales Leadership who did not create, edit or submit it."
    )


def _submission_check(framework: Framework, submitted_at: str) -> None:
    """Raise FrameworkLifecycleError unless ``submitted_at`` is the version's submission time.

    ``submitted_at`` is the ISO 8601 text that the approver's page sent, or "" when the
    page showed no submission. It is compared as an instant, so another UTC offset, a "Z"
    or written-out zero microseconds are the same submission.
    """
    text = submitted_at.strip()
    previewed_at = None
    if text:
        previewed_at = _parse_stamp(text)
        if previewed_at is None or timezone.is_naive(previewed_at):
            value = text if len(text) <= 60 else text[:59] + "…"
            raise FrameworkLifecycleError(
                f"The submission time {value!r} sent with this approval is invalid: it must "
                "be an ISO 8601 date and time with a UTC offset, such as "
                f"2026-03-01T09:30:00+00:00. Framework v{framework.version} was not "
                "approved: reload its page and approve it again."
            )
    if previewed_at != framework.submitted_at:
        raise FrameworkLifecycleError(
            f"Framework v{framework.version} was returned to draft and submitted again after "
            "you opened it, so its settings may differ from what you saw: open its impact "
            "preview again before approving."
        )


@transaction.atomic
def framework_approve(
    *,
    framework: Framework,
    user: AbstractBaseUser,
    submitted_at: str | None = None,
) -> Framework:
    """Approve a submitted version: it becomes active and the previous one retires.

    Both changes commit together, and re-segmentation of every account starts after the
    commit (a run of kind "approval"). ``submitted_at`` is the submission time (ISO 8601)
    that the approver's page showed. When it is given and the version was submitted again
    since, the approval is rejected, because the approver saw other settings, and so is
    a value that is not a date and time with a UTC offset.

    When the tag template changes, people's tag overrides are rewritten in the new one
    (``segmentation.overrides``). The returned version's ``tag_override_plan`` lists
    them and those that could not be rewritten, or is None.

    Raises PermissionDenied unless the user is Sales Leadership, or when
    ``ICP_FRAMEWORK_SECOND_APPROVER`` is on and the user created, edited or submitted the
    version, and
    FrameworkLifecycleError when the version is not submitted, was submitted again since
    the page was opened, ``submitted_at`` is invalid, the version is invalid or it would
    undo a newer approved version.
    """
    if not permissions.can_approve_framework(user):
        raise PermissionDenied("Only Sales Leadership can approve a framework version.")
    framework = _locked(framework)
    if framework.status != FrameworkStatus.SUBMITTED:
        raise FrameworkLifecycleError(status_refusal(framework, "approved", "a submitted version"))
    second_approver_reason = framework_second_approver_reason(framework, user)
    if second_approver_reason:
        raise PermissionDenied(second_approver_reason)
    if submitted_at is not None:
        _submission_check(framework, submitted_at)
    outdated = framework_outdated_reason(framework)
    if outdated:
        raise FrameworkLifecycleError(outdated)
    problems = framework_check(framework)
    if problems:
        raise FrameworkLifecycleError(
            f"Framework v{framework.version} cannot be approved: " + " ".join(problems)
        )

    now = timezone.now()
    previous = (
        Framework.objects.select_for_update()
        .filter(status=FrameworkStatus.APPROVED)
        .exclude(pk=framework.pk)
        .first()
    )
    plan = tag_override_rewrite_plan(previous, framework) if previous is not None else None
    if previous is not None:
        # Retired first, because the single-active constraint is checked per statement.
        previous.status = FrameworkStatus.RETIRED
        previous.retired_at = now
        previous.save(update_fields=["status", "retired_at", "updated_at"])
        # The retired version's own author, and the approver whose approval retired it.
        _revision_add(
            previous,
            FrameworkRevision.Action.RETIRED,
            f"Replaced by v{framework.version}: {framework.summary}",
            author=previous.submitted_by,
            approver=user,
        )
    framework.status = FrameworkStatus.APPROVED
    framework.approved_by = user
    framework.approved_at = now
    framework.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    _revision_add(
        framework,
        FrameworkRevision.Action.APPROVED,
        framework.summary,
        author=framework.submitted_by,
        approver=user,
    )
    if plan is not None:
        tag_overrides_rewrite(plan, framework=framework, user=user)
    framework.tag_override_plan = plan
    logger.info(
        "Framework v%s approved by user %s%s",
        framework.version,
        user.pk,
        f", v{previous.version} retired" if previous is not None else "",
    )
    transaction.on_commit(lambda: _resegment_after_approval(framework.pk, user.pk))
    return framework


def _resegment_after_approval(framework_id: int, user_id: int) -> None:
    from .tasks import resegment_all_task

    try:
        resegment_all_task.delay(
            framework_id=framework_id,
            kind=SegmentationRun.Kind.APPROVAL,
            triggered_by_id=user_id,
        )
    except Exception:
        # The approval is committed. A failed queueing is logged so an operator can run
        # "manage.py resegment" instead.
        logger.exception(
            "Could not start re-segmentation after approving framework %s", framework_id
        )


def framework_geography_replace(
    framework: Framework,
    rows: list[tuple[str, str, str]],
    *,
    user: AbstractBaseUser | None = None,
) -> int:
    """Make the version's geography map equal ``rows`` of (country, region, label).

    Only rows that change are written, each with a history record. Returns the number of
    countries added, changed or removed. Raises FrameworkLifecycleError for an approved or
    retired version.
    """
    if framework.is_locked:
        raise FrameworkLifecycleError(
            f"Framework v{framework.version} is {framework.get_status_display().lower()} and "
            "read-only: create a draft from it to change the geography map."
        )
    requested = {country: (region, label) for country, region, label in rows}
    existing = {mapping.country: mapping for mapping in framework.geography_mappings.all()}
    changed = 0
    with transaction.atomic():
        for country, mapping in existing.items():
            if country not in requested:
                mapping.delete()
                changed += 1
            elif (mapping.region, mapping.label) != requested[country]:
                mapping.region, mapping.label = requested[country]
                mapping.save(update_fields=["region", "label"])
                changed += 1
        added = [
            GeographyMapping(framework=framework, country=country, region=region, label=label)
            for country, (region, label) in requested.items()
            if country not in existing
        ]
        if added:
            bulk_create_with_history(added, GeographyMapping, default_user=user)
            changed += len(added)
    return changed
