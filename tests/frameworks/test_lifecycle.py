from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts import roles
from segmentation.lifecycle import (
    FrameworkLifecycleError,
    FrameworkOpenCopyError,
    framework_approve,
    framework_draft_create,
    framework_outdated_reason,
    framework_return_to_draft,
    framework_submit,
    submission_stamp,
)
from segmentation.models import (
    Framework,
    FrameworkRevision,
    FrameworkStatus,
    SegmentationRun,
)

from .changes import raise_high_cutoff, shorten_tag_template


def test_draft_copies_parts(active_framework, unchanged_draft, ops_user):
    draft = unchanged_draft
    assert draft.version == active_framework.version + 1
    assert draft.status == FrameworkStatus.DRAFT
    assert draft.based_on == active_framework
    assert draft.created_by == ops_user
    assert draft.criteria.count() == active_framework.criteria.count()
    assert draft.size_bands.count() == active_framework.size_bands.count()
    assert draft.geography_mappings.count() == active_framework.geography_mappings.count()
    assert list(draft.criteria.values_list("label", "values", "weight")) == list(
        active_framework.criteria.values_list("label", "values", "weight")
    )


def test_draft_copy_leaves_source(active_framework, draft):
    active_framework.refresh_from_db()
    assert active_framework.status == FrameworkStatus.APPROVED
    assert active_framework.criteria.count() == 6


def test_draft_version_is_max_plus_one(active_framework, draft, ops_user):
    third = framework_draft_create(source=active_framework, user=ops_user, allow_parallel=True)
    assert third.version == draft.version + 1


def test_draft_copy_records_history(draft):
    criterion = draft.criteria.first()
    assert criterion.history.count() == 1
    assert draft.history.count() == 1


def test_draft_requires_sales_ops(active_framework, leader):
    with pytest.raises(PermissionDenied):
        framework_draft_create(source=active_framework, user=leader)


def test_submit_requires_summary(draft, ops_user):
    with pytest.raises(FrameworkLifecycleError, match="summary of changes is empty"):
        framework_submit(framework=draft, user=ops_user, summary="  ")
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.DRAFT


def test_submit_records_revision(draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="Drop FinTech")
    draft.refresh_from_db()
    revision = FrameworkRevision.objects.get()
    assert draft.status == FrameworkStatus.SUBMITTED
    assert draft.submitted_by == ops_user
    assert draft.summary == "Drop FinTech"
    assert revision.action == FrameworkRevision.Action.SUBMITTED
    assert revision.version == draft.version
    assert revision.author == ops_user
    assert revision.approver is None


def test_submit_rejects_leadership(draft, leader):
    with pytest.raises(PermissionDenied):
        framework_submit(framework=draft, user=leader, summary="x")


def test_submit_only_drafts(active_framework, ops_user):
    with pytest.raises(FrameworkLifecycleError, match="only a draft can"):
        framework_submit(framework=active_framework, user=ops_user, summary="x")


def test_submit_rejects_invalid_version(draft, ops_user):
    draft.criteria.update(weight=0)
    with pytest.raises(FrameworkLifecycleError, match="can reach the High cut-off"):
        framework_submit(framework=draft, user=ops_user, summary="x")


def test_approve_requires_leadership(draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="x")
    with pytest.raises(PermissionDenied):
        framework_approve(framework=draft, user=ops_user)


def test_approve_only_submitted(draft, leader):
    with pytest.raises(FrameworkLifecycleError, match="only a submitted version"):
        framework_approve(framework=draft, user=leader)


