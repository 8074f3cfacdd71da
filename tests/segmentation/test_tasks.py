import json

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from accounts import roles
from accounts.models import Account
from segmentation import bulk, services
from segmentation.models import Framework, FrameworkStatus, ScoreRecord, SegmentationRun
from segmentation.tasks import accounts_segment_task, resegment_all_task
from tests.factories import AccountFactory


@pytest.fixture
def accounts(default_framework, industry_id):
    saas = industry_id("SaaS")
    return [AccountFactory(industry_id=saas, employee_count=300 + n) for n in range(25)]


def run_all(django_capture_on_commit_callbacks, **kwargs) -> SegmentationRun:
    with django_capture_on_commit_callbacks(execute=True):
        run_id = resegment_all_task(**kwargs)
    return SegmentationRun.objects.get(pk=run_id)


def test_resegment_all_fans_out_chunks(accounts, django_capture_on_commit_callbacks):
    # Batches of 2 make chunks of 20 accounts, so 25 accounts need two tasks.
    run = run_all(django_capture_on_commit_callbacks, batch_size=2)
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert len(run.summary["chunks"]) == 2
    assert run.total == 25
    assert run.processed == 25
    assert run.moved == 25
    assert ScoreRecord.objects.filter(run=run).count() == 25
    assert Account.objects.filter(tag="").count() == 0


def test_resegment_all_without_accounts(default_framework, django_capture_on_commit_callbacks):
    run = run_all(django_capture_on_commit_callbacks)
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.total == 0
    assert run.finished_at is not None


def test_chunk_rerun_is_idempotent(accounts, django_capture_on_commit_callbacks):
    run = run_all(django_capture_on_commit_callbacks, batch_size=2)
    first_id, last_id = accounts[0].pk, accounts[19].pk
    accounts_segment_task(run.pk, first_id, last_id)
    run.refresh_from_db()
    assert run.processed == 25
    assert run.moved == 25
    assert ScoreRecord.objects.count() == 25


def test_service_rerun_of_range_appends_nothing(accounts, default_framework):
    first_id, last_id = accounts[0].pk, accounts[-1].pk
    services.accounts_segment(first_id=first_id, last_id=last_id)
    again = services.accounts_segment(first_id=first_id, last_id=last_id)
    assert again.total == 25
    assert again.moved == 0
    assert again.recorded == 0
    assert ScoreRecord.objects.count() == 25


def test_interrupted_chunk_resumes(accounts, default_framework, monkeypatch):
    run, ranges = services.segmentation_run_plan(batch_size=5)
    assert len(ranges) == 1
    real_write = bulk.results_write
    calls = []

    def fail_on_third_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("worker lost")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(services, "results_write", fail_on_third_batch)
    with pytest.raises(RuntimeError, match="worker lost"):
        accounts_segment_task(run.pk, *ranges[0])
    run.refresh_from_db()
    assert run.status == SegmentationRun.Status.FAILED
    assert "worker lost" in run.error
    assert run.processed == 10

    monkeypatch.setattr(services, "results_write", real_write)
    accounts_segment_task(run.pk, *ranges[0])
    run.refresh_from_db()
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.error == ""
    assert run.processed == 25
    assert run.moved == 25
    assert ScoreRecord.objects.count() == 25
    assert ScoreRecord.objects.values("account").distinct().count() == 25


def test_failed_chunk_keeps_run_failed(accounts, default_framework, monkeypatch):
    run, ranges = services.segmentation_run_plan(batch_size=2)
    assert len(ranges) == 2
    real_write = bulk.results_write

    def fail_always(*args, **kwargs):
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(services, "results_write", fail_always)
    with pytest.raises(RuntimeError, match="database unavailable"):
        accounts_segment_task(run.pk, *ranges[0])
    monkeypatch.setattr(services, "results_write", real_write)
    accounts_segment_task(run.pk, *ranges[1])
    run.refresh_from_db()
    assert run.status == SegmentationRun.Status.FAILED
    assert "database unavailable" in run.error

    accounts_segment_task(run.pk, *ranges[0])
    run.refresh_from_db()
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.processed == 25
    assert ScoreRecord.objects.count() == 25


