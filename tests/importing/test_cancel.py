"""Cancelling an import: the importer stops between batches and reports what it left out.

The importer looks for the cancel request once a batch is committed. Written in the
calling thread, batch N's commit is followed by the check, so a request made after batch
2 stops the run at row 10 of batches of 5. Written in the background, batch N is checked
when it has finished while batch N + 1 is already read, so the run stops after batch 3.
"""

import csv
import functools
import io
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from accounts import roles
from accounts.importing import runner
from accounts.importing.errors import ImportNotCancellable
from accounts.models import Account, ImportCancelRequest, ImportRun
from accounts.services import accounts_import, import_run_cancel, import_run_create
from accounts.tasks import accounts_import_task

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the writer thread needs PostgreSQL's COPY"
)

HEADER = ["Company", "Website", "Country"]
ROW_COUNT = 25
BATCH_SIZE = 5
# Rows 3 and 12 have neither a name nor a website, so the importer rejects them.
REJECTED_ROWS = {3, 12}


def export_rows() -> list[list[str]]:
    rows = []
    for number in range(1, ROW_COUNT + 1):
        if number in REJECTED_ROWS:
            rows.append(["", "", "Germany"])
        else:
            rows.append([f"Company {number}", f"company{number}.example", "Germany"])
    return rows


@pytest.fixture
def sdr(make_user):
    return make_user(roles.SDR, username="sam", first_name="Sam", last_name="Reyes")


def cancel_after_row(monkeypatch, row: int, user) -> None:
    """Request the cancel, as a user on the import page would, once ``row`` rows are saved."""
    save_progress = runner.FileImporter._save_progress

    def save_and_cancel(importer):
        save_progress(importer)
        if importer.run.rows_read == row:
            # The page loads its own copy of the run.
            import_run_cancel(ImportRun.objects.get(pk=importer.run.pk), user=user)

    monkeypatch.setattr(runner.FileImporter, "_save_progress", save_and_cancel)


