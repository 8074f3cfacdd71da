"""The revision register CSV's columns, as docs/frameworks.md lists them."""

import csv
import io
import re

from django.conf import settings
from django.urls import reverse

# The sentence of docs/frameworks.md that lists the CSV columns in a code span, which
# may wrap over lines.
DOCS_COLUMNS = re.compile(r"CSV columns follow the page's order: `([^`]+)`")


def documented_columns() -> list[str]:
    text = (settings.BASE_DIR / "docs" / "frameworks.md").read_text(encoding="utf-8")
    match = DOCS_COLUMNS.search(text)
    assert match is not None, "docs/frameworks.md no longer lists the register's CSV columns"
    return [column.strip() for column in match.group(1).split(",")]


def test_register_csv_columns_match_docs(client, ops_user):
    client.force_login(ops_user)
    export = client.get(reverse("segmentation:revision-export"))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0] == documented_columns()
