"""An audit of a past month reads each account's values as they stood at the month's end."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from accounts import roles
from accounts.models import Account, ResearchNote
from audits import rules
from audits.baseline import BASELINE_NOTE, record_account_baselines
from audits.history import Channel, change_channel
from audits.models import Violation
from audits.periods import month_period
from audits.services import monthly_audit_run
from segmentation.lifecycle import framework_approve, framework_draft_create, framework_submit
from segmentation.models import Framework, ScoreRecord, SegmentationRun
from tests.audits.conftest import CREATED_AT


@pytest.fixture(params=["distinct_on", "subquery"])
def query_path(request, monkeypatch):
    """Run the test with PostgreSQL's DISTINCT ON and with the other databases' subquery."""
    if request.param == "subquery":
        monkeypatch.setattr(connection.features, "can_distinct_on_fields", False)
    return request.param


def publish_note(account: Account, when) -> None:
    note = ResearchNote.objects.create(account=account, text="Hiring SDRs", author=account.owner)
    ResearchNote.objects.filter(pk=note.pk).update(created_at=when)


def findings(month) -> set[tuple[int, str]]:
    run = monthly_audit_run(month=month)
    return set(Violation.objects.filter(audit_run=run).values_list("account_id", "rule_code"))


def save_as_person(account: Account, user, **values) -> None:
    """Change the account on a page now, after the audited month."""
    for name, value in values.items():
        setattr(account, name, value)
    account._history_user = user
    with change_channel(Channel.PAGE):
        account.save()


@pytest.fixture
def worked_without_industry(scored, team, in_month):
    """An account worked in the month while its industry was missing."""
    account = scored(owner=team["rep_a"], scored_at=in_month, industry=None)
    publish_note(account, in_month)
    return account


def test_change_after_month_end_not_seen(
    worked_without_industry, team, saas, audit_month, query_path
):
    account = worked_without_industry
    save_as_person(account, team["rep_a"], industry=saas)

    assert findings(audit_month) == {(account.pk, rules.INCOMPLETE_WORKED)}


def test_change_inside_month_is_seen(worked_without_industry, team, saas, in_month, audit_month):
    account = worked_without_industry
    save_as_person(account, team["rep_a"], industry=saas)
    account.history.filter(history_date__gt=in_month).update(history_date=in_month)
    Account.objects.filter(pk=account.pk).update(updated_at=in_month)

    codes = {code for _account_id, code in findings(audit_month)}

    assert rules.INCOMPLETE_WORKED not in codes


def test_account_created_after_end_left_out(worked_without_industry, audit_month, query_path):
    account = worked_without_industry
    now = timezone.now()
    Account.objects.filter(pk=account.pk).update(created_at=now, updated_at=now)
    account.history.update(history_date=now)

    run = monthly_audit_run(month=audit_month)

    assert run.accounts_checked == 0
    assert run.violations_found == 0


def test_creation_row_after_end_leaves_account_out(
    worked_without_industry, audit_month, query_path
):
    # created_at alone shows that the account existed, but its first history row is its
    # creation after the month.
    account = worked_without_industry
    Account.objects.filter(pk=account.pk).update(updated_at=timezone.now())
    account.history.update(history_date=timezone.now())

    run = monthly_audit_run(month=audit_month)

    assert run.accounts_checked == 0


def test_baseline_after_end_gives_month_end_values(
    worked_without_industry, team, saas, audit_month, query_path
):
    # An import stored the account without a history row, so the first change after
    # the month records the values before it as a baseline row.
    account = worked_without_industry
    account.history.all().delete()
    save_as_person(account, team["rep_a"], industry=saas)
    assert account.history.filter(history_change_reason=BASELINE_NOTE).count() == 1

    assert findings(audit_month) == {(account.pk, rules.INCOMPLETE_WORKED)}


def test_account_without_history_read_as_stored(worked_without_industry, audit_month, query_path):
    account = worked_without_industry
    account.history.all().delete()
    Account.objects.filter(pk=account.pk).update(updated_at=timezone.now())

    assert findings(audit_month) == {(account.pk, rules.INCOMPLETE_WORKED)}


def change_without_baseline(account: Account, **values) -> None:
    """Write a change row after the month with no baseline before it, as older runs did."""
    for name, value in values.items():
        setattr(account, name, value)
    account.updated_at = timezone.now()
    bulk_update_with_history(
        [account],
        Account,
        [*values, "updated_at"],
        default_change_reason="Enrichment run 1 (Apollo)",
        custom_historical_attrs={"history_channel": Channel.TASK},
    )


def test_change_row_without_baseline_not_checked(
    worked_without_industry, saas, audit_month, query_path
):
    # The row holds the values after the change, so reading it would judge the month by
    # the industry set after it.
    account = worked_without_industry
    first = monthly_audit_run(month=audit_month)
    account.history.all().delete()
    change_without_baseline(account, industry=saas)

    run = monthly_audit_run(month=audit_month)

    assert run.pk == first.pk
    assert run.accounts_checked == 0
    assert run.counts["unknown_accounts"] == 1
    assert run.violations_removed == 0
    kept = Violation.objects.filter(audit_run=run).values_list("account_id", "rule_code")
    assert set(kept) == {(account.pk, rules.INCOMPLETE_WORKED)}


def test_change_row_after_baseline_read(worked_without_industry, saas, audit_month, query_path):
    account = worked_without_industry
    account.history.all().delete()
    record_account_baselines([account.pk])
    change_without_baseline(account, industry=saas)

    run = monthly_audit_run(month=audit_month)

    assert run.counts["unknown_accounts"] == 0
    assert findings(audit_month) == {(account.pk, rules.INCOMPLETE_WORKED)}


def test_unchecked_account_shown_on_report(
    client, make_user, worked_without_industry, saas, audit_month
):
    account = worked_without_industry
    account.history.all().delete()
    change_without_baseline(account, industry=saas)
    monthly_audit_run(month=audit_month)
    out = StringIO()

    call_command("run_audit", "--month", f"{audit_month:%Y-%m}", stdout=out)
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    html = client.get(reverse("audits:audit-report", args=[f"{audit_month:%Y-%m}"])).content

    expected = "1 active account without recorded values at the month’s end, not checked"
    assert expected in html.decode()
    assert "without recorded values at the month's end, so not checked" in out.getvalue()


def test_segment_from_score_record_before_end(scored, team, framework, in_month, audit_month):
    # Re-segmentation writes the account's tier without a history row, so the month's end
    # tier is the latest score record's, not the creation row's nor today's.
    account = scored(owner=team["rep_a"], scored_at=in_month)
    publish_note(account, in_month)
    account.history.update(tier="", tag="")
    record = ScoreRecord.objects.create(
        account=account, framework=framework, tier=account.tier, tag=account.tag
    )
    ScoreRecord.objects.filter(pk=record.pk).update(created_at=in_month)
    ScoreRecord.objects.create(account=account, framework=framework, tier="low", tag=account.tag)
    Account.objects.filter(pk=account.pk).update(tier="low", scored_at=timezone.now())

    assert account.tier == "high"
    assert findings(audit_month) == set()


def test_score_record_wins_tie_with_history(scored, team, framework, in_month, audit_month):
    # A save and the scoring it starts can share a timestamp, and the scoring comes
    # second, so its record gives the segment at the month's end.
    account = scored(owner=team["rep_a"], scored_at=in_month)
    publish_note(account, in_month)
    account.history.update(tier="low", history_date=in_month)
    record = ScoreRecord.objects.create(
        account=account, framework=framework, tier=account.tier, tag=account.tag
    )
    ScoreRecord.objects.filter(pk=record.pk).update(created_at=in_month)
    Account.objects.filter(pk=account.pk).update(scored_at=timezone.now())

    assert account.tier == "high"
    assert findings(audit_month) == set()


def test_deleted_account_counted(
    client, make_user, worked_without_industry, team, in_month, audit_month
):
    # A change on a page in the month keeps the account active after its notes go with it.
    account = worked_without_industry
    save_as_person(account, team["rep_a"], city="Austin")
    account.history.filter(history_date__gt=in_month).update(history_date=in_month)
    account.delete()

    run = monthly_audit_run(month=audit_month)

    assert run.accounts_checked == 0
    assert run.counts["deleted_accounts"] == 1
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    url = reverse("audits:audit-report", args=[f"{audit_month:%Y-%m}"])
    html = client.get(url).content.decode()
    assert "1 active account deleted since, not checked" in html


def test_command_prints_deleted_count(worked_without_industry, team, in_month, audit_month):
    account = worked_without_industry
    save_as_person(account, team["rep_a"], city="Austin")
    account.history.filter(history_date__gt=in_month).update(history_date=in_month)
    account.delete()
    out = StringIO()

    call_command("run_audit", "--month", f"{audit_month:%Y-%m}", stdout=out)

    assert "Active accounts deleted since, so not checked: 1" in out.getvalue()


def test_account_deleted_within_month_counted(worked_without_industry, in_month, audit_month):
    account_id = worked_without_industry.pk
    worked_without_industry.delete()
    Account.history.filter(id=account_id, history_type="-").update(
        history_date=in_month + timedelta(hours=1)
    )

    run = monthly_audit_run(month=audit_month)

    assert run.counts["deleted_accounts"] == 1


def test_query_count_with_changed_accounts(
    scored, team, saas, in_month, audit_month, django_assert_max_num_queries
):
    def add_changed_accounts(count: int) -> None:
        for _ in range(count):
            account = scored(owner=team["rep_a"], scored_at=in_month, industry=None)
            publish_note(account, in_month)
            save_as_person(account, team["rep_a"], industry=saas)

    add_changed_accounts(2)
    with django_assert_max_num_queries(60) as captured:
        monthly_audit_run(month=audit_month)
    small = len(captured.captured_queries)
    add_changed_accounts(10)
    with django_assert_max_num_queries(small):
        run = monthly_audit_run(month=audit_month)
    assert run.violations_found == 12


@pytest.fixture
def approve_new_version(framework, make_user, django_capture_on_commit_callbacks):
    """Return a function that approves a copy of version 1 with lower tier minimums now.

    Version 1 counts as approved before the audited month, and the approval's
    re-segmentation of every account runs before the function returns.
    """
    Framework.objects.filter(pk=framework.pk).update(approved_at=CREATED_AT)
    ops = make_user(roles.SALES_OPS, username="ops")
    leader = make_user(roles.SALES_LEADERSHIP, username="leader")

    def approve() -> Framework:
        draft = framework_draft_create(source=framework, user=ops)
        Framework.objects.filter(pk=draft.pk).update(
            high_tier_min_score=10, medium_tier_min_score=5
        )
        draft.refresh_from_db()
        framework_submit(framework=draft, user=ops, summary="Lower the tier minimums")
        with django_capture_on_commit_callbacks(execute=True):
            approved = framework_approve(framework=draft, user=leader)
        assert SegmentationRun.objects.filter(framework=approved, kind="approval").exists()
        return approved

    return approve


def test_approval_after_month_keeps_mismatch(
    scored, team, framework, in_month, audit_month, approve_new_version
):
    # Version 1 gives this account High. Its stored Low tier is a mismatch under version 1,
    # the version active at the month's end, which version 2 must not hide.
    account = scored(owner=team["rep_a"], scored_at=in_month)
    publish_note(account, in_month)
    Account.objects.filter(pk=account.pk).update(tier="low")
    account.history.update(tier="low")
    record = ScoreRecord.objects.create(
        account=account, framework=framework, tier="low", tag=account.tag
    )
    ScoreRecord.objects.filter(pk=record.pk).update(created_at=in_month)
    expected = {(account.pk, rules.MISCLASSIFIED_FRAMEWORK)}
    assert findings(audit_month) == expected

    approve_new_version()
    account.refresh_from_db()

    assert account.framework_id != framework.pk
    assert findings(audit_month) == expected
    assert Violation.objects.get(account=account).detail.endswith("framework v1 gives.")


def test_approval_after_month_keeps_bulk_write(
    worked_without_industry, saas, team, audit_month, approve_new_version
):
    # A bulk write in the month cleared the industry without a history row, so the
    # account's only history row still has one. The approval's re-segmentation moves
    # updated_at, and the stored industry must still be read rather than that row's.
    account = worked_without_industry
    account.history.update(industry=saas)
    expected = {(account.pk, rules.INCOMPLETE_WORKED)}
    assert findings(audit_month) == expected

    approve_new_version()
    account.refresh_from_db()

    assert account.updated_at > month_period(audit_month).end
    assert findings(audit_month) == expected
    assert findings(audit_month) == expected
