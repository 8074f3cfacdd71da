"""Form fields of an import upload: unknown and repeated fields are rejected, not ignored."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import ImportRun

URL = "/api/v1/imports/"
CSV_TEXT = "Company,Website\nAcme,acme.example\n"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def csv_file() -> SimpleUploadedFile:
    return SimpleUploadedFile("companies.csv", CSV_TEXT.encode(), content_type="text/csv")


def test_misspelt_dry_run_rejected(client_for, sales_ops):
    response = client_for(sales_ops).post(
        URL, {"file": csv_file(), "dryrun": "true"}, format="multipart"
    )
    fields = response.json()["error"]["fields"]
    assert response.status_code == 400
    assert list(fields) == ["dryrun"]
    assert fields["dryrun"][0].startswith(
        "dryrun is not a field of an import upload: did you mean dry_run?"
    )
    assert ImportRun.objects.count() == 0


def test_unknown_field_lists_fields(client_for, sales_ops):
    response = client_for(sales_ops).post(
        URL, {"file": csv_file(), "owner": "me"}, format="multipart"
    )
    message = response.json()["error"]["fields"]["owner"][0]
    assert response.status_code == 400
    assert "file, source, dry_run, allow_same_file, new_accounts_owner" in message
    assert ImportRun.objects.count() == 0


def test_repeated_dry_run_rejected(client_for, sales_ops):
    response = client_for(sales_ops).post(
        URL, {"file": csv_file(), "dry_run": ["true", "false"]}, format="multipart"
    )
    fields = response.json()["error"]["fields"]
    assert response.status_code == 400
    assert fields["dry_run"] == ["dry_run was sent 2 times: send each form field once."]
    assert ImportRun.objects.count() == 0


def test_known_fields_accepted(client_for, sales_ops):
    response = client_for(sales_ops).post(
        URL, {"file": csv_file(), "dry_run": "true", "source": "hubspot"}, format="multipart"
    )
    assert response.status_code == 202, response.json()
    assert response.json()["is_dry_run"] is True
