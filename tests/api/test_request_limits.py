"""Requests over Django's size and field-count limits get 413 or 400 that name the limit."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import ImportRun

LIST_URL = "/api/v1/accounts/"
IMPORTS_URL = "/api/v1/imports/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_large_json_body_is_413(client_for, sales_ops, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = client_for(sales_ops)
    client.raise_request_exception = False
    body = json.dumps({"name": "Big", "description": "x" * 2000})
    response = client.post(LIST_URL, body, content_type="application/json")
    error = response.json()["error"]
    assert response.status_code == 413
    assert error["code"] == "request_too_large"
    assert "larger than 1000 bytes" in error["message"]
    assert "send a body of less than 1000 bytes" in error["message"]
    assert "POST /api/v1/imports/" in error["message"]


def test_large_body_limit_in_megabytes(client_for, sales_ops, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = int(2.5 * 1024 * 1024)
    client = client_for(sales_ops)
    client.raise_request_exception = False
    body = json.dumps({"name": "x" * (3 * 1024 * 1024)})
    response = client.post("/api/v1/segments/saved/", body, content_type="application/json")
    assert response.status_code == 413
    assert "larger than 2.5 MB" in response.json()["error"]["message"]


def test_large_token_body_is_413(token_client, sdr, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = token_client(sdr, scopes=("read", "write"))
    client.raise_request_exception = False
    body = json.dumps({"name": "Big", "description": "x" * 2000})
    response = client.post(LIST_URL, body, content_type="application/json")
    assert response.status_code == 413


def test_upload_with_too_many_fields_is_400(client_for, sales_ops, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    client = client_for(sales_ops)
    client.raise_request_exception = False
    data = {
        "file": SimpleUploadedFile("a.csv", b"Company\nAcme\n", content_type="text/csv"),
        **{f"extra{number}": "x" for number in range(10)},
    }
    response = client.post(IMPORTS_URL, data, format="multipart")
    error = response.json()["error"]
    assert response.status_code == 400
    assert "more than 5 form fields" in error["message"]
    assert ImportRun.objects.count() == 0


def test_upload_with_too_many_files_is_400(client_for, sales_ops, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    client = client_for(sales_ops)
    client.raise_request_exception = False
    files = [
        SimpleUploadedFile(f"{number}.csv", b"Company\nAcme\n", content_type="text/csv")
        for number in range(4)
    ]
    response = client.post(IMPORTS_URL, {"file": files}, format="multipart")
    error = response.json()["error"]
    assert response.status_code == 400
    assert "more than 2 files" in error["message"]
    assert "send one file" in error["message"]


def test_large_upload_file_not_limited_by_body_size(client_for, sales_ops, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    text = "Company,Website\n" + "".join(f"Firm {n},firm{n}.example\n" for n in range(200))
    data = {"file": SimpleUploadedFile("a.csv", text.encode(), content_type="text/csv")}
    response = client_for(sales_ops).post(IMPORTS_URL, data, format="multipart")
    assert response.status_code == 202, response.json()
