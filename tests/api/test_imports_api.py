"""Imports over the API: upload, status, rejected-rows report."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts import roles
from accounts.models import Account, ImportCancelRequest, ImportRun, UserProfile

URL = "/api/v1/imports/"
CSV_TEXT = "Company,Website,City\nAcme,acme.example,\n,,=cmd|' /C calc'!A0\nBlue,blue.example,\n"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(client, text: str = CSV_TEXT, name: str = "companies.csv", **fields):
    data = {"file": SimpleUploadedFile(name, text.encode(), content_type="text/csv"), **fields}
    return client.post(URL, data, format="multipart")


def test_upload_runs_import(client_for, sales_ops, django_capture_on_commit_callbacks):
    client = client_for(sales_ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, source="hubspot")
    body = response.json()
    assert response.status_code == 202, body
    assert body["status"] == "pending"
    status = client.get(f"{URL}{body['id']}/").json()
    assert status["status"] == "succeeded"
    assert status["created"] == 2
    assert status["rejected"] == 1
    assert status["created_by"] == "salesops"
    assert status["file_name"] == "companies.csv"
    assert set(Account.objects.values_list("domain", flat=True)) == {"acme.example", "blue.example"}


def test_upload_reports_disagreeing_rows(client_for, sales_ops, django_capture_on_commit_callbacks):
    text = (
        "name,website,industry,employees,country\n"
        "Dup Co,https://dupco.example,Software,100,US\n"
        "Dup Co Inc,https://www.dupco.example/about,Banking,90000,DE\n"
    )
    client = client_for(sales_ops)
    with django_capture_on_commit_callbacks(execute=True):
        body = upload(client, text=text, source="hubspot").json()

    status = client.get(f"{URL}{body['id']}/").json()
    account = Account.objects.get()
    flags = client.get(f"/api/v1/accounts/{account.pk}/").json()["review_flags"]

    assert (status["created"], status["merged"], status["flagged"]) == (1, 1, 1)
    assert sorted(flag["field"] for flag in flags) == ["employees", "industry", "location"]
    assert all(flag["lines"] == [2, 3] for flag in flags)
    assert all(flag["import_run"] == body["id"] for flag in flags)


# Three records on six lines: the quoted descriptions hold line breaks.
MULTILINE_CSV = (
    "Company,Website,Description\n"
    'Acme,acme.example,"Makes anvils\nand rockets"\n'
    'Blue,blue.example,"Sells\n\npaint"\n'
    "Cyan,cyan.example,\n"
)


def test_upload_counts_csv_records(client_for, sales_ops):
    response = upload(client_for(sales_ops), text=MULTILINE_CSV)

    body = response.json()
    assert response.status_code == 202, body
    assert body["status"] == "pending"
    assert body["total_rows"] == 3


def test_upload_count_kept_by_import(client_for, sales_ops, django_capture_on_commit_callbacks):
    client = client_for(sales_ops)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = upload(client, text=MULTILINE_CSV).json()["id"]

    status = client.get(f"{URL}{run_id}/").json()
    assert status["status"] == "succeeded"
    assert status["total_rows"] == 3
    assert status["rows_read"] == 3


def test_cancel_pending_upload_counts_not_reached(client_for, sales_ops):
    client = client_for(sales_ops)
    run_id = upload(client, text=MULTILINE_CSV).json()["id"]

    body = client.post(f"{URL}{run_id}/cancel/").json()

    assert body["status"] == "cancelled"
    assert body["rows_not_reached"] == 3


def test_upload_json_counted_by_import(client_for, sales_ops, django_capture_on_commit_callbacks):
    client = client_for(sales_ops)
    text = '[{"name": "Acme", "website": "acme.example"}, {"name": "Blue"}]'
    with django_capture_on_commit_callbacks(execute=True):
        body = upload(client, text=text, name="companies.json").json()

    # The upload is not loaded twice: the import counts the array it loads.
    assert body["total_rows"] is None
    assert client.get(f"{URL}{body['id']}/").json()["total_rows"] == 2


def test_upload_uncountable_file_still_queued(client_for, sales_ops):
    response = upload(client_for(sales_ops), text=",,\nAcme,acme.example,\n")

    body = response.json()
    assert response.status_code == 202, body
    assert body["total_rows"] is None


def test_upload_keeps_client_file_name(client_for, sales_ops):
    response = upload(client_for(sales_ops), name="Übersicht März (final).csv")

    assert response.status_code == 202, response.json()
    assert response.json()["file_name"] == "Übersicht März (final).csv"


def test_report_download_neutralized(client_for, sales_ops, django_capture_on_commit_callbacks):
    client = client_for(sales_ops)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = upload(client).json()["id"]
    report_url = client.get(f"{URL}{run_id}/").json()["report_url"]
    response = client.get(report_url)
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="import-{run_id}-rejected-rows.csv"'
    )
    assert len(rows) == 1
    assert rows[0]["City"] == "'=cmd|' /C calc'!A0"
    assert "no company name" in rows[0]["reason"]


def test_report_missing_is_404(client_for, sales_ops, django_capture_on_commit_callbacks):
    client = client_for(sales_ops)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = upload(client, text="Company,Website\nAcme,acme.example\n").json()["id"]
    response = client.get(f"{URL}{run_id}/report/")
    assert response.status_code == 404
    assert "no rejected-rows report" in response.json()["error"]["message"]


def test_dry_run_changes_nothing(client_for, sales_ops, django_capture_on_commit_callbacks):
    client = client_for(sales_ops)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = upload(client, dry_run="true").json()["id"]
    assert ImportRun.objects.get(pk=run_id).is_dry_run is True
    assert not Account.objects.exists()


def test_upload_same_file_other_source_409(
    client_for, sales_ops, django_capture_on_commit_callbacks
):
    client = client_for(sales_ops)
    with django_capture_on_commit_callbacks(execute=True):
        first = upload(client, source="hubspot").json()

    response = upload(client, source="trade-show")

    error = response.json()["error"]
    assert response.status_code == 409
    assert error["code"] == "conflict"
    assert f"same content as import run {first['id']}" in error["message"]
    assert "by salesops" in error["message"]
    assert "import it with allow_same_file=true" in error["message"]
    assert ImportRun.objects.count() == 1


def test_upload_same_file_allowed(client_for, sales_ops, django_capture_on_commit_callbacks):
    client = client_for(sales_ops)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, source="hubspot")
        response = upload(client, source="trade-show", allow_same_file="true")

    body = response.json()
    assert response.status_code == 202, body
    assert body["allow_same_file"] is True
    assert len(body["file_sha256"]) == 64
    assert client.get(f"{URL}{body['id']}/").json()["status"] == "succeeded"


def test_upload_same_file_same_source(client_for, sales_ops, django_capture_on_commit_callbacks):
    client = client_for(sales_ops)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, source="hubspot")
        response = upload(client, source="hubspot")

    assert response.status_code == 202, response.json()


def test_upload_wrong_extension_is_400(client_for, sales_ops):
    response = upload(client_for(sales_ops), name="companies.exe")
    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]
    assert not ImportRun.objects.exists()


def test_upload_source_stored_lower_case(client_for, sales_ops):
    client = client_for(sales_ops)

    first = upload(client, source="hubspot")
    second = upload(client, source="HubSpot")

    assert first.status_code == 202, first.json()
    assert second.status_code == 202, second.json()
    assert second.json()["source"] == "hubspot"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("manual", "Source “manual” is reserved"),
        ("unrecorded", "Source “unrecorded” is reserved"),
        ("日本語 source!! with spaces", "Source “日本語 source!! with spaces” is invalid"),
        (
            "a" * 60,
            f"Source “{'a' * 60}” is 60 characters long, more than the 50 allowed: use a "
            "shorter name such as hubspot.",
        ),
    ],
)
def test_upload_bad_source_is_400(client_for, sales_ops, source, message):
    response = upload(client_for(sales_ops), source=source)

    assert response.status_code == 400
    assert message in response.json()["error"]["fields"]["source"][0]
    assert not ImportRun.objects.exists()


def test_upload_deep_json_fails_run(client_for, sales_ops, django_capture_on_commit_callbacks):
    client = client_for(sales_ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, text="[" * 1500 + "]" * 1500, name="deep.json")

    assert response.status_code == 202, response.json()
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert "nested more than 32 levels deep" in run.error


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"PK\x03\x04" + b"\x00" * 200, "is an Excel workbook (.xlsx) or a ZIP archive"),
        (b"%PDF-1.7\n" + b"\x00" * 200, "is a PDF document"),
    ],
)
def test_upload_binary_named_csv_is_400(client_for, sales_ops, media_root, content, kind):
    data = {"file": SimpleUploadedFile("companies.csv", content, content_type="text/csv")}

    response = client_for(sales_ops).post(URL, data, format="multipart")

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["file"][0]
    assert f"“companies.csv” {kind}, not a CSV or JSON text file" in message
    assert not ImportRun.objects.exists()
    assert not list((media_root / "api-imports").glob("*/*"))


def test_upload_empty_file_is_400(client_for, sales_ops):
    response = upload(client_for(sales_ops), text="")

    assert response.status_code == 400
    message = "“companies.csv” is empty: export the file again with a header row."
    assert response.json()["error"]["fields"]["file"] == [message]
    assert not ImportRun.objects.exists()


def test_upload_tsv_runs_import(client_for, sales_ops, django_capture_on_commit_callbacks):
    client = client_for(sales_ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, text="Company\tWebsite\nAcme\tacme.example\n", name="a.tsv")

    assert response.status_code == 202, response.json()
    assert ImportRun.objects.get().delimiter == "\t"
    assert Account.objects.get().domain == "acme.example"


def test_upload_wrong_extension_message(client_for, sales_ops):
    response = upload(client_for(sales_ops), name="companies.xlsx")

    message = response.json()["error"]["fields"]["file"][0]
    assert "“companies.xlsx” has .xlsx: upload a .csv, .tsv, .json or .txt file" in message


def test_upload_json_body_is_415(client_for, sales_ops):
    response = client_for(sales_ops).post(URL, {"file": "x"}, format="json")
    assert response.status_code == 415


@pytest.mark.parametrize("role", [roles.AE, roles.MARKETING, roles.SALES_LEADERSHIP])
def test_upload_denied(client_for, make_user, role):
    response = upload(client_for(make_user(role, username=f"imp-{role}")))
    assert response.status_code == 403
    assert not ImportRun.objects.exists()


def test_list_denied_names_summaries(client_for, make_user):
    response = client_for(make_user(roles.MARKETING, username="imp-reader")).get(URL)

    message = response.json()["error"]["message"]
    assert response.status_code == 403
    assert "cannot read import details" in message
    assert "/api/v1/import-runs/" in message
    assert "cannot import accounts" not in message


def test_upload_denied_names_import(client_for, make_user):
    response = upload(client_for(make_user(roles.MARKETING, username="imp-writer")))

    assert "cannot import accounts" in response.json()["error"]["message"]


@pytest.mark.parametrize("role", [roles.SDR, roles.SALES_MANAGER])
def test_upload_allowed(client_for, make_user, role):
    response = upload(client_for(make_user(role, username=f"imp-{role}")))
    assert response.status_code == 202


def test_runs_listed_newest_first(client_for, sales_ops):
    first = ImportRun.objects.create(source="a", file_name="a.csv")
    second = ImportRun.objects.create(source="b", file_name="b.csv")
    rows = client_for(sales_ops).get(URL).json()["results"]
    assert [row["id"] for row in rows] == [second.pk, first.pk]


def test_runs_hidden_from_marketing(client_for, marketing):
    ImportRun.objects.create(source="a", file_name="a.csv")
    assert client_for(marketing).get(URL).status_code == 403


# Cancelling ----------------------------------------------------------------------------


def test_cancel_running_run(client_for, sdr):
    run = ImportRun.objects.create(
        source="a", file_name="a.csv", status=ImportRun.Status.RUNNING, created_by=sdr
    )

    response = client_for(sdr).post(f"{URL}{run.pk}/cancel/")

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "running"
    assert body["cancel_requested_by"] == sdr.username
    assert body["cancel_requested_at"] is not None
    assert ImportCancelRequest.objects.get(import_run=run).requested_by == sdr


def test_cancel_pending_run_at_once(client_for, sales_ops, sdr):
    run = ImportRun.objects.create(source="a", file_name="a.csv", total_rows=40, created_by=sdr)

    body = client_for(sales_ops).post(f"{URL}{run.pk}/cancel/").json()

    assert body["status"] == "cancelled"
    assert body["rows_not_reached"] == 40
    assert body["cancel_requested_by"] == sales_ops.username


def test_cancel_twice_returns_first_request(client_for, sdr, manager):
    UserProfile.objects.update_or_create(user=sdr, defaults={"manager": manager})
    run = ImportRun.objects.create(
        source="a", file_name="a.csv", status=ImportRun.Status.RUNNING, created_by=sdr
    )
    client_for(sdr).post(f"{URL}{run.pk}/cancel/")

    response = client_for(manager).post(f"{URL}{run.pk}/cancel/")

    assert response.status_code == 200
    assert response.json()["cancel_requested_by"] == sdr.username


@pytest.mark.parametrize("status", [ImportRun.Status.SUCCEEDED, ImportRun.Status.FAILED])
def test_cancel_finished_run_is_409(client_for, sdr, status):
    run = ImportRun.objects.create(source="a", file_name="a.csv", status=status, created_by=sdr)

    response = client_for(sdr).post(f"{URL}{run.pk}/cancel/")

    error = response.json()["error"]
    assert response.status_code == 409
    assert error["code"] == "conflict"
    assert f"Import {run.pk} of “a.csv” has already" in error["message"]
    assert not ImportCancelRequest.objects.exists()


def test_cancel_other_team_manager_is_403(client_for, sdr, manager):
    run = ImportRun.objects.create(
        source="a", file_name="a.csv", status=ImportRun.Status.RUNNING, created_by=sdr
    )

    response = client_for(manager).post(f"{URL}{run.pk}/cancel/")

    assert response.status_code == 403
    assert "their Sales Manager or Sales Ops" in response.json()["error"]["message"]
    assert not ImportCancelRequest.objects.exists()


def test_cancel_other_sdr_run_is_404(client_for, sdr, make_user):
    run = ImportRun.objects.create(
        source="a", file_name="a.csv", status=ImportRun.Status.RUNNING, created_by=sdr
    )
    other = make_user(roles.SDR, username="other-sdr")

    assert client_for(other).post(f"{URL}{run.pk}/cancel/").status_code == 404
    assert not ImportCancelRequest.objects.exists()


def test_cancel_needs_write_token(token_client, sdr):
    run = ImportRun.objects.create(
        source="a", file_name="a.csv", status=ImportRun.Status.RUNNING, created_by=sdr
    )

    assert token_client(sdr).post(f"{URL}{run.pk}/cancel/").status_code == 403
    assert token_client(sdr, ("write",)).post(f"{URL}{run.pk}/cancel/").status_code == 200


def test_run_lists_cancel_fields(client_for, sdr):
    ImportRun.objects.create(source="a", file_name="a.csv", created_by=sdr)

    row = client_for(sdr).get(URL).json()["results"][0]

    assert row["cancel_requested_by"] is None
    assert row["cancel_requested_at"] is None
    assert row["rows_not_reached"] is None


def test_upload_new_accounts_owner_me(client_for, sales_ops, django_capture_on_commit_callbacks):
    client = client_for(sales_ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, new_accounts_owner="me")
    assert response.status_code == 202, response.json()
    assert set(Account.objects.values_list("owner", flat=True)) == {sales_ops.pk}


def test_upload_sdr_owns_new_accounts_by_default(
    client_for, sdr, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client_for(sdr))
    assert response.status_code == 202, response.json()
    assert set(Account.objects.values_list("owner", flat=True)) == {sdr.pk}


def test_upload_invalid_owner_choice_is_400(client_for, sales_ops):
    response = upload(client_for(sales_ops), new_accounts_owner="somebody")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["new_accounts_owner"] == [
        "“somebody” is not an owner choice: use me to own the new accounts, or none to leave "
        "them unassigned."
    ]
    assert not ImportRun.objects.exists()
