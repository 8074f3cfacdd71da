from decimal import Decimal

import pytest

from accounts.models import Account
from segmentation.models import Framework, FrameworkStatus, ScoreRecord, SegmentationRun
from segmentation.selectors import NoActiveFrameworkError
from segmentation.services import (
    FrameworkNotApprovedError,
    accounts_segment,
    framework_get_active,
    segmentation_run_plan,
)
from tests.factories import AccountFactory


@pytest.fixture
def saas_account(industry_id):
    return AccountFactory(industry_id=industry_id("SaaS"), employee_count=300, country="SG")


def copy_framework(framework: Framework, version: int) -> Framework:
    """Save an approved copy of ``framework`` as ``version`` and retire the original."""
    criteria = list(framework.criteria.all())
    bands = list(framework.size_bands.all())
    mappings = list(framework.geography_mappings.all())
    framework.status = FrameworkStatus.RETIRED
    framework.save(update_fields=["status"])
    framework.pk = None
    framework.version = version
    framework.status = FrameworkStatus.APPROVED
    framework.save()
    for rows in (criteria, bands, mappings):
        for row in rows:
            row.pk = None
            row.framework = framework
            row.save()
    return framework


def test_segment_stores_latest_result(default_framework, saas_account):
    summary = accounts_segment()
    saas_account.refresh_from_db()
    assert saas_account.tag == "SaaS – Mid-Market – APAC"
    assert saas_account.tier == "high"
    assert saas_account.route == "Outbound"
    assert saas_account.size_band == "Mid-Market"
    assert saas_account.geography == "APAC"
    assert saas_account.score == 94
    assert saas_account.needs_enrichment is False
    assert saas_account.framework_id == default_framework.pk
    assert saas_account.scored_at is not None
    assert summary.total == 1
    assert summary.moved == 1
    assert summary.recorded == 1


def test_segment_appends_score_record(default_framework, saas_account):
    summary = accounts_segment()
    record = ScoreRecord.objects.get(account=saas_account)
    assert record.run_id == summary.run_id
    assert record.framework_id == default_framework.pk
    assert record.tag == "SaaS – Mid-Market – APAC"
    assert record.score == 94
    assert record.missing_fields == []
    assert record.explanation[0]["reason"] == "Industry SaaS is a target industry (+30 of 30)"
    assert len(record.explanation) == 6


def test_missing_fields_stored(default_framework, industry_id):
    account = AccountFactory(
        industry_id=industry_id("FinTech"),
        employee_count=None,
        employee_min=None,
        employee_max=None,
        country="",
    )
    accounts_segment()
    account.refresh_from_db()
    assert account.needs_enrichment is True
    assert account.missing_fields == ["company_size", "geography"]
    assert account.tag == ""


def test_rerun_appends_nothing(default_framework, saas_account):
    accounts_segment()
    second = accounts_segment()
    assert second.moved == 0
    assert second.unchanged == 1
    assert second.recorded == 0
    assert ScoreRecord.objects.filter(account=saas_account).count() == 1


def test_history_appended_not_overwritten(default_framework, saas_account, industry_id):
    accounts_segment()
    first = ScoreRecord.objects.get(account=saas_account)
    Account.objects.filter(pk=saas_account.pk).update(industry_id=industry_id("Insurance"))
    summary = accounts_segment()
    records = list(ScoreRecord.objects.filter(account=saas_account).order_by("id"))
    assert summary.moved == 1
    assert len(records) == 2
    assert records[0].pk == first.pk
    assert records[0].tag == "SaaS – Mid-Market – APAC"
    assert records[0].tier == "high"
    assert records[1].tag == "Insurance – Mid-Market – APAC"
    assert records[1].tier == "low"


def test_tag_removed_when_no_longer_applies(default_framework, saas_account):
    accounts_segment()
    Account.objects.filter(pk=saas_account.pk).update(industry=None)
    accounts_segment()
    saas_account.refresh_from_db()
    assert saas_account.tag == ""
    assert saas_account.needs_enrichment is True
    assert saas_account.missing_fields == ["industry"]
    assert saas_account.tier != "high"
    assert saas_account.route != "Outbound"


