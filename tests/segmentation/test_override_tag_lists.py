"""An account that needs enrichment leaves its tag's member lists, even with a tag set by hand."""

import csv
import io
from io import StringIO
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from audits.selectors import account_counts
from segmentation.lifecycle import framework_approve, framework_draft_create, framework_submit
from segmentation.models import SegmentationRun
from segmentation.preview import framework_impact_preview
from segmentation.services import accounts_segment

from .test_conflicts import statuses
from .test_override_routes import TAG, complete_account, conflicting_account, tag_by_hand

# The two fixtures are imported so that pytest finds them here, and listed so that the
# linter counts them as used.
__all__ = ["complete_account", "conflicting_account"]

MEMBERS_URL = f"/api/v1/segments/tags/{quote(TAG)}/members/"


@pytest.fixture
def api(marketing) -> APIClient:
    client = APIClient()
    client.force_login(marketing)
    return client


@pytest.fixture
def tagged_pair(conflicting_account, complete_account, sdr):
    """Both accounts tagged TAG by hand: the first needs enrichment, the second does not."""
    tag_by_hand(conflicting_account, sdr)
    tag_by_hand(complete_account, sdr)
    return conflicting_account, complete_account


def member_ids(api: APIClient, url: str) -> list[int]:
    response = api.get(url)
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_fixture_keeps_override_tag(tagged_pair):
    held, complete = tagged_pair

    assert held.tag == TAG
    assert held.needs_enrichment is True
    assert complete.tag == TAG
    assert complete.needs_enrichment is False


def test_tag_members_skip_held_account(api, tagged_pair):
    held, complete = tagged_pair

    assert member_ids(api, MEMBERS_URL) == [complete.pk]


def test_tag_members_csv_skips_held_account(api, tagged_pair):
    held, complete = tagged_pair

    response = api.get(MEMBERS_URL, {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert [int(row["id"]) for row in rows] == [complete.pk]


def test_tag_catalogue_counts_members(api, tagged_pair):
    tags = {row["name"]: row["account_count"] for row in api.get("/api/v1/segments/tags/").json()}

    assert tags[TAG] == 1


def test_tag_filters_skip_held_account(api, tagged_pair):
    held, complete = tagged_pair

    exact = member_ids(api, f"/api/v1/accounts/?tag={quote(TAG)}")
    partial = member_ids(api, "/api/v1/accounts/?tag_contains=mid-market")

    assert exact == [complete.pk]
    assert partial == [complete.pk]


def test_list_page_tag_filter_skips_held_account(client, sdr, tagged_pair):
    held, complete = tagged_pair
    client.force_login(sdr)

    response = client.get(reverse("accounts:account-list"), {"tag": TAG})

    assert [account.pk for account in response.context["accounts"]] == [complete.pk]


def test_dashboard_tag_count_skips_held_account(tagged_pair):
    assert account_counts().tags[TAG] == 1


def test_account_page_says_tag_is_held(client, sdr, tagged_pair):
    held, complete = tagged_pair
    client.force_login(sdr)

    held_page = client.get(reverse("accounts:account-detail", args=[held.pk])).content.decode()
    complete_page = client.get(
        reverse("accounts:account-detail", args=[complete.pk])
    ).content.decode()

    assert 'data-testid="tag-held"' in held_page
    assert "The tag set by hand is not in effect yet" in held_page
    assert 'data-testid="tag-held"' not in complete_page


def test_resolved_account_joins_tag_members(api, tagged_pair):
    held, complete = tagged_pair
    held.verification_status = "verified"
    held.field_status = statuses()
    held.save(update_fields=["verification_status", "field_status"])

    accounts_segment(account_ids=[held.pk])

    assert sorted(member_ids(api, MEMBERS_URL)) == sorted([held.pk, complete.pk])


def test_list_page_marks_held_tag(client, sdr, tagged_pair):
    held, complete = tagged_pair
    client.force_login(sdr)

    page = client.get(reverse("accounts:account-list"), {"ordering": "id"}).content.decode()

    assert page.count('data-testid="tag-held"') == 1
    assert "(not in effect)" in page


# The tag TAG under the slash template of the draft below.
SLASH_TAG = "SaaS / Mid-Market / APAC"


def tag_counts(api: APIClient) -> dict[str, int]:
    response = api.get("/api/v1/segments/tags/")
    assert response.status_code == 200, response.content
    return {row["name"]: row["account_count"] for row in response.json()}


@pytest.fixture
def slash_template(default_framework, sales_ops):
    """A draft that writes tags with slashes, so both accounts of tagged_pair change tag."""
    draft = framework_draft_create(source=default_framework, user=sales_ops)
    draft.tag_template = "{industry} / {size_band} / {geography}"
    draft.save()
    return draft


def test_preview_counts_tag_members(api, tagged_pair, slash_template):
    preview = framework_impact_preview(slash_template)

    assert tag_counts(api)[TAG] == 1
    assert preview.summary.moved == 2
    assert preview.summary.tags_lost == {TAG: 1}
    assert preview.summary.tags_gained == {SLASH_TAG: 1}


def test_approval_moves_members_as_previewed(
    api, tagged_pair, slash_template, sales_ops, leadership, django_capture_on_commit_callbacks
):
    before = tag_counts(api)
    preview = framework_impact_preview(slash_template)
    framework_submit(framework=slash_template, user=sales_ops, summary="Slashes in tags")
    with django_capture_on_commit_callbacks(execute=True):
        framework_approve(framework=slash_template, user=leadership)
    run = SegmentationRun.objects.get(framework=slash_template, kind=SegmentationRun.Kind.APPROVAL)
    after = tag_counts(api)

    assert run.moved == preview.summary.moved
    assert run.summary["tags"]["lost"] == preview.summary.tags_lost
    assert run.summary["tags"]["gained"] == preview.summary.tags_gained
    assert before[TAG] - after.get(TAG, 0) == preview.summary.tags_lost[TAG]
    assert after[SLASH_TAG] - before.get(SLASH_TAG, 0) == preview.summary.tags_gained[SLASH_TAG]


def test_dry_run_command_counts_members(tagged_pair, slash_template):
    output = StringIO()

    call_command("resegment", framework=slash_template.version, dry_run=True, stdout=output)

    text = output.getvalue()
    assert "in member lists, which leave out accounts that need enrichment" in text
    assert f"+0       -1       {TAG}" in text
    assert f"+1       -0       {SLASH_TAG}" in text


def test_preview_page_counts_tag_members(client, tagged_pair, slash_template, leadership):
    client.force_login(leadership)
    url = reverse("segmentation:framework-preview-results", args=[slash_template.version])

    page = client.get(url).content.decode()

    assert 'data-testid="tag-changes-rule"' in page
    assert f"<tr><td>{TAG}</td>" in page
    assert "−1</td>" in page
    assert "−2</td>" not in page
