"""Imports whose process died, told apart from running ones by the import lock file.

SQLite has no advisory locks, so there the lock of accounts.importing.serial tells
whether a process still imports or scores a run. The tests run on PostgreSQL with the
connection's vendor set to "sqlite", which makes the portal take SQLite's code paths:
no advisory locks and no concurrent writer threads.
"""

from __future__ import annotations

import fcntl
import threading

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.importing.runner import FileImporter
from accounts.importing.serial import (
    ENRICHMENT,
    IMPORT,
    SEGMENTATION,
    LockHolder,
    import_lock,
    import_run_lock_busy,
    lock_holder,
    writer_lock,
)
from accounts.models import Account, ImportRun
from accounts.services import (
    accounts_import,
    import_run_busy,
    import_run_interrupted,
    import_run_scoring_state,
)
from segmentation.models import SegmentationRun
from tests.import_locks import lock_held_elsewhere
from tests.importing.test_scoring_interrupted import CSV_TEXT, kill_during

pytestmark = pytest.mark.django_db

API_URL = "/api/v1/imports/"


@pytest.fixture
def sqlite_locks(settings, tmp_path, monkeypatch):
    """Run imports one at a time without advisory locks, as the portal does on SQLite."""
    settings.ICP_IMPORTS_ONE_AT_A_TIME = True
    settings.ICP_IMPORT_LOCK_PATH = tmp_path / "import.lock"
    monkeypatch.setattr(connection, "vendor", "sqlite")


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "companies.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    return path


def import_killed_while_scoring(monkeypatch, csv_path, **options) -> ImportRun:
    kill_during(monkeypatch, "accounts.services.accounts_verify")
    with pytest.raises(SystemExit):
        accounts_import(csv_path, **options)
    monkeypatch.undo()
    return ImportRun.objects.get()


def test_killed_scoring_shows_interrupted(sqlite_locks, monkeypatch, csv_path, client, sales_ops):
    run = import_killed_while_scoring(monkeypatch, csv_path, created_by=sales_ops)
    # monkeypatch.undo() also restored the vendor.
    monkeypatch.setattr(connection, "vendor", "sqlite")
    client.force_login(sales_ops)

    page = client.get(reverse("accounts:import-detail", args=[run.pk])).content.decode()

    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.segmentation_run.status == SegmentationRun.Status.PENDING
    assert import_run_busy(run) is False
    assert import_run_scoring_state(run) == "interrupted"
    assert "Imported, but scoring did not finish" in page
    assert "because the process that scored them stopped" in page
    assert 'data-testid="import-finish-scoring"' in page


def test_finish_scoring_button_scores_accounts(
    sqlite_locks, monkeypatch, csv_path, client, sales_ops
):
    run = import_killed_while_scoring(monkeypatch, csv_path, created_by=sales_ops)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    client.force_login(sales_ops)

    response = client.post(reverse("accounts:import-finish-scoring", args=[run.pk]))

    run.refresh_from_db()
    assert response.status_code == 302
    assert Account.objects.filter(scored_at__isnull=True).count() == 0
    assert run.segmentation_run.status == SegmentationRun.Status.SUCCEEDED
    assert import_run_scoring_state(run) == "succeeded"
    assert lock_holder() is None


def test_scoring_in_progress_shows_running(sqlite_locks, monkeypatch, csv_path):
    seen = {}

    def checking_verify(**kwargs):
        run = ImportRun.objects.get()
        seen["holder"] = lock_holder()
        seen["state"] = import_run_scoring_state(run)
        seen["interrupted"] = import_run_interrupted(run)

    monkeypatch.setattr("accounts.services.accounts_verify", checking_verify)

    run = accounts_import(csv_path)

    assert seen["holder"] == LockHolder(IMPORT, run.pk)
    assert seen["state"] == "running"
    assert seen["interrupted"] is False
    assert import_run_scoring_state(run) == "succeeded"


def test_run_named_by_held_lock_is_busy(sqlite_locks, monkeypatch, csv_path):
    run = import_killed_while_scoring(monkeypatch, csv_path)
    monkeypatch.setattr(connection, "vendor", "sqlite")

    with lock_held_elsewhere(LockHolder(IMPORT, run.pk)):
        state_while_named = import_run_scoring_state(run)
    with lock_held_elsewhere(LockHolder(IMPORT, run.pk + 1)):
        state_while_other_import = import_run_scoring_state(run)
    with lock_held_elsewhere(LockHolder(SEGMENTATION, 7)):
        state_while_rescoring = import_run_scoring_state(run)

    assert state_while_named == "running"
    assert state_while_other_import == "interrupted"
    assert state_while_rescoring == "interrupted"


