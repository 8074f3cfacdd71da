"""Write one matched batch: new and changed accounts, identifiers, observations and leads.

Two writers store the same rows. On PostgreSQL with psycopg2, CopyBatchWriter sends the
rows of each table in one COPY statement, straight into the table for new rows and into
a temporary table for updates and for identifiers that may already exist. Other databases
use BatchWriter, which uses Django's bulk statements. Both write plain tuples and
AccountRecords, not model instances, except for the rare leads.

Writing has two steps. prepare() does the batch's reads (new ids, the observations and
leads stored already), and PreparedBatch.execute() sends the writes. CopyBatchWriter
leaves every write to execute(), which builds the COPY text chunk by chunk while it sends
it, so the server inserts one chunk while the next is built. The importer runs execute()
in a second thread while it parses, matches and prepares the next batch.

The reads of prepare() use the current thread's connection, and the writes use the
connection passed to prepare_batch(). They differ while the previous batch is written:
the reads then go through a second connection, and prepare_batch() adds the rows of that
unwritten PendingBatch to what the reads return.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import islice
from operator import attrgetter
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Max, Window

from accounts.models import Account, AccountIdentifier, Lead
from enrichment.models import Observation

from .jsontext import json_text
from .matching import (
    IMPORT_FIELDS,
    AccountRecord,
    AccountState,
    PendingBatch,
    RowOutcome,
    mark_unchanged,
)
from .rows import observation_json

# Rows per INSERT or UPDATE statement of BatchWriter. On SQLite, Django splits statements
# further to stay under its limit on query parameters.
WRITE_BATCH_SIZE = 500

# Columns of enrichment.Observation that an import fills, in the order of the COPY rows.
OBSERVATION_FIELDS = (
    "account",
    "line",
    "field",
    "value",
    "raw_value",
    "source",
    "source_detail",
    "import_run",
)

# An account id, the file line of the row, and the row's new observations, each (field,
# value as JSON text or None, raw text).
ObservationGroup = tuple[int, int, Sequence[tuple[str, str | None, str]]]

# Lines of COPY text built per chunk that psycopg2 sends: about 70 KB of observations
# or 170 KB of accounts.
COPY_CHUNK_LINES = 500


def prepare_batch(
    outcomes: list[RowOutcome],
    *,
    source: str,
    source_detail: str,
    now: datetime,
    connection: BaseDatabaseWrapper | None = None,
    pending: PendingBatch | None = None,
    import_run_id: int | None = None,
) -> PreparedBatch:
    """Do the batch's reads and return its writes, ready to execute.

    The writes use ``connection``, by default the current thread's connection for
    writing accounts. The account states of the result have primary keys once it has been
    executed. Observations that repeat the source's latest ones and leads that repeat
    a stored one, or one of ``pending``, are left out, so importing a file twice adds
    nothing the second time. The rows that then store nothing new on an existing account
    count as UNCHANGED (mark_unchanged).
    """
    read_connection = connections[router.db_for_read(Account)]
    if connection is None:
        connection = connections[router.db_for_write(Account)]
    writer_class = CopyBatchWriter if copy_supported(read_connection) else BatchWriter
    if writer_class is BatchWriter and connection is not read_connection:
        # BatchWriter writes through the ORM while it prepares, on the current connection.
        raise ValueError(
            f"{connection.vendor} batches cannot be written on another connection than "
            "they are read on: pass no connection, or use PostgreSQL with psycopg2."
        )
    return writer_class(connection, read_connection).prepare(
        outcomes,
        source=source,
        source_detail=source_detail,
        now=now,
        pending=pending,
        import_run_id=import_run_id,
    )


def mark_unchanged_rows(outcomes: list[RowOutcome], *, source: str) -> None:
    """Count the matched rows that would store nothing new as UNCHANGED, writing nothing.

    It does the reads of prepare_batch for the rows of accounts from before the batch,
    so the import preview counts rows as the import will.
    """
    existing = [outcome for outcome in outcomes if not outcome.state.is_new]
    states = list({id(outcome.state): outcome.state for outcome in existing}.values())
    _new_observations(existing, states, source=source)
    _new_leads(existing, states, source=source)
    mark_unchanged(existing)


def copy_supported(connection: BaseDatabaseWrapper) -> bool:
    """Return True when the connection is PostgreSQL through psycopg2, which has copy_expert."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        return hasattr(cursor.cursor, "copy_expert")


