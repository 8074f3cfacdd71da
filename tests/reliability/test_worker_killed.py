"""A Celery worker killed with SIGKILL in the middle of a re-segmentation or an import.

The worker (worker.py) kills itself while it writes a chosen batch, inside that batch's
open transaction, as a machine losing power or the OOM killer would. Afterwards no
committed batch is lost, the interrupted one is rolled back, and running the work again
finishes it without doubled score records or duplicate accounts.
"""

from __future__ import annotations

import csv
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.db.models import Count

from accounts.models import Account, ImportCancelRequest, ImportRun, ImportRunAccount
from accounts.services import import_run_create
from segmentation.models import Industry, ScoreRecord, SegmentationRun
from segmentation.runs import chunk_range, segmentation_run_progress, segmentation_run_resume
from segmentation.services import segmentation_run_plan

from .conftest import WAIT_SECONDS, wait_until

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migration_data"),
]

SEGMENT_TASK = "segmentation.tasks.accounts_segment_task"
IMPORT_TASK = "accounts.tasks.accounts_import_task"
ACCOUNTS = 600
# 20 accounts per batch make chunks of 200 (ten batches), so the run has three chunk tasks.
SEGMENT_BATCH = 20
# The 15th batch is the 5th of the second chunk. Batches are written on two connections,
# so the 14th may still be writing when the worker dies: 13 or 14 batches are committed.
DIE_AT_SEGMENT_BATCH = 15
IMPORT_ROWS = 600
IMPORT_BATCH = 100
# The 4th import batch dies, so 3 batches (300 rows) are committed before the kill.
DIE_AT_IMPORT_BATCH = 4


@pytest.fixture
def many_accounts(services_required) -> list[int]:
    saas = Industry.objects.get(name="SaaS")
    accounts = Account.objects.bulk_create(
        Account(
            name=f"Kill Test {number}",
            name_key=f"kill test {number}",
            domain=f"kill-test-{number}.example",
            country="US",
            employee_count=50 + number,
            employee_min=50 + number,
            employee_max=50 + number,
            industry=saas,
        )
        for number in range(ACCOUNTS)
    )
    return [account.pk for account in accounts]


def wait_for_exit(process, workers) -> int:
    try:
        return process.wait(timeout=WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the worker did not die as planned\n{workers.log(process)[-4000:]}")


def send_chunks(send_task, run: SegmentationRun) -> None:
    """Queue one task per chunk of the run, as segmentation_run_dispatch does."""
    for key in run.summary["chunks"]:
        first, last = (int(part) for part in key.split("-"))
        send_task(SEGMENT_TASK, run.pk, first, last)


def assert_scored_once(run: SegmentationRun, account_ids: list[int]) -> None:
    run.refresh_from_db()
    records = ScoreRecord.objects.filter(run=run)
    doubled = records.values("account").annotate(n=Count("id")).filter(n__gt=1)
    assert run.status == SegmentationRun.Status.SUCCEEDED, run.error
    assert run.processed == len(account_ids)
    assert run.total == len(account_ids)
    assert records.count() == len(account_ids)
    assert list(doubled) == []
    assert set(records.values_list("account_id", flat=True)) == set(account_ids)
    assert not Account.objects.filter(scored_at__isnull=True).exists()
    assert all(chunk["done"] for chunk in run.summary["chunks"].values())


def kill_during_segmentation(workers, send_task, *, visibility_timeout=None) -> SegmentationRun:
    run, ranges = segmentation_run_plan(batch_size=SEGMENT_BATCH)
    assert len(ranges) == 3
    dying = workers.start(
        die_in=f"segmentation:{DIE_AT_SEGMENT_BATCH}", visibility_timeout=visibility_timeout
    )
    send_chunks(send_task, run)
    exit_code = wait_for_exit(dying, workers)
    assert exit_code == -signal.SIGKILL, workers.log(dying)[-4000:]
    run.refresh_from_db()
    committed = run.processed
    chunks = list(run.summary["chunks"].values())
    # The run is still "running": nothing was left alive to record the failure.
    assert run.status == SegmentationRun.Status.RUNNING
    assert committed in {
        batches * SEGMENT_BATCH for batches in (DIE_AT_SEGMENT_BATCH - 2, DIE_AT_SEGMENT_BATCH - 1)
    }
    assert ScoreRecord.objects.filter(run=run).count() == committed
    assert [chunk["done"] for chunk in chunks] == [True, False, False]
    return run


def test_segmentation_rerun_after_kill(workers, send_task, many_accounts):
    run = kill_during_segmentation(workers, send_task)
    # Queue every chunk again: the finished one is skipped, the interrupted one resumes
    # after its last committed batch, the third one starts.
    fresh = workers.start()
    send_chunks(send_task, run)
    wait_until(
        lambda: SegmentationRun.objects.get(pk=run.pk).status == SegmentationRun.Status.SUCCEEDED,
        f"segmentation run {run.pk} succeeded",
        process=fresh,
        workers=workers,
    )
    assert_scored_once(run, many_accounts)


def test_segmentation_stalled_then_resumed(workers, send_task, many_accounts, settings):
    settings.SEGMENTATION_STALLED_AFTER_SECONDS = 1
    run = kill_during_segmentation(workers, send_task)
    _finished_key, second_key, third_key = run.summary["chunks"]
    time.sleep(1.5)

    progress = segmentation_run_progress(run)
    assert progress.stalled
    assert progress.stalled_chunks == [second_key]
    assert progress.waiting_chunks == [third_key]

    fresh = workers.start()
    run, keys = segmentation_run_resume(run, user_id=None, generation=0)
    assert keys == [second_key, third_key]
    for key in keys:
        send_task(SEGMENT_TASK, run.pk, *chunk_range(key))
    wait_until(
        lambda: SegmentationRun.objects.get(pk=run.pk).status == SegmentationRun.Status.SUCCEEDED,
        f"segmentation run {run.pk} succeeded after its resume",
        process=fresh,
        workers=workers,
    )
    assert_scored_once(run, many_accounts)


def test_segmentation_redelivered_after_kill(workers, send_task, many_accounts):
    # With acks_late, the killed task's message stays unacknowledged in Redis and is handed
    # to another worker after the visibility timeout, with nothing queued again by hand.
    run = kill_during_segmentation(workers, send_task, visibility_timeout=2)
    fresh = workers.start(visibility_timeout=2)
    wait_until(
        lambda: SegmentationRun.objects.get(pk=run.pk).status == SegmentationRun.Status.SUCCEEDED,
        f"segmentation run {run.pk} succeeded after redelivery",
        process=fresh,
        workers=workers,
    )
    assert_scored_once(run, many_accounts)


# Import ------------------------------------------------------------------------------


def write_import_file(folder: Path) -> Path:
    """Write IMPORT_ROWS companies; every fifth has no website and matches by name only."""
    path = folder / "kill-import.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Company Name", "Website", "Country", "Employees", "Industry"])
        for number in range(IMPORT_ROWS):
            website = "" if number % 5 == 0 else f"import-{number}.example"
            writer.writerow([f"Imported Company {number}", website, "Germany", "120", "SaaS"])
    return path