def test_finish_scoring_rejected_while_job_runs(
    sqlite_locks, monkeypatch, csv_path, client, sales_ops
):
    run = import_killed_while_scoring(monkeypatch, csv_path)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    client.force_login(sales_ops)

    with lock_held_elsewhere(LockHolder(ENRICHMENT, None)):
        response = client.post(
            reverse("accounts:import-finish-scoring", args=[run.pk]), follow=True
        )

    html = response.content.decode()
    run.refresh_from_db()
    assert "An enrichment run is running." in html
    assert f"so start finishing the scoring of import {run.pk} when it finishes." in html
    assert run.segmentation_run.status == SegmentationRun.Status.PENDING
    assert Account.objects.filter(scored_at__isnull=False).count() == 0


def test_import_killed_while_reading_interrupted(
    sqlite_locks, monkeypatch, csv_path, client, sales_ops
):
    original = FileImporter._write
    writes = []

    def write(self, batch, background):
        writes.append(len(batch))
        if len(writes) > 1:
            raise SystemExit(1)
        return original(self, batch, background)

    monkeypatch.setattr(FileImporter, "_write", write)
    with pytest.raises(SystemExit):
        accounts_import(csv_path, batch_size=2, created_by=sales_ops)
    monkeypatch.undo()
    monkeypatch.setattr(connection, "vendor", "sqlite")
    run = ImportRun.objects.get()
    api = APIClient()
    api.force_authenticate(sales_ops)
    client.force_login(sales_ops)

    page = client.get(reverse("accounts:import-detail", args=[run.pk])).content.decode()

    assert run.status == ImportRun.Status.RUNNING
    assert import_run_interrupted(run) is True
    assert api.get(f"{API_URL}{run.pk}/").json()["interrupted"] is True
    assert 'data-testid="import-interrupted"' in page


def test_resume_rejected_while_job_runs(sqlite_locks, client, sales_ops):
    run = ImportRun.objects.create(
        source="hubspot",
        file_name="stopped.csv",
        status=ImportRun.Status.RUNNING,
        created_by=sales_ops,
    )
    client.force_login(sales_ops)

    with lock_held_elsewhere(LockHolder(IMPORT, run.pk + 1)):
        response = client.post(reverse("accounts:import-resume", args=[run.pk]), follow=True)

    html = response.content.decode()
    run.refresh_from_db()
    assert "An import is running" in html
    assert f"so start importing the file of import {run.pk} again when it finishes." in html
    assert run.status == ImportRun.Status.RUNNING


def test_lock_busy_unknown_when_concurrent(settings):
    # PostgreSQL runs imports concurrently, so no lock file tells whether a run is alive.
    assert settings.ICP_IMPORTS_ONE_AT_A_TIME is False

    assert import_run_lock_busy(1) is None
    assert lock_holder() is None


def test_nested_import_lock_does_not_wait(sqlite_locks):
    with (
        import_lock(wait=True, import_run_id=5) as outer,
        import_lock(wait=True, import_run_id=5) as inner,
    ):
        holder = lock_holder()

    assert outer is True
    assert inner is True
    assert holder == LockHolder(IMPORT, 5)
    assert lock_holder() is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", LockHolder(IMPORT, 12)),
        ("import 12", LockHolder(IMPORT, 12)),
        ("segmentation 3", LockHolder(SEGMENTATION, 3)),
        ("segmentation", LockHolder(SEGMENTATION, None)),
        ("enrichment 4", LockHolder(ENRICHMENT, 4)),
        ("", None),
        ("export 4", None),
        ("import x", None),
    ],
)
def test_lock_file_text_parsed(text, expected):
    assert LockHolder.from_text(text) == expected


def test_lock_taken_beside_holder_check(sqlite_locks, settings):
    # lock_holder() holds a shared lock for a moment, as while the import page polls.
    path = settings.ICP_IMPORT_LOCK_PATH
    path.write_text("", encoding="ascii")
    with path.open(encoding="ascii") as check:
        fcntl.flock(check, fcntl.LOCK_SH)
        release = threading.Timer(0.02, fcntl.flock, (check, fcntl.LOCK_UN))
        release.start()
        with writer_lock(LockHolder(SEGMENTATION), wait=False) as locked:
            holder = lock_holder()
        release.join()

    assert locked is True
    assert holder == LockHolder(SEGMENTATION)


def test_lock_not_taken_while_job_holds_it(sqlite_locks):
    with (
        lock_held_elsewhere(LockHolder(IMPORT, 9)),
        writer_lock(LockHolder(SEGMENTATION), wait=False) as locked,
    ):
        holder = lock_holder()

    assert locked is False
    assert holder == LockHolder(IMPORT, 9)
