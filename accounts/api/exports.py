"""CSV downloads of accounts, written row by row as the database returns them.

On PostgreSQL a full download is ``COPY (SELECT …) TO STDOUT WITH (FORMAT csv)``: the
database formats every cell (see ``copy_columns``) and writes the CSV, and a thread passes
it on in chunks of about 64 KB through a bounded queue, so a segment of 100,000 accounts
never sits in memory whole. Other databases, and paged downloads, format the rows in
Python from ``QuerySet.iterator``. Both paths write the same bytes. Text cells that a
spreadsheet would run as a formula are prefixed with a single quote. The columns and the
Python formatting live in ``accounts.exports``, shared with the account list page's export.
"""

from __future__ import annotations

import csv
import io
import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import Expression, F, Func, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework import ISO_8601
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.utils.urls import replace_query_param

from accounts.exports import (
    ACCOUNT_CSV_COLUMNS,
    ACCOUNT_CSV_HEADER,
    ACCOUNT_CSV_LOOKUPS,
    CSV_CHUNK_CHARS,
    FORMULA_PREFIXES,
    LineFeedRows,
    byte_order_mark_chunks,
    csv_cell,
    csv_chunks,
    neutralize_cell,
)
from accounts.models import Account

from .pagination import (
    CURSOR_PARAM,
    MAX_CSV_PAGE_SIZE,
    SortKey,
    cursor_encode,
    keyset_queryset,
)

logger = logging.getLogger(__name__)

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
UTC_OFFSET = timedelta(0)
# Chunks of COPY output waiting for the client; with 64 KB chunks at most about 1 MB.
COPY_QUEUE_CHUNKS = 16
# Rows fetched from the server-side cursor per round trip.
CSV_FETCH_ROWS = 2000
# The same characters as code points, for PostgreSQL's ascii() of a cell's first character.
FORMULA_CODES_SQL = ", ".join(str(ord(prefix)) for prefix in FORMULA_PREFIXES)
# ASCII digits only, as in the SQL form of copy_columns.
NUMBER_SQL_PATTERN = "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?$"


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


def _lookup_field(lookup: str | Expression) -> Any:
    if isinstance(lookup, Expression):
        return lookup.output_field
    model: Any = Account
    names = lookup.split("__")
    for name in names[:-1]:
        model = model._meta.get_field(name).related_model
    return model._meta.get_field(names[-1])


class CsvCell(Func):
    """One CSV cell formatted by PostgreSQL exactly as ``csv_cell`` formats it in Python.

    ``kind`` is "text" (empty as NULL, formula prefix), "boolean" (true or false),
    "datetime" (ISO 8601 in ``zone``, as the API's JSON writes it, see ``copy_datetime_zone``),
    "list" (a JSON array's items joined with "; ", formula prefix) or "plain" (numbers as
    PostgreSQL writes them). COPY writes NULL as an empty cell and quotes only cells that
    need it, as ``csv`` does. The argument is compiled once and its SQL repeated with its
    parameters.
    """

    arity = 1

    def __init__(self, expression: Any, kind: str, zone: timedelta | str = UTC_OFFSET) -> None:
        super().__init__(expression)
        self.kind = kind
        self.zone = zone

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        value, value_params = compiler.compile(self.source_expressions[0])
        params = list(value_params)
        if self.kind == "text":
            return _text_cell_sql(value, params)
        if self.kind == "boolean":
            sql = f"CASE WHEN {value} THEN 'true' WHEN NOT {value} THEN 'false' END"
            return sql, params * 2
        if self.kind == "datetime":
            return _datetime_cell_sql(value, params, self.zone)
        if self.kind == "list":
            return _list_cell_sql(value, params)
        return value, params


def copy_datetime_zone() -> timedelta | str | None:
    """Return the current time zone for CsvCell: a fixed UTC offset or an IANA name.

    Returns None when COPY cannot write datetimes as the API's JSON does: when USE_TZ is
    off, when REST_FRAMEWORK's DATETIME_FORMAT is not ISO 8601, or for a zone that is
    neither a ``datetime.timezone`` nor a ``ZoneInfo``. The download then takes the
    Python path.
    """
    if not settings.USE_TZ or (api_settings.DATETIME_FORMAT or "").lower() != ISO_8601:
        return None
    zone = timezone.get_current_timezone()
    if isinstance(zone, dt_timezone):
        return zone.utcoffset(None)
    if isinstance(zone, ZoneInfo):
        return UTC_OFFSET if zone.key == "UTC" else zone.key
    return None