def test_new_version_records_unchanged_result(default_framework, saas_account):
    accounts_segment()
    second_version = copy_framework(default_framework, version=2)
    summary = accounts_segment()
    saas_account.refresh_from_db()
    assert summary.moved == 0
    assert summary.unchanged == 1
    assert summary.recorded == 1
    assert saas_account.framework_id == second_version.pk
    assert ScoreRecord.objects.filter(account=saas_account).count() == 2


def test_dry_run_writes_nothing(default_framework, saas_account):
    summary = accounts_segment(dry_run=True)
    saas_account.refresh_from_db()
    assert summary.moved == 1
    assert summary.run_id is None
    assert saas_account.tag == ""
    assert saas_account.framework_id is None
    assert ScoreRecord.objects.count() == 0
    assert SegmentationRun.objects.count() == 0


def test_account_ids_limit_scope(default_framework, industry_id):
    chosen = AccountFactory(industry_id=industry_id("SaaS"))
    other = AccountFactory(industry_id=industry_id("SaaS"))
    summary = accounts_segment(account_ids=[chosen.pk, chosen.pk])
    chosen.refresh_from_db()
    other.refresh_from_db()
    run = SegmentationRun.objects.get(pk=summary.run_id)
    assert summary.total == 1
    assert chosen.tag != ""
    assert other.tag == ""
    assert run.kind == SegmentationRun.Kind.ACCOUNTS


def test_run_bookkeeping(default_framework, saas_account, industry_id):
    AccountFactory(industry_id=industry_id("Insurance"))
    summary = accounts_segment()
    run = SegmentationRun.objects.get(pk=summary.run_id)
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.kind == SegmentationRun.Kind.FULL
    assert run.total == 2
    assert run.processed == 2
    assert run.moved == 2
    assert run.unchanged == 0
    assert run.failed == 0
    assert run.started_at is not None
    assert run.finished_at is not None
    assert run.summary["recorded"] == 2
    assert run.summary["tiers"] == {"none": {"high": 1, "low": 1}}


def test_tier_matrix_tracks_moves(default_framework, saas_account, industry_id):
    accounts_segment()
    Account.objects.filter(pk=saas_account.pk).update(industry_id=industry_id("Insurance"))
    summary = accounts_segment()
    assert summary.tiers == {"high": {"low": 1}}
    assert summary.tier_counts() == {"low": 1}


def test_failed_account_counted(default_framework, saas_account, industry_id):
    broken = AccountFactory(industry_id=industry_id("SaaS"), technologies=5)
    summary = accounts_segment()
    broken.refresh_from_db()
    saas_account.refresh_from_db()
    assert summary.failed == 1
    assert summary.moved == 1
    assert summary.total == 2
    assert broken.tag == ""
    assert saas_account.tag == "SaaS – Mid-Market – APAC"


def test_batches_in_id_order(default_framework, industry_id):
    accounts = [AccountFactory(industry_id=industry_id("SaaS")) for _ in range(7)]
    seen = []
    summary = accounts_segment(batch_size=3, on_batch=lambda running: seen.append(running.total))
    assert seen == [3, 6, 7]
    assert summary.total == 7
    assert ScoreRecord.objects.count() == len(accounts)


def test_invalid_batch_size_rejected(default_framework):
    with pytest.raises(ValueError, match="Invalid batch size -5"):
        accounts_segment(batch_size=-5, dry_run=True)


def test_no_active_framework(db):
    Framework.objects.update(status=FrameworkStatus.RETIRED)
    with pytest.raises(NoActiveFrameworkError, match="No framework version is approved"):
        framework_get_active()


@pytest.mark.parametrize("mode", ["all", "ids"])
def test_query_count_flat(default_framework, industry_id, django_assert_max_num_queries, mode):
    saas = industry_id("SaaS")
    few = [AccountFactory(industry_id=saas).pk for _ in range(10)]
    ids = few if mode == "ids" else None
    with django_assert_max_num_queries(30) as few_queries:
        accounts_segment(account_ids=ids)
    Account.objects.all().delete()
    many = [AccountFactory(industry_id=saas).pk for _ in range(200)]
    ids = many if mode == "ids" else None
    with django_assert_max_num_queries(30) as many_queries:
        accounts_segment(account_ids=ids)
    assert len(many_queries.captured_queries) == len(few_queries.captured_queries)


