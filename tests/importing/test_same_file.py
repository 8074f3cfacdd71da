"""One file's content imported under two source names, which would verify its own values."""

import io
import shutil

import pytest
from django.core.management import CommandError, call_command

from accounts.importing.fingerprints import SameFileImported, file_sha256
from accounts.models import Account, ImportRun
from accounts.services import accounts_import, import_run_create
from tests.datasets import require_datasets_dir

pytestmark = pytest.mark.django_db

CSV_TEXT = "name,website,employees,country\nAcme,acme.example,250,DE\nBlue,blue.example,40,FR\n"


def run_command(*args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("import_accounts", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def verified_accounts() -> int:
    return Account.objects.filter(verification_status="verified").count()


def test_run_stores_sha256(write_text):
    path = write_text(CSV_TEXT)

    run = accounts_import(path, source="crm")

    assert len(run.file_sha256) == 64
    assert run.file_sha256 == file_sha256(path)


def test_same_source_imports_again(write_text):
    path = write_text(CSV_TEXT)

    first = accounts_import(path, source="crm")
    second = accounts_import(path, source="crm")

    assert first.status == ImportRun.Status.SUCCEEDED
    assert second.status == ImportRun.Status.SUCCEEDED
    assert second.updated == 0
    assert second.unchanged == 2


def test_other_source_rejected(write_text, tmp_path):
    path = write_text(CSV_TEXT)
    first = accounts_import(path, source="crm")
    copy = tmp_path / "copy-of-export.csv"
    shutil.copyfile(path, copy)

    with pytest.raises(SameFileImported) as caught:
        accounts_import(copy, source="trade-show")

    message = str(caught.value)
    assert f"same content as import run {first.pk}" in message
    assert "(source “crm”, " in message
    assert "by no recorded user" in message
    assert "Import it with source “crm”" in message
    assert "its values will then count as a second source" in message
    assert ImportRun.objects.count() == 1
    assert not Account.objects.filter(source="trade-show").exists()


def test_detected_source_counts(write_text):
    path = write_text(CSV_TEXT)
    accounts_import(path)

    with pytest.raises(SameFileImported) as caught:
        accounts_import(path, source="crm")
    again = accounts_import(path)

    assert "Import it with source “csv”" in str(caught.value)
    assert again.source == "csv"
    assert again.status == ImportRun.Status.SUCCEEDED


def test_detected_second_source_rejected(write_text):
    path = write_text(CSV_TEXT)
    accounts_import(path, source="crm")

    with pytest.raises(SameFileImported) as caught:
        accounts_import(path)

    assert "as source “csv” would count its values twice" in str(caught.value)


def test_allow_same_file_imports(write_text):
    path = write_text(CSV_TEXT)
    accounts_import(path, source="crm")

    run = accounts_import(path, source="trade-show", allow_same_file=True)

    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.allow_same_file is True
    assert run.updated == 2


def test_dry_run_not_an_earlier_import(write_text):
    path = write_text(CSV_TEXT)
    accounts_import(path, source="crm", dry_run=True)

    run = accounts_import(path, source="trade-show")

    assert run.status == ImportRun.Status.SUCCEEDED


def test_pending_run_checked_at_start(write_text):
    path = write_text(CSV_TEXT)
    pending = import_run_create(path, source="trade-show")
    accounts_import(path, source="crm")

    with pytest.raises(SameFileImported):
        accounts_import(import_run=pending)

    pending.refresh_from_db()
    assert pending.status == ImportRun.Status.FAILED
    assert "same content as import run" in pending.error
    assert not Account.objects.filter(source="trade-show").exists()


def test_command_names_override(write_text):
    path = write_text(CSV_TEXT)
    run_command(str(path), "--source", "crm")
    stdout, stderr = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="1 of 1 files failed"):
        call_command(
            "import_accounts", str(path), "--source", "trade-show", stdout=stdout, stderr=stderr
        )

    assert "import it with --allow-same-file" in stderr.getvalue()
    assert "Import it with source “crm”" in stderr.getvalue()


def test_command_warns_when_allowed(write_text):
    path = write_text(CSV_TEXT)
    run_command(str(path), "--source", "crm")

    output, _errors = run_command(str(path), "--source", "trade-show", "--allow-same-file")

    assert "source trade-show" in output
    assert "the same content was imported before as source crm" in output
    assert "now count as a second source (trade-show)" in output


@pytest.mark.shared_data
def test_yc_batch_under_two_sources():
    datasets = require_datasets_dir()
    path = datasets / "yc-companies" / "batches" / "winter-2022.json"
    output, _errors = run_command(str(path))
    assert "source ycombinator" in output
    verified_before = verified_accounts()

    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 of 1 files failed"):
        call_command("import_accounts", str(path), "--source", "yc", stdout=stdout, stderr=stderr)

    first = ImportRun.objects.get()
    assert first.source == "ycombinator"
    assert first.rows_read == 398
    assert f"same content as import run {first.pk}" in stderr.getvalue()
    assert "Import it with source “ycombinator”" in stderr.getvalue()
    assert "--allow-same-file" in stderr.getvalue()
    assert verified_accounts() == verified_before

    output, _errors = run_command(str(path), "--source", "ycombinator")
    assert "read 398, created 0" in output
    assert verified_accounts() == verified_before