class PreparedBatch:
    """The account states of a matched batch and the writes that are left to run."""

    def __init__(self, states: list[AccountState], writes: list[Callable[[], None]]) -> None:
        self.states = states
        self.writes = writes

    def execute(self) -> None:
        """Run the writes in order on the writer's connection."""
        for write in self.writes:
            write()


class BatchWriter:
    """Writer of matched batches with Django's bulk statements, for any database.

    It writes while it prepares, because bulk_create returns the primary keys that the
    identifiers and observations need, so its PreparedBatch has nothing left to execute.
    """

    def __init__(
        self,
        connection: BaseDatabaseWrapper,
        read_connection: BaseDatabaseWrapper | None = None,
    ) -> None:
        self.connection = connection
        self.read_connection = connection if read_connection is None else read_connection
        self.writes: list[Callable[[], None]] = []

    def defer(self, write: Callable[[], None]) -> None:
        """Run a write now. CopyBatchWriter keeps it for PreparedBatch.execute instead."""
        write()

    def prepare(
        self,
        outcomes: list[RowOutcome],
        *,
        source: str,
        source_detail: str,
        now: datetime,
        pending: PendingBatch | None = None,
        import_run_id: int | None = None,
    ) -> PreparedBatch:
        """Read what the batch needs and build its writes, returned as a PreparedBatch."""
        states = list({id(outcome.state): outcome.state for outcome in outcomes}.values())

        new_accounts = [state.account for state in states if state.is_new]
        if new_accounts:
            self.create_accounts(new_accounts, now)

        changed = [state for state in states if not state.is_new and state.changed_fields]
        if changed:
            fields = sorted(set().union(*(state.changed_fields for state in changed)))
            self.update_accounts([state.account for state in changed], fields, now)

        identifiers = [
            (state.account.pk, kind, value)
            for state in states
            for kind, value in state.new_identifiers
        ]
        if identifiers:
            # A concurrent import may have stored one of them since the batch was matched.
            self.insert_identifiers(identifiers)

        observations = _new_observations(outcomes, states, source=source, pending=pending)
        if observations:
            self.insert_observations(
                observations,
                source=source,
                source_detail=source_detail,
                now=now,
                import_run_id=import_run_id,
            )
        leads = _new_leads(outcomes, states, source=source, pending=pending)
        if leads:
            self.defer(
                lambda: Lead.objects.bulk_create(
                    leads, batch_size=WRITE_BATCH_SIZE, ignore_conflicts=True
                )
            )
        mark_unchanged(outcomes)
        return PreparedBatch(states, self.writes)

    def create_accounts(self, records: list[AccountRecord], now: datetime) -> None:
        """Insert new accounts and set the primary keys of their records."""
        accounts = [
            Account(**record.values(), created_at=now, updated_at=now) for record in records
        ]
        Account.objects.bulk_create(accounts, batch_size=WRITE_BATCH_SIZE)
        for record, account in zip(records, accounts, strict=True):
            record.pk = account.pk

    def update_accounts(
        self, records: list[AccountRecord], fields: list[str], now: datetime
    ) -> None:
        """Save the given fields of existing accounts and set their updated_at to ``now``."""
        accounts = [
            Account(
                pk=record.pk,
                updated_at=now,
                **{name: getattr(record, name) for name in fields},
            )
            for record in records
        ]
        Account.objects.bulk_update(accounts, [*fields, "updated_at"], batch_size=WRITE_BATCH_SIZE)

    def insert_identifiers(self, identifiers: list[tuple[int, str, str]]) -> None:
        """Insert (account id, kind, value) rows, skipping kinds and values already stored."""
        AccountIdentifier.objects.bulk_create(
            [
                AccountIdentifier(account_id=account_id, kind=kind, value=value)
                for account_id, kind, value in identifiers
            ],
            batch_size=WRITE_BATCH_SIZE,
            ignore_conflicts=True,
        )

    def insert_observations(
        self,
        observations: list[ObservationGroup],
        *,
        source: str,
        source_detail: str,
        now: datetime,
        import_run_id: int | None = None,
    ) -> None:
        """Insert observations with executemany, which skips building model instances."""
        table, columns = _table_and_columns(
            self.connection, Observation, [*OBSERVATION_FIELDS, "observed_at"]
        )
        observed_at = self.connection.ops.adapt_datetimefield_value(now)
        rows = [
            (
                account_id,
                line,
                field_name,
                value,
                raw,
                source,
                source_detail,
                import_run_id,
                observed_at,
            )
            for account_id, line, group in observations
            for field_name, value, raw in group
        ]
        placeholders = ", ".join(["%s"] * len(columns))
        with self.connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows
            )


