"""An import whose worker died after some batches: what the run stores, lists and resumes.

WorkerKilled plays the SIGKILL of tests/reliability/test_worker_killed.py inside this
process. It derives from BaseException, so no ``except Exception`` of the importer
records a failure, and the run stays "running" as after a real kill. The batch that
raises it is rolled back, and the batches before it stay committed.
"""

import csv
import functools
from pathlib import Path

import pytest
from django.db import DatabaseError, OperationalError, connection
from django.urls import reverse

from accounts import roles, services, tasks
from accounts.importing import runner
from accounts.importing.batches import PreparedBatch
from accounts.importing.errors import ImportFileError
from accounts.models import Account, ImportRun, ImportRunAccount
from accounts.services import accounts_import, import_run_cancel, import_run_create
from accounts.tasks import accounts_import_task

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the writer thread needs PostgreSQL's COPY"
)

HEADER = ["Company", "Website", "Country"]
ROW_COUNT = 25
BATCH_SIZE = 5
LIST_URL = reverse("accounts:account-list")


class WorkerKilled(BaseException):
    """The worker process died, as with SIGKILL."""


def export_rows() -> list[list[str]]:
    return [
        [f"Company {number}", f"company{number}.example", "Germany"]
        for number in range(1, ROW_COUNT + 1)
    ]


def die_on_call(monkeypatch, owner: type, name: str, call_number: int) -> None:
    """Make the ``call_number``-th call of owner.name raise WorkerKilled; others run."""
    original = getattr(owner, name)
    calls = 0

    def dying(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == call_number:
            raise WorkerKilled
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, dying)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    """Make the import task write batches of BATCH_SIZE rows."""
    monkeypatch.setattr(
        tasks, "accounts_import", functools.partial(accounts_import, batch_size=BATCH_SIZE)
    )


@pytest.fixture
def ops(client, make_user):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    return client


def listed_ids(client, run: ImportRun) -> list[int]:
    response = client.get(f"/api/v1/accounts/?import_run={run.pk}&page_size=100")
    assert response.status_code == 200
    return sorted(row["id"] for row in response.json()["results"])


def linked_ids(run: ImportRun) -> list[int]:
    return sorted(
        ImportRunAccount.objects.filter(import_run=run).values_list("account_id", flat=True)
    )


def kill_at_batch(write_csv, monkeypatch, batch: int) -> ImportRun:
    """Import the export until the worker dies while it writes the given batch."""
    run = import_run_create(write_csv(HEADER, export_rows()))
    die_on_call(monkeypatch, PreparedBatch, "execute", batch)
    with pytest.raises(WorkerKilled):
        accounts_import_task(run.pk)
    run.refresh_from_db()
    return run


@pytest.mark.parametrize(
    "write_in_background",
    [
        pytest.param(False, id="in-calling-thread"),
        pytest.param(True, id="in-background", marks=on_postgresql),
    ],
)
def test_interrupted_run_lists_committed_accounts(write_csv, monkeypatch, ops, write_in_background):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", write_in_background)

    run = kill_at_batch(write_csv, monkeypatch, 3)

    committed = 2 * BATCH_SIZE
    account_ids = sorted(Account.objects.values_list("pk", flat=True))
    assert run.status == ImportRun.Status.RUNNING
    assert len(account_ids) == committed
    assert linked_ids(run) == account_ids
    assert listed_ids(ops, run) == account_ids


def test_counts_commit_with_batch(write_csv, monkeypatch):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    # The worker dies after the second batch committed, before the progress saved after it.
    die_on_call(monkeypatch, runner.FileImporter, "_save_progress", 2)

    run = import_run_create(write_csv(HEADER, export_rows()))
    with pytest.raises(WorkerKilled):
        accounts_import_task(run.pk)
    run.refresh_from_db()

    committed = 2 * BATCH_SIZE
    assert Account.objects.count() == committed
    assert run.rows_read == committed
    assert run.created == committed
    assert len(linked_ids(run)) == committed


