"""Run the import of one file into accounts, batch by batch, for an ImportRun."""

from __future__ import annotations

import csv
import gc
import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from accounts.models import Account, ImportCancelRequest, ImportRun, ImportRunAccount
from accounts.normalizers import DEFAULT_RATES_TO_USD
from segmentation.taxonomy import IndustryResolver

from .background import BackgroundWriter
from .batches import PreparedBatch, copy_supported, prepare_batch
from .errors import ImportFileError, RowRejected
from .fingerprints import same_file_check
from .layouts import MappingFile, apply_layout, default_source, detect_layout
from .matching import (
    CREATED,
    MERGED,
    UNCHANGED,
    UPDATED,
    BatchMatcher,
    PendingBatch,
    RowOutcome,
    pack_file_values,
)
from .reading import UTF8_REPLACE_ENCODING, Record, Table, encoding_warning, open_table
from .report import RejectedRowReport, report_path
from .rows import ParsedRow, RowParser

logger = logging.getLogger(__name__)

# Records per batch. Each batch is matched with four queries and written with bulk
# statements, and the run's progress is saved after it.
IMPORT_BATCH_SIZE = 2000

# Records read between two collections of reference cycles, which the importer runs itself
# because it turns automatic collection off (see _young_garbage_collections_only). Each
# collection scans the objects that are alive, mostly the current batch, so collecting
# after every batch cost more than collecting after several.
GARBAGE_COLLECTION_RECORDS = 20_000


@dataclass
class ImportCounts:
    """Row counts of one run. ``read`` counts every data record, blank and rejected included."""

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    rejected: int = 0
    skipped_blank: int = 0
    flagged: int = 0

    def as_run_fields(self) -> dict[str, int]:
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        values["rows_read"] = values.pop("read")
        return values

    @classmethod
    def of_run(cls, run: ImportRun) -> ImportCounts:
        """Return the counts saved on ``run``."""
        values = {item.name: getattr(run, item.name) for item in fields(cls) if item.name != "read"}
        return cls(read=run.rows_read, **values)

    def add_outcomes(self, outcomes: list[RowOutcome]) -> None:
        """Count the created, updated, unchanged, merged and flagged rows of a written batch."""
        for outcome in outcomes:
            if outcome.outcome == CREATED:
                self.created += 1
            elif outcome.outcome == UPDATED:
                self.updated += 1
            elif outcome.outcome == UNCHANGED:
                self.unchanged += 1
            elif outcome.outcome == MERGED:
                self.merged += 1
            # Counted as the docs define flagged: a row that added a flag to its account.
            if outcome.row.added_flags:
                self.flagged += 1


@dataclass
class PhaseTimes:
    """Seconds one run spent per phase, measured with time.perf_counter.

    ``read_and_parse`` includes writing the rejected-rows report. ``prepare`` is the
    batches' reads, and without COPY also their bulk writes. ``write`` includes building
    the COPY text and the commit of each batch, where PostgreSQL checks the deferred
    foreign keys.
    When batches are written in a second thread, ``write`` overlaps ``read_and_parse``,
    and outside a transaction also ``match`` and ``prepare``. ``write_wait`` is the part
    of it that the importer waited for.
    """

    read_and_parse: float = 0.0
    match: float = 0.0
    prepare: float = 0.0
    write: float = 0.0
    write_wait: float = 0.0


@dataclass
class _PendingWrite:
    """A batch whose write runs in the writer thread, and the counts of its reading."""

    batch: list[ParsedRow]
    outcomes: list[RowOutcome]
    future: Future[None]
    read_counts: ImportCounts


