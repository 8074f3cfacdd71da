import importlib
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command

from accounts.models import Account
from icp_portal.celery import app as celery_app
from segmentation.models import Framework, FrameworkStatus, ScoreRecord, SegmentationRun
from tests.factories import AccountFactory


@pytest.fixture
def accounts(default_framework, industry_id):
    saas = industry_id("SaaS")
    insurance = industry_id("Insurance")
    return [AccountFactory(industry_id=saas) for _ in range(3)] + [
        AccountFactory(industry_id=insurance) for _ in range(2)
    ]


def resegment(*args: str) -> str:
    out = StringIO()
    call_command("resegment", *args, stdout=out)
    return out.getvalue()


def test_resegment_prints_progress_and_summary(accounts):
    output = resegment("--batch-size", "2")
    progress = [line for line in output.splitlines() if " scored: " in line]
    assert len(progress) == 3
    assert progress[-1].strip().startswith("5 of 5 scored")
    assert "Total 5: 5 moved, 0 unchanged, 0 failed" in output
    assert "Tiers: high 3, medium 0, low 2, none 0" in output
    assert ScoreRecord.objects.count() == 5


def test_resegment_twice_moves_nothing(accounts):
    resegment()
    output = resegment()
    assert "Total 5: 0 moved, 5 unchanged, 0 failed. 0 score records appended." in output


def test_dry_run_writes_nothing(accounts):
    output = resegment("--dry-run")
    assert "Dry run, nothing written." in output
    assert "Total 5: 5 moved" in output
    assert ScoreRecord.objects.count() == 0
    assert SegmentationRun.objects.count() == 0
    assert Account.objects.exclude(tag="").count() == 0


def test_unknown_framework_version(accounts):
    with pytest.raises(CommandError, match="Framework version 9 not found: use one of 1"):
        resegment("--framework", "9")


def test_draft_framework_needs_dry_run(accounts, default_framework):
    draft = Framework.objects.create(version=2, name="Draft", status=FrameworkStatus.DRAFT)
    with pytest.raises(CommandError, match="not approved"):
        resegment("--framework", str(draft.version))
    output = resegment("--framework", str(draft.version), "--dry-run")
    assert "framework v2" in output


def test_submitted_framework_needs_approval(accounts, default_framework):
    Framework.objects.create(version=2, name="Submitted", status=FrameworkStatus.SUBMITTED)
    with pytest.raises(CommandError) as raised:
        resegment("--framework", "2")
    message = str(raised.value)
    assert "v2 is submitted, not approved" in message
    assert "have Sales Leadership approve it first" in message


def test_retired_framework_names_active(accounts, default_framework):
    Framework.objects.filter(pk=default_framework.pk).update(status=FrameworkStatus.RETIRED)
    Framework.objects.create(version=2, name="Active", status=FrameworkStatus.APPROVED)
    with pytest.raises(CommandError) as raised:
        resegment("--framework", "1")
    message = str(raised.value)
    assert "v1 is retired, not approved" in message
    assert "approve it first" not in message
    assert "cannot be approved again" in message
    assert "v2 is the active version" in message
    assert "create a new draft from v2" in message


@pytest.mark.parametrize("status", [FrameworkStatus.DRAFT, FrameworkStatus.SUBMITTED])
def test_outdated_copy_not_told_to_approve(accounts, default_framework, status):
    Framework.objects.filter(pk=default_framework.pk).update(status=FrameworkStatus.RETIRED)
    Framework.objects.create(version=2, name="Active", status=FrameworkStatus.APPROVED)
    Framework.objects.create(version=3, name="Copy", status=status, based_on=default_framework)
    with pytest.raises(CommandError) as raised:
        resegment("--framework", "3")
    message = str(raised.value)
    assert f"v3 is {status}, not approved" in message
    assert "approve it first" not in message
    assert "cannot be approved as it is" in message
    assert "was copied from v1, but v2 is the active version now" in message
    assert "Create a new draft from v2" in message
    assert "resegment --framework 3 --dry-run" in message


def test_early_copy_not_told_to_approve(accounts, default_framework):
    copy = Framework.objects.create(
        version=2, name="Copy", status=FrameworkStatus.DRAFT, based_on=default_framework
    )
    approved_at = copy.created_at + timedelta(minutes=5)
    Framework.objects.filter(pk=default_framework.pk).update(approved_at=approved_at)
    with pytest.raises(CommandError) as raised:
        resegment("--framework", "2")
    message = str(raised.value)
    assert "approve it first" not in message
    assert "cannot be approved as it is" in message
    assert "copied from v1 before v1 was approved" in message
    assert "Create a new draft from v1" in message


def test_invalid_batch_size(accounts):
    with pytest.raises(CommandError, match="Invalid --batch-size 0"):
        resegment("--batch-size", "0")


@pytest.fixture
def migration_rows(transactional_db):
    """Reload the taxonomy and default framework rows when an earlier test flushed them.

    Tests that commit end with a flush of every table, and this one must commit so that
    the run is queued, so it cannot rely on the rows that the data migrations created.
    """
    for module, function in (
        ("0002_industry_taxonomy", "load_taxonomy"),
        ("0003_default_framework", "create_default_framework"),
    ):
        migration = importlib.import_module(f"segmentation.migrations.{module}")
        getattr(migration, function)(django_apps, None)


@pytest.fixture
def eager_celery():
    """Run tasks in this process, whatever an earlier test left in the Celery app's settings."""
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = saved


# Without an outer test transaction the tasks are queued as soon as the run is committed.
@pytest.mark.django_db(transaction=True)
def test_broker_set_uses_celery_tasks(migration_rows, eager_celery, accounts, settings):
    settings.CELERY_BROKER_URL = "memory://"
    output = resegment("--batch-size", "2")
    run = SegmentationRun.objects.get()
    assert f"Queued run {run.pk} as 1 Celery tasks" in output
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert "Total 5: 5 moved" in output


@pytest.mark.django_db(transaction=True)
def test_broker_without_workers_stops_waiting(migration_rows, accounts, settings):
    # Tasks go to an in-memory broker that no worker reads, so the run never starts.
    settings.CELERY_BROKER_URL = "memory://"
    saved = celery_app.conf.task_always_eager, celery_app.conf.broker_url
    celery_app.conf.update(task_always_eager=False, broker_url="memory://")
    try:
        with pytest.raises(CommandError, match=r"made no progress for 0.5 s: check that a Celery"):
            resegment("--idle-timeout", "0.5")
    finally:
        celery_app.conf.update(task_always_eager=saved[0], broker_url=saved[1])
    assert SegmentationRun.objects.get().processed == 0


def test_negative_top_rejected(accounts):
    out = StringIO()
    with pytest.raises(CommandError, match=r"Invalid --top -5: use 0 or more"):
        call_command("resegment", "--dry-run", "--top", "-5", stdout=out)
    assert out.getvalue() == ""


def test_invalid_idle_timeout(accounts):
    with pytest.raises(CommandError, match="Invalid --idle-timeout 0"):
        resegment("--idle-timeout", "0")