def test_resumed_run_lists_each_account_once(write_csv, monkeypatch, ops):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    interrupted = kill_at_batch(write_csv, monkeypatch, 3)

    # The broker hands the task to another worker, which imports the file again.
    accounts_import_task(interrupted.pk)

    run = ImportRun.objects.get(pk=interrupted.pk)
    account_ids = sorted(Account.objects.values_list("pk", flat=True))
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    assert len(account_ids) == ROW_COUNT
    assert linked_ids(run) == account_ids
    assert listed_ids(ops, run) == account_ids


def test_cancelled_restart_keeps_first_counts(write_csv, monkeypatch, ops, make_user):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    interrupted = kill_at_batch(write_csv, monkeypatch, 3)
    import_run_cancel(interrupted, user=make_user(roles.SALES_OPS, username="canceller"))

    # The broker hands the task to another worker, which finds the cancel before its first row.
    accounts_import_task(interrupted.pk)

    run = ImportRun.objects.get(pk=interrupted.pk)
    committed = 2 * BATCH_SIZE
    account_ids = sorted(Account.objects.values_list("pk", flat=True))
    assert run.status == ImportRun.Status.CANCELLED
    assert run.rows_read == committed
    assert run.created == committed
    assert run.rows_not_reached == ROW_COUNT - committed
    assert "cancelled before the restarted import read further" in run.error
    assert len(account_ids) == committed
    assert linked_ids(run) == account_ids
    assert listed_ids(ops, run) == account_ids
    assert run.segmentation_run is not None
    assert run.segmentation_run.total == committed
    assert not Account.objects.filter(scored_at__isnull=True).exists()


def test_cancelled_restart_page_counts(write_csv, monkeypatch, ops, make_user):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    interrupted = kill_at_batch(write_csv, monkeypatch, 3)
    import_run_cancel(interrupted, user=make_user(roles.SALES_OPS, username="canceller"))
    accounts_import_task(interrupted.pk)

    html = ops.get(reverse("accounts:import-detail", args=[interrupted.pk])).content.decode()
    api = ops.get(f"/api/v1/imports/{interrupted.pk}/").json()

    assert "Cancelled at row 10" in html
    assert "10 rows imported" in html
    assert "No row was imported" not in html
    assert 'data-testid="import-accounts-link"' in html
    assert (api["rows_read"], api["created"], api["rows_not_reached"]) == (10, 10, 15)
    assert api["scoring_status"] == "succeeded"


def test_restart_cancelled_further_keeps_own_counts(write_csv, monkeypatch, make_user):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    interrupted = kill_at_batch(write_csv, monkeypatch, 2)
    canceller = make_user(roles.SALES_OPS, username="canceller")
    save_progress = runner.FileImporter._save_progress

    def save_and_cancel(importer):
        save_progress(importer)
        if importer.run.rows_read == 15:
            import_run_cancel(ImportRun.objects.get(pk=importer.run.pk), user=canceller)

    monkeypatch.setattr(runner.FileImporter, "_save_progress", save_and_cancel)

    accounts_import_task(interrupted.pk)

    run = ImportRun.objects.get(pk=interrupted.pk)
    assert run.status == ImportRun.Status.CANCELLED
    assert run.rows_read == 15
    assert run.created == 10
    assert run.updated == 0
    assert run.unchanged == BATCH_SIZE
    assert run.rows_not_reached == 10
    assert "imported again from the first row until the cancel" in run.error
    assert len(linked_ids(run)) == 15


def test_restart_owns_first_worker_accounts(write_csv, monkeypatch, make_user):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    owner = make_user(roles.SDR, username="owner")
    run = import_run_create(write_csv(HEADER, export_rows()), new_accounts_owner=owner)
    die_on_call(monkeypatch, PreparedBatch, "execute", 3)
    with pytest.raises(WorkerKilled):
        accounts_import_task(run.pk)
    first_started_at = ImportRun.objects.get(pk=run.pk).started_at

    accounts_import_task(run.pk)

    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED, run.error
    assert run.started_at == first_started_at
    assert Account.objects.count() == ROW_COUNT
    assert not Account.objects.exclude(owner=owner).exists()


