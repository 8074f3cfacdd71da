"""Bulk writes of segmentation results: COPY on PostgreSQL, executemany elsewhere.

Both paths cost a fixed number of statements per batch, whatever the batch holds.
Django's ``bulk_update`` and ``bulk_create`` would split a batch into many statements on
SQLite (at most 999 parameters each), so they are not used here.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from django.db import connection

from accounts.models import Account

from .engine import Evaluation
from .models import ExplanationItem, ScoreRecord

# Columns of Account written with each new result, in this order.
RESULT_COLUMNS = (
    "score",
    "tier",
    "tag",
    "route",
    "size_band",
    "geography",
    "needs_enrichment",
    "missing_fields",
)

_missing_fields_json: dict[tuple[str, ...], str] = {}


def _missing_json(missing_fields: list[str]) -> str:
    key = tuple(missing_fields)
    text = _missing_fields_json.get(key)
    if text is None:
        text = json.dumps(missing_fields)
        _missing_fields_json[key] = text
    return text


def _column(model: type, field_name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field_name).column)


def _table(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _copy_text(value: str) -> str:
    """Escape a string for PostgreSQL's COPY text format."""
    if "\\" in value or not value.isprintable():
        value = (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


# Bytes psycopg2 reads from a COPY buffer at once. Its default of 8 KB makes a writer
# thread take the GIL for every 8 KB, and a thread scoring the next batch keeps the GIL
# for up to 5 ms (Python's switch interval). Each read is sent as one protocol message,
# which PostgreSQL limits to 1 GB.
COPY_READ_SIZE = 64 * 1024 * 1024


def _copy(cursor, sql: str, buffer: io.BytesIO) -> None:
    buffer.seek(0)
    cursor.copy_expert(sql, buffer, COPY_READ_SIZE)


def results_write(
    results: Sequence[tuple[int, Evaluation]],
    *,
    items: dict[int, str],
    framework_id: int,
    run_id: int | None,
    now: datetime,
    unchanged_ids: Collection[int] = (),
) -> None:
    """Store new results: update the accounts' latest result and append ScoreRecords.

    Call inside a transaction. Every account in ``results`` gets both writes. ``items``
    are explanation items by key, stored unless already stored. The records' explanations
    name items by key, so each must be in ``items`` or stored before.

    Accounts in ``unchanged_ids`` have the result they store already, and only their
    framework version, time scored or explanation is new. They keep their ``updated_at``,
    so API syncs by ``updated_since`` and forms opened before the run do not see a change.
    """
    # NOTE: with every result changed, 1,000,000 accounts take 24 to 46 s on 2 cores (6.5x
    # to 8.4x the floor, by machine), above a 20 s goal. The account UPDATE dominates: it
    # changes indexed columns, so every row gets a new entry in each index, which costs
    # about 16 s of a 42 s run (docs/benchmarks.md).
    _items_write(items)
    if not results:
        return
    options = {"framework_id": framework_id, "run_id": run_id, "now": now}
    if connection.vendor == "postgresql":
        _write_postgresql(results, unchanged_ids, **options)
    else:
        _write_generic(results, unchanged_ids, **options)
    restamped_ids = [account_id for account_id, _result in results if account_id in unchanged_ids]
    if restamped_ids:
        _restamp(restamped_ids, framework_id=framework_id, now=now)


def _items_write(items: dict[int, str]) -> None:
    if not items:
        return
    table = _table(ExplanationItem)
    key, text = _column(ExplanationItem, "key"), _column(ExplanationItem, "text")
    rows = list(items.items())
    # Django assumes SQLite's historical limit of 999 parameters per statement.
    step = 400
    with connection.cursor() as cursor:
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({key}, {text}) VALUES {values}"
                f" ON CONFLICT ({key}) DO NOTHING",
                [value for row in chunk for value in row],
            )


def _record_columns() -> str:
    names = ("account", "framework", "run", *RESULT_COLUMNS, "explanation", "created_at")
    return ", ".join(_column(ScoreRecord, name) for name in names)


