"""One import at a time on a single-writer database, and plain messages for lock timeouts."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.importing.serial import import_lock
from accounts.models import ImportRun

from .test_import_wizard import mapping_data, token_of, upload

CSV_TEXT = "Company Name,Website,Country\nAcme,acme.example,Germany\nGlobex,globex.example,US\n"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def running_import(sdr):
    """An import that another process is running: its run and the held lock."""
    run = ImportRun.objects.create(
        source="hubspot",
        file_name="big-export.csv",
        status=ImportRun.Status.RUNNING,
        created_by=sdr,
        started_at=timezone.now(),
    )
    with import_lock(wait=False) as locked:
        assert locked
        yield run


@pytest.fixture
def ops(client, sales_ops):
    client.force_login(sales_ops)
    return client


def previewed_upload(ops) -> str:
    token = token_of(upload(ops, CSV_TEXT))
    url = reverse("accounts:import-mapping", args=[token])
    assert ops.post(url, mapping_data(ops.get(url))).status_code == 302
    return token


def test_wizard_rejects_second_import(ops, one_at_a_time, running_import):
    token = previewed_upload(ops)

    response = ops.post(reverse("accounts:import-start", args=[token]), follow=True)

    html = response.content.decode()
    detail = reverse("accounts:import-detail", args=[running_import.pk])
    assert response.redirect_chain == [(reverse("accounts:import-preview", args=[token]), 302)]
    assert "Another import is running: " in html
    assert f'<a href="{detail}">#{running_import.pk}</a> of “big-export.csv”' in html
    assert "started by sdr at " in html
    assert "start this one when it finishes" in html
    assert ImportRun.objects.count() == 1


def test_rejection_names_import_still_scoring(ops, one_at_a_time, sdr):
    # An import saves its status and counts first, then verifies and scores its accounts
    # while it still holds the lock.
    scoring = ImportRun.objects.create(
        source="hubspot",
        file_name="scored.csv",
        status=ImportRun.Status.SUCCEEDED,
        created_by=sdr,
        started_at=timezone.now(),
    )
    token = previewed_upload(ops)

    with import_lock(wait=False, import_run_id=scoring.pk) as locked:
        assert locked
        response = ops.post(reverse("accounts:import-start", args=[token]), follow=True)

    html = response.content.decode()
    assert f">#{scoring.pk}</a> of “scored.csv”, started by sdr at " in html
    assert ", now scoring its accounts. This installation runs one import at a time" in html
    assert ImportRun.objects.count() == 1


def test_preview_warns_of_running_import(ops, one_at_a_time, running_import):
    token = previewed_upload(ops)

    html = ops.get(reverse("accounts:import-preview", args=[token])).content.decode()

    assert 'data-testid="running-import"' in html
    assert f">#{running_import.pk}</a> of “big-export.csv”" in html


def test_import_of_stopped_process_does_not_block(
    ops, one_at_a_time, sdr, django_capture_on_commit_callbacks
):
    # A server stopped during an import leaves its run "running" but releases the lock.
    ImportRun.objects.create(
        source="hubspot", file_name="old.csv", status=ImportRun.Status.RUNNING, created_by=sdr
    )
    token = previewed_upload(ops)

    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(reverse("accounts:import-start", args=[token]))

    run = ImportRun.objects.exclude(file_name="old.csv").get()
    assert response["Location"] == reverse("accounts:import-detail", args=[run.pk])
    assert run.status == ImportRun.Status.SUCCEEDED


def test_concurrent_imports_allowed_by_default(
    ops, settings, running_import, django_capture_on_commit_callbacks
):
    # PostgreSQL, the test database, runs imports concurrently.
    assert settings.ICP_IMPORTS_ONE_AT_A_TIME is False
    token = previewed_upload(ops)

    with django_capture_on_commit_callbacks(execute=True):
        ops.post(reverse("accounts:import-start", args=[token]))

    run = ImportRun.objects.exclude(pk=running_import.pk).get()
    assert run.status == ImportRun.Status.SUCCEEDED


def test_api_rejects_second_import(ops, one_at_a_time, running_import):
    data = {"file": SimpleUploadedFile("companies.csv", CSV_TEXT.encode())}

    response = ops.post("/api/v1/imports/", data)

    error = response.json()["error"]
    assert response.status_code == 409
    assert error["code"] == "conflict"
    assert (
        f"Another import is running: #{running_import.pk} of “big-export.csv”" in (error["message"])
    )
    assert f"Its status is at /api/v1/imports/{running_import.pk}/." in error["message"]
    assert ImportRun.objects.count() == 1


def test_command_rejects_second_import(one_at_a_time, running_import, tmp_path, capsys):
    path = tmp_path / "companies.csv"
    path.write_text(CSV_TEXT)

    with pytest.raises(CommandError, match="1 of 1 files failed"):
        call_command("import_accounts", str(path))

    assert f"Another import is running: #{running_import.pk}" in capsys.readouterr().err
    assert ImportRun.objects.count() == 1


@pytest.mark.parametrize(
    ("database_url", "expected"),
    [("", "True"), ("postgres://postgres@127.0.0.1:5432/unused", "False")],
)
def test_one_at_a_time_default_follows_database(tmp_path, database_url, expected):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ICP_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "icp_portal.settings",
    }
    env.pop("ICP_IMPORTS_ONE_AT_A_TIME", None)
    script = "from django.conf import settings; print(settings.ICP_IMPORTS_ONE_AT_A_TIME)"

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_start_logged_before_import(transactional_db, ops, caplog):
    # Without a broker the import runs when the start's transaction commits.
    token = previewed_upload(ops)

    with caplog.at_level(logging.INFO):
        ops.post(reverse("accounts:import-start", args=[token]))

    run = ImportRun.objects.get()
    messages = [record.getMessage() for record in caplog.records]
    started = messages.index(
        next(text for text in messages if text.startswith("user ") and "started import" in text)
    )
    finished = messages.index(
        next(text for text in messages if text.startswith(f"import run {run.pk} succeeded"))
    )
    assert started < finished


@pytest.fixture
def accounts_table_locked(transactional_db):
    """Hold a lock on the accounts table from another connection, so imports cannot write.

    Reads still pass. The test's own connection gives up a lock wait after 300 ms.
    """
    params = connection.get_connection_params()
    other = psycopg2.connect(**params)
    with other.cursor() as cursor:
        cursor.execute("LOCK TABLE accounts_account IN SHARE MODE")
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '300ms'")
    yield
    other.rollback()
    other.close()
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")


def test_lock_timeout_fails_with_plain_message(accounts_table_locked, sales_ops, client, caplog):
    client.force_login(sales_ops)
    token = previewed_upload(client)

    with caplog.at_level(logging.INFO):
        response = client.post(reverse("accounts:import-start", args=[token]), follow=True)

    run = ImportRun.objects.get()
    html = response.content.decode()
    log = "\n".join(record.getMessage() for record in caplog.records)
    assert run.status == ImportRun.Status.FAILED
    assert run.error.startswith("The import stopped after row ")
    assert "kept the database locked" in run.error
    assert "Import the file again when the other job has finished" in run.error
    assert "Internal error" not in run.error
    assert "kept the database locked" in html
    assert "could not be started" not in log


def test_api_lock_timeout_fails_run_plainly(accounts_table_locked, sales_ops, client):
    client.force_login(sales_ops)
    data = {"file": SimpleUploadedFile("companies.csv", CSV_TEXT.encode())}

    response = client.post("/api/v1/imports/", data)

    run = ImportRun.objects.get()
    assert response.status_code == 202
    assert response.json()["status"] == "failed"
    assert run.error.startswith("The import stopped after row ")
    assert "Internal error" not in run.error