class CopyBatchWriter(BatchWriter):
    """Writer of matched batches with PostgreSQL COPY statements (psycopg2 only).

    prepare() takes the new accounts' ids from the table's sequence. Every write waits
    for PreparedBatch.execute(). The writes use the connection, not the writer, because
    the writer keeps the list of writes, and a write that referred back to it would make
    a reference cycle that keeps the batch's rows in memory until a garbage collection.
    """

    def defer(self, write: Callable[[], None]) -> None:
        """Keep a write for PreparedBatch.execute."""
        self.writes.append(write)

    def create_accounts(self, records: list[AccountRecord], now: datetime) -> None:
        """Take ids for new accounts from the table's sequence and copy the accounts."""
        layout = _account_copy_layout(self.connection)
        with self.read_connection.cursor() as cursor:
            # The sequence name is looked up once per process, because
            # pg_get_serial_sequence() in this query ran once per id and took most of its time.
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                [layout.sequence_name(cursor), len(records)],
            )
            ids = [row[0] for row in cursor.fetchall()]
        for record, account_id in zip(records, ids, strict=True):
            record.pk = account_id

        # created_at, updated_at and the columns that get their defaults.
        tail = "\t".join([_copy_datetime(now), _copy_datetime(now), *layout.default_cells])
        converters = layout.converters
        get_values = layout.get_values

        def lines() -> Iterator[str]:
            for record in records:
                cells = [str(record.pk)]
                cells += [
                    to_copy_text(value)
                    for to_copy_text, value in zip(converters, get_values(record), strict=True)
                ]
                cells.append(tail)
                yield "\t".join(cells)

        self.defer(self._copy_write(layout.table, layout.columns, lines))

    def update_accounts(
        self, records: list[AccountRecord], fields: list[str], now: datetime
    ) -> None:
        """Copy the changed fields into a temporary table and update from it in one statement."""
        quote = self.connection.ops.quote_name
        table = quote(Account._meta.db_table)
        columns = [quote(Account._meta.get_field(name).column) for name in fields]
        converters = [_copy_converter(Account._meta.get_field(name)) for name in fields]

        def lines() -> Iterator[str]:
            for record in records:
                cells = [str(record.pk)]
                cells += [
                    to_copy_text(getattr(record, name))
                    for name, to_copy_text in zip(fields, converters, strict=True)
                ]
                yield "\t".join(cells)

        changes = quote("import_account_changes")
        assignments = ", ".join(f"{column} = changes.{column}" for column in columns)
        copy_changes = self._copy_write(changes, ["id", *columns], lines)
        connection = self.connection

        def update() -> None:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {changes} ON COMMIT DROP AS "
                    f"SELECT id, {', '.join(columns)} FROM {table} WITH NO DATA"
                )
                copy_changes()
                cursor.execute(
                    f"UPDATE {table} SET {assignments}, {quote('updated_at')} = %s "
                    f"FROM {changes} AS changes WHERE {table}.id = changes.id",
                    [now],
                )
                cursor.execute(f"DROP TABLE {changes}")

        self.defer(update)

    def insert_identifiers(self, identifiers: list[tuple[int, str, str]]) -> None:
        """Copy identifiers into a temporary table and insert the ones not stored yet."""
        table, columns = _table_and_columns(
            self.connection, AccountIdentifier, ["account", "kind", "value"]
        )
        column_list = ", ".join(columns)
        staged = self.connection.ops.quote_name("import_identifiers")

        def lines() -> Iterator[str]:
            for account_id, kind, value in identifiers:
                yield f"{account_id}\t{_copy_text(kind)}\t{_copy_text(value)}"

        copy_identifiers = self._copy_write(staged, columns, lines)
        connection = self.connection

        def insert() -> None:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {staged} ON COMMIT DROP AS "
                    f"SELECT {column_list} FROM {table} WITH NO DATA"
                )
                copy_identifiers()
                cursor.execute(
                    f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {staged} "
                    "ON CONFLICT DO NOTHING"
                )
                cursor.execute(f"DROP TABLE {staged}")

        self.defer(insert)

    def insert_observations(
        self,
        observations: list[ObservationGroup],
        *,
        source: str,
        source_detail: str,
        now: datetime,
        import_run_id: int | None = None,
    ) -> None:
        """Copy observations straight into their table."""
        table, columns = _table_and_columns(
            self.connection, Observation, [*OBSERVATION_FIELDS, "observed_at"]
        )
        # Source, file, import and time are the same on every row of the batch.
        run_cell = "\\N" if import_run_id is None else str(import_run_id)
        tail = (
            f"{_copy_text(source)}\t{_copy_text(source_detail)}\t{run_cell}\t{_copy_datetime(now)}"
        )

        def lines() -> Iterator[str]:
            for account_id, line, group in observations:
                # Field names are the importer's own identifiers, which need no escaping.
                for field_name, value, raw in group:
                    yield (
                        f"{account_id}\t{line}\t{field_name}\t{_copy_nullable(value)}\t"
                        f"{_copy_text(raw)}\t{tail}"
                    )

        self.defer(self._copy_write(table, columns, lines))

    def _copy_write(
        self, table: str, columns: Sequence[str], lines: Callable[[], Iterable[str]]
    ) -> Callable[[], None]:
        """Return a write that sends the lines of COPY text format into the table.

        ``lines()`` yields the rows as text (tab-separated, \\N for NULL) without line
        ends. It is called when the write runs, so it must read only values that stay
        unchanged until then.
        """
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        connection = self.connection

        def copy() -> None:
            # wrap_database_errors raises driver errors such as a unique violation as
            # django.db errors.
            with connection.cursor() as cursor, connection.wrap_database_errors:
                cursor.cursor.copy_expert(statement, _CopyStream(lines()))

        return copy


