"""The admin's history pages, which can save a past row of a version over the current one."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from segmentation.lifecycle import (
    edit_stamp,
    framework_approve,
    framework_return_to_draft,
    framework_submit,
)
from segmentation.models import Framework, FrameworkRevision, FrameworkStatus


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client


def revert_url(framework: Framework, history_id: int) -> str:
    return reverse("admin:segmentation_framework_simple_history", args=[framework.pk, history_id])


def revert_post(framework: Framework, **changes) -> dict[str, str]:
    """Return the history form's POST data: the version's own fields only.

    The edit stamp is the stored version's, as a history form opened just now carries it.
    """
    data = {
        "name": framework.name,
        "summary": framework.summary,
        "high_tier_min_score": str(framework.high_tier_min_score),
        "medium_tier_min_score": str(framework.medium_tier_min_score),
        "high_tier_route": framework.high_tier_route,
        "medium_tier_route": framework.medium_tier_route,
        "low_tier_route": framework.low_tier_route,
        "tag_template": framework.tag_template,
        "unmapped_geography_label": framework.unmapped_geography_label,
        "geography_text": "",
        "loaded_at": edit_stamp(Framework.objects.get(pk=framework.pk)),
    }
    data.update(changes)
    return data


def oldest_history_id(framework: Framework) -> int:
    return framework.history.order_by("history_date", "history_id").first().history_id


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def approved(draft, ops_user, leader) -> Framework:
    """The draft copy of version 1, submitted and approved."""
    framework_submit(framework=draft, user=ops_user, summary="Stricter")
    framework_approve(framework=draft, user=leader)
    draft.refresh_from_db()
    return draft


def test_revert_rejected_when_approved(ops_client, approved):
    history_id = oldest_history_id(approved)

    response = ops_client.post(
        revert_url(approved, history_id), revert_post(approved, high_tier_min_score="90")
    )

    assert response.status_code == 302
    approved.refresh_from_db()
    assert approved.status == FrameworkStatus.APPROVED
    assert approved.high_tier_min_score == 70
    assert Framework.objects.filter(status=FrameworkStatus.APPROVED).count() == 1
    assert any("only a draft can" in text for text in messages_of(response))


def test_revert_rejected_when_submitted(ops_client, draft, ops_user):
    history_id = oldest_history_id(draft)
    framework_submit(framework=draft, user=ops_user, summary="Stricter")

    response = ops_client.post(
        revert_url(draft, history_id), revert_post(draft, high_tier_min_score="90")
    )

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.SUBMITTED
    assert draft.summary == "Stricter"
    assert draft.high_tier_min_score == 70
    assert any("Return it to draft first" in text for text in messages_of(response))


def test_history_form_rejected_when_approved(ops_client, approved):
    history_id = oldest_history_id(approved)

    response = ops_client.get(revert_url(approved, history_id))

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:segmentation_framework_change", args=[approved.pk]
    )
    assert any("is approved (active)" in text for text in messages_of(response))


def test_draft_revert_keeps_lifecycle(ops_client, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="First try")
    submitted_row = draft.history.filter(status=FrameworkStatus.SUBMITTED).get()
    framework_return_to_draft(framework=draft, user=ops_user)
    revisions_before = FrameworkRevision.objects.count()

    form = ops_client.get(revert_url(draft, submitted_row.history_id))
    response = ops_client.post(
        revert_url(draft, submitted_row.history_id),
        revert_post(draft, high_tier_min_score="90"),
    )

    assert form.status_code == 200
    assert form.context["original"].status == FrameworkStatus.DRAFT
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.high_tier_min_score == 90
    assert draft.status == FrameworkStatus.DRAFT
    assert draft.submitted_at is None
    assert draft.submitted_by is None
    assert FrameworkRevision.objects.count() == revisions_before


def test_history_shows_empty_user_as_dash(ops_client, draft, ops_user):
    framework_submit(framework=draft, user=ops_user, summary="Map Bouvet Island")

    response = ops_client.get(reverse("admin:segmentation_framework_history", args=[draft.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "pk=None" not in page
    assert re.search(r"Submitted by:</strong>\s*—\s*&nbsp;&rarr;&nbsp;&nbsp;ops\b", page)


def test_history_shows_empty_string_as_dash(ops_client, draft, ops_user):
    draft.medium_tier_route = ""
    draft.save()
    draft.medium_tier_route = "Sequence"
    draft._history_user = ops_user
    draft.save()

    response = ops_client.get(reverse("admin:segmentation_framework_history", args=[draft.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r"Medium tier route:</strong>\s*—\s*&nbsp;&rarr;&nbsp;&nbsp;Sequence", page)


def test_history_shows_missing_change_reason_as_dash(ops_client, draft, ops_user):
    draft.medium_tier_route = "Sequence"
    draft._history_user = ops_user
    draft.save()

    response = ops_client.get(reverse("admin:segmentation_framework_history", args=[draft.pk]))

    page = response.content.decode()
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.DOTALL)
    latest_row = next(row for row in rows if "Sequence" in row)
    # Object, Date/time, Comment, Changed by, Change reason, Changes.
    cells = [cell.strip() for cell in re.findall(r"<td>(.*?)</td>", latest_row, re.DOTALL)]
    assert response.status_code == 200
    assert draft.history.latest().history_change_reason is None
    assert len(cells) == 6
    assert cells[4] == "—"