@contextmanager
def _connection_in_this_thread(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Make the ORM of the current thread use ``connection`` for its alias in the block."""
    previous = connections[connection.alias]
    connections[connection.alias] = connection
    try:
        yield
    finally:
        connections[connection.alias] = previous


@contextmanager
def _young_garbage_collections_only() -> Iterator[None]:
    """Turn off automatic cyclic garbage collection in the block, if it is on.

    The importer keeps a batch of rows and caches of parsed cells alive, and Python's
    automatic collections, triggered by allocations, scanned them over and over. They
    took about a fifth of the importer's CPU time on the 20,000-row file of
    benchmarks/import_accounts.py (Python 3.11). The caller collects the young
    generations (gc.collect(1)) every GARBAGE_COLLECTION_RECORDS records instead, which
    frees any reference cycles made meanwhile. The setting is process-wide, so other
    threads of the process also run without automatic collections until the block ends.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class FileImporter:
    """Importer of one ImportRun's file, which saves counts and progress on the run.

    On PostgreSQL, a batch is written in a second thread while the next one is read and
    parsed (see background.py), unless ``write_in_background`` is False. Outside a
    transaction, the next batch is also matched and prepared meanwhile, on a second
    connection, unless ``match_during_writes`` is False. Inside one, such as a dry run's,
    that connection would not see the batches written before, so matching waits for the
    write.
    """

    write_in_background = True
    # NOTE: on 2 shared cores (benchmarks/import_accounts.py, 100,000 rows) this halved the
    # time the importer waited for writes but did not shorten the run, because parsing,
    # matching and the writer thread's COPY text then compete for the GIL and the cores.
    match_during_writes = True

    def __init__(
        self,
        run: ImportRun,
        *,
        mapping: MappingFile | None,
        batch_size: int = IMPORT_BATCH_SIZE,
    ) -> None:
        self.run = run
        self.mapping = mapping
        self.batch_size = batch_size
        self.counts = ImportCounts()
        # The counts that _save_progress saves: self.counts, or while a batch is written in
        # the background, its counts as of the end of that batch.
        self.progress = self.counts
        self.times = PhaseTimes()
        self.touched_ids: set[int] = set()
        # Account id -> the first line of the file's rows of the account and the values
        # they gave it first, from the written batches, so a later batch that reaches the
        # account compares its rows with them.
        # NOTE: it keeps one entry per account that the file gave a compared value, with
        # those values, until the run ends, so its memory grows with the file. Packed, the
        # entries took 31 MB for the 88,000 accounts of benchmarks/import_accounts.py
        # --rows 100000 (tracemalloc), about 370 bytes each.
        self.file_rows: dict[int, bytes] = {}
        # cancel_requested is set when a cancel request is found, and the import then stops
        # after the batch in hand. stopped_early is set when that left records unread, and
        # rows_not_reached counts them (None when the rest of the file could not be read).
        self.cancel_requested = False
        self.stopped_early = False
        self.rows_not_reached: int | None = None
        self._pending: _PendingWrite | None = None
        # The second connection that batches are matched on while a write is pending.
        self._matching_connection: BaseDatabaseWrapper | None = None
        self.rates = {**DEFAULT_RATES_TO_USD, **settings.ICP_CURRENCY_RATES_TO_USD}

    def execute(self) -> set[int]:
        """Import every record and return the ids of the accounts created or changed.

        Raises ImportFileError when the file cannot be read or mapped. Batches written
        before such an error stay written.
        """
        path = Path(self.run.file_path)
        decimal_comma = self.mapping.decimal_comma if self.mapping else None
        with open_table(path, decimal_comma=decimal_comma) as table:
            parser = self._start(table)
            report = RejectedRowReport(report_path(self.run.pk, self.run.file_name), table.header)
            try:
                self._import_records(table, parser, report)
            except UnicodeDecodeError as error:
                raise ImportFileError(
                    f"{self.run.file_name} could not be decoded as {table.encoding} after "
                    f"{self.counts.read} rows ({error}): save the file as UTF-8."
                ) from error
            finally:
                report.close()
                if report.rows:
                    self.run.report_path = str(report.path)
        self._save_progress()
        return self.touched_ids

    def _start(self, table: Table) -> RowParser:
        if self.mapping is not None:
            layout = self.mapping.as_layout()
            mapping = apply_layout(layout, table.header, currency=self.mapping.currency)
        else:
            layout = detect_layout(table.header)
            mapping = apply_layout(layout, table.header)
        decimal_comma = table.uses_decimal_comma(mapping.number_indexes())
        if not any(name in mapping.indexes for name in ("name", "website", "domain")):
            raise ImportFileError(
                f"no column of {self.run.file_name} maps to the company name, website or domain "
                f"(columns: {', '.join(table.header)}). Map the columns on the Imports page, "
                "which asks for the column of each field, or pass import_accounts --mapping "
                'with a JSON file such as {"Firma": "name", "Webseite": "website"}. The API '
                "reads only files whose columns it recognizes."
            )

        run = self.run
        run.source = run.source or default_source(
            layout.name, table.kind, has_mapping=self.mapping is not None
        )
        same_file_check(run)
        run.encoding = table.encoding
        run.encoding_warning = encoding_warning(
            Path(run.file_path), table.encoding, file_name=run.file_name
        )
        run.delimiter = table.delimiter
        if table.total_records is not None:
            # A CSV file is streamed, so its count is unknown here. The count that the
            # upload stored, if any, stays for the progress bar.
            run.total_rows = table.total_records
        run.column_mapping = {
            **mapping.describe(),
            "format": table.kind,
            "decimal_comma": decimal_comma,
        }
        if self.mapping is not None:
            run.column_mapping["mapping_file"] = self.mapping.path
        run.save(
            update_fields=[
                "source",
                "encoding",
                "encoding_warning",
                "delimiter",
                "total_rows",
                "column_mapping",
            ]
        )
        logger.info(
            "import run %s: %s as layout %s, source %s, encoding %s, delimiter %r",
            run.pk,
            run.file_name,
            mapping.layout,
            run.source,
            table.encoding,
            table.delimiter,
        )
        return RowParser(
            mapping,
            header=table.header,
            is_json=table.kind == "json",
            source=run.source,
            decimal_comma=decimal_comma,
            rates=self.rates,
            resolver=IndustryResolver.load(),
            flag_replaced_bytes=table.encoding == UTF8_REPLACE_ENCODING,
        )

    def _import_records(self, table: Table, parser: RowParser, report: RejectedRowReport) -> None:
        started = time.perf_counter()
        connection = connections[router.db_for_write(ImportRun)]
        background = None
        if self.write_in_background and copy_supported(connection):
            background = BackgroundWriter(connection)
            if self._may_match_during_writes(connection):
                self._matching_connection = connections.create_connection(connection.alias)
        try:
            with _young_garbage_collections_only():
                # A request made before the worker started stops the run before its first row.
                self._cancel_check()
                if not self.cancel_requested:
                    self._import_batches(table, parser, report, background)
        finally:
            if background is not None:
                self._abandon_pending_write()
                background.close()
            if self._matching_connection is not None:
                self._matching_connection.close()
                self._matching_connection = None
        if self.cancel_requested:
            self._count_not_reached(table)
        elapsed = time.perf_counter() - started
        waited = self.times.write_wait if background is not None else self.times.write
        self.times.read_and_parse = elapsed - self.times.match - self.times.prepare - waited
        logger.info(
            "import run %s: read and parsed in %.1f s, matched in %.1f s, prepared writes in "
            "%.1f s, wrote in %.1f s (%.1f s of it waited for)",
            self.run.pk,
            self.times.read_and_parse,
            self.times.match,
            self.times.prepare,
            self.times.write,
            waited,
            extra={"import_phase_times": asdict(self.times)},
        )

    def _import_batches(
        self,
        table: Table,
        parser: RowParser,
        report: RejectedRowReport,
        background: BackgroundWriter | None,
    ) -> None:
        """Read, match and write the records batch by batch, until the end or a cancel."""
        batch: list[ParsedRow] = []
        for record in table.records:
            self.counts.read += 1
            parsed = self._parse(record, parser, report)
            if parsed is not None:
                batch.append(parsed)
            if self.counts.read % self.batch_size == 0:
                self._write(batch, background)
                batch = []
                if self.cancel_requested:
                    break
            if self.counts.read % GARBAGE_COLLECTION_RECORDS == 0:
                gc.collect(1)
        self._write(batch, background)
        self._finish_pending_write()

    def _parse(
        self, record: Record, parser: RowParser, report: RejectedRowReport
    ) -> ParsedRow | None:
        if record.error:
            self._reject(report, record, record.error)
            return None
        try:
            cells = parser.cells_of(record.values)
            if parser.is_blank(cells):
                self.counts.skipped_blank += 1
                return None
            return parser.parse(record.line, cells)
        except RowRejected as rejection:
            self._reject(report, record, str(rejection))
            return None

    def _reject(self, report: RejectedRowReport, record: Record, reason: str) -> None:
        self.counts.rejected += 1
        values: Any = record.values
        if not isinstance(values, dict) and self.run.column_mapping.get("format") == "json":
            # Items that are not objects go into the report as their JSON text.
            values = json.dumps(values, ensure_ascii=False)
        report.add(record.line, values, reason)

    def _may_match_during_writes(self, connection: BaseDatabaseWrapper) -> bool:
        """Return True when a second connection would see every batch written before.

        That needs each batch committed on its own, so no outer transaction, and
        accounts read from the connection that the importer writes to.
        """
        return (
            self.match_during_writes
            and not connection.in_atomic_block
            and router.db_for_read(Account) == connection.alias
            and router.db_for_write(Account) == connection.alias
        )

    def _write(self, batch: list[ParsedRow], background: BackgroundWriter | None) -> None:
        """Match and write a batch, or match it and start its write in the background.

        A background write starts after the previous one has finished. The batch is
        matched meanwhile on the second connection, against the database and the pending
        batch, or else after that write. Either way each batch is matched against every
        account written before it.
        """
        if background is None:
            if batch:
                self._count(self._match_and_write(batch, read_counts=self.counts))
            self._save_progress()
            self._cancel_check()
            return

        if not batch:
            self._finish_pending_write()
            self._save_progress()
            return

        matched_beside_write = None
        if self._pending is not None and self._matching_connection is not None:
            matched_beside_write = self._match_beside_write(batch, self._pending)
        rematched = self._finish_pending_write()
        if matched_beside_write is not None and not rematched:
            outcomes, prepared = matched_beside_write
        else:
            # Matched after the previous write: for the first batch, inside a transaction,
            # or when the previous batch was matched and written again, which may have
            # given its accounts other ids than the ones this batch was matched against.
            started = time.perf_counter()
            with transaction.atomic():
                outcomes = self._matcher(batch).run()
                matched = time.perf_counter()
                prepared = self._prepare(outcomes)
            self.times.match += matched - started
            self.times.prepare += time.perf_counter() - matched
        read_counts = replace(self.counts)
        self._add_run_writes(prepared, outcomes, read_counts)
        future = background.submit(self._execute_in_transaction, prepared)
        self._pending = _PendingWrite(batch, outcomes, future, read_counts)

    def _match_beside_write(
        self, batch: list[ParsedRow], pending: _PendingWrite
    ) -> tuple[list[RowOutcome], PreparedBatch]:
        """Match and prepare a batch on the second connection while ``pending`` is written.

        That connection does not see the pending batch's rows until they are committed,
        so the batch is also matched against the pending batch's states in memory.
        """
        matching_connection = self._matching_connection
        assert matching_connection is not None
        write_connection = connections[matching_connection.alias]
        unwritten = PendingBatch(pending.outcomes)
        started = time.perf_counter()
        with (
            _connection_in_this_thread(matching_connection),
            transaction.atomic(using=matching_connection.alias),
        ):
            outcomes = self._matcher(batch, pending=unwritten).run()
            matched = time.perf_counter()
            prepared = self._prepare(outcomes, connection=write_connection, pending=unwritten)
        self.times.match += matched - started
        self.times.prepare += time.perf_counter() - matched
        return outcomes, prepared

    def _finish_pending_write(self) -> bool:
        """Wait for the background write, count its rows and save the progress.

        A batch that conflicted with a concurrent write is matched and written again here,
        and then True is returned.
        """
        pending, self._pending = self._pending, None
        if pending is None:
            return False
        started = time.perf_counter()
        rematched = False
        try:
            pending.future.result()
            outcomes = pending.outcomes
        except IntegrityError:
            self._log_conflict(pending.batch)
            outcomes = self._match_and_write(
                pending.batch, read_counts=pending.read_counts, attempts=1
            )
            rematched = True
        self.times.write_wait += time.perf_counter() - started
        self._record_written(pending, outcomes)
        return rematched

    def _record_written(self, pending: _PendingWrite, outcomes: list[RowOutcome]) -> None:
        """Count a background batch's rows and save the counts as of the end of that batch.

        The rows read after the batch are left out of the saved counts until their own
        batch is written.
        """
        self._count(outcomes)
        read = pending.read_counts
        self.progress = replace(
            self.counts, read=read.read, rejected=read.rejected, skipped_blank=read.skipped_blank
        )
        try:
            self._save_progress()
        finally:
            self.progress = self.counts
        # The write has finished, so the connection is free for the check.
        self._cancel_check()

    def _abandon_pending_write(self) -> None:
        """Wait for a background write after an error and save its counts if it succeeded.

        The error that stopped the import is being raised, so errors here are logged only.
        """
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            pending.future.result()
            self._record_written(pending, pending.outcomes)
        except Exception:
            logger.exception(
                "import run %s: writing or counting the batch ending at line %s failed after "
                "an earlier error",
                self.run.pk,
                pending.batch[-1].line,
            )

    def _execute_in_transaction(self, prepared: PreparedBatch) -> None:
        """Run a prepared batch's writes in a transaction of their own (in the writer thread)."""
        started = time.perf_counter()
        try:
            with transaction.atomic():
                self._execute(prepared)
        finally:
            self.times.write += time.perf_counter() - started

    def _prepare(
        self,
        outcomes: list[RowOutcome],
        *,
        connection: BaseDatabaseWrapper | None = None,
        pending: PendingBatch | None = None,
    ) -> PreparedBatch:
        return prepare_batch(
            outcomes,
            source=self.run.source,
            source_detail=self.run.file_name,
            now=timezone.now(),
            connection=connection,
            pending=pending,
            import_run_id=self.run.pk,
        )

    def _execute(self, prepared: PreparedBatch) -> None:
        prepared.execute()

    def _add_run_writes(
        self, prepared: PreparedBatch, outcomes: list[RowOutcome], read_counts: ImportCounts
    ) -> None:
        """Add the run's own writes to a prepared batch, so they commit with its accounts.

        They link the batch's accounts to the run (except in a dry run) and save the run's
        counts as of the end of the batch, so a worker killed between two batches leaves
        counts and links that cover exactly the committed batches. ``read_counts`` contains
        the counts of reading at the end of the batch. The writes use the ORM of the thread
        that runs them and capture plain values, not the importer or the batch.
        """
        progress = replace(
            self.counts,
            read=read_counts.read,
            rejected=read_counts.rejected,
            skipped_blank=read_counts.skipped_blank,
        )
        progress.add_outcomes(outcomes)
        run_id = self.run.pk
        values = progress.as_run_fields()
        if not self.run.is_dry_run:
            account_ids = sorted({outcome.state.account.pk for outcome in outcomes})
            prepared.writes.append(lambda: _link_accounts(run_id, account_ids))
        prepared.writes.append(lambda: ImportRun.objects.filter(pk=run_id).update(**values))

    def _matcher(
        self, batch: list[ParsedRow], *, pending: PendingBatch | None = None
    ) -> BatchMatcher:
        return BatchMatcher(
            batch,
            source=self.run.source,
            touched_ids=self.touched_ids,
            pending=pending,
            import_run_id=self.run.pk,
            file_rows=self.file_rows,
        )

    def _count(self, outcomes: list[RowOutcome]) -> None:
        self.counts.add_outcomes(outcomes)
        for outcome in outcomes:
            state = outcome.state
            self.touched_ids.add(state.account.pk)
            if state.file_values:
                self.file_rows[state.account.pk] = pack_file_values(
                    state.first_line, state.file_values
                )

    def _log_conflict(self, batch: list[ParsedRow]) -> None:
        logger.warning(
            "import run %s: batch ending at line %s conflicted with a concurrent "
            "write; matching it again",
            self.run.pk,
            batch[-1].line,
            exc_info=True,
        )

    def _match_and_write(
        self, batch: list[ParsedRow], *, read_counts: ImportCounts, attempts: int = 2
    ) -> list[RowOutcome]:
        """Match and write a batch in one transaction (``read_counts`` as in _add_run_writes)."""
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            try:
                with transaction.atomic():
                    outcomes = self._matcher(batch).run()
                    matched = time.perf_counter()
                    self.times.match += matched - started
                    prepared = self._prepare(outcomes)
                    self._add_run_writes(prepared, outcomes, read_counts)
                    executing = time.perf_counter()
                    self.times.prepare += executing - matched
                    self._execute(prepared)
                self.times.write += time.perf_counter() - executing
                return outcomes
            except IntegrityError:
                # Another import stored one of the batch's domains after the batch was
                # matched. Matching again finds that account.
                if attempt == attempts:
                    raise
                self._log_conflict(batch)
        raise AssertionError("unreachable")  # pragma: no cover

    def _cancel_check(self) -> None:
        """Look for a cancel request of the run, once the connection is free between batches."""
        if self.cancel_requested:
            return
        if ImportCancelRequest.objects.filter(import_run_id=self.run.pk).exists():
            self.cancel_requested = True

    def _count_not_reached(self, table: Table) -> None:
        """Count the records after the last one read, which the cancel left out.

        A JSON file's records are all in memory, so its total gives the count. A CSV file
        is read on to its end without parsing its rows. When the rest of the file cannot
        be read, rows_not_reached stays None.
        """
        if table.total_records is not None:
            remaining = table.total_records - self.counts.read
        else:
            try:
                remaining = sum(1 for _record in table.records)
            except (UnicodeDecodeError, csv.Error, ImportFileError) as error:
                logger.warning(
                    "import run %s: counting the rows after the cancel at row %s failed: %s",
                    self.run.pk,
                    self.counts.read,
                    error,
                )
                self.stopped_early = True
                return
        self.rows_not_reached = remaining
        # A request that came after the last batch had been read left nothing out.
        self.stopped_early = remaining > 0

    def _save_progress(self) -> None:
        values = self.progress.as_run_fields()
        for name, value in values.items():
            setattr(self.run, name, value)
        ImportRun.objects.filter(pk=self.run.pk).update(**values)


def _link_accounts(run_id: int, account_ids: list[int]) -> None:
    """Store that the run created, updated or matched the accounts, skipping stored links.

    A run imported again after its worker stopped links the accounts of the first
    attempt again, so conflicts are expected.
    """
    ImportRunAccount.objects.bulk_create(
        [
            ImportRunAccount(import_run_id=run_id, account_id=account_id)
            for account_id in account_ids
        ],
        ignore_conflicts=True,
    )