class _CopyStream:
    """Reader of COPY text for psycopg2's copy_expert, built COPY_CHUNK_LINES at a time.

    psycopg2 releases the GIL while it sends a chunk, so the server inserts the rows of
    one chunk while this thread builds the next, and other threads can run meanwhile.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)

    def read(self, size: int = -1) -> bytes:
        """Return the next chunk of whole lines, ignoring ``size``, or b"" at the end."""
        chunk = list(islice(self._lines, COPY_CHUNK_LINES))
        if not chunk:
            return b""
        chunk.append("")
        return "\n".join(chunk).encode("utf-8")


def _table_and_columns(
    connection: BaseDatabaseWrapper, model: type, field_names: Iterable[str]
) -> tuple[str, list[str]]:
    quote = connection.ops.quote_name
    columns = [quote(model._meta.get_field(name).column) for name in field_names]
    return quote(model._meta.db_table), columns


def _pending_outcomes(
    pending: PendingBatch | None, account_ids: Iterable[int]
) -> Iterator[RowOutcome]:
    """Yield the pending batch's outcomes of the given accounts."""
    if pending is None:
        return
    for account_id in account_ids:
        yield from pending.outcomes.get(account_id, ())


def _new_observations(
    outcomes: list[RowOutcome],
    states: list[AccountState],
    *,
    source: str,
    pending: PendingBatch | None = None,
) -> list[ObservationGroup]:
    """Return the batch's observations that change what the source reported last.

    For each account and field, the batch's values are left out when the source's latest
    observations (those of its newest observed_at) contain every one of them and the
    newest of those observations has the batch's last value. Otherwise each value is
    written once, from the row that gives it last, so verification reads the batch's last
    value as the source's newest. Sets ``recorded_new`` on the outcomes whose rows add an
    observation. The observations of ``pending`` count as stored.
    """
    existing_ids = [state.account.pk for state in states if not state.is_new]
    latest = _latest_observations(existing_ids, source) if existing_ids else {}
    pending_outcomes = list(_pending_outcomes(pending, existing_ids))
    if pending_outcomes:
        # The pending batch was prepared against the same stored observations, so
        # replaying it gives the latest values once it is written.
        _observations_to_write(pending_outcomes, latest)

    # The only row of a new account has nothing stored or earlier in the batch to repeat,
    # and a row observes each field once, so all its observations are written.
    compared = [
        outcome
        for outcome in outcomes
        if not (outcome.state.is_new and outcome.state.applied_rows == 1)
    ]
    written = dict(zip(map(id, compared), _observations_to_write(compared, latest), strict=True))

    groups: list[ObservationGroup] = []
    for outcome in outcomes:
        account_id = outcome.state.account.pk
        new = written.get(id(outcome))
        if new is None:
            groups.append((account_id, outcome.row.line, outcome.row.observations))
        elif new:
            groups.append((account_id, outcome.row.line, new))
            outcome.recorded_new = True
    return groups


