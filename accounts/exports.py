"""The CSV columns of an account export, and how their cells are written.

Both CSV downloads of accounts use this module: the account list page's export of
selected accounts (``accounts.workspace.accounts_csv_lines``) and every account list of
the API with ``?format=csv`` (``accounts.api.exports``). So both write the same columns,
under the same headers, in the same order, with the same cell formatting. Datetimes
read as the API's JSON writes them (``accounts.api.datetimes``). docs/api.md lists the
columns; change it with ``ACCOUNT_CSV_COLUMNS``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import BooleanField, Case, Expression, Value, When

from accounts.api.datetimes import api_datetime_formatter

# PostgreSQL's COPY ends CSV lines with a line feed, so the Python path does too.
CSV_LINE_TERMINATOR = "\n"
# Bytes of CSV text collected before a chunk is sent.
CSV_CHUNK_CHARS = 64 * 1024


def set_by_hand_flag(override_field: str) -> Case:
    """Return an expression that is true when a person set the value ``override_field`` keeps."""
    return Case(
        When(**{override_field: ""}, then=Value(False)),
        default=Value(True),
        output_field=BooleanField(),
    )


# (CSV header, value lookup on Account or expression). Related names come through the
# joins. New columns go at the end, so that API clients that read columns by position
# keep working.
ACCOUNT_CSV_COLUMNS: list[tuple[str, str | Expression]] = [
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
    ("verification_status", "verification_status"),
    ("technologies", "technologies"),
    ("tag_set_by_hand", set_by_hand_flag("tag_override")),
    ("tier_set_by_hand", set_by_hand_flag("tier_override")),
]
ACCOUNT_CSV_HEADER = [header for header, _ in ACCOUNT_CSV_COLUMNS]
ACCOUNT_CSV_LOOKUPS = [lookup for _, lookup in ACCOUNT_CSV_COLUMNS]

# Characters that make Excel, LibreOffice or Google Sheets read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# ASCII digits only, as in the SQL form of accounts.api.exports.copy_columns.
NUMBER_PATTERN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def neutralize_cell(text: str) -> str:
    """Prefix a quote to text a spreadsheet would run as a formula; numbers stay as they are."""
    if text.startswith(FORMULA_PREFIXES) and not NUMBER_PATTERN.fullmatch(text):
        return "'" + text
    return text


def csv_cell(value: Any, format_datetime: Callable[[Any], Any] | None = None) -> str:
    """Format one value for a CSV cell: numbers plain, lists joined with "; ", text neutralized.

    Datetimes go through ``format_datetime``, by default ``api_datetime_formatter()``, so
    they read as in the API's JSON. Pass one formatter for many cells, because building it
    looks up the current time zone.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return str((format_datetime or api_datetime_formatter())(value))
    if isinstance(value, list):
        return neutralize_cell("; ".join(str(item) for item in value))
    return neutralize_cell(str(value))


class LineFeedRows:
    """Text sink for ``csv.writer`` that ends each row with a line feed, as COPY does.

    The writer keeps its default CRLF terminator because Python 3.11 quotes only cells that
    contain a character of the terminator, and a cell with a carriage return must be
    quoted. The writer writes each row in one call, ending with that terminator.
    """

    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    def write(self, row: str) -> None:
        self.buffer.write(row[:-2] + CSV_LINE_TERMINATOR)


def csv_chunks(header: list[str], rows: Iterable[tuple], width: int) -> Iterator[bytes]:
    """Return the CSV text of ``header`` and the first ``width`` values of each row, in chunks.

    Datetimes are written in the time zone that is current when this is called, as the
    API's JSON writes them, even though the rows are read later, while the response streams.
    """
    return _csv_chunks(header, rows, width, api_datetime_formatter())


def _csv_chunks(
    header: list[str], rows: Iterable[tuple], width: int, format_datetime: Callable[[Any], Any]
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(LineFeedRows(buffer))
    writer.writerow(header)
    try:
        for row in rows:
            writer.writerow([csv_cell(value, format_datetime) for value in row[:width]])
            if buffer.tell() >= CSV_CHUNK_CHARS:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
    finally:
        # A download that the client stopped is closed here. Closing the rows now closes
        # the cursor of QuerySet.iterator() while the database connection is still open.
        # At garbage collection, after request_finished closed the connection, closing
        # the cursor fails on SQLite.
        close_rows = getattr(rows, "close", None)
        if close_rows is not None:
            close_rows()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def byte_order_mark_chunks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Yield a UTF-8 byte order mark, then ``chunks``.

    A generator, unlike ``itertools.chain``, has ``close()``, so StreamingHttpResponse
    closes it, and ``chunks`` with it, when the client stops a download. That happens
    before the response sends request_finished, which closes the database connection.
    """
    yield codecs.BOM_UTF8
    yield from chunks


def account_csv_chunks(rows: Iterable[tuple]) -> Iterator[bytes]:
    """Yield the account CSV of ``rows``, each a ``values_list(*ACCOUNT_CSV_LOOKUPS)`` row."""
    return csv_chunks(ACCOUNT_CSV_HEADER, rows, len(ACCOUNT_CSV_LOOKUPS))
