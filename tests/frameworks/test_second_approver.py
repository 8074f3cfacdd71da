"""The second-approver rule: nobody who created, edited or submitted a version approves it."""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import roles
from accounts.selectors import user_label
from segmentation.lifecycle import framework_approve, framework_return_to_draft, framework_submit
from segmentation.models import Framework, FrameworkStatus

from .admin_posts import framework_post
from .changes import raise_high_cutoff

ROOT = Path(__file__).resolve().parents[2]


def read_setting(value: str) -> subprocess.CompletedProcess:
    """Import the settings in a new process with ICP_FRAMEWORK_SECOND_APPROVER=value."""
    env = {key: item for key, item in os.environ.items() if key != "DATABASE_URL"}
    env.update(ICP_FRAMEWORK_SECOND_APPROVER=value, DJANGO_SETTINGS_MODULE="icp_portal.settings")
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.ICP_FRAMEWORK_SECOND_APPROVER)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("value", "expected"), [("true", "True"), ("0", "False"), ("", "False")])
def test_setting_read_from_environment(value, expected):
    result = read_setting(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_setting_rejects_other_values():
    result = read_setting("maybe")
    assert result.returncode != 0
    assert "ICP_FRAMEWORK_SECOND_APPROVER='maybe' is not a boolean" in result.stderr


@pytest.fixture
def opslead(make_user):
    """A staff user in both Sales Ops and Sales Leadership."""
    user = make_user(roles.SALES_OPS, username="opslead", first_name="Olu", last_name="Lead")
    user.is_staff = True
    user.save()
    user.groups.add(make_user(roles.SALES_LEADERSHIP).groups.get())
    return user


@pytest.fixture
def salesops(make_user):
    return make_user(roles.SALES_OPS, username="salesops", first_name="Priya", is_staff=True)


@pytest.fixture
def two_approvers(settings, active_framework):
    settings.ICP_FRAMEWORK_SECOND_APPROVER = True


def create_draft_by_api(user) -> Framework:
    client = APIClient()
    client.force_login(user)
    response = client.post("/api/v1/frameworks/", {}, format="json")
    assert response.status_code == 201, response.content
    return Framework.objects.get(pk=response.json()["id"])


def edit_in_admin(user, framework: Framework, **changes) -> None:
    client = Client()
    client.force_login(user)
    url = reverse("admin:segmentation_framework_change", args=[framework.pk])
    response = client.post(url, framework_post(framework, **changes))
    assert response.status_code == 302, response.content.decode()


def submit_on_page(user, framework: Framework) -> None:
    client = Client()
    client.force_login(user)
    url = reverse("segmentation:framework-submit", args=[framework.version])
    response = client.post(url, {"summary": "Stricter High tier"})
    assert response.status_code == 302


def register_rows(user) -> list[dict[str, str]]:
    client = Client()
    client.force_login(user)
    export = client.get(reverse("segmentation:revision-export"))
    text = b"".join(export.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def shaped_by_opslead(two_approvers, opslead, salesops):
    """A version that opslead created and edited, and that salesops submitted."""
    draft = create_draft_by_api(opslead)
    edit_in_admin(opslead, draft, high_tier_min_score="75")
    submit_on_page(salesops, draft)
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.SUBMITTED
    return draft


def test_page_rejects_author_approval(client, shaped_by_opslead, opslead):
    client.force_login(opslead)
    url = reverse("segmentation:framework-approve", args=[shaped_by_opslead.version])

    response = client.post(url, follow=True)

    shaped_by_opslead.refresh_from_db()
    text = response.content.decode()
    assert shaped_by_opslead.status == FrameworkStatus.SUBMITTED
    assert f"You created and edited framework v{shaped_by_opslead.version}" in text
    assert "a second approver is required" in text


def test_admin_rejects_author_approval(client, shaped_by_opslead, opslead):
    client.force_login(opslead)
    change_url = reverse("admin:segmentation_framework_change", args=[shaped_by_opslead.pk])
    approve_url = reverse("admin:segmentation_framework_approve", args=[shaped_by_opslead.pk])

    html = client.get(change_url).content.decode()
    response = client.post(approve_url, follow=True)

    shaped_by_opslead.refresh_from_db()
    assert "Approve and re-segment" not in html
    assert 'data-testid="second-approver"' in html
    assert shaped_by_opslead.status == FrameworkStatus.SUBMITTED
    assert f"You created and edited framework v{shaped_by_opslead.version}" in (
        response.content.decode()
    )


def test_list_hides_author_approve_button(client, shaped_by_opslead, opslead):
    client.force_login(opslead)
    text = client.get(reverse("segmentation:framework-list")).content.decode()
    approve_url = reverse("segmentation:framework-approve", args=[shaped_by_opslead.version])
    assert approve_url not in text
    assert 'data-testid="second-approver"' in text


def test_editor_only_cannot_approve(two_approvers, active_framework, salesops, opslead, leader):
    draft = create_draft_by_api(salesops)
    edit_in_admin(opslead, draft, name="Edited by opslead", high_tier_min_score=75)
    submit_on_page(salesops, draft)
    draft.refresh_from_db()

    with pytest.raises(PermissionDenied, match="You edited framework"):
        framework_approve(framework=draft, user=opslead)

    framework_approve(framework=draft, user=leader)
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.APPROVED


def test_returning_to_draft_is_not_an_edit(two_approvers, active_framework, salesops, opslead):
    draft = create_draft_by_api(salesops)
    raise_high_cutoff(draft)
    framework_submit(framework=draft, user=salesops, summary="First try")
    framework_return_to_draft(framework=draft, user=opslead)
    framework_submit(framework=draft, user=salesops, summary="Second try")

    framework_approve(framework=draft, user=opslead)

    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.APPROVED


def test_other_leader_approves(shaped_by_opslead, leader):
    framework_approve(framework=shaped_by_opslead, user=leader)
    shaped_by_opslead.refresh_from_db()
    assert shaped_by_opslead.status == FrameworkStatus.APPROVED


def test_register_names_creator_and_editors(
    two_approvers, active_framework, opslead, salesops, leader
):
    draft = create_draft_by_api(opslead)
    edit_in_admin(opslead, draft, high_tier_min_score="75")
    edit_in_admin(salesops, Framework.objects.get(pk=draft.pk), name="Renamed by Priya")
    submit_on_page(salesops, draft)
    framework_approve(framework=Framework.objects.get(pk=draft.pk), user=leader)

    rows = register_rows(leader)

    entries = {row["action"]: row for row in rows if row["version"] == str(draft.version)}
    assert entries["Submitted"]["author"] == "Olu Lead"
    assert entries["Submitted"]["editors"] == "Priya"
    assert entries["Submitted"]["action_by"] == "Priya"
    assert entries["Approved"]["author"] == "Olu Lead"
    assert entries["Approved"]["editors"] == "Priya"
    assert entries["Approved"]["approver"] == user_label(leader)


def test_register_page_names_creator(client, shaped_by_opslead, leader):
    client.force_login(leader)
    text = client.get(reverse("segmentation:revision-list")).content.decode()
    assert 'data-testid="revision-author">Olu Lead<' in text


def test_admin_register_names_creator(client, shaped_by_opslead, salesops):
    client.force_login(salesops)
    url = reverse("admin:segmentation_frameworkrevision_changelist")

    html = client.get(url).content.decode()

    assert '<td class="field-version_author">Olu Lead</td>' in html
    assert '<td class="field-submitted_or_returned_by">Priya</td>' in html


@pytest.fixture
def resubmitted_by_salesops(two_approvers, opslead, salesops):
    """A version that salesops created, opslead submitted, and salesops returned and resubmitted.

    The return to draft is the admin's "Return to draft" button, which clears submitted_by.
    """
    draft = create_draft_by_api(salesops)
    raise_high_cutoff(draft)
    submit_on_page(opslead, draft)
    client = Client()
    client.force_login(salesops)
    url = reverse("admin:segmentation_framework_return_to_draft", args=[draft.pk])
    assert client.post(url).status_code == 302
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.DRAFT
    submit_on_page(salesops, draft)
    draft.refresh_from_db()
    assert draft.status == FrameworkStatus.SUBMITTED
    assert draft.submitted_by == salesops
    return draft


def test_earlier_submitter_cannot_approve(resubmitted_by_salesops, opslead):
    with pytest.raises(PermissionDenied, match="You submitted framework"):
        framework_approve(framework=resubmitted_by_salesops, user=opslead)

    resubmitted_by_salesops.refresh_from_db()
    assert resubmitted_by_salesops.status == FrameworkStatus.SUBMITTED


def test_page_rejects_earlier_submitter(client, resubmitted_by_salesops, opslead):
    client.force_login(opslead)
    url = reverse("segmentation:framework-approve", args=[resubmitted_by_salesops.version])

    response = client.post(url, follow=True)

    resubmitted_by_salesops.refresh_from_db()
    assert resubmitted_by_salesops.status == FrameworkStatus.SUBMITTED
    assert "a second approver is required" in response.content.decode()


def test_buttons_hidden_from_earlier_submitter(client, resubmitted_by_salesops, opslead):
    framework = resubmitted_by_salesops
    client.force_login(opslead)
    approve_url = reverse("segmentation:framework-approve", args=[framework.version])
    change_url = reverse("admin:segmentation_framework_change", args=[framework.pk])
    preview_url = reverse("segmentation:framework-preview", args=[framework.version])

    listing = client.get(reverse("segmentation:framework-list")).content.decode()
    admin_page = client.get(change_url).content.decode()
    preview = client.get(preview_url).content.decode()

    assert approve_url not in listing
    assert 'data-testid="second-approver"' in listing
    assert "Approve and re-segment" not in admin_page
    assert f"You submitted framework v{framework.version}" in admin_page
    assert approve_url not in preview
    assert 'data-testid="preview-second-approver"' in preview


def test_other_leader_approves_resubmitted(resubmitted_by_salesops, leader):
    framework_approve(framework=resubmitted_by_salesops, user=leader)
    resubmitted_by_salesops.refresh_from_db()
    assert resubmitted_by_salesops.status == FrameworkStatus.APPROVED


def test_register_names_every_submitter(client, resubmitted_by_salesops, leader):
    framework = resubmitted_by_salesops
    framework_approve(framework=framework, user=leader)

    rows = [row for row in register_rows(leader) if row["version"] == str(framework.version)]
    client.force_login(leader)
    page = client.get(reverse("segmentation:revision-list")).content.decode()

    by_action = {}
    for row in rows:
        by_action.setdefault(row["action"], []).append(row)
    first_submission, second_submission = sorted(by_action["Submitted"], key=lambda r: r["date"])
    assert first_submission["submitters"] == "Olu Lead"
    assert second_submission["submitters"] == "Olu Lead, Priya"
    assert by_action["Returned to draft"][0]["submitters"] == "Olu Lead"
    assert by_action["Approved"][0]["submitters"] == "Olu Lead, Priya"
    assert 'data-testid="revision-submitters">Olu Lead, Priya<' in page