def kill_during_import(workers, send_task, path: Path, **worker_options) -> ImportRun:
    run = import_run_create(path, source="csv")
    dying = workers.start(
        die_in=f"import:{DIE_AT_IMPORT_BATCH}",
        ICP_TEST_IMPORT_BATCH_SIZE=str(IMPORT_BATCH),
        **worker_options,
    )
    send_task(IMPORT_TASK, run.pk)
    exit_code = wait_for_exit(dying, workers)
    assert exit_code == -signal.SIGKILL, workers.log(dying)[-4000:]
    run.refresh_from_db()
    committed = (DIE_AT_IMPORT_BATCH - 1) * IMPORT_BATCH
    assert run.rows_read == committed
    assert run.created == committed
    assert Account.objects.count() == committed
    return run


def test_import_rerun_after_kill(workers, send_task, services_required, tmp_path):
    path = write_import_file(tmp_path)
    interrupted = kill_during_import(workers, send_task, path)
    # Until the broker hands its task to another worker (after the visibility timeout,
    # an hour by default), the interrupted run stays "running" with its counts.
    assert interrupted.status == ImportRun.Status.RUNNING

    rerun = import_run_create(path, source="csv")
    fresh = workers.start(ICP_TEST_IMPORT_BATCH_SIZE=str(IMPORT_BATCH))
    send_task(IMPORT_TASK, rerun.pk)
    wait_until(
        lambda: (
            ImportRun.objects.get(pk=rerun.pk).status != ImportRun.Status.RUNNING
            and ImportRun.objects.get(pk=rerun.pk).status != ImportRun.Status.PENDING
        ),
        f"import run {rerun.pk} finished",
        process=fresh,
        workers=workers,
    )
    rerun.refresh_from_db()
    names = Account.objects.values("name_key").annotate(n=Count("id")).filter(n__gt=1)
    assert rerun.status == ImportRun.Status.SUCCEEDED, rerun.error
    assert rerun.rows_read == IMPORT_ROWS
    assert rerun.created == IMPORT_ROWS - interrupted.created
    assert rerun.updated + rerun.unchanged + rerun.merged == interrupted.created
    assert rerun.rejected == 0
    assert Account.objects.count() == IMPORT_ROWS
    assert list(names) == []