# PostgreSQL's binary COPY format: a header, then per row the field count and each field
# as a 4-byte length (-1 for NULL) and its bytes, then a -1 trailer. Binary rows skip the
# server's per-character parsing of text COPY, which dominated the cost of the long
# explanation texts. Timestamps are microseconds since 2000-01-01 UTC.
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_BINARY_TRAILER = struct.pack("!h", -1)
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_NULL = struct.pack("!i", -1)
_RECORD_FIELDS = 13
_JSONB_VERSION = b"\x01"
_TRUE_FIELD = struct.pack("!ib", 1, 1)
_FALSE_FIELD = struct.pack("!ib", 1, 0)
_pack_score = struct.Struct("!ih").pack


def _binary_text(value: str) -> bytes:
    data = value.encode()
    return struct.pack("!i", len(data)) + data


def _binary_jsonb(text: str) -> bytes:
    data = _JSONB_VERSION + text.encode()
    return struct.pack("!i", len(data)) + data


# Encoded result columns by result, reused across batches. Results repeat (a few thousand
# tags times 101 scores), and encoding every row took about 1.5 s per 100,000 accounts
# (cProfile on the benchmarks/resegment.py data). Past this many entries, results are
# encoded afresh, so memory stays flat.
RESULT_CACHE_SIZE = 20_000
_encoded_results: dict[tuple, tuple[bytes, bytes]] = {}


def _encoded_result(evaluation: Evaluation) -> tuple[bytes, bytes]:
    """Return the result columns as binary COPY fields and as a text COPY line tail.

    Both cover score to missing_fields in RESULT_COLUMNS order. The text form starts with
    a tab and ends with a newline, so it follows the account id.
    """
    key = (*evaluation[:7], tuple(evaluation.missing_fields))
    encoded = _encoded_results.get(key)
    if encoded is not None:
        return encoded
    score, tier, tag, route, size_band, geography, needs_enrichment = evaluation[:7]
    missing = _missing_json(evaluation.missing_fields)
    binary = b"".join(
        (
            _NULL if score is None else _pack_score(2, score),
            _binary_text(tier),
            _binary_text(tag),
            _binary_text(route),
            _binary_text(size_band),
            _binary_text(geography),
            _TRUE_FIELD if needs_enrichment else _FALSE_FIELD,
            _binary_jsonb(missing),
        )
    )
    text = "\t".join(
        (
            "",
            r"\N" if score is None else str(score),
            tier,
            _copy_text(tag),
            _copy_text(route),
            _copy_text(size_band),
            _copy_text(geography),
            "t" if needs_enrichment else "f",
            missing,
        )
    )
    encoded = (binary, (text + "\n").encode())
    if len(_encoded_results) < RESULT_CACHE_SIZE:
        _encoded_results[key] = encoded
    return encoded


def _record_rows_binary(
    results: Sequence[tuple[int, Evaluation]],
    *,
    framework_id: int,
    run_id: int | None,
    now: datetime,
) -> io.BytesIO:
    """Encode ScoreRecord rows, in _record_columns() order, for a binary COPY."""
    buffer = io.BytesIO()
    buffer.write(_BINARY_HEADER)

    micros = (now - _POSTGRES_EPOCH) // timedelta(microseconds=1)
    prefix = struct.pack("!hi", _RECORD_FIELDS, 8)
    shared = struct.pack("!iq", 8, framework_id) + (
        _NULL if run_id is None else struct.pack("!iq", 8, run_id)
    )
    suffix = struct.pack("!iq", 8, micros)
    pack_id = struct.Struct("!q").pack
    write = buffer.write

    for account_id, evaluation in results:
        write(prefix)
        write(pack_id(account_id))
        write(shared)
        write(_encoded_result(evaluation)[0])
        write(_binary_text(evaluation.stored_explanation))
        write(suffix)

    write(_BINARY_TRAILER)
    return buffer


def _restamp(account_ids: list[int], *, framework_id: int, now: datetime) -> None:
    """Set the framework version and time scored of accounts whose result is unchanged.

    No indexed column changes, so PostgreSQL can update the rows in place (HOT).
    """
    account_id_column = _column(Account, "id")
    # Django assumes SQLite's historical limit of 999 parameters per statement.
    step = 900
    with connection.cursor() as cursor:
        for start in range(0, len(account_ids), step):
            chunk = account_ids[start : start + step]
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE {_table(Account)} SET {_column(Account, 'framework')} = %s,"
                f" {_column(Account, 'scored_at')} = %s"
                f" WHERE {account_id_column} IN ({placeholders})",
                [framework_id, now, *chunk],
            )


