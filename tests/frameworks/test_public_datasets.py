"""The framework lifecycle on the real public datasets: S&P 500, Fortune 500 and YC."""

import pytest
from django.urls import reverse

from accounts.models import Account
from accounts.services import accounts_import
from segmentation.lifecycle import framework_approve, framework_submit
from segmentation.models import ScoreRecord, SegmentationRun
from segmentation.preview import framework_impact_preview
from tests.datasets import require_datasets_dir

pytestmark = [pytest.mark.shared_data, pytest.mark.django_db]


@pytest.fixture
def imported(active_framework):
    """Import the three datasets, which scores every account with version 1."""
    datasets = require_datasets_dir()
    accounts_import(datasets / "sp500-companies" / "constituents.csv")
    accounts_import(datasets / "fortune500-2019" / "fortune500.csv")
    for path in sorted((datasets / "yc-companies" / "batches").glob("*.json")):
        accounts_import(path)
    return Account.objects.count()


def test_edited_draft_preview_matches_approval(
    imported, draft, ops_user, leader, client, django_capture_on_commit_callbacks
):
    # Drop FinTech from the target industries and raise the High cut-off.
    draft.criteria.filter(dimension="industry").update(values=["SaaS", "HealthTech"])
    draft.high_tier_min_score = 75
    draft.save()
    fintech_high = Account.objects.filter(industry__name="FinTech", tier="high").count()

    preview = framework_impact_preview(draft, top=20)
    framework_submit(framework=draft, user=ops_user, summary="Drop FinTech, High from 75")
    with django_capture_on_commit_callbacks(execute=True):
        framework_approve(framework=draft, user=leader)
    run = SegmentationRun.objects.get(framework=draft, kind=SegmentationRun.Kind.APPROVAL)

    assert imported > 6000
    assert fintech_high > 0
    assert preview.summary.total == imported
    assert preview.summary.moved >= fintech_high
    assert preview.summary.tiers["high"]["low"] >= fintech_high
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.processed == preview.summary.total
    assert run.moved == preview.summary.moved
    assert run.unchanged == preview.summary.unchanged
    assert run.failed == preview.summary.failed
    assert run.summary["tiers"] == preview.summary.tiers
    assert run.summary["tags"]["gained"] == preview.summary.tags_gained
    assert run.summary["tags"]["lost"] == preview.summary.tags_lost
    assert not Account.objects.filter(industry__name="FinTech", tier="high").exists()

    mover = preview.movers[0]
    account = Account.objects.get(pk=mover.account_id)
    versions = list(
        ScoreRecord.objects.filter(account=account)
        .order_by("created_at", "id")
        .values_list("framework__version", flat=True)
    )
    assert account.tier == mover.new_tier
    assert account.score == mover.new_score
    assert versions == [1, draft.version]

    client.force_login(ops_user)
    page = client.get(reverse("accounts:account-detail", args=[account.pk])).content.decode()
    assert f"· v{draft.version} " in page
    assert "· v1 " in page
