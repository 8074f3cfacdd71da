"""UTF-8 files with a few invalid bytes, and the warning that names their lines."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.importing.reading import UTF8_REPLACE_ENCODING, detect_encoding, open_table
from accounts.models import Account, ImportRun
from accounts.services import accounts_import

pytestmark = pytest.mark.django_db

INVALID_BYTES = b"\xff\xfe\x80"


def utf8_export(rows: int = 200) -> bytes:
    lines = ["Company,Website,Description"]
    for number in range(rows):
        lines.append(f"Kohl’s {number},kohls{number}.example,Kohl’s store number {number}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def with_invalid_bytes(data: bytes, offset: int = 5000) -> tuple[bytes, int]:
    """Return the data with INVALID_BYTES inserted at ``offset``, and that line's number."""
    damaged = data[:offset] + INVALID_BYTES + data[offset:]
    return damaged, data[:offset].count(b"\n") + 1


def test_few_invalid_bytes_read_as_utf8(tmp_path):
    data, damaged_line = with_invalid_bytes(utf8_export())
    path = tmp_path / "kohls.csv"
    path.write_bytes(data)

    run = accounts_import(path)

    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.encoding == UTF8_REPLACE_ENCODING
    assert run.created == 200
    assert run.rejected == 0
    assert Account.objects.filter(name="Kohl’s 0").exists()
    assert not Account.objects.filter(name__contains="â€").exists()
    assert f"at line {damaged_line}." in run.encoding_warning
    assert "read as UTF-8" in run.encoding_warning
    flagged = [
        account
        for account in Account.objects.all()
        if any("not valid UTF-8" in item["message"] for item in account.review_flags)
    ]
    assert len(flagged) == 1
    assert run.flagged == 1


def test_encoding_warning_on_page_and_api(client, sales_ops, tmp_path):
    data, damaged_line = with_invalid_bytes(utf8_export())
    path = tmp_path / "kohls.csv"
    path.write_bytes(data)
    run = accounts_import(path, created_by=sales_ops)
    client.force_login(sales_ops)
    api = APIClient()
    api.force_authenticate(sales_ops)

    page = client.get(f"/accounts/imports/{run.pk}/").content.decode()
    body = api.get(f"/api/v1/imports/{run.pk}/").json()

    assert 'data-testid="import-encoding-warning"' in page
    assert f"at line {damaged_line}." in page
    assert body["encoding"] == UTF8_REPLACE_ENCODING
    assert f"at line {damaged_line}." in body["encoding_warning"]


def test_windows_1252_file_unchanged(tmp_path):
    text = "Company,Website\nCafé Noir,cafenoir.example\nSmörgås AB,smorgas.example\n"
    path = tmp_path / "cp1252.csv"
    path.write_bytes(text.encode("cp1252"))

    run = accounts_import(path)

    assert run.encoding == "cp1252"
    assert run.encoding_warning == ""
    assert Account.objects.filter(name="Café Noir").exists()


def test_mostly_invalid_file_warns_of_cp1252(tmp_path):
    text = "Company,Website\nKohl’s,kohls.example\n"
    text += "".join(f"Café {number},cafe{number}.example\n" for number in range(3))
    path = tmp_path / "mixed.csv"
    path.write_bytes(text.encode("utf-8").replace("é".encode(), b"\xe9"))

    run = accounts_import(path)

    assert run.encoding == "cp1252"
    assert "at lines 3, 4, 5, so it was read as Windows-1252" in run.encoding_warning
    assert "1 other lines" in run.encoding_warning


def test_replacing_codec_reads_every_line(tmp_path):
    data, _line = with_invalid_bytes(utf8_export(rows=3), offset=40)
    path = tmp_path / "short.csv"
    path.write_bytes(data)

    assert detect_encoding(path) == UTF8_REPLACE_ENCODING
    with open_table(path) as table:
        rows = [record.values for record in table.records]
    assert len(rows) == 3
    assert rows[0][1] == "k\ufffd\ufffd\ufffdohls0.example"
    assert rows[0][0] == "Kohl’s 0"


def test_two_damaged_lines_named_as_lines(tmp_path):
    data, first_line = with_invalid_bytes(utf8_export(), offset=9000)
    data, second_line = with_invalid_bytes(data, offset=5000)
    path = tmp_path / "kohls.csv"
    path.write_bytes(data)

    run = accounts_import(path)

    assert f"at lines {second_line}, {first_line}." in run.encoding_warning


def test_wizard_warns_before_import(client, sales_ops):
    data, damaged_line = with_invalid_bytes(utf8_export())
    client.force_login(sales_ops)

    uploaded = client.post(
        reverse("accounts:import-upload"), {"file": SimpleUploadedFile("kohls.csv", data)}
    )
    mapping_url = uploaded["Location"]
    mapping_page = client.get(mapping_url)
    form = mapping_page.context["form"]
    choices = {name: form.initial.get(name, field.initial) for name, field in form.fields.items()}
    client.post(mapping_url, {name: str(value) for name, value in choices.items() if value})
    preview_page = client.get(mapping_url.replace("/mapping/", "/preview/"))

    for page in (mapping_page.content.decode(), preview_page.content.decode()):
        assert 'data-testid="encoding-warning"' in page
        assert f"not valid UTF-8 at line {damaged_line}." in page
        assert "The import will flag the values" in page
        assert "UTF-8, with invalid bytes replaced" in page
    assert not ImportRun.objects.exists()