# (account id, field) -> the values of the source's observations at its newest
# observed_at, and the value of the newest of them (highest id).
LatestValues = dict[tuple[int, str], tuple[set[str | None], str | None]]


def _latest_observations(account_ids: list[int], source: str) -> LatestValues:
    """Read the source's observations at the newest observed_at of each account and field.

    Only those are read, not the whole history, so the query returns about one row per
    account and field however often the source was imported.
    """
    newest = Window(Max("observed_at"), partition_by=[F("account_id"), F("field")])
    rows = (
        Observation.objects.filter(account_id__in=account_ids, source=source)
        .annotate(newest_observed_at=newest)
        .filter(observed_at=F("newest_observed_at"))
        .order_by("id")
        .values_list("account_id", "field", "value")
    )
    latest: LatestValues = {}
    for account_id, field_name, value in rows:
        text = observation_json(value)
        values, _last = latest.get((account_id, field_name), (set(), None))
        values.add(text)
        # Rows come in id order, so the last one per key is the newest.
        latest[(account_id, field_name)] = (values, text)
    return latest


def _observations_to_write(
    outcomes: list[RowOutcome], latest: LatestValues
) -> list[list[tuple[str, str | None, str]]]:
    """Return the observations to write for each outcome and update ``latest`` with them.

    The observations of one batch share their observed_at, so the values written for an
    account and field become the source's latest values together.
    NOTE: each batch has its own observed_at, so when rows of a file give one account two
    values of a field in two batches, importing the file again writes both again.
    """
    # (account id, field) -> value -> (position of the row that gives it last, raw text),
    # ordered by that position, so the last item is the batch's last value.
    batch_values: dict[tuple[int, str], dict[str | None, tuple[int, str]]] = {}
    for position, outcome in enumerate(outcomes):
        account_id = outcome.state.account.pk
        for field_name, value, raw in outcome.row.observations:
            values = batch_values.setdefault((account_id, field_name), {})
            values.pop(value, None)
            values[value] = (position, raw)

    written: list[list[tuple[str, str | None, str]]] = [[] for _outcome in outcomes]
    for key, values in batch_values.items():
        last_value = next(reversed(values))
        stored = latest.get(key)
        if stored is not None and stored[1] == last_value and stored[0].issuperset(values):
            continue
        for value, (position, raw) in values.items():
            written[position].append((key[1], value, raw))
        latest[key] = (set(values), last_value)
    return written


