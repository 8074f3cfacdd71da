"""The run links of each version on the versions page."""

import re

from django.urls import reverse

from segmentation.models import SegmentationRun


def version_row(page: str, version: int) -> str:
    match = re.search(rf'<tr data-version="{version}">(.*?)</tr>', page, re.S)
    assert match is not None, f"no row for v{version}"
    return match.group(1)


def run_link(run: SegmentationRun) -> str:
    return f'href="{reverse("segmentation:run-detail", args=[run.pk])}"'


def test_approval_run_linked_over_newer_runs(client, active_framework, leader):
    approval = SegmentationRun.objects.create(
        framework=active_framework, kind=SegmentationRun.Kind.APPROVAL
    )
    research = SegmentationRun.objects.create(
        framework=active_framework, kind=SegmentationRun.Kind.ACCOUNTS
    )
    client.force_login(leader)
    page = client.get(reverse("segmentation:framework-list")).content.decode()
    row = version_row(page, active_framework.version)
    assert run_link(approval) in row
    assert run_link(research) not in row
    assert ">Approval run</a>" in row
    assert ">Latest run</a>" not in row


def test_quarterly_run_linked_as_latest_full(client, active_framework, leader):
    SegmentationRun.objects.create(framework=active_framework, kind=SegmentationRun.Kind.APPROVAL)
    quarterly = SegmentationRun.objects.create(
        framework=active_framework, kind=SegmentationRun.Kind.QUARTERLY
    )
    SegmentationRun.objects.create(framework=active_framework, kind=SegmentationRun.Kind.IMPORT)
    client.force_login(leader)
    page = client.get(reverse("segmentation:framework-list")).content.decode()
    row = version_row(page, active_framework.version)
    assert run_link(quarterly) in row
    assert ">Latest full run</a>" in row


def test_version_without_full_run(client, active_framework, leader):
    research = SegmentationRun.objects.create(
        framework=active_framework, kind=SegmentationRun.Kind.ACCOUNTS
    )
    client.force_login(leader)
    page = client.get(reverse("segmentation:framework-list")).content.decode()
    row = version_row(page, active_framework.version)
    assert run_link(research) in row
    assert ">Latest run</a>" in row


def test_all_runs_link_for_staff(client, active_framework, draft, ops_user, leader):
    approval = SegmentationRun.objects.create(
        framework=active_framework, kind=SegmentationRun.Kind.APPROVAL
    )
    research = SegmentationRun.objects.create(
        framework=active_framework, kind=SegmentationRun.Kind.ACCOUNTS
    )
    other_version_run = SegmentationRun.objects.create(
        framework=draft, kind=SegmentationRun.Kind.FULL
    )
    all_runs = (
        reverse("admin:segmentation_segmentationrun_changelist")
        + f"?framework__id__exact={active_framework.pk}"
    )
    client.force_login(leader)
    leader_page = client.get(reverse("segmentation:framework-list")).content.decode()
    client.force_login(ops_user)
    ops_page = client.get(reverse("segmentation:framework-list")).content.decode()
    runs_page = client.get(all_runs)
    listed = [run.pk for run in runs_page.context["cl"].result_list]
    assert 'data-testid="all-runs-link"' not in leader_page
    assert all_runs in version_row(ops_page, active_framework.version)
    assert runs_page.status_code == 200
    assert approval.pk in listed
    assert research.pk in listed
    assert other_version_run.pk not in listed
