"""An import whose scoring stops part-way, as when the web server kills its worker."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.importing.runner import FileImporter
from accounts.models import Account, ImportRun
from accounts.services import (
    accounts_import,
    import_run_busy,
    import_run_create,
    import_run_interrupted,
    import_run_scoring_state,
)
from accounts.tasks import IMPORT_LOCK_CLASS
from segmentation import services as segmentation_services
from segmentation.models import SegmentationRun

pytestmark = pytest.mark.django_db

API_URL = "/api/v1/imports/"
CSV_TEXT = (
    "Company,Website,# Employees,Industry,Company Country\n"
    "Anvil Peak,anvilpeak.com,240,Computer Software,US\n"
    "Blue Fjord,bluefjord.com,60,Computer Software,NO\n"
    "Cedar Row,cedarrow.com,900,Banking,US\n"
    "Dune Labs,dunelabs.com,15,Computer Software,US\n"
    "Elm Works,elmworks.com,3000,Retail,US\n"
)


def kill_during(monkeypatch, target: str, *, after_calls: int = 0) -> None:
    """Make ``target`` raise SystemExit after ``after_calls`` calls.

    When a request passes gunicorn's timeout, the arbiter sends the worker SIGABRT, and the
    worker's handler calls sys.exit(1) (gunicorn 27, workers/base.py handle_abort). So the
    SystemExit stops the request where it is, and no ``except Exception`` block catches it.
    """
    module_name, name = target.rsplit(".", 1)
    module = __import__(module_name, fromlist=[name])
    original = getattr(module, name)
    calls = {"count": 0}

    def wrapper(*args, **kwargs):
        calls["count"] += 1
        if calls["count"] > after_calls:
            raise SystemExit(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "companies.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    return path


def test_api_import_killed_before_scoring(
    monkeypatch, client, sales_ops, django_capture_on_commit_callbacks
):
    kill_during(monkeypatch, "accounts.services.accounts_verify")
    api = APIClient()
    api.force_authenticate(sales_ops)
    upload = SimpleUploadedFile("companies.csv", CSV_TEXT.encode(), content_type="text/csv")

    with pytest.raises(SystemExit), django_capture_on_commit_callbacks(execute=True):
        api.post(API_URL, {"file": upload}, format="multipart")
    monkeypatch.undo()

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.created == 5
    assert Account.objects.filter(scored_at__isnull=False).count() == 0
    assert run.segmentation_run.kind == SegmentationRun.Kind.IMPORT
    assert run.segmentation_run.status == SegmentationRun.Status.PENDING
    body = api.get(f"{API_URL}{run.pk}/").json()
    assert body["scoring_status"] == "interrupted"
    assert body["scoring_run"] == run.segmentation_run_id

    client.force_login(sales_ops)
    page = client.get(reverse("accounts:import-detail", args=[run.pk])).content.decode()
    assert "Imported, but scoring did not finish" in page
    assert "0 of the 5 imported accounts were scored" in page
    assert 'data-testid="import-finish-scoring"' in page

    response = client.post(reverse("accounts:import-finish-scoring", args=[run.pk]))

    assert response.status_code == 302
    assert Account.objects.filter(scored_at__isnull=True).count() == 0
    run.refresh_from_db()
    assert run.segmentation_run.status == SegmentationRun.Status.SUCCEEDED
    assert run.segmentation_run.processed == 5
    assert api.get(f"{API_URL}{run.pk}/").json()["scoring_status"] == "succeeded"
    page = client.get(reverse("accounts:import-detail", args=[run.pk])).content.decode()
    assert "Import finished" in page
    assert "scoring did not finish" not in page


def test_scoring_resumes_after_committed_batches(monkeypatch, settings, csv_path):
    settings.ICP_SEGMENTATION_BATCH_SIZE = 2
    kill_during(monkeypatch, "segmentation.services._score_batch", after_calls=1)

    with pytest.raises(SystemExit):
        accounts_import(csv_path)
    monkeypatch.undo()

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.segmentation_run.processed == 2
    assert Account.objects.filter(scored_at__isnull=False).count() == 2
    assert import_run_scoring_state(run) == "interrupted"

    scored_batches = []
    original = segmentation_services._score_batch

    def counting(compiled, rows, *args, **kwargs):
        scored_batches.append([row[0] for row in rows])
        return original(compiled, rows, *args, **kwargs)

    monkeypatch.setattr(segmentation_services, "_score_batch", counting)
    call_command("resegment", import_run=run.pk)

    run.refresh_from_db()
    assert Account.objects.filter(scored_at__isnull=True).count() == 0
    assert run.segmentation_run.status == SegmentationRun.Status.SUCCEEDED
    assert run.segmentation_run.processed == 5
    # The two accounts of the committed batch are not scored again.
    assert sum(len(ids) for ids in scored_batches) == 3
    assert import_run_scoring_state(run) == "succeeded"


def test_finish_scoring_needs_sales_ops(monkeypatch, client, sdr, csv_path):
    kill_during(monkeypatch, "accounts.services.accounts_verify")
    with pytest.raises(SystemExit):
        accounts_import(csv_path, created_by=sdr)
    monkeypatch.undo()
    run = ImportRun.objects.get()
    client.force_login(sdr)

    page = client.get(reverse("accounts:import-detail", args=[run.pk])).content.decode()
    response = client.post(reverse("accounts:import-finish-scoring", args=[run.pk]))

    assert "Ask Sales Ops to finish it on this page." in page
    assert 'data-testid="import-finish-scoring"' not in page
    assert response.status_code == 403
    assert Account.objects.filter(scored_at__isnull=False).count() == 0


def test_scoring_error_stored_on_import(monkeypatch, csv_path):
    def failing(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("segmentation.services.accounts_segment", failing)

    run = accounts_import(csv_path)

    assert run.status == ImportRun.Status.SUCCEEDED
    assert "scoring its accounts failed" in run.error
    assert f"resegment --import-run {run.pk}" in run.error
    assert import_run_scoring_state(run) == "failed"


def test_finished_scoring_not_repeated(csv_path):
    run = accounts_import(csv_path)

    assert import_run_scoring_state(run) == "succeeded"
    with pytest.raises(Exception, match="nothing to finish"):
        call_command("resegment", import_run=run.pk)


def test_import_killed_between_batches(monkeypatch, client, sales_ops, csv_path):
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

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.RUNNING
    assert Account.objects.count() == 2
    assert import_run_interrupted(run)
    api = APIClient()
    api.force_authenticate(sales_ops)
    assert api.get(f"{API_URL}{run.pk}/").json()["interrupted"] is True
    client.force_login(sales_ops)
    page = client.get(reverse("accounts:import-detail", args=[run.pk])).content.decode()
    assert "Import interrupted" in page
    assert "stopped after 2 rows" in page
    assert 'data-testid="import-resume"' in page
    assert 'data-testid="import-cancel"' not in page
    assert "hx-trigger" not in page

    client.post(reverse("accounts:import-resume", args=[run.pk]))

    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED
    assert not import_run_interrupted(run)
    assert Account.objects.count() == 5
    assert Account.objects.filter(scored_at__isnull=True).count() == 0
    assert "imported again from the first row" in run.error


def test_locked_import_not_interrupted(csv_path):
    run = import_run_create(csv_path)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING)
    run.refresh_from_db()
    # A second connection plays the process that is still importing the run.
    holder = connections.create_connection("default")
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", (IMPORT_LOCK_CLASS, run.pk))
    try:
        assert import_run_interrupted(run) is False
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", (IMPORT_LOCK_CLASS, run.pk))
    finally:
        holder.close()

    assert import_run_interrupted(run) is True


def test_import_list_marks_unfinished_scoring(monkeypatch, client, sdr, csv_path):
    kill_during(monkeypatch, "accounts.services.accounts_verify")
    with pytest.raises(SystemExit):
        accounts_import(csv_path, created_by=sdr)
    monkeypatch.undo()
    finished = accounts_import(csv_path, created_by=sdr)
    client.force_login(sdr)

    page = client.get(reverse("accounts:import-list")).content.decode()

    assert finished.segmentation_run.status == SegmentationRun.Status.SUCCEEDED
    assert page.count('data-testid="import-scoring-unfinished"') == 1


def test_finish_scoring_while_another_scores(monkeypatch, client, sales_ops, csv_path):
    kill_during(monkeypatch, "accounts.services.accounts_verify")
    run = import_run_create(csv_path, created_by=sales_ops)
    with pytest.raises(SystemExit):
        accounts_import(import_run=run)
    monkeypatch.undo()
    client.force_login(sales_ops)
    # A second connection plays the other tab's request, which is scoring the import.
    holder = connections.create_connection("default")
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", (IMPORT_LOCK_CLASS, run.pk))
    try:
        response = client.post(
            reverse("accounts:import-finish-scoring", args=[run.pk]), follow=True
        )
        status = client.get(reverse("accounts:import-status", args=[run.pk]))
    finally:
        holder.close()

    page = response.content.decode()
    assert f"The scoring of import {run.pk} is running, so nothing was started." in page
    assert "Scoring the imported accounts" in page
    assert 'data-testid="import-scoring-running"' in page
    assert "scoring did not finish" not in page
    assert 'data-testid="import-finish-scoring"' not in page
    assert f'hx-get="{reverse("accounts:import-status", args=[run.pk])}"' in page
    assert 'data-testid="import-scoring-running"' in status.content.decode()


def test_busy_check_takes_no_lock(csv_path):
    run = import_run_create(csv_path)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING)
    run.refresh_from_db()

    # A check that tried the lock would hold it for a moment, so a task that tried it
    # then would find the run locked and skip it.
    with CaptureQueriesContext(connection) as queries:
        busy = import_run_busy(run)

    assert busy is False
    assert not any("advisory_lock" in query["sql"] for query in queries.captured_queries)