def _datetime_cell_sql(
    value: str, params: list[Any], zone: timedelta | str
) -> tuple[str, list[Any]]:
    # to_char does not depend on the session's DateStyle. isoformat leaves out the
    # fraction when the microseconds are 0.
    text_format = "'YYYY-MM-DD\"T\"HH24:MI:SS.US'"
    if isinstance(zone, timedelta):
        # A fixed offset has a constant suffix, so UTC (the default) costs one conversion.
        if zone:
            local, local_params = f"(({value} AT TIME ZONE 'UTC') + %s)", [*params, zone]
        else:
            local, local_params = f"({value} AT TIME ZONE 'UTC')", params
        sql = f"replace(to_char({local}, {text_format}), '.000000', '') || %s"
        return sql, [*local_params, _offset_text(zone)]
    # A named zone's offset depends on the date (daylight saving time), so it is computed
    # per cell, in seconds. It is written as isoformat writes it: "Z" for 0 (as DRF writes
    # UTC), "+05:30", and "-04:56:02" for the local mean times of dates before about 1900.
    # NOTE: the Python path reads the zone's rules from zoneinfo and this one from
    # PostgreSQL's time zone database, so the two agree only while both have the same rules.
    # NOTE: this costs five conversions per cell. On PostgreSQL 15 on a 2-core machine,
    # 300,000 cells took about 1.9 s in America/New_York against 0.34 s in UTC (psql).
    local, local_params = f"({value} AT TIME ZONE %s)", [*params, zone]
    offset = f"(extract(epoch FROM {local}) - extract(epoch FROM {value}))::integer"
    offset_params = [*local_params, *params]
    sql = (
        f"replace(to_char({local}, {text_format}), '.000000', '') || "
        f"CASE WHEN {offset} = 0 THEN 'Z' "
        f"ELSE CASE WHEN {offset} < 0 THEN '-' ELSE '+' END || "
        f"to_char(make_interval(secs => abs({offset})), "
        f"CASE WHEN mod({offset}, 60) = 0 THEN 'HH24:MI' ELSE 'HH24:MI:SS' END) END"
    )
    return sql, [*local_params, *offset_params * 4]


def _offset_text(offset: timedelta) -> str:
    if not offset:
        return "Z"
    # isoformat writes the offset after the 19 characters of the date and time.
    return datetime(2000, 1, 1, tzinfo=dt_timezone(offset)).isoformat()[19:]


def _text_cell_sql(value: str, params: list[Any]) -> tuple[str, list[Any]]:
    quote = "''''"
    sql = (
        f"CASE WHEN ascii({value}) IN ({FORMULA_CODES_SQL}) AND {value} !~ %s "
        f"THEN {quote} || {value} ELSE NULLIF({value}, '') END"
    )
    return sql, [*params, *params, NUMBER_SQL_PATTERN, *params, *params]


def _list_cell_sql(value: str, params: list[Any]) -> tuple[str, list[Any]]:
    # NOTE: items are written as PostgreSQL writes JSON scalars, so a true, false or null
    # item reads "true", "false" or nothing where Python writes "True", "False" or "None".
    # The stored lists contain field names, which are strings.
    joined = (
        "(SELECT string_agg(item, '; ' ORDER BY position) "
        f"FROM jsonb_array_elements_text({value}) WITH ORDINALITY AS items(item, position))"
    )
    other_sql, other_params = _text_cell_sql(f"({value})::text", params)
    formula_sql, formula_params = _text_cell_sql(joined, params)
    # The joined text starts with the first item, so only a list whose first item starts
    # like a formula needs the formula check, which repeats the join.
    sql = (
        f"CASE WHEN jsonb_typeof({value}) <> 'array' THEN {other_sql} "
        f"WHEN jsonb_array_length({value}) = 0 THEN NULL "
        f"WHEN ascii({value} ->> 0) IN ({FORMULA_CODES_SQL}) THEN {formula_sql} "
        f"ELSE {joined} END"
    )
    return sql, [*params, *other_params, *params, *params, *formula_params, *params]


def _cell_kind(lookup: str | Expression) -> str:
    field = _lookup_field(lookup)
    if isinstance(field, models.BooleanField):
        return "boolean"
    if isinstance(field, models.DateTimeField):
        return "datetime"
    if isinstance(field, models.JSONField):
        return "list"
    if isinstance(field, models.CharField | models.TextField):
        return "text"
    return "plain"


