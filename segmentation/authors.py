"""The people who created, edited and submitted a framework version, from its history.

The second-approver rule and the revision register both need the people who shaped a
version's settings, not only the person who submitted it last. django-simple-history
records every save of a version and of its criteria, size bands and geography map, with
the user of the request that made it, and the revision register records every submission.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .models import Criterion, Framework, FrameworkRevision, GeographyMapping, SizeBand

# The workflow fields that no form writes, in the order the framework admin shows them
# read-only.
READ_ONLY_WORKFLOW_FIELDS = (
    "version",
    "status",
    "based_on",
    "created_by",
    "submitted_by",
    "submitted_at",
    "approved_by",
    "approved_at",
    "retired_at",
    "created_at",
    "updated_at",
)
# Framework fields that the lifecycle services set, so a history row that changes only
# these is a transition (submit, return to draft, approve, retire), not an edit. Besides
# the read-only ones, that is the primary key and the summary of changes, which is
# written when the version is submitted and which the admin form also edits.
WORKFLOW_FIELDS = frozenset({"id", "summary", *READ_ONLY_WORKFLOW_FIELDS})
# History rows of the parts of a version, each with a ``framework`` foreign key.
PART_MODELS = (Criterion, SizeBand, GeographyMapping)


@dataclass(frozen=True)
class FrameworkEdit:
    """One change of a version's settings or parts by a known user."""

    user_id: int
    changed_at: datetime


def framework_edits(framework_ids: Iterable[int]) -> dict[int, list[FrameworkEdit]]:
    """Return the edits of each version, oldest first, by framework id.

    A version's history row is an edit when it creates the version or changes a field
    outside WORKFLOW_FIELDS. A change row with no earlier row, such as the retirement of
    version 1, which migration 0003 created without history, is not an edit: nothing
    shows which fields it changed, and the lifecycle services save only workflow fields.
    Every history row of a criterion, size band or geography mapping is an edit of its
    version. Rows without a user, such as those a migration or a script wrote, are left
    out.
    """
    ids = sorted(set(framework_ids))
    edits: dict[int, list[FrameworkEdit]] = defaultdict(list)
    if not ids:
        return edits
    setting_fields = [
        field.attname
        for field in Framework._meta.concrete_fields
        if field.name not in WORKFLOW_FIELDS
    ]
    rows = (
        Framework.history.filter(id__in=ids)
        .order_by("id", "history_date", "history_id")
        .values_list("id", "history_type", "history_user_id", "history_date", *setting_fields)
    )
    previous: dict[int, tuple] = {}
    for framework_id, history_type, user_id, changed_at, *values in rows:
        settings = tuple(values)
        earlier = previous.get(framework_id)
        changed = history_type == "+" or (earlier is not None and settings != earlier)
        previous[framework_id] = settings
        if changed and history_type != "-" and user_id is not None:
            edits[framework_id].append(FrameworkEdit(user_id, changed_at))
    for model in PART_MODELS:
        part_rows = (
            model.history.filter(framework_id__in=ids)
            .exclude(history_user_id=None)
            .values_list("framework_id", "history_user_id", "history_date")
        )
        for framework_id, user_id, changed_at in part_rows:
            edits[framework_id].append(FrameworkEdit(user_id, changed_at))
    for framework_edits_list in edits.values():
        framework_edits_list.sort(key=lambda edit: edit.changed_at)
    return edits


@dataclass(frozen=True)
class FrameworkSubmission:
    """One submission of a version for approval, from the revision register."""

    user_id: int
    submitted_at: datetime


def framework_submissions(framework_ids: Iterable[int]) -> dict[int, list[FrameworkSubmission]]:
    """Return every submission of each version, oldest first, by framework id.

    Returning a version to draft clears its ``submitted_by``, but the register's
    "Submitted" rows stay, so a person who submitted it before a return is still found.
    """
    submissions: dict[int, list[FrameworkSubmission]] = defaultdict(list)
    rows = (
        FrameworkRevision.objects.filter(
            framework_id__in=set(framework_ids), action=FrameworkRevision.Action.SUBMITTED
        )
        .exclude(author=None)
        .order_by("created_at", "id")
        .values_list("framework_id", "author_id", "created_at")
    )
    for framework_id, user_id, submitted_at in rows:
        submissions[framework_id].append(FrameworkSubmission(user_id, submitted_at))
    return submissions


def framework_contributions(framework: Framework) -> dict[int, list[str]]:
    """Return what each person did to the version, by user id.

    The values are "created", "edited" and "submitted", in that order, for the version's
    creator, the users of its edits (``framework_edits``) and everyone who submitted it,
    before a return to draft too (``framework_submissions``). A submission is not an edit,
    but a person who submitted the version vouched for its settings.
    """
    contributions: dict[int, list[str]] = defaultdict(list)
    if framework.created_by_id is not None:
        contributions[framework.created_by_id].append("created")
    editors = {edit.user_id for edit in framework_edits([framework.pk]).get(framework.pk, [])}
    for user_id in editors:
        contributions[user_id].append("edited")
    submitters = {
        submission.user_id
        for submission in framework_submissions([framework.pk]).get(framework.pk, [])
    }
    if framework.submitted_by_id is not None:
        submitters.add(framework.submitted_by_id)
    for user_id in submitters:
        contributions[user_id].append("submitted")
    return dict(contributions)