def test_redelivered_import_resumed(workers, send_task, services_required, tmp_path):
    # With acks_late the killed task is handed to the fresh worker after the visibility
    # timeout. Its run is still "running" and no connection holds its lock, so it is imported again.
    interrupted = kill_during_import(
        workers, send_task, write_import_file(tmp_path), visibility_timeout=2
    )
    fresh = workers.start(visibility_timeout=2, ICP_TEST_IMPORT_BATCH_SIZE=str(IMPORT_BATCH))
    # The run is marked succeeded before its accounts are verified and scored, and the
    # restart note is added after that, so wait for the end of the task.
    wait_until(
        lambda: any(end in workers.log(fresh) for end in ("] succeeded in", "] raised ")),
        f"the redelivered task of import run {interrupted.pk} finished",
        process=fresh,
        workers=workers,
    )
    run = ImportRun.objects.get(pk=interrupted.pk)
    names = Account.objects.values("name_key").annotate(n=Count("id")).filter(n__gt=1)
    committed = (DIE_AT_IMPORT_BATCH - 1) * IMPORT_BATCH
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    assert run.rows_read == IMPORT_ROWS
    assert run.created == IMPORT_ROWS - committed
    assert run.updated + run.unchanged + run.merged == committed
    assert f"stopped after {committed:,} rows" in run.error
    assert Account.objects.count() == IMPORT_ROWS
    assert list(names) == []
    assert f"import run {run.pk} was interrupted after {committed} rows" in workers.log(fresh)


def test_cancel_after_kill_keeps_committed_rows(workers, send_task, services_required, tmp_path):
    interrupted = kill_during_import(workers, send_task, write_import_file(tmp_path))
    committed = (DIE_AT_IMPORT_BATCH - 1) * IMPORT_BATCH
    # Each committed batch linked its accounts, so the interrupted run lists them.
    assert ImportRunAccount.objects.filter(import_run=interrupted).count() == committed
    ImportCancelRequest.objects.create(import_run=interrupted)

    # Queued again by hand, as docs/operations.md describes, the task finds the cancel.
    fresh = workers.start(ICP_TEST_IMPORT_BATCH_SIZE=str(IMPORT_BATCH))
    send_task(IMPORT_TASK, interrupted.pk)
    wait_until(
        lambda: any(end in workers.log(fresh) for end in ("] succeeded in", "] raised ")),
        f"the task of cancelled import run {interrupted.pk} finished",
        process=fresh,
        workers=workers,
    )

    run = ImportRun.objects.get(pk=interrupted.pk)
    assert run.status == ImportRun.Status.CANCELLED, run.error
    assert run.rows_read == committed
    assert run.created == committed
    assert run.rows_not_reached == IMPORT_ROWS - committed
    assert ImportRunAccount.objects.filter(import_run=run).count() == committed
    assert Account.objects.count() == committed
    assert run.segmentation_run is not None
    assert run.segmentation_run.status == SegmentationRun.Status.SUCCEEDED
    assert not Account.objects.filter(scored_at__isnull=True).exists()


@pytest.fixture
def locked_run(services_required, tmp_path):
    """Return a "running" import run whose advisory lock another connection holds."""
    from django.db import connections

    from accounts.tasks import IMPORT_LOCK_CLASS

    run = import_run_create(write_import_file(tmp_path), source="csv")
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING)
    # A second connection plays the worker that is still importing the run.
    holder = connections.create_connection("default")
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", (IMPORT_LOCK_CLASS, run.pk))
    yield run
    holder.close()


def assert_untouched(run: ImportRun) -> None:
    run.refresh_from_db()
    assert run.status == ImportRun.Status.RUNNING
    assert run.rows_read == 0
    assert Account.objects.count() == 0


def test_locked_import_retried_by_worker(workers, send_task, locked_run):
    worker = workers.start()
    send_task(IMPORT_TASK, locked_run.pk)
    # Celery logs the retry a moment after the task's own line, so wait for both.
    wait_until(
        lambda: (
            f"import run {locked_run.pk} is locked by another worker" in workers.log(worker)
            and "Retry in 300s" in workers.log(worker)
        ),
        f"the worker found import run {locked_run.pk} locked and scheduled a retry",
        process=worker,
        workers=workers,
    )
    assert_untouched(locked_run)


def test_locked_import_skipped_when_eager(locked_run, caplog):
    from accounts.tasks import accounts_import_task

    result = accounts_import_task.apply(args=[locked_run.pk])
    assert result.state == "SUCCESS"
    assert f"import run {locked_run.pk} is locked by another database session" in caplog.text
    assert_untouched(locked_run)