def copy_columns(zone: timedelta | str = UTC_OFFSET) -> list[tuple[str, CsvCell]]:
    """Return (header, cell expression) of each CSV column, for PostgreSQL's COPY.

    Datetimes are written in ``zone``, a value of ``copy_datetime_zone``.
    """
    return [
        (
            header,
            CsvCell(
                lookup if isinstance(lookup, Expression) else F(lookup), _cell_kind(lookup), zone
            ),
        )
        for header, lookup in ACCOUNT_CSV_COLUMNS
    ]


_COPY_DONE = object()


class _CopySink:
    """File object for ``copy_expert`` that joins the rows into chunks and queues them.

    Once ``cancelled`` is set (the client went away), rows are read and dropped, so the
    COPY ends normally and the connection stays usable.
    """

    def __init__(self, chunks: queue.Queue, cancelled: threading.Event) -> None:
        self.chunks = chunks
        self.cancelled = cancelled
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        if self.cancelled.is_set():
            return
        self.parts.append(data)
        self.size += len(data)
        if self.size >= CSV_CHUNK_CHARS:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.put(b"".join(self.parts))
        self.parts = []
        self.size = 0

    def put(self, item: Any) -> None:
        while not self.cancelled.is_set():
            try:
                self.chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue


def copy_csv_chunks(header: list[str], queryset: QuerySet) -> Iterator[bytes]:
    """Yield ``header`` and the CSV that PostgreSQL's COPY writes for ``queryset``'s rows.

    ``queryset`` is a ``values_list`` of CsvCell columns. COPY runs on the request's own
    database connection in a thread while this generator waits on the queue, so the two
    never use the connection at the same time. Closing the generator early waits until
    COPY has read the remaining rows.
    """
    buffer = io.StringIO()
    csv.writer(LineFeedRows(buffer)).writerow(header)
    yield buffer.getvalue().encode("utf-8")
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return
    connection = connections[queryset.db]
    connection.ensure_connection()
    raw_connection = connection.connection
    with raw_connection.cursor() as cursor:
        select = cursor.mogrify(sql, params)
    statement = b"COPY (" + select + b") TO STDOUT WITH (FORMAT csv)"

    chunks: queue.Queue = queue.Queue(maxsize=COPY_QUEUE_CHUNKS)
    cancelled = threading.Event()
    sink = _CopySink(chunks, cancelled)

    def run_copy() -> None:
        try:
            with raw_connection.cursor() as copy_cursor:
                copy_cursor.copy_expert(statement, sink)
            sink.flush()
            sink.put(_COPY_DONE)
        except Exception as error:  # The generator raises it in the request's thread.
            if cancelled.is_set():
                logger.warning("CSV COPY failed after the client went away: %s", error)
            sink.put(error)

    thread = threading.Thread(target=run_copy, name="csv-copy", daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is _COPY_DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        cancelled.set()
        thread.join()


def accounts_csv_response(
    request: Request,
    queryset: QuerySet,
    keys: list[SortKey],
    position: list[Any] | None,
    page_size: int | None,
    filename: str,
    *,
    bom: bool = False,
) -> StreamingHttpResponse:
    """Stream accounts as CSV, ordered by ``keys`` from ``position`` on.

    Without ``page_size`` every matching row is streamed: through COPY on PostgreSQL, from
    a server-side cursor elsewhere. With it, one page is formatted in Python and a
    ``Link: <…>; rel="next"`` header points to the next one. ``bom`` starts the file with
    a UTF-8 byte order mark, which Excel needs to read the file as UTF-8.
    """
    ordered = keyset_queryset(queryset, keys, position)
    header = ACCOUNT_CSV_HEADER
    headers: dict[str, str] = {"Content-Disposition": f'attachment; filename="{filename}.csv"'}
    zone = copy_datetime_zone()
    if page_size is None and connections[ordered.db].vendor == "postgresql" and zone is not None:
        columns = copy_columns(zone)
        names = [f"csv_cell_{index}" for index in range(len(columns))]
        cells = ordered.annotate(
            **{name: cell for name, (_, cell) in zip(names, columns, strict=True)}
        ).values_list(*names)
        return _streaming_response(copy_csv_chunks(header, cells), headers, bom=bom)

    lookups = ACCOUNT_CSV_LOOKUPS
    aliases = [key.alias for key in keys]
    values = ordered.values_list(*lookups, *aliases)
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

    return _streaming_response(csv_chunks(header, rows, len(lookups)), headers, bom=bom)


def _streaming_response(
    chunks: Iterator[bytes], headers: dict[str, str], *, bom: bool = False
) -> StreamingHttpResponse:
    if bom:
        chunks = byte_order_mark_chunks(chunks)
    response = StreamingHttpResponse(chunks, content_type=CSV_CONTENT_TYPE)
    for name, value in headers.items():
        response[name] = value
    return response