def _write_postgresql(
    results: Sequence[tuple[int, Evaluation]],
    unchanged_ids: Collection[int],
    *,
    framework_id: int,
    run_id: int | None,
    now: datetime,
) -> None:
    records_buffer = _record_rows_binary(results, framework_id=framework_id, run_id=run_id, now=now)
    changed = [result for result in results if result[0] not in unchanged_ids]
    with connection.cursor() as cursor:
        if changed:
            _update_postgresql(cursor, changed, framework_id=framework_id, now=now)
        _copy(
            cursor,
            f"COPY {_table(ScoreRecord)} ({_record_columns()}) FROM STDIN WITH (FORMAT binary)",
            records_buffer,
        )


def _update_postgresql(
    cursor, results: Sequence[tuple[int, Evaluation]], *, framework_id: int, now: datetime
) -> None:
    """Write the latest result of accounts whose result changed, through a temporary table."""
    # A StringIO stores 4 bytes per character once read. UTF-8 bytes cut the peak memory of
    # a 5,000-account batch by about 60 MB (measured with benchmarks/resegment.py).
    results_buffer = io.BytesIO()
    write = results_buffer.write
    for account_id, evaluation in results:
        write(str(account_id).encode())
        write(_encoded_result(evaluation)[1])

    account_table = _table(Account)
    account_id_column = _column(Account, "id")
    assignments = ", ".join(f"{_column(Account, name)} = result.{name}" for name in RESULT_COLUMNS)
    ids = [account_id for account_id, _evaluation in results]
    # Dropped at the end of the batch rather than at commit, because a caller's outer
    # transaction (an import, a test) can span many batches.
    cursor.execute(
        "CREATE TEMPORARY TABLE segmentation_result ("
        " id bigint PRIMARY KEY, score smallint, tier varchar(10), tag varchar(200),"
        " route varchar(50), size_band varchar(50), geography varchar(50),"
        " needs_enrichment boolean, missing_fields jsonb"
        ")"
    )
    _copy(cursor, "COPY segmentation_result FROM STDIN", results_buffer)
    # The id range lets PostgreSQL read only the batch's accounts by primary key.
    # Without it, PostgreSQL 15 scanned all 100,000 accounts of the benchmark for each
    # batch of 5,000.
    cursor.execute(
        f"UPDATE {account_table} AS account SET {assignments},"
        f" {_column(Account, 'framework')} = %s,"
        f" {_column(Account, 'scored_at')} = %s,"
        f" {_column(Account, 'updated_at')} = %s"
        f" FROM segmentation_result AS result"
        f" WHERE account.{account_id_column} = result.id"
        f" AND account.{account_id_column} BETWEEN %s AND %s",
        [framework_id, now, now, min(ids), max(ids)],
    )
    cursor.execute("DROP TABLE segmentation_result")


def _write_generic(
    results: Sequence[tuple[int, Evaluation]],
    unchanged_ids: Collection[int],
    *,
    framework_id: int,
    run_id: int | None,
    now: datetime,
) -> None:
    timestamp = connection.ops.adapt_datetimefield_value(now)
    account_rows = []
    record_rows = []
    for account_id, evaluation in results:
        values = (
            evaluation.score,
            evaluation.tier,
            evaluation.tag,
            evaluation.route,
            evaluation.size_band,
            evaluation.geography,
            evaluation.needs_enrichment,
            _missing_json(evaluation.missing_fields),
        )
        if account_id not in unchanged_ids:
            account_rows.append((*values, framework_id, timestamp, timestamp, account_id))
        record_rows.append(
            (account_id, framework_id, run_id, *values, evaluation.stored_explanation, timestamp)
        )

    assignments = ", ".join(
        f"{_column(Account, name)} = %s"
        for name in (*RESULT_COLUMNS, "framework", "scored_at", "updated_at")
    )
    placeholders = ", ".join(["%s"] * len(record_rows[0]))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {_table(Account)} SET {assignments} WHERE {_column(Account, 'id')} = %s",
            account_rows,
        )
        cursor.executemany(
            f"INSERT INTO {_table(ScoreRecord)} ({_record_columns()}) VALUES ({placeholders})",
            record_rows,
        )