@pytest.fixture
def copy_of_active(default_framework):
    """A draft copy of version 1 with the High cut-off lowered, as Sales Ops edit one."""
    from segmentation.lifecycle import framework_draft_create

    draft = framework_draft_create(source=default_framework, user=None)
    draft.high_tier_min_score = 50
    draft.save(update_fields=["high_tier_min_score"])
    return draft


@pytest.mark.parametrize("status", ["draft", "submitted", "retired"])
def test_resegment_all_rejects_unapproved_version(
    accounts, copy_of_active, status, django_capture_on_commit_callbacks
):
    Framework.objects.filter(pk=copy_of_active.pk).update(status=status)

    with pytest.raises(services.FrameworkNotApprovedError) as raised:
        run_all(django_capture_on_commit_callbacks, framework_id=copy_of_active.pk)

    label = FrameworkStatus(status).label.lower()
    assert f"Framework v{copy_of_active.version} is {label}, not approved" in str(raised.value)
    run = SegmentationRun.objects.get()
    assert run.framework == copy_of_active
    assert run.status == SegmentationRun.Status.FAILED
    assert str(raised.value) in run.error
    assert run.finished_at is not None
    assert ScoreRecord.objects.count() == 0
    assert Account.objects.filter(framework=copy_of_active).count() == 0


def test_resegment_all_logs_rejection(accounts, copy_of_active, caplog):
    with pytest.raises(services.FrameworkNotApprovedError):
        resegment_all_task(framework_id=copy_of_active.pk)

    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert any("is draft, not approved" in record.getMessage() for record in errors)


def test_resegment_all_accepts_approved_id(
    accounts, default_framework, django_capture_on_commit_callbacks
):
    run = run_all(django_capture_on_commit_callbacks, framework_id=default_framework.pk)
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.processed == 25


def test_resegment_all_unknown_framework_id(accounts, default_framework):
    with pytest.raises(ValueError, match="Framework id 9999 not found"):
        resegment_all_task(framework_id=9999, kind="quarterly")

    run = SegmentationRun.objects.get()
    assert run.status == SegmentationRun.Status.FAILED
    assert "Framework id 9999 not found" in run.error
    assert f"framework_id {default_framework.pk}" in run.error
    assert run.framework == default_framework
    assert run.kind == SegmentationRun.Kind.QUARTERLY
    assert ScoreRecord.objects.count() == 0


def test_resegment_all_rejects_unknown_kind(accounts, default_framework):
    with pytest.raises(ValueError, match="Invalid kind 'weekly'"):
        resegment_all_task(kind="weekly")

    run = SegmentationRun.objects.get()
    assert run.status == SegmentationRun.Status.FAILED
    assert "Invalid kind 'weekly': use one of full, accounts, approval" in run.error
    assert run.framework == default_framework
    assert run.kind == SegmentationRun.Kind.FULL
    assert ScoreRecord.objects.count() == 0


def test_resegment_all_rejects_bad_batch_size(accounts):
    with pytest.raises(ValueError, match="Invalid batch_size 0"):
        resegment_all_task(batch_size=0)
    assert SegmentationRun.objects.get().status == SegmentationRun.Status.FAILED


def test_rejected_run_shown_on_run_page(client, accounts, default_framework, make_user):
    with pytest.raises(ValueError, match="Invalid kind 'bogus'"):
        resegment_all_task(kind="bogus")
    run = SegmentationRun.objects.get()
    client.force_login(make_user(roles.SALES_OPS))

    page = client.get(reverse("segmentation:run-detail", args=[run.pk])).content.decode()
    versions = client.get(reverse("segmentation:framework-list")).content.decode()

    assert "Invalid kind &#x27;bogus&#x27;" in page
    assert reverse("segmentation:run-detail", args=[run.pk]) in versions