def read_report(run: ImportRun) -> list[dict[str, str]]:
    with Path(run.report_path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def import_and_cancel_after_batch_two(write_csv, monkeypatch, user) -> ImportRun:
    path = write_csv(HEADER, export_rows())
    run = import_run_create(path, created_by=user)
    cancel_after_row(monkeypatch, 10, user)
    accounts_import(import_run=run, batch_size=BATCH_SIZE)
    run.refresh_from_db()
    return run


def assert_stopped_at(run: ImportRun, stop_row: int, user) -> None:
    rejected_before_stop = len([number for number in REJECTED_ROWS if number <= stop_row])
    assert run.status == ImportRun.Status.CANCELLED
    assert run.rows_read == stop_row
    assert run.created == stop_row - rejected_before_stop
    assert run.rejected == rejected_before_stop
    assert run.rows_not_reached == ROW_COUNT - stop_row
    assert run.finished_at is not None
    assert run.cancel_request.requested_by == user
    imported_domains = set(Account.objects.values_list("domain", flat=True))
    expected_domains = {
        f"company{number}.example"
        for number in range(1, stop_row + 1)
        if number not in REJECTED_ROWS
    }
    assert imported_domains == expected_domains


@pytest.mark.parametrize(
    ("write_in_background", "stop_row"),
    [
        pytest.param(False, 10, id="in-calling-thread"),
        pytest.param(True, 15, id="in-background", marks=on_postgresql),
    ],
)
def test_cancel_stops_between_batches(write_csv, monkeypatch, sdr, write_in_background, stop_row):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", write_in_background)

    run = import_and_cancel_after_batch_two(write_csv, monkeypatch, sdr)

    assert_stopped_at(run, stop_row, sdr)


@on_postgresql
def test_cancel_stops_worker_matching_beside(transactional_db, write_csv, monkeypatch, sdr):
    # Outside a transaction, as in a Celery worker, the next batch is matched on a second
    # connection while the previous one is written.
    matched_beside: list[int] = []
    match_beside_write = runner.FileImporter._match_beside_write

    def record(importer, batch, pending):
        matched_beside.append(len(batch))
        return match_beside_write(importer, batch, pending)

    monkeypatch.setattr(runner.FileImporter, "_match_beside_write", record)

    run = import_and_cancel_after_batch_two(write_csv, monkeypatch, sdr)

    assert matched_beside
    assert_stopped_at(run, 15, sdr)


@on_postgresql
def test_dry_run_cancel_does_not_wait(transactional_db, write_csv, monkeypatch, sdr):
    # A dry run keeps its ImportRun row locked in its transaction until it ends, so the
    # request from another connection must not update that row.
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    path = write_csv(HEADER, export_rows())
    run = import_run_create(path, dry_run=True, created_by=sdr)
    save_progress = runner.FileImporter._save_progress
    requests_done: list[bool] = []

    def request_cancel() -> None:
        try:
            import_run_cancel(ImportRun.objects.get(pk=run.pk), user=sdr)
            requests_done.append(True)
        finally:
            connections.close_all()

    def save_and_cancel_elsewhere(importer):
        save_progress(importer)
        if importer.run.rows_read == 10 and not requests_done:
            thread = threading.Thread(target=request_cancel)
            thread.start()
            thread.join(timeout=10)
            assert requests_done, "the cancel request waited for the dry run's transaction"

    monkeypatch.setattr(runner.FileImporter, "_save_progress", save_and_cancel_elsewhere)

    run = accounts_import(import_run=run, batch_size=BATCH_SIZE)

    assert run.status == ImportRun.Status.CANCELLED
    assert run.rows_read == 10
    assert run.rows_not_reached == 15
    assert not Account.objects.exists()


def test_cancelled_run_keeps_rejected_report(write_csv, monkeypatch, sdr):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    path = write_csv(HEADER, export_rows())
    run = import_run_create(path, created_by=sdr)
    cancel_after_row(monkeypatch, 15, sdr)

    run = accounts_import(import_run=run, batch_size=BATCH_SIZE)

    report = read_report(run)
    assert run.status == ImportRun.Status.CANCELLED
    assert [row["line"] for row in report] == ["4", "13"]
    assert all(row["Country"] == "Germany" for row in report)


def test_cancelled_run_accounts_scored(write_csv, monkeypatch, sdr):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    path = write_csv(HEADER, export_rows())
    run = import_run_create(path, created_by=sdr)
    cancel_after_row(monkeypatch, 5, sdr)

    accounts_import(import_run=run, batch_size=BATCH_SIZE)

    accounts = list(Account.objects.all())
    assert len(accounts) == 4
    for account in accounts:
        assert account.scored_at is not None, account.name
        assert account.field_status != {}, account.name


def test_cancel_after_last_batch_succeeds(write_csv, monkeypatch, sdr):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    path = write_csv(HEADER, export_rows())
    run = import_run_create(path, created_by=sdr)
    cancel_after_row(monkeypatch, ROW_COUNT, sdr)

    run = accounts_import(import_run=run, batch_size=BATCH_SIZE)

    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.rows_read == ROW_COUNT
    assert run.rows_not_reached is None
    assert ImportCancelRequest.objects.filter(import_run=run).exists()


def test_json_not_reached_from_total(write_json, monkeypatch, sdr):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    items = [{"name": f"Company {number}", "website": f"c{number}.example"} for number in range(12)]
    run = import_run_create(write_json(items), created_by=sdr)
    cancel_after_row(monkeypatch, 5, sdr)

    run = accounts_import(import_run=run, batch_size=BATCH_SIZE)

    assert run.status == ImportRun.Status.CANCELLED
    assert run.rows_read == 5
    assert run.rows_not_reached == 7


def test_request_before_start_stops_at_row_zero(write_csv, sdr):
    path = write_csv(HEADER, export_rows())
    run = import_run_create(path, created_by=sdr)
    # A worker claimed the run, then stopped; the cancel came before another one resumed it.
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING)
    ImportCancelRequest.objects.create(import_run=run, requested_by=sdr)
    run.refresh_from_db()

    run = accounts_import(import_run=run, batch_size=BATCH_SIZE)

    assert run.status == ImportRun.Status.CANCELLED
    assert run.rows_read == 0
    assert run.rows_not_reached == ROW_COUNT
    assert not Account.objects.exists()