def test_approve_retires_previous(active_framework, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    framework_approve(framework=draft, user=leader)
    active_framework.refresh_from_db()
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.APPROVED
    assert draft.approved_by == leader
    assert draft.approved_at is not None
    assert active_framework.status == FrameworkStatus.RETIRED
    assert active_framework.retired_at is not None
    assert Framework.objects.filter(status=FrameworkStatus.APPROVED).count() == 1


def test_approve_records_revisions(active_framework, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    framework_approve(framework=draft, user=leader)
    actions = dict(FrameworkRevision.objects.values_list("action", "version"))
    approved = FrameworkRevision.objects.get(action=FrameworkRevision.Action.APPROVED)
    assert actions["approved"] == draft.version
    assert actions["retired"] == active_framework.version
    assert approved.approver == leader
    assert approved.author == ops_user
    assert approved.summary == "Raise cut-offs"


def test_approve_failure_changes_nothing(active_framework, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="x")
    draft.criteria.filter(dimension="industry").update(values=["Not An Industry"])
    with pytest.raises(FrameworkLifecycleError, match="unknown industry"):
        framework_approve(framework=draft, user=leader)
    active_framework.refresh_from_db()
    assert active_framework.status == FrameworkStatus.APPROVED
    assert not FrameworkRevision.objects.filter(action="approved").exists()


def test_second_approver_blocks_own(settings, draft, make_user, leader):
    from accounts import roles

    both = make_user(roles.SALES_OPS, username="both")
    both.groups.add(leader.groups.get())
    settings.ICP_FRAMEWORK_SECOND_APPROVER = True
    framework_submit(framework=draft, user=both, summary="x")
    with pytest.raises(PermissionDenied, match="second approver is required"):
        framework_approve(framework=draft, user=both)
    framework_approve(framework=draft, user=leader)
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.APPROVED


def test_own_approval_allowed_by_default(draft, make_user, leader):
    from accounts import roles

    both = make_user(roles.SALES_OPS, username="both")
    both.groups.add(leader.groups.get())
    framework_submit(framework=draft, user=both, summary="x")
    framework_approve(framework=draft, user=both)
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.APPROVED


def test_approval_starts_run_after_commit(
    draft, ops_user, leader, make_account, django_capture_on_commit_callbacks
):
    make_account("SaaS", employee_count=300)
    framework_submit(framework=draft, user=ops_user, summary="x")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        framework_approve(framework=draft, user=leader)
    assert not SegmentationRun.objects.exists()
    for callback in callbacks:
        callback()
    run = SegmentationRun.objects.get()
    assert run.kind == SegmentationRun.Kind.APPROVAL
    assert run.framework_id == draft.pk
    assert run.triggered_by == leader


def test_revisions_append_only(draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="x")
    revision = FrameworkRevision.objects.get()
    revision.summary = "changed"
    with pytest.raises(TypeError, match="append-only"):
        revision.save()
    with pytest.raises(TypeError, match="append-only"):
        revision.delete()
    with pytest.raises(TypeError, match="append-only"):
        FrameworkRevision.objects.update(summary="changed")
    with pytest.raises(TypeError, match="append-only"):
        FrameworkRevision.objects.all().delete()


def test_return_to_draft_records_revision(draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    framework_return_to_draft(framework=draft, user=ops_user)
    draft.refresh_from_db()
    returned = FrameworkRevision.objects.get(action=FrameworkRevision.Action.RETURNED)
    assert draft.status == FrameworkStatus.DRAFT
    assert draft.submitted_at is None
    assert returned.author == ops_user
    assert returned.summary == "Raise cut-offs"


def test_return_to_draft_only_submitted(draft, ops_user):
    with pytest.raises(FrameworkLifecycleError, match="only a submitted version"):
        framework_return_to_draft(framework=draft, user=ops_user)


def test_return_to_draft_requires_role(draft, ops_user, sdr):
    framework_submit(framework=draft, user=ops_user, summary="x")
    with pytest.raises(PermissionDenied, match="Only Sales Ops and Sales Leadership"):
        framework_return_to_draft(framework=draft, user=sdr, reason="Fix the cut-offs")


def test_approve_rejects_resubmitted_version(draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    draft.refresh_from_db()
    previewed = submission_stamp(draft)
    framework_return_to_draft(framework=draft, user=ops_user)
    Framework.objects.filter(pk=draft.pk).update(high_tier_min_score=90)
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs more")

    with pytest.raises(FrameworkLifecycleError, match="submitted again after you opened it"):
        framework_approve(framework=draft, user=leader, submitted_at=previewed)
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.SUBMITTED


def test_approve_accepts_current_submission(draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    draft.refresh_from_db()
    framework_approve(framework=draft, user=leader, submitted_at=submission_stamp(draft))
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.APPROVED


def _same_instant_other_offset(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("America/New_York")).isoformat()


def _same_instant_with_z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _same_instant_with_microseconds(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


@pytest.mark.parametrize(
    "written",
    [_same_instant_other_offset, _same_instant_with_z, _same_instant_with_microseconds],
)
def test_approve_compares_submission_instants(draft, ops_user, leader, written):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    # Zero microseconds, which isoformat() leaves out, so the written forms differ.
    submitted_at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    Framework.objects.filter(pk=draft.pk).update(submitted_at=submitted_at)
    draft.refresh_from_db()
    previewed = written(draft.submitted_at)
    assert previewed != submission_stamp(draft)

    framework_approve(framework=draft, user=leader, submitted_at=previewed)

    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.APPROVED


def test_approve_rejects_other_microsecond(draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    submitted_at = datetime(2026, 3, 1, 9, 30, 0, 250000, tzinfo=UTC)
    Framework.objects.filter(pk=draft.pk).update(submitted_at=submitted_at)
    previewed = (submitted_at - timedelta(microseconds=1)).isoformat()

    with pytest.raises(FrameworkLifecycleError, match="submitted again after you opened it"):
        framework_approve(framework=draft, user=leader, submitted_at=previewed)
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.SUBMITTED


@pytest.mark.parametrize(
    "previewed",
    ["yesterday", "2026-03-01T09:30:00", "2026-02-30T09:30:00+00:00", "2026-03-01 25:00+00:00"],
)
def test_approve_rejects_invalid_submission_time(draft, ops_user, leader, previewed):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")

    with pytest.raises(FrameworkLifecycleError) as raised:
        framework_approve(framework=draft, user=leader, submitted_at=previewed)
    message = str(raised.value)
    assert f"The submission time {previewed!r} sent with this approval is invalid" in message
    assert "with a UTC offset" in message
    assert "reload its page and approve it again" in message
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.SUBMITTED


def test_copy_of_older_version_cannot_undo_newer(active_framework, ops_user, leader):
    first = framework_draft_create(source=active_framework, user=ops_user)
    second = framework_draft_create(source=active_framework, user=ops_user, allow_parallel=True)
    raise_high_cutoff(first)
    framework_submit(framework=first, user=ops_user, summary="Raise cut-offs")
    framework_approve(framework=first, user=leader)
    second.refresh_from_db()
    shorten_tag_template(second)

    reason = framework_outdated_reason(second)
    with pytest.raises(FrameworkLifecycleError, match="would undo the changes"):
        framework_submit(framework=second, user=ops_user, summary="Change the tag")
    assert f"copied from v{active_framework.version}" in reason
    assert f"Create a new draft from v{first.version}" in reason


def test_submitted_copy_of_older_version_not_approved(active_framework, ops_user, leader):
    first = framework_draft_create(source=active_framework, user=ops_user)
    second = framework_draft_create(source=active_framework, user=ops_user, allow_parallel=True)
    raise_high_cutoff(first)
    shorten_tag_template(second)
    framework_submit(framework=first, user=ops_user, summary="Raise cut-offs")
    framework_submit(framework=second, user=ops_user, summary="Change the tag")
    framework_approve(framework=first, user=leader)

    with pytest.raises(FrameworkLifecycleError, match="would undo the changes"):
        framework_approve(framework=second, user=leader)
    second.refresh_from_db()
    assert second.status == FrameworkStatus.SUBMITTED


def test_copy_of_active_version_is_current(draft):
    assert framework_outdated_reason(draft) == ""


def test_copy_of_draft_approved_later_is_outdated(active_framework, ops_user, leader):
    second = framework_draft_create(source=active_framework, user=ops_user)
    # framework_draft_create copies only the active version, so the copy of a draft is
    # created directly, as a database from before that rule may contain one.
    copy_of_draft = Framework.objects.create(
        version=second.version + 1, name="Copy of a draft", based_on=second
    )
    Framework.objects.filter(pk=second.pk).update(high_tier_min_score=72)
    framework_submit(framework=second, user=ops_user, summary="Raise the High cut-off")
    framework_approve(framework=second, user=leader)
    copy_of_draft.refresh_from_db()

    with pytest.raises(FrameworkLifecycleError, match="before v2 was approved"):
        framework_submit(framework=copy_of_draft, user=ops_user, summary="Change the tag")


def test_copy_made_after_approval_is_current(active_framework, ops_user, leader):
    second = framework_draft_create(source=active_framework, user=ops_user)
    raise_high_cutoff(second)
    framework_submit(framework=second, user=ops_user, summary="Raise the High cut-off")
    framework_approve(framework=second, user=leader)
    later_copy = framework_draft_create(source=second, user=ops_user)

    assert framework_outdated_reason(later_copy) == ""


@pytest.mark.parametrize("status", [FrameworkStatus.RETIRED, FrameworkStatus.DRAFT])
def test_copy_of_inactive_version_rejected(active_framework, ops_user, status):
    older = Framework.objects.create(version=7, name="Older", status=status)
    count = Framework.objects.count()

    with pytest.raises(FrameworkLifecycleError, match="could never be approved") as raised:
        framework_draft_create(source=older, user=ops_user)

    message = str(raised.value)
    assert f"v7 is {status.label.lower()}" in message
    assert f"create a draft from v{active_framework.version}" in message
    assert Framework.objects.count() == count
    if status == FrameworkStatus.DRAFT:
        assert "Change v7 itself" in message
    else:
        assert "To bring back settings of v7" in message


def test_copy_of_outdated_draft_suggests_active(active_framework, ops_user, leader):
    second = framework_draft_create(source=active_framework, user=ops_user)
    outdated = Framework.objects.create(
        version=second.version + 1, name="Copy of a draft", based_on=second
    )
    raise_high_cutoff(second)
    framework_submit(framework=second, user=ops_user, summary="Raise the High cut-off")
    framework_approve(framework=second, user=leader)
    outdated.refresh_from_db()

    with pytest.raises(FrameworkLifecycleError) as raised:
        framework_draft_create(source=outdated, user=ops_user)

    message = str(raised.value)
    assert f"To bring back settings of v{outdated.version}" in message
    assert "itself" not in message


def test_copy_without_active_version_allowed(active_framework, ops_user):
    Framework.objects.filter(pk=active_framework.pk).update(status=FrameworkStatus.RETIRED)
    draft = framework_draft_create(source=active_framework, user=ops_user)
    assert draft.based_on_id == active_framework.pk


def test_second_copy_of_active_rejected(active_framework, draft, ops_user):
    count = Framework.objects.count()
    with pytest.raises(FrameworkOpenCopyError, match=f"Draft v{draft.version} is already open"):
        framework_draft_create(source=active_framework, user=ops_user)
    assert Framework.objects.count() == count


def test_open_copy_names_last_editor(active_framework, draft, ops_user, make_user):
    editor = make_user(roles.SALES_OPS, username="editor", first_name="Ada", last_name="Byrne")
    draft.high_tier_min_score = 72
    draft._history_user = editor
    draft.save()
    with pytest.raises(FrameworkOpenCopyError) as raised:
        framework_draft_create(source=active_framework, user=ops_user)
    edited = timezone.localtime(draft.updated_at).strftime("%Y-%m-%d %H:%M %Z")
    assert (
        str(raised.value)
        == f"Draft v{draft.version} is already open, by Ada Byrne, edited {edited}."
    )
    assert raised.value.open_copy == draft


def test_open_copy_names_editor_after_send_back(active_framework, draft, ops_user, make_user):
    editor = make_user(roles.SALES_OPS, username="editor", first_name="Ada", last_name="Byrne")
    chief = make_user(
        roles.SALES_LEADERSHIP, username="chief", first_name="Chris", last_name="Novak"
    )
    draft.high_tier_min_score = 72
    draft._history_user = editor
    draft.save()
    edited = timezone.localtime(draft.updated_at).strftime("%Y-%m-%d %H:%M %Z")
    framework_submit(framework=draft, user=ops_user, summary="Raise the High cut-off")
    framework_return_to_draft(framework=draft, user=chief, reason="Keep the cut-off at 70")
    returned_at = FrameworkRevision.objects.filter(framework=draft).latest("id").created_at
    returned = timezone.localtime(returned_at).strftime("%Y-%m-%d %H:%M %Z")
    with pytest.raises(FrameworkOpenCopyError) as raised:
        framework_draft_create(source=active_framework, user=ops_user)
    assert str(raised.value) == (
        f"Draft v{draft.version} is already open, by Ada Byrne, edited {edited}. "
        f"It was sent back to draft by Chris Novak on {returned}: Keep the cut-off at 70."
    )


def test_open_copy_edit_after_send_back(active_framework, draft, ops_user, leader, make_user):
    editor = make_user(roles.SALES_OPS, username="editor", first_name="Ada", last_name="Byrne")
    framework_submit(framework=draft, user=ops_user, summary="Raise the High cut-off")
    framework_return_to_draft(framework=draft, user=leader, reason="Keep the cut-off at 70")
    draft.refresh_from_db()
    draft.high_tier_min_score = 75
    draft._history_user = editor
    draft.save()
    edited = timezone.localtime(draft.updated_at).strftime("%Y-%m-%d %H:%M %Z")
    with pytest.raises(FrameworkOpenCopyError) as raised:
        framework_draft_create(source=active_framework, user=ops_user)
    assert str(raised.value) == (
        f"Draft v{draft.version} is already open, by Ada Byrne, edited {edited}."
    )


def test_submit_unchanged_copy_rejected(active_framework, unchanged_draft, ops_user):
    with pytest.raises(FrameworkLifecycleError) as raised:
        framework_submit(framework=unchanged_draft, user=ops_user, summary="No changes at all")
    unchanged_draft.refresh_from_db()
    message = str(raised.value)
    assert f"nothing changed since it was copied from v{active_framework.version}" in message
    assert "in the admin first, or delete the draft" in message
    assert unchanged_draft.status == FrameworkStatus.DRAFT
    assert not FrameworkRevision.objects.filter(framework=unchanged_draft).exists()


def test_submit_rename_only_rejected(unchanged_draft, ops_user):
    Framework.objects.filter(pk=unchanged_draft.pk).update(name="Renamed", summary="Renamed")
    unchanged_draft.refresh_from_db()
    with pytest.raises(FrameworkLifecycleError, match="nothing changed since it was copied"):
        framework_submit(framework=unchanged_draft, user=ops_user, summary="Renamed")


def test_submit_case_only_change_rejected(unchanged_draft, ops_user):
    unchanged_draft.criteria.filter(dimension="industry").update(
        values=["saas", "fintech", "healthtech"]
    )
    with pytest.raises(FrameworkLifecycleError, match="nothing changed since it was copied"):
        framework_submit(framework=unchanged_draft, user=ops_user, summary="Lower case")


def test_submit_changed_copy_accepted(unchanged_draft, ops_user):
    unchanged_draft.criteria.filter(dimension="industry").update(weight=0)
    framework_submit(framework=unchanged_draft, user=ops_user, summary="Drop industry points")
    unchanged_draft.refresh_from_db()
    assert unchanged_draft.status == FrameworkStatus.SUBMITTED


def test_submitted_copy_blocks_second(active_framework, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="Raise cut-offs")
    with pytest.raises(FrameworkOpenCopyError, match="already submitted for approval"):
        framework_draft_create(source=active_framework, user=ops_user)


def test_outdated_copy_does_not_block(active_framework, ops_user, leader):
    first = framework_draft_create(source=active_framework, user=ops_user)
    raise_high_cutoff(first)
    framework_submit(framework=first, user=ops_user, summary="Raise cut-offs")
    framework_approve(framework=first, user=leader)
    # A copy of v2 made while v2 was a draft is outdated once v2 is approved.
    Framework.objects.create(version=9, name="Early copy", based_on=first)
    Framework.objects.filter(version=9).update(created_at=first.created_at)
    first.refresh_from_db()
    copy = framework_draft_create(source=first, user=ops_user)
    assert copy.based_on_id == first.pk


def test_parallel_copy_allowed_with_flag(active_framework, draft, ops_user):
    second = framework_draft_create(source=active_framework, user=ops_user, allow_parallel=True)
    assert second.version == draft.version + 1
    assert second.based_on_id == active_framework.pk
