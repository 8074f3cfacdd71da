"""The import_accounts command and the Celery task."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account, ImportRun
from accounts.services import import_run_create
from accounts.tasks import accounts_import_task
from enrichment.models import Observation

pytestmark = pytest.mark.django_db


def run_command(*args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("import_accounts", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_command_prints_counts_and_report(write_csv):
    path = write_csv(
        ["Company", "Website", "Colour"],
        [["Acme", "acme.com", "red"], ["", "n0t a site", ""], ["", "", ""]],
    )

    output, _errors = run_command(str(path), "--source", "trade-show")

    run = ImportRun.objects.get()
    assert "layout csv, source trade-show, encoding utf-8, delimiter ," in output
    assert (
        "read 3, created 1, updated 0, unchanged 0, merged 0, rejected 1, skipped blank 1, "
        "flagged 0" in output
    )
    assert "ignored columns: Colour" in output
    assert f"rejected rows: {run.report_path}" in output
    assert Account.objects.get().source == "trade-show"


def test_command_shows_tab_in_ignored_column(write_csv):
    path = write_csv(["Company", "Website", "Extra\tColumn"], [["Acme", "acme.com", "red"]])

    output, _errors = run_command(str(path))

    run = ImportRun.objects.get()
    assert "ignored columns: Extra\\tColumn\n" in output
    assert run.column_mapping["ignored"] == ["Extra\tColumn"]


def test_command_reimport_prints_unchanged(write_csv):
    path = write_csv(["Company", "Website"], [["Acme", "acme.com"], ["", "n0t a site"]])
    run_command(str(path))

    # A re-import whose rows all match unchanged, next to a rejected row, exits 0.
    output, errors = run_command(str(path))

    assert "created 0, updated 0, unchanged 1, merged 0, rejected 1" in output
    assert "no row was imported" not in errors


def test_command_source_case_is_one_source(write_csv):
    path = write_csv(["Company", "Website", "Country"], [["Acme", "acme.com", "DE"]])

    run_command(str(path), "--source", "apollo")
    output, _errors = run_command(str(path), "--source", "Apollo")

    assert "source apollo," in output
    assert set(Observation.objects.values_list("source", flat=True)) == {"apollo"}
    assert set(ImportRun.objects.values_list("source", flat=True)) == {"apollo"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("manual", "Source “manual” is reserved"),
        ("日本語 source!! with spaces", "Source “日本語 source!! with spaces” is invalid"),
        (" ", "--source is empty"),
        ("a" * 60, "is 60 characters long, more than the 50 allowed: use a shorter name"),
    ],
)
def test_command_rejects_bad_source(write_csv, source, message):
    path = write_csv(["Company", "Website"], [["Acme", "acme.com"]])

    with pytest.raises(CommandError, match=message):
        run_command(str(path), "--source", source)

    assert not ImportRun.objects.exists()


def test_command_imports_several_files(write_csv, write_json):
    first = write_csv(["Company", "Website"], [["Acme", "acme.com"]])
    second = write_json([{"name": "Blue", "website": "blue.com"}])

    output, _errors = run_command(str(first), str(second))

    assert output.count("created 1") == 2
    assert Account.objects.count() == 2


def test_command_dry_run(write_csv):
    path = write_csv(["Company", "Website"], [["Acme", "acme.com"]])

    output, _errors = run_command(str(path), "--dry-run")

    assert output.startswith("Dry run of ")
    assert "created 1" in output
    assert Account.objects.count() == 0


def test_command_with_mapping(write_csv, tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Firma": "name", "Land": "country", "Fax": "phone"}))
    path = write_csv(["Firma", "Land"], [["Kraus GmbH", "Deutschland"]])

    output, _errors = run_command(str(path), "--mapping", str(mapping))

    assert "layout mapping" in output
    assert "mapped columns not in the file: fax" in output
    assert Account.objects.get().country == "DE"


def test_command_invalid_mapping(tmp_path, write_csv):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Firma": "firm"}))
    path = write_csv(["Firma"], [["Kraus"]])

    with pytest.raises(CommandError, match="unknown field 'firm'"):
        run_command(str(path), "--mapping", str(mapping))


def test_command_reports_failed_file(write_csv, tmp_path):
    good = write_csv(["Company", "Website"], [["Acme", "acme.com"]])
    missing = tmp_path / "missing.csv"

    with pytest.raises(CommandError, match="1 of 2 files failed") as raised:
        run_command(str(missing), str(good))

    assert raised.value.returncode == 1
    assert Account.objects.count() == 1
    # A path that is no file is rejected before any run is recorded.
    assert ImportRun.objects.filter(status=ImportRun.Status.FAILED).count() == 0
    assert ImportRun.objects.filter(status=ImportRun.Status.SUCCEEDED).count() == 1


def test_command_rejects_directory(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    stderr = io.StringIO()

    with pytest.raises(CommandError, match="1 of 1 files failed") as raised:
        call_command("import_accounts", str(folder), stdout=io.StringIO(), stderr=stderr)

    assert raised.value.returncode == 1
    assert f"{folder} is a directory: give the path of a CSV or JSON file." in stderr.getvalue()
    assert "was not found" not in stderr.getvalue()
    assert not ImportRun.objects.exists()


def test_command_all_rejected_exits_three(write_csv):
    path = write_csv(["Company", "Website"], [["", "n0t a site"], ["", "also not"]])
    stdout, stderr = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="1 of 1 files had every row rejected") as raised:
        call_command("import_accounts", str(path), stdout=stdout, stderr=stderr)

    run = ImportRun.objects.get()
    assert raised.value.returncode == 3
    assert (run.created, run.rejected) == (0, 2)
    assert "no row was imported because every row with values was rejected" in (stderr.getvalue())


def test_command_some_rejected_exits_zero(write_csv):
    path = write_csv(["Company", "Website"], [["Acme", "acme.com"], ["", "n0t a site"]])

    output, errors = run_command(str(path))

    assert "created 1, updated 0, unchanged 0, merged 0, rejected 1" in output
    assert "no row was imported" not in errors


def test_dry_run_report_escapes_formulas(write_csv):
    formula = "=cmd|' /C calc'!A0"
    path = write_csv(
        ["Company", "Website", "City"],
        [["Acme", "acme.com", "Berlin"], ["", "", formula], ["", "-1", "+fake"]],
        name="formrej.csv",
    )

    output, _errors = run_command(str(path), "--dry-run")
    run = ImportRun.objects.get()
    with Path(run.report_path).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))

    assert run.is_dry_run
    assert f"rejected rows: {run.report_path}" in output
    assert [row["City"] for row in rows] == ["'" + formula, "'+fake"]
    # A plain number stays a number.
    assert rows[1]["Website"] == "-1"


def test_command_deep_json_fails_clearly(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 1500 + "]" * 1500)

    with pytest.raises(CommandError, match="1 of 1 files failed"):
        run_command(str(path))

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert "nested more than 32 levels deep" in run.error


def test_command_mapping_currency_invalid(tmp_path, write_csv):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "Firma": "name",
                "Webseite": "website",
                "Umsatz": "revenue",
                "options": {"currency": "XYZ"},
            }
        )
    )
    path = write_csv(["Firma", "Webseite", "Umsatz"], [["Kraus", "kraus.de", "12"]])

    with pytest.raises(CommandError) as raised:
        run_command(str(path), "--mapping", str(mapping))

    assert "currency 'XYZ' is not an ISO 4217 currency code" in str(raised.value)
    assert "such as EUR" in str(raised.value)
    assert not ImportRun.objects.exists()


def test_task_runs_pending_import(write_csv, tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Firma": "name", "Webseite": "website"}))
    path = write_csv(["Firma", "Webseite"], [["Kraus GmbH", "kraus.de"]])
    run = import_run_create(path, mapping=mapping, source="upload")

    accounts_import_task.delay(run.pk)

    run.refresh_from_db()
    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.created == 1
    assert run.column_mapping["layout"] == "mapping"
    assert Account.objects.get().source == "upload"


def test_task_skips_finished_run(write_csv):
    path = write_csv(["Company", "Website"], [["Acme", "acme.com"]])
    run = import_run_create(path)
    accounts_import_task(run.pk)
    Account.objects.all().delete()

    accounts_import_task(run.pk)

    assert Account.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "is a PDF document"),
        (
            b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 100,
            "is an Excel workbook (.xlsx) or a ZIP archive",
        ),
    ],
)
def test_command_rejects_binary_file(tmp_path, content, kind):
    path = tmp_path / "fake2.csv"
    path.write_bytes(content)
    errors = io.StringIO()

    with pytest.raises(CommandError, match="1 of 1 files failed"):
        call_command("import_accounts", str(path), "--dry-run", stderr=errors)

    message = f"“fake2.csv” {kind}, not a CSV or JSON text file: save it as CSV UTF-8"
    assert message in errors.getvalue()
    assert "--mapping" not in errors.getvalue()
    assert message in ImportRun.objects.get().error
