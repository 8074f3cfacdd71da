"""Sales Leadership sending a submitted version back to draft with a reason."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from segmentation.lifecycle import (
    RETURN_REASON_MAX_LENGTH,
    FrameworkLifecycleError,
    framework_draft_create,
    framework_return_to_draft,
    framework_submit,
)
from segmentation.models import Framework, FrameworkRevision, FrameworkStatus

from .changes import raise_high_cutoff

REASON = "Keep FinTech in the target industries."


def signed_in(client, user):
    client.force_login(user)
    return client


def return_url(framework: Framework) -> str:
    return reverse("segmentation:framework-return", args=[framework.version])


def test_leader_return_records_reason(draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="Drop FinTech")
    framework_return_to_draft(framework=draft, user=leader, reason=f"  {REASON}\r\n")
    draft.refresh_from_db()
    returned = FrameworkRevision.objects.get(action=FrameworkRevision.Action.RETURNED)
    history = draft.history.order_by("-history_id").first()
    assert draft.status == FrameworkStatus.DRAFT
    assert draft.submitted_by is None
    assert returned.author == leader
    assert returned.summary == f"Reason for return: {REASON}"
    assert history.history_user == leader
    assert history.history_change_reason == f"Returned to draft: {REASON}"


def test_leader_return_requires_reason(draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="x")
    with pytest.raises(FrameworkLifecycleError, match="The reason is missing"):
        framework_return_to_draft(framework=draft, user=leader, reason="  ")
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.SUBMITTED


def test_return_reason_max_length(draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="x")
    reason = "x" * (RETURN_REASON_MAX_LENGTH + 1)
    with pytest.raises(FrameworkLifecycleError, match="more than the maximum of 1,000"):
        framework_return_to_draft(framework=draft, user=leader, reason=reason)


def test_long_reason_truncated_in_history(draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="x")
    reason = "y" * RETURN_REASON_MAX_LENGTH
    framework_return_to_draft(framework=draft, user=leader, reason=reason)
    returned = FrameworkRevision.objects.get(action=FrameworkRevision.Action.RETURNED)
    history = draft.history.order_by("-history_id").first()
    assert returned.summary == f"Reason for return: {reason}"
    assert len(history.history_change_reason) == 100


def test_leader_return_of_draft_names_status(draft, leader):
    with pytest.raises(FrameworkLifecycleError, match="is draft, so it cannot be returned"):
        framework_return_to_draft(framework=draft, user=leader, reason=REASON)


def test_list_shows_send_back_to_leader(client, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="x")
    page = signed_in(client, leader).get(reverse("segmentation:framework-list"))
    assert return_url(draft) in page.content.decode()


def test_list_hides_send_back_from_ops(client, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="x")
    page = signed_in(client, ops_user).get(reverse("segmentation:framework-list"))
    assert return_url(draft) not in page.content.decode()


def test_return_page_forbidden_for_ops(client, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="x")
    response = signed_in(client, ops_user).post(return_url(draft), {"reason": REASON})
    draft.refresh_from_db()
    assert response.status_code == 403
    assert draft.status == FrameworkStatus.SUBMITTED


def test_return_page_sends_back(client, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="x")
    signed_in(client, leader)
    form = client.get(return_url(draft))
    response = client.post(return_url(draft), {"reason": REASON}, follow=True)
    draft.refresh_from_db()
    assert form.status_code == 200
    assert 'name="reason"' in form.content.decode()
    assert response.redirect_chain[-1][0] == reverse("segmentation:framework-list")
    assert f"Framework v{draft.version} returned to draft." in response.content.decode()
    assert draft.status == FrameworkStatus.DRAFT


def test_return_page_empty_reason_error(client, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="x")
    response = signed_in(client, leader).post(return_url(draft), {"reason": ""})
    draft.refresh_from_db()
    assert response.status_code == 200
    assert "The reason is missing" in response.content.decode()
    assert draft.status == FrameworkStatus.SUBMITTED


def test_return_page_long_reason_error(client, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="x")
    reason = "x" * (RETURN_REASON_MAX_LENGTH + 1)
    response = signed_in(client, leader).post(return_url(draft), {"reason": reason})
    draft.refresh_from_db()
    assert response.status_code == 200
    assert "The reason has 1001 characters, more than the maximum of 1000" in (
        response.content.decode()
    )
    assert draft.status == FrameworkStatus.SUBMITTED


def test_return_page_draft_names_status(client, draft, leader):
    response = signed_in(client, leader).post(return_url(draft), {"reason": REASON}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("segmentation:framework-list")
    assert "is draft, so it cannot be returned to draft" in response.content.decode()


def test_draft_shows_return_reason(client, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="x")
    framework_return_to_draft(framework=draft, user=leader, reason=REASON)
    page = signed_in(client, ops_user).get(reverse("segmentation:framework-list"))
    assert f"Returned to draft: {REASON}" in page.content.decode()


def return_copy(source: Framework, ops_user, leader, number: int) -> None:
    """Copy ``source`` into a new draft, submit it and send it back with a numbered reason."""
    copy = framework_draft_create(source=source, user=ops_user, allow_parallel=True)
    # A copy without a change cannot be submitted.
    raise_high_cutoff(copy, score=71 + number)
    framework_submit(framework=copy, user=ops_user, summary=f"Change {number}")
    framework_return_to_draft(framework=copy, user=leader, reason=f"{REASON} ({number})")


def test_list_reads_reasons_in_fixed_queries(client, active_framework, ops_user, leader):
    signed_in(client, ops_user)
    url = reverse("segmentation:framework-list")
    client.get(url)
    query_counts = {}
    returned = 0
    for total in (1, 4):
        while returned < total:
            return_copy(active_framework, ops_user, leader, returned)
            returned += 1
        with CaptureQueriesContext(connection) as captured:
            html = client.get(url).content.decode()
        query_counts[total] = len(captured)
        for number in range(total):
            assert f"Returned to draft: {REASON} ({number})" in html
    assert query_counts[4] == query_counts[1]


def test_resubmitted_draft_hides_old_reason(client, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="x")
    framework_return_to_draft(framework=draft, user=leader, reason=REASON)
    framework_submit(framework=draft, user=ops_user, summary="Kept FinTech")
    page = signed_in(client, leader).get(reverse("segmentation:framework-list"))
    assert 'data-testid="return-reason"' not in page.content.decode()


def test_register_records_return_reason(client, draft, ops_user, leader):
    framework_submit(framework=draft, user=ops_user, summary="Drop FinTech")
    framework_return_to_draft(framework=draft, user=leader, reason=REASON)
    signed_in(client, ops_user)
    page = client.get(reverse("segmentation:revision-list")).content.decode()
    export = client.get(reverse("segmentation:revision-export"))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert f"Reason for return: {REASON}" in page
    assert rows[1][2] == "Returned to draft"
    assert rows[1][3] == f"Reason for return: {REASON}"
    assert rows[1][8] == "leader"