def test_new_numbers_in_same_class_recorded(default_framework, industry_id):
    """An edit that changes only the explanation's numbers appends a record on its own run."""
    account = AccountFactory(
        industry_id=industry_id("SaaS"),
        employee_count=450,
        annual_revenue_usd=Decimal("75300000"),
        country="SG",
    )
    accounts_segment()
    Account.objects.filter(pk=account.pk).update(
        employee_count=460, annual_revenue_usd=Decimal("80100000")
    )

    summary = accounts_segment(account_ids=[account.pk])

    assert summary.moved == 0
    assert summary.recorded == 1
    latest = ScoreRecord.objects.filter(account=account).order_by("-created_at", "-id").first()
    reasons = " ".join(item["reason"] for item in latest.explanation)
    assert "460 employees" in reasons
    assert "$80.1M" in reasons
    assert accounts_segment(account_ids=[account.pk]).recorded == 0


@pytest.mark.parametrize("account_ids", [None, "saas"], ids=["full_run", "chosen_accounts"])
def test_new_version_keeps_updated_at(default_framework, saas_account, account_ids):
    # An unchanged result is no change for API syncs by updated_since or for open forms.
    accounts_segment()
    saas_account.refresh_from_db()
    updated_at, scored_at = saas_account.updated_at, saas_account.scored_at
    second_version = copy_framework(default_framework, version=2)

    accounts_segment(account_ids=None if account_ids is None else [saas_account.pk])

    saas_account.refresh_from_db()
    assert saas_account.updated_at == updated_at
    assert saas_account.scored_at > scored_at
    assert saas_account.framework_id == second_version.pk
    assert ScoreRecord.objects.filter(account=saas_account, framework=second_version).exists()


def test_changed_result_moves_updated_at(default_framework, saas_account):
    accounts_segment()
    saas_account.refresh_from_db()
    updated_at = saas_account.updated_at
    Account.objects.filter(pk=saas_account.pk).update(employee_count=20)

    accounts_segment()

    saas_account.refresh_from_db()
    assert saas_account.size_band == "SMB"
    assert saas_account.updated_at > updated_at


def test_segment_rejects_draft_writes(default_framework, saas_account, make_framework):
    draft = make_framework([])

    with pytest.raises(FrameworkNotApprovedError, match="v2 is draft, not approved"):
        accounts_segment(framework=draft)

    saas_account.refresh_from_db()
    assert saas_account.framework_id is None
    assert ScoreRecord.objects.count() == 0
    assert SegmentationRun.objects.count() == 0


def test_segment_dry_run_allows_draft(default_framework, saas_account, make_framework):
    draft = make_framework([])
    summary = accounts_segment(framework=draft, dry_run=True)
    assert summary.total == 1
    assert ScoreRecord.objects.count() == 0


def test_run_plan_rejects_retired_version(default_framework, saas_account):
    retired = copy_framework(default_framework, 2)
    Framework.objects.filter(pk=retired.pk).update(status=FrameworkStatus.RETIRED)
    Framework.objects.filter(version=1).update(status=FrameworkStatus.APPROVED)
    retired.refresh_from_db()

    with pytest.raises(FrameworkNotApprovedError, match="v2 is retired, not approved") as raised:
        segmentation_run_plan(framework=retired)

    assert "v1 is the active version" in str(raised.value)
    assert "create a new draft from v1" in str(raised.value)
    run = SegmentationRun.objects.get()
    assert run.status == SegmentationRun.Status.FAILED
    assert "v2 is retired" in run.error
    assert ScoreRecord.objects.count() == 0


def test_run_plan_rejects_stale_approved_object(default_framework, saas_account):
    """A caller's object whose status predates the approval that retired it."""
    stale = Framework.objects.get(version=1)
    copy_framework(default_framework, 2)
    assert stale.status == FrameworkStatus.APPROVED

    with pytest.raises(FrameworkNotApprovedError, match="v1 is retired"):
        segmentation_run_plan(framework=stale)
