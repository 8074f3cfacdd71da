"""CSV downloads of accounts that the client stops midway, on an SQLite file database.

When a client goes away, the WSGI server closes the response, and the response then
sends request_finished, which closes the database connection. On SQLite a cursor that is
closed after that fails with "Cannot operate on a closed database", which Python prints
with its traceback when the download's generator is garbage collected.

The test database of an SQLite run is in memory, and Django ignores closing such a
connection. So these tests give this thread's "default" alias an SQLite file database
with the tables that the export reads, whatever database the suite runs on.
"""

from __future__ import annotations

import csv
import gc
import io
import sys
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.utils import ConnectionHandler

from accounts.api.exports import accounts_csv_response
from accounts.api.pagination import account_sort_keys
from accounts.models import Account
from accounts.views.bulk import AccountBulkActionView
from segmentation.models import Framework, Industry

pytestmark = pytest.mark.django_db

# More rows than one fetch of QuerySet.iterator and one 64 KB chunk, so that the cursor
# is still open after the first chunks.
ROW_COUNT = 5000
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def sqlite_file_database(tmp_path):
    """Serve the "default" alias of this thread from a new SQLite file database."""
    handler = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": tmp_path / "export.db"}}
    )
    file_connection = handler["default"]
    original = connections["default"]
    connections["default"] = file_connection
    try:
        with file_connection.schema_editor() as editor:
            for model in (get_user_model(), Industry, Framework, Account):
                editor.create_model(model)
        Account.objects.bulk_create(
            Account(name=f"Company {number:04}", domain=f"company{number}.example")
            for number in range(ROW_COUNT)
        )
        yield file_connection
    finally:
        file_connection.close()
        connections["default"] = original


@pytest.fixture
def unraisable(monkeypatch):
    """Collect the exceptions that Python could not raise, such as one in a finalizer."""
    found: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: found.append(info.exc_value))
    return found


def page_export():
    """Return the account list page's export of every account, as its view builds it."""
    ids = list(Account.objects.values_list("pk", flat=True))
    return AccountBulkActionView().export(SimpleNamespace(allowed_ids=ids))


def api_export():
    """Return the API's full CSV download with a byte order mark (``bom=1``)."""
    keys = account_sort_keys("name")
    return accounts_csv_response(
        None, Account.objects.all(), keys, None, None, "accounts", bom=True
    )


@pytest.mark.parametrize("export", [page_export, api_export], ids=["page", "api"])
def test_aborted_download_raises_nothing(sqlite_file_database, unraisable, export):
    response = export()
    chunks = iter(response)
    received = next(chunks) + next(chunks)

    # What a WSGI server does when the client goes away.
    response.close()
    del chunks, response
    gc.collect()

    assert received.startswith(BOM + b"id,")
    assert sqlite_file_database.connection is None
    assert unraisable == []


@pytest.mark.parametrize("export", [page_export, api_export], ids=["page", "api"])
def test_completed_download_has_every_row(sqlite_file_database, unraisable, export):
    response = export()
    body = b"".join(response)
    response.close()
    gc.collect()

    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert body.startswith(BOM + b"id,")
    assert body.count(BOM) == 1
    assert len(rows) == ROW_COUNT
    assert sorted(row["name"] for row in rows) == [
        f"Company {number:04}" for number in range(ROW_COUNT)
    ]
    assert unraisable == []
