"""The run_audit command, months in the team's time zone, and re-runs."""

from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from accounts.models import Account
from audits import rules
from audits.models import AuditRun, Violation
from audits.services import monthly_audit_run
from audits.tasks import monthly_audit_run_task


def unverify(account: Account) -> None:
    Account.objects.filter(pk=account.pk).update(verification_status="unverified")


@override_settings(TIME_ZONE="America/Los_Angeles")
def test_month_boundary_follows_team_zone(scored, team):
    # 2026-02-01 05:00 UTC is still 31 January in Los Angeles (UTC-8).
    late_january = scored(owner=team["rep_a"], scored_at=datetime(2026, 2, 1, 5, tzinfo=UTC))
    # 2026-03-01 07:00 UTC is 28 February 23:00 in Los Angeles.
    late_february = scored(owner=team["rep_a"], scored_at=datetime(2026, 3, 1, 7, tzinfo=UTC))
    unverify(late_january)
    unverify(late_february)
    january = monthly_audit_run(month=date(2026, 1, 1))
    february = monthly_audit_run(month=date(2026, 2, 1))
    assert set(january.violations.values_list("account_id", flat=True)) == {late_january.pk}
    assert set(february.violations.values_list("account_id", flat=True)) == {late_february.pk}


@override_settings(TIME_ZONE="America/Los_Angeles")
def test_default_month_is_previous_local(monkeypatch, db):
    # 2026-03-01 05:00 UTC is 28 February 21:00 in Los Angeles, so the previous month
    # there is January. In UTC it would be February.
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 1, 5, tzinfo=UTC))
    call_command("run_audit", stdout=StringIO())
    assert list(AuditRun.objects.values_list("month", flat=True)) == [date(2026, 1, 1)]


def test_command_month_argument(db):
    out = StringIO()
    call_command("run_audit", "--month", "2025-11", stdout=out)
    assert AuditRun.objects.get().month == date(2025, 11, 1)
    assert "Audit of 2025-11" in out.getvalue()


def test_command_rejects_bad_month(db):
    with pytest.raises(CommandError, match="Invalid month '2025-13'"):
        call_command("run_audit", "--month", "2025-13")


def test_command_rejects_future_month(monkeypatch, db):
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 15, 12, tzinfo=UTC))
    with pytest.raises(CommandError, match="Month 2026-04 has not started yet"):
        call_command("run_audit", "--month", "2026-04")
    assert not AuditRun.objects.exists()


def test_command_rejects_current_month(monkeypatch, db):
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 15, 12, tzinfo=UTC))
    with pytest.raises(CommandError, match="Month 2026-03 has not ended yet") as error:
        call_command("run_audit", "--month", "2026-03", stdout=StringIO())
    assert "run it from 2026-04-01" in str(error.value)
    assert "or choose 2026-02 or an earlier month" in str(error.value)
    assert not AuditRun.objects.exists()


def test_command_accepts_last_month(monkeypatch, db):
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 15, 12, tzinfo=UTC))
    call_command("run_audit", "--month", "2026-02", stdout=StringIO())
    assert AuditRun.objects.get().month == date(2026, 2, 1)


def test_command_rejects_month_before_1900(db):
    with pytest.raises(CommandError, match="Month 0001-01 is before 1900-01"):
        call_command("run_audit", "--month", "0001-01")
    assert not AuditRun.objects.exists()


def test_rerun_creates_no_duplicates(scored, team, in_month, audit_month):
    unverify(scored(owner=team["rep_a"], scored_at=in_month))
    monthly_audit_run(month=audit_month)
    run = monthly_audit_run(month=audit_month)
    assert AuditRun.objects.count() == 1
    assert Violation.objects.filter(rule_code=rules.UNVERIFIED_NOT_VERIFIED).count() == 1
    assert run.violations_created == 0


def test_rerun_removes_fixed_open_findings(scored, team, in_month, audit_month):
    account = scored(owner=team["rep_a"], scored_at=in_month)
    unverify(account)
    monthly_audit_run(month=audit_month)
    Account.objects.filter(pk=account.pk).update(verification_status="verified")
    run = monthly_audit_run(month=audit_month)
    assert not Violation.objects.filter(rule_code=rules.UNVERIFIED_NOT_VERIFIED).exists()
    assert run.violations_removed == 1


def test_rerun_keeps_acknowledged_findings(scored, team, in_month, audit_month):
    account = scored(owner=team["rep_a"], scored_at=in_month)
    unverify(account)
    monthly_audit_run(month=audit_month)
    Violation.objects.filter(rule_code=rules.UNVERIFIED_NOT_VERIFIED).update(
        status="acknowledged", consequence="coaching"
    )
    Account.objects.filter(pk=account.pk).update(verification_status="verified")
    monthly_audit_run(month=audit_month)
    acknowledged = Violation.objects.get(rule_code=rules.UNVERIFIED_NOT_VERIFIED)
    assert acknowledged.status == "acknowledged"
    assert acknowledged.consequence == "coaching"


def test_rerun_keeps_acknowledged_still_found(scored, team, in_month, audit_month):
    unverify(scored(owner=team["rep_a"], scored_at=in_month))
    monthly_audit_run(month=audit_month)
    Violation.objects.update(status="acknowledged")
    monthly_audit_run(month=audit_month)
    acknowledged = Violation.objects.filter(rule_code=rules.UNVERIFIED_NOT_VERIFIED)
    assert acknowledged.count() == 1
    assert acknowledged.get().status == "acknowledged"


def test_failed_run_is_recorded(db, monkeypatch, audit_month):
    def fail(period):
        raise RuntimeError("database went away")

    monkeypatch.setattr("audits.services.findings_for_period", fail)
    with pytest.raises(RuntimeError):
        monthly_audit_run(month=audit_month)
    run = AuditRun.objects.get()
    assert run.status == AuditRun.Status.FAILED
    assert "database went away" in run.error


def test_task_records_task_channel(scored, team, in_month, audit_month):
    unverify(scored(owner=team["rep_a"], scored_at=in_month))
    run_id = monthly_audit_run_task(f"{audit_month:%Y-%m}")
    violation = Violation.objects.filter(audit_run_id=run_id).first()
    assert violation.history.get().history_channel == "task"


def test_beat_schedule_created(db):
    from django.conf import settings
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.select_related("crontab").get(name="Monthly CRM audit")
    assert task.task == "audits.tasks.monthly_audit_run_task"
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_month) == ("0", "3", "1")
    assert str(task.crontab.timezone) == settings.TIME_ZONE


def test_severity_rules_seeded(db):
    from audits.models import SeverityRule

    assert set(SeverityRule.objects.values_list("rule_code", flat=True)) == set(rules.RULES)
