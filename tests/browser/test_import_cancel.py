"""Cancelling a running import in Chromium: the confirmation, the stop and the report.

Celery runs tasks eagerly without a broker, so an import started in the browser would run
inside the start request and finish before the page opens. This test runs the import in a
thread instead, as a worker would, and pauses it once its first batch is saved, until the
browser has requested the cancel.
"""

import csv
import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connections
from playwright.sync_api import expect

from accounts import roles
from accounts.importing import runner
from accounts.models import Account, ImportCancelRequest, ImportRun
from accounts.services import accounts_import, import_run_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROW_COUNT = 30
BATCH_SIZE = 10
# Seconds the paused import waits for the browser before it goes on by itself.
PAUSE_TIMEOUT = 60


@pytest.fixture
def sam(migration_data):
    user = UserFactory(username="sam", first_name="Sam", last_name="Reyes")
    user.groups.add(Group.objects.get(name=roles.SDR))
    return user


@pytest.fixture
def export(tmp_path):
    """A HubSpot export of 30 rows whose third row has no company name or domain."""
    path = tmp_path / "big-export.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Company name", "Company Domain Name", "Country/Region"])
        for number in range(1, ROW_COUNT + 1):
            if number == 3:
                writer.writerow(["", "", "Germany"])
            else:
                writer.writerow([f"Company {number}", f"company{number}.example", "Germany"])
    return path


class PausedImport:
    """An import run in a thread that waits once 10 rows are saved, until resumed."""

    def __init__(self, run: ImportRun) -> None:
        self.run = run
        self.paused = threading.Event()
        self.resumed = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._import, name="paused-import")

    def _import(self) -> None:
        try:
            accounts_import(import_run=ImportRun.objects.get(pk=self.run.pk), batch_size=BATCH_SIZE)
        except BaseException as error:  # noqa: BLE001 - re-raised by the test's assertions
            self.error = error
        finally:
            self.paused.set()
            connections.close_all()

    def pause_after_first_batch(self, monkeypatch) -> None:
        save_progress = runner.FileImporter._save_progress
        paused_import = self

        def save_and_pause(importer):
            save_progress(importer)
            if importer.run.rows_read == BATCH_SIZE and not paused_import.paused.is_set():
                paused_import.paused.set()
                paused_import.resumed.wait(PAUSE_TIMEOUT)

        monkeypatch.setattr(runner.FileImporter, "_save_progress", save_and_pause)


def test_cancel_button_stops_import(
    page, login, live_server, sam, export, settings, tmp_path, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path / "media"
    run = import_run_create(export, created_by=sam)
    ImportRun.objects.filter(pk=run.pk).update(total_rows=ROW_COUNT)
    worker = PausedImport(run)
    worker.pause_after_first_batch(monkeypatch)
    worker.thread.start()
    try:
        assert worker.paused.wait(PAUSE_TIMEOUT)
        assert worker.error is None, worker.error
        login("sam")
        page.goto(f"{live_server.url}/accounts/imports/{run.pk}/")
        expect(page.locator("[data-testid=import-status]")).to_have_text("Running")
        button = page.locator("[data-testid=import-cancel]")
        expect(button).to_have_text("Cancel import")

        # Dismissing the confirmation leaves the import running.
        questions: list[str] = []

        def dismiss(dialog) -> None:
            questions.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", dismiss)
        button.click()
        expect(button).to_be_visible()
        assert not ImportCancelRequest.objects.filter(import_run=run).exists()
        assert "Rows already imported stay imported" in questions[0]

        page.once("dialog", lambda dialog: dialog.accept())
        button.click()
        requested = page.locator("[data-testid=import-cancel-requested]")
        expect(requested).to_contain_text("Sam Reyes asked to cancel this import at")
        expect(page.locator("#import-status-heading")).to_have_text("Cancelling…")
        expect(button).to_have_count(0)
    finally:
        worker.resumed.set()
        worker.thread.join(PAUSE_TIMEOUT)
    assert worker.error is None, worker.error

    # Batches are written in the background, so the importer finds the request once batch 1
    # is written and batch 2 is read, and stops after writing batch 2.
    run.refresh_from_db()
    assert run.status == ImportRun.Status.CANCELLED
    assert run.rows_read == 20
    assert run.rows_not_reached == 10
    assert Account.objects.count() == 19

    summary = page.locator("[data-testid=import-cancelled]")
    expect(summary).to_contain_text("Cancelled at row 20 by Sam Reyes at")
    expect(summary).to_contain_text("19 rows imported, 1 rejected,")
    expect(summary).to_contain_text("10 rows not reached and not imported.")
    expect(page.locator("[data-testid=import-status]")).to_have_text("Cancelled")
    expect(page.locator("[data-testid=import-not-reached]")).to_have_text("10")

    report_link = page.locator("[data-testid=import-report]")
    expect(report_link).to_contain_text("Download the 1 rejected row")
    report = page.request.get(f"{live_server.url}{report_link.get_attribute('href')}")
    assert report.status == 200
    assert "Germany" in report.text()

    page.goto(f"{live_server.url}/accounts/imports/")
    row = page.locator("tr", has=page.locator(f"a[href='/accounts/imports/{run.pk}/']"))
    expect(row).to_contain_text("Cancelled")
    expect(row).to_contain_text("10 not reached")