def test_resumed_run_notes_cancel(write_csv, sdr):
    path = write_csv(HEADER, export_rows())
    run = import_run_create(path, created_by=sdr)
    # The first worker stopped after 10 rows. Another worker takes the task after the cancel.
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING, rows_read=10)
    ImportCancelRequest.objects.create(import_run=run, requested_by=sdr)

    accounts_import_task(run.pk)

    run.refresh_from_db()
    assert run.status == ImportRun.Status.CANCELLED
    # The restart read no row, so the run keeps the counts of the first worker's rows.
    assert run.rows_read == 10
    assert run.rows_not_reached == ROW_COUNT - 10
    assert "stopped after 10 rows" in run.error
    assert "cancelled before the restarted import read further" in run.error


def test_pending_run_cancelled_at_once(write_csv, sdr):
    path = write_csv(HEADER, export_rows())
    run = import_run_create(path, created_by=sdr)
    ImportRun.objects.filter(pk=run.pk).update(total_rows=ROW_COUNT)

    import_run_cancel(run, user=sdr)

    assert run.status == ImportRun.Status.CANCELLED
    assert run.rows_not_reached == ROW_COUNT
    assert run.finished_at == run.cancel_request.requested_at


def test_queued_task_skips_cancelled_run(write_csv, sdr):
    path = write_csv(HEADER, export_rows())
    run = import_run_create(path, created_by=sdr)
    import_run_cancel(run, user=sdr)

    accounts_import_task(run.pk)

    run.refresh_from_db()
    assert run.status == ImportRun.Status.CANCELLED
    assert run.started_at is None
    assert run.rows_read == 0
    assert not Account.objects.exists()


def test_worker_start_keeps_cancelled_status(write_csv, sdr):
    path = write_csv(HEADER, export_rows())
    run = import_run_create(path, created_by=sdr)
    # The worker loaded the run while it was pending, then the cancel came.
    loaded_by_worker = ImportRun.objects.get(pk=run.pk)
    import_run_cancel(run, user=sdr)

    result = accounts_import(import_run=loaded_by_worker)

    assert result.status == ImportRun.Status.CANCELLED
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.CANCELLED
    assert not Account.objects.exists()


def test_second_cancel_is_harmless(write_csv, sdr, make_user):
    manager = make_user(roles.SALES_MANAGER, username="morgan")
    path = write_csv(HEADER, export_rows())
    run = import_run_create(path, created_by=sdr)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING)

    first = import_run_cancel(run, user=sdr)
    second = import_run_cancel(run, user=manager)

    assert second.pk == first.pk
    assert second.requested_by == sdr
    assert ImportCancelRequest.objects.filter(import_run=run).count() == 1
    assert run.status == ImportRun.Status.RUNNING


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (ImportRun.Status.SUCCEEDED, "has already finished, so it can no longer be cancelled"),
        (ImportRun.Status.FAILED, "has already failed, so there is nothing to cancel"),
    ],
)
def test_finished_run_not_cancellable(write_csv, sdr, status, message):
    path = write_csv(HEADER, export_rows())
    run = import_run_create(path, created_by=sdr)
    ImportRun.objects.filter(pk=run.pk).update(status=status)

    with pytest.raises(ImportNotCancellable, match=message):
        import_run_cancel(run, user=sdr)

    assert not ImportCancelRequest.objects.filter(import_run=run).exists()


def test_command_reports_cancel(write_csv, monkeypatch, sdr):
    from accounts.management.commands import import_accounts

    path = write_csv(HEADER, export_rows())
    cancel_after_row(monkeypatch, 10, sdr)
    in_small_batches = functools.partial(accounts_import, batch_size=BATCH_SIZE)
    monkeypatch.setattr(import_accounts, "accounts_import", in_small_batches)
    stdout, stderr = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="1 of 1 files failed to import or were cancelled"):
        call_command("import_accounts", str(path), stdout=stdout, stderr=stderr)

    # The run stops after batch 2 or 3, by whether a background thread writes batches.
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.CANCELLED
    assert run.rows_read in (10, 15)
    assert f"read {run.rows_read}, created {run.created}" in stdout.getvalue()
    warning = stderr.getvalue()
    assert f"cancelled after row {run.rows_read} by Sam Reyes at " in warning
    assert f"{ROW_COUNT - run.rows_read} rows not reached and not imported" in warning
