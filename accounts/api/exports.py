"""CSV downloads of accounts, written row by row as the database returns them.

A full download reads the rows through ``QuerySet.iterator``, which uses a server-side
cursor on PostgreSQL, so a segment of 100,000 accounts never sits in memory whole. Text
cells that a spreadsheet would run as a formula are prefixed with a single quote.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

from .pagination import (
    CURSOR_PARAM,
    MAX_CSV_PAGE_SIZE,
    SortKey,
    cursor_encode,
    keyset_queryset,
)

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
# Rows fetched from the server-side cursor per round trip.
CSV_FETCH_ROWS = 2000
# Bytes of CSV text collected before a chunk is sent.
CSV_CHUNK_CHARS = 64 * 1024

# (CSV header, value lookup on Account). Related names come through the joins.
ACCOUNT_CSV_COLUMNS: list[tuple[str, str]] = [
    ("id", "id"),
    ("name", "name"),
    ("domain", "domain"),
    ("website", "website"),
    ("country", "country"),
    ("region", "region"),
    ("city", "city"),
    ("industry", "industry__name"),
    ("industry_raw", "industry_raw"),
    ("employee_count", "employee_count"),
    ("employee_min", "employee_min"),
    ("employee_max", "employee_max"),
    ("annual_revenue_usd", "annual_revenue_usd"),
    ("revenue_amount", "revenue_amount"),
    ("revenue_currency", "revenue_currency"),
    ("size_band", "size_band"),
    ("geography", "geography"),
    ("tag", "tag"),
    ("tier", "tier"),
    ("score", "score"),
    ("route", "route"),
    ("needs_enrichment", "needs_enrichment"),
    ("missing_fields", "missing_fields"),
    ("framework_version", "framework__version"),
    ("scored_at", "scored_at"),
    ("owner", "owner__username"),
    ("source", "source"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
]

# Characters that make Excel, LibreOffice or Google Sheets read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NUMBER_PATTERN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class CSVRenderer(BaseRenderer):
    """Declares ``text/csv`` for content negotiation (``?format=csv`` or ``Accept: text/csv``).

    List views stream their CSV themselves. This renderer only writes other data, such as
    one object, as a header row and a value row.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context=None):
        if data is None:
            return b""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        if isinstance(data, dict):
            writer.writerow([neutralize_cell(key) for key in data])
            writer.writerow([csv_cell(value) for value in data.values()])
        return buffer.getvalue().encode(self.charset)


def neutralize_cell(text: str) -> str:
    """Prefix a quote to text a spreadsheet would run as a formula; numbers stay as they are."""
    if text.startswith(FORMULA_PREFIXES) and not NUMBER_PATTERN.fullmatch(text):
        return "'" + text
    return text


def csv_cell(value: Any) -> str:
    """Format one value for a CSV cell: numbers plain, lists joined with "; ", text neutralized."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return neutralize_cell("; ".join(str(item) for item in value))
    return neutralize_cell(str(value))


def csv_chunks(header: list[str], rows: Iterable[tuple], width: int) -> Iterator[bytes]:
    """Yield the CSV text of ``header`` and the first ``width`` values of each row, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row[:width]])
        if buffer.tell() >= CSV_CHUNK_CHARS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def accounts_csv_response(
    request: Request,
    queryset: QuerySet,
    keys: list[SortKey],
    position: list[Any] | None,
    page_size: int | None,
    filename: str,
) -> StreamingHttpResponse:
    """Stream accounts as CSV, ordered by ``keys`` from ``position`` on.

    Without ``page_size`` every matching row is streamed from a server-side cursor. With
    it, one page is sent and a ``Link: <…>; rel="next"`` header points to the next one.
    """
    ordered = keyset_queryset(queryset, keys, position)
    lookups = [lookup for _, lookup in ACCOUNT_CSV_COLUMNS]
    aliases = [key.alias for key in keys]
    values = ordered.values_list(*lookups, *aliases)
    headers: dict[str, str] = {"Content-Disposition": f'attachment; filename="{filename}.csv"'}

    rows: Iterable[tuple]
    if page_size is None:
        rows = values.iterator(chunk_size=CSV_FETCH_ROWS)
    else:
        size = min(page_size, MAX_CSV_PAGE_SIZE)
        page = list(values[: size + 1])
        if len(page) > size:
            page = page[:size]
            next_position = list(page[-1][len(lookups) :])
            next_url = replace_query_param(
                request.build_absolute_uri(), CURSOR_PARAM, cursor_encode(keys, next_position)
            )
            headers["Link"] = f'<{next_url}>; rel="next"'
        rows = page

    header = [name for name, _ in ACCOUNT_CSV_COLUMNS]
    response = StreamingHttpResponse(
        csv_chunks(header, rows, len(lookups)), content_type=CSV_CONTENT_TYPE
    )
    for name, value in headers.items():
        response[name] = value
    return response