def test_quarterly_schedule_with_draft_kwargs(accounts, copy_of_active):
    """An edited schedule, started as the admin's "Run selected tasks" starts it."""
    task = PeriodicTask.objects.get(task="segmentation.tasks.resegment_all_task")
    task.kwargs = json.dumps({"kind": "quarterly", "framework_id": copy_of_active.pk})
    task.save()

    with pytest.raises(services.FrameworkNotApprovedError):
        resegment_all_task.apply_async(kwargs=json.loads(task.kwargs))

    run = SegmentationRun.objects.get()
    assert run.kind == SegmentationRun.Kind.QUARTERLY
    assert run.status == SegmentationRun.Status.FAILED
    assert ScoreRecord.objects.count() == 0


def test_late_chunk_keeps_succeeded_run(accounts, default_framework, copy_of_active):
    run, ranges = services.segmentation_run_plan(batch_size=5)
    for first_id, last_id in ranges:
        accounts_segment_task(run.pk, first_id, last_id)
    run.refresh_from_db()
    finished_at = run.finished_at
    records = ScoreRecord.objects.count()
    assert run.status == SegmentationRun.Status.SUCCEEDED
    # A newer version was approved before the broker handed a chunk out again.
    Framework.objects.filter(pk=default_framework.pk).update(status=FrameworkStatus.RETIRED)
    Framework.objects.filter(pk=copy_of_active.pk).update(status=FrameworkStatus.APPROVED)

    accounts_segment_task(run.pk, *ranges[0])

    run.refresh_from_db()
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert run.error == ""
    assert run.finished_at == finished_at
    assert ScoreRecord.objects.count() == records


def test_failure_keeps_succeeded_run(accounts):
    run, ranges = services.segmentation_run_plan(batch_size=5)
    for first_id, last_id in ranges:
        accounts_segment_task(run.pk, first_id, last_id)

    services.segmentation_run_fail(run.pk, RuntimeError("late failure"))

    run.refresh_from_db()
    assert run.status == SegmentationRun.Status.SUCCEEDED
    assert "late failure" not in run.error


def test_chunk_of_retired_version_rejected(accounts, default_framework, copy_of_active):
    run, ranges = services.segmentation_run_plan(batch_size=5)
    # Another version was approved before the queued chunk ran.
    Framework.objects.filter(pk=default_framework.pk).update(status=FrameworkStatus.RETIRED)
    Framework.objects.filter(pk=copy_of_active.pk).update(status=FrameworkStatus.APPROVED)

    with pytest.raises(services.FrameworkNotApprovedError, match="v1 is retired"):
        accounts_segment_task(run.pk, *ranges[0])

    run.refresh_from_db()
    assert run.status == SegmentationRun.Status.FAILED
    assert "v1 is retired, not approved" in run.error
    assert ScoreRecord.objects.count() == 0


def test_taken_over_chunk_writes_nothing(accounts, monkeypatch):
    """A worker still alive after a resume: the other task finished the chunk meanwhile."""
    run, ranges = services.segmentation_run_plan(batch_size=2)
    first, last = ranges[0]
    real_score_batch = services._score_batch
    calls = []

    def score_then_lose_the_chunk(*args, **kwargs):
        result = real_score_batch(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            # The resumed task scores the whole chunk after this one read its first batch.
            monkeypatch.setattr(services, "_score_batch", real_score_batch)
            accounts_segment_task(run.pk, first, last)
            monkeypatch.setattr(services, "_score_batch", score_then_lose_the_chunk)
        return result

    monkeypatch.setattr(services, "_score_batch", score_then_lose_the_chunk)
    summary = services.accounts_segment(run=run, first_id=first, last_id=last, batch_size=2)

    run.refresh_from_db()
    chunk = run.summary["chunks"][f"{first}-{last}"]
    assert chunk["done"]
    assert summary.run_id == run.pk
    assert run.status == SegmentationRun.Status.RUNNING
    assert run.error == ""
    assert run.processed == 20
    assert ScoreRecord.objects.filter(run=run).count() == 20
    assert ScoreRecord.objects.values("account").distinct().count() == 20
