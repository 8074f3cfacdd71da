"""File-level checks: repeated column names and UTF-16 files cut to an odd length."""

import codecs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.importing.errors import ImportFileError
from accounts.models import Account, ImportRun
from accounts.services import accounts_import

pytestmark = pytest.mark.django_db


def test_repeated_column_rejects_file(write_text):
    path = write_text("name,name,website\nA,B,a.example\n")

    with pytest.raises(ImportFileError) as raised:
        accounts_import(path)

    message = str(raised.value)
    assert "“name” at columns 1, 2" in message
    assert "Rename or remove the duplicate columns" in message
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert run.error == message
    assert Account.objects.count() == 0


def test_repeated_column_compared_like_layouts(write_text):
    path = write_text("Company,Website,company ,Notes,NOTES\nA,a.example,B,x,y\n")

    with pytest.raises(ImportFileError) as raised:
        accounts_import(path)

    message = str(raised.value)
    assert "“Company” at columns 1, 3" in message
    assert "“Notes” at columns 4, 5" in message


def test_blank_column_names_allowed(write_text):
    path = write_text("name,,website,\nA,,a.example,\n")

    run = accounts_import(path)

    assert run.status == ImportRun.Status.SUCCEEDED
    assert list(Account.objects.values_list("name", flat=True)) == ["A"]


def utf16_text(rows: int) -> bytes:
    text = "Company,Website\n" + "".join(f"Co {i},co{i}.example\n" for i in range(rows))
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


@pytest.mark.parametrize("rows", [3, 400])
def test_odd_length_utf16_reported_truncated(tmp_path, rows):
    path = tmp_path / "cut.csv"
    data = utf16_text(rows)[:-1]
    path.write_bytes(data)

    with pytest.raises(ImportFileError) as raised:
        accounts_import(path)

    message = str(raised.value)
    assert f"odd number of bytes ({len(data):,})" in message
    assert "truncated" in message
    assert "binary data" not in message
    assert ImportRun.objects.get().status == ImportRun.Status.FAILED


def test_odd_length_utf16_upload_rejected(sales_ops, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    api = APIClient()
    api.force_authenticate(sales_ops)
    upload = SimpleUploadedFile("cut.csv", utf16_text(5)[:-1], content_type="text/csv")

    response = api.post("/api/v1/imports/", {"file": upload}, format="multipart")

    assert response.status_code == 400
    assert "so it is truncated" in str(response.json())
    assert ImportRun.objects.count() == 0


def test_even_length_utf16_imported(tmp_path):
    path = tmp_path / "whole.csv"
    path.write_bytes(utf16_text(3))

    run = accounts_import(path)

    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.created == 3


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"name,name,website\nA,B,a.example\n", "“name” at columns 1, 2"),
        (utf16_text(5)[:-1], "so it is truncated"),
    ],
)
def test_wizard_upload_rejects_file(client, sales_ops, settings, tmp_path, content, expected):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(sales_ops)
    upload = SimpleUploadedFile("export.csv", content)

    response = client.post(reverse("accounts:import-upload"), {"file": upload})

    assert response.status_code == 422
    assert expected in response.content.decode()