class _AccountCopyLayout:
    """Columns of a COPY into the account table: id, IMPORT_FIELDS, timestamps, the rest.

    The other columns get the model's defaults, which are the same on every row, so their
    text is built once. Columns with a database default are left to the database.
    """

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        quote = connection.ops.quote_name
        meta = Account._meta
        self.table = quote(meta.db_table)
        self.converters = [_copy_converter(meta.get_field(name)) for name in IMPORT_FIELDS]
        self.get_values = attrgetter(*IMPORT_FIELDS)
        set_here = {meta.pk.attname, *IMPORT_FIELDS, "created_at", "updated_at"}
        other_fields = [
            field
            for field in meta.concrete_fields
            if field.attname not in set_here and not field.has_db_default()
        ]
        self.columns = [
            quote(meta.pk.column),
            *(quote(meta.get_field(name).column) for name in IMPORT_FIELDS),
            quote(meta.get_field("created_at").column),
            quote(meta.get_field("updated_at").column),
            *(quote(field.column) for field in other_fields),
        ]
        self.default_cells = [_copy_converter(field)(field.get_default()) for field in other_fields]
        self._sequence_name = ""

    def sequence_name(self, cursor: Any) -> str:
        """Return the name of the sequence of the account table's primary key."""
        if not self._sequence_name:
            meta = Account._meta
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
            self._sequence_name = cursor.fetchone()[0]
        return self._sequence_name


_layouts: dict[str, _AccountCopyLayout] = {}


def _account_copy_layout(connection: BaseDatabaseWrapper) -> _AccountCopyLayout:
    layout = _layouts.get(connection.alias)
    if layout is None:
        layout = _layouts[connection.alias] = _AccountCopyLayout(connection)
    return layout


# COPY text format escapes backslash and the characters that end a cell or a row.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _copy_nullable(value: str | None) -> str:
    return "\\N" if value is None else _copy_text(value)


def _copy_datetime(value: datetime) -> str:
    return value.isoformat()


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if type(value) is str:
        return _copy_text(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return _copy_datetime(value)
    return _copy_text(str(value))


def _copy_number(value: int | Decimal | None) -> str:
    return "\\N" if value is None else str(value)


def _copy_boolean(value: bool | None) -> str:
    if value is None:
        return "\\N"
    return "t" if value else "f"


_COPY_CONVERTERS: dict[str, Callable[[Any], str]] = {
    "CharField": _copy_nullable,
    "TextField": _copy_nullable,
    "BooleanField": _copy_boolean,
    "IntegerField": _copy_number,
    "PositiveIntegerField": _copy_number,
    "PositiveSmallIntegerField": _copy_number,
    "SmallIntegerField": _copy_number,
    "BigIntegerField": _copy_number,
    "DecimalField": _copy_number,
}


def _copy_converter(field: Any) -> Callable[[Any], str]:
    """Return the function that turns a value of the model field into COPY text."""
    internal_type = field.get_internal_type()
    if internal_type == "JSONField":
        encoder = field.encoder

        def to_json_text(value: Any) -> str:
            if value is None:
                return "\\N"
            if encoder is None:
                return _copy_text(json_text(value))
            return _copy_text(json.dumps(value, cls=encoder))

        return to_json_text
    return _COPY_CONVERTERS.get(internal_type, _copy_value)


def _lead_key(account_id: int, email: str, first_name: str, last_name: str) -> tuple:
    if email:
        return (account_id, email.casefold())
    return (account_id, "", first_name.casefold(), last_name.casefold())


def _new_leads(
    outcomes: list[RowOutcome],
    states: list[AccountState],
    *,
    source: str,
    pending: PendingBatch | None = None,
) -> list[Lead]:
    """Return the batch's leads minus those its accounts have already (by e-mail or name).

    Sets ``recorded_new`` on the outcomes whose rows add one. The leads of ``pending``
    count as stored, like its observations.
    """
    with_leads = [outcome for outcome in outcomes if outcome.row.lead]
    if not with_leads:
        return []
    existing_ids = {state.account.pk for state in states if not state.is_new}
    seen = {
        _lead_key(*lead)
        for lead in Lead.objects.filter(account_id__in=existing_ids).values_list(
            "account_id", "email", "first_name", "last_name"
        )
    }
    for outcome in _pending_outcomes(pending, existing_ids):
        lead = outcome.row.lead
        if lead:
            account_id = outcome.state.account.pk
            seen.add(_lead_key(account_id, lead["email"], lead["first_name"], lead["last_name"]))

    leads = []
    for outcome in with_leads:
        lead = outcome.row.lead
        account_id = outcome.state.account.pk
        key = _lead_key(account_id, lead["email"], lead["first_name"], lead["last_name"])
        if key in seen:
            continue
        seen.add(key)
        leads.append(Lead(account_id=account_id, source=source, **lead))
        outcome.recorded_new = True
    return leads