def fail_on_call(monkeypatch, owner: type, name: str, call_number: int, error: Exception) -> None:
    """Make the ``call_number``-th call of owner.name raise ``error``; others run."""
    original = getattr(owner, name)
    calls = 0

    def failing(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == call_number:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)


@pytest.mark.parametrize("failure", ["file-removed", "database-locked"])
def test_failed_restart_owns_first_worker_accounts(write_csv, monkeypatch, make_user, failure):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    owner = make_user(roles.SDR, username="owner")
    path = write_csv(HEADER, export_rows())
    run = import_run_create(path, new_accounts_owner=owner)
    die_on_call(monkeypatch, PreparedBatch, "execute", 3)
    with pytest.raises(WorkerKilled):
        accounts_import_task(run.pk)

    # The restart fails before it reaches the first worker's second batch, or before any row.
    if failure == "file-removed":
        path.unlink()
        expected: type[Exception] = ImportFileError
    else:
        locked = OperationalError("database is locked")
        fail_on_call(monkeypatch, PreparedBatch, "execute", 2, locked)
        expected = OperationalError
    with pytest.raises(expected):
        accounts_import_task(run.pk)

    run.refresh_from_db()
    committed = 2 * BATCH_SIZE
    assert run.status == ImportRun.Status.FAILED
    assert Account.objects.count() == committed
    assert Account.objects.filter(owner=owner).count() == committed


@pytest.mark.parametrize(
    "write_in_background",
    [
        pytest.param(False, id="in-calling-thread"),
        pytest.param(True, id="in-background", marks=on_postgresql),
    ],
)
def test_unexpected_error_owns_created_accounts(
    write_csv, monkeypatch, make_user, write_in_background
):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", write_in_background)
    owner = make_user(roles.SDR, username="owner")
    run = import_run_create(write_csv(HEADER, export_rows()), new_accounts_owner=owner)
    fail_on_call(monkeypatch, PreparedBatch, "execute", 3, RuntimeError("writer bug"))

    with pytest.raises(RuntimeError, match="writer bug"):
        accounts_import_task(run.pk)

    run.refresh_from_db()
    committed = 2 * BATCH_SIZE
    assert run.status == ImportRun.Status.FAILED
    assert "writer bug" in run.error
    assert Account.objects.count() == committed
    assert Account.objects.filter(owner=owner).count() == committed


def test_owner_failure_after_error_logged(write_csv, monkeypatch, make_user, caplog):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    owner = make_user(roles.SDR, username="owner")
    run = import_run_create(write_csv(HEADER, export_rows()), new_accounts_owner=owner)
    fail_on_call(monkeypatch, PreparedBatch, "execute", 3, RuntimeError("writer bug"))
    fail_on_call(
        monkeypatch, services, "_new_accounts_owner_assign", 1, DatabaseError("connection lost")
    )

    with pytest.raises(RuntimeError, match="writer bug"):
        accounts_import_task(run.pk)

    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert "writer bug" in run.error
    assert f"import run {run.pk}: giving its new accounts to user {owner.pk} failed" in caplog.text
    assert not Account.objects.filter(owner=owner).exists()


def test_cancelled_restart_keeps_first_report(write_csv, monkeypatch, make_user):
    monkeypatch.setattr(runner.FileImporter, "write_in_background", False)
    rows = export_rows()
    # Row 3 has neither a name nor a website, so the first worker rejects it.
    rows[2] = ["", "", "Germany"]
    run = import_run_create(write_csv(HEADER, rows))
    die_on_call(monkeypatch, PreparedBatch, "execute", 3)
    with pytest.raises(WorkerKilled):
        accounts_import_task(run.pk)
    import_run_cancel(run, user=make_user(roles.SALES_OPS, username="canceller"))

    accounts_import_task(run.pk)

    run.refresh_from_db()
    assert run.status == ImportRun.Status.CANCELLED
    assert (run.rows_read, run.created, run.rejected) == (10, 9, 1)
    assert run.report_path
    with Path(run.report_path).open(encoding="utf-8", newline="") as handle:
        reported = list(csv.DictReader(handle))
    assert [row["line"] for row in reported] == ["4"]
