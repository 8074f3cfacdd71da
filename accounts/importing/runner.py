"""Run the import of one file into accounts, batch by batch, for an ImportRun."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import ImportRun
from accounts.normalizers import DEFAULT_RATES_TO_USD
from segmentation.taxonomy import IndustryResolver

from .batches import write_batch
from .errors import ImportFileError, RowRejected
from .layouts import MappingFile, apply_layout, detect_layout
from .matching import CREATED, MERGED, UPDATED, BatchMatcher
from .reading import Record, Table, open_table
from .report import RejectedRowReport, report_path
from .rows import ParsedRow, RowParser

logger = logging.getLogger(__name__)

# Records per batch. Each batch is matched with four queries and written with bulk
# statements, and the run's progress is saved after it.
IMPORT_BATCH_SIZE = 2000


@dataclass
class ImportCounts:
    """Row counts of one run. ``read`` counts every data record, blank and rejected included."""

    read: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    rejected: int = 0
    skipped_blank: int = 0
    flagged: int = 0

    def as_run_fields(self) -> dict[str, int]:
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        values["rows_read"] = values.pop("read")
        return values


class FileImporter:
    """Importer of one ImportRun's file, which saves counts and progress on the run."""

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
        self.touched_ids: set[int] = set()
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
        if not any(name in mapping.indexes for name in ("name", "website", "domain")):
            raise ImportFileError(
                f"no column of {self.run.file_name} maps to the company name, website or domain "
                f"(columns: {', '.join(table.header)}). Pass --mapping with a JSON file such "
                'as {"Firma": "name", "Webseite": "website"}.'
            )

        run = self.run
        run.source = run.source or ("csv" if self.mapping else layout.name)
        run.encoding = table.encoding
        run.delimiter = table.delimiter
        run.total_rows = table.total_records
        run.column_mapping = {
            **mapping.describe(),
            "format": table.kind,
            "decimal_comma": table.decimal_comma,
        }
        if self.mapping is not None:
            run.column_mapping["mapping_file"] = self.mapping.path
        run.save(update_fields=["source", "encoding", "delimiter", "total_rows", "column_mapping"])
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
            decimal_comma=table.decimal_comma,
            rates=self.rates,
            resolver=IndustryResolver.load(),
        )

    def _import_records(self, table: Table, parser: RowParser, report: RejectedRowReport) -> None:
        batch: list[ParsedRow] = []
        for record in table.records:
            self.counts.read += 1
            parsed = self._parse(record, parser, report)
            if parsed is not None:
                batch.append(parsed)
            if self.counts.read % self.batch_size == 0:
                self._write(batch)
                batch = []
        self._write(batch)

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
        if (
            values is not None
            and not isinstance(values, dict)
            and self.run.column_mapping.get("format") == "json"
        ):
            # Items that are not objects go into the report as their JSON text.
            values = json.dumps(values, ensure_ascii=False)
        report.add(record.line, values, reason)

    def _write(self, batch: list[ParsedRow]) -> None:
        if batch:
            outcomes = self._match_and_write(batch)
            for outcome in outcomes:
                if outcome.outcome == CREATED:
                    self.counts.created += 1
                elif outcome.outcome == UPDATED:
                    self.counts.updated += 1
                elif outcome.outcome == MERGED:
                    self.counts.merged += 1
                if outcome.row.merged_flags:
                    self.counts.flagged += 1
                self.touched_ids.add(outcome.state.account.pk)
        self._save_progress()

    def _match_and_write(self, batch: list[ParsedRow]) -> list:
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    matcher = BatchMatcher(
                        batch, source=self.run.source, touched_ids=self.touched_ids
                    )
                    outcomes = matcher.run()
                    write_batch(
                        outcomes,
                        source=self.run.source,
                        source_detail=self.run.file_name,
                        now=timezone.now(),
                    )
                return outcomes
            except IntegrityError:
                # Another import stored one of the batch's domains after the batch was
                # matched. Matching again finds that account.
                if attempt == 2:
                    raise
                logger.warning(
                    "import run %s: batch ending at line %s conflicted with a concurrent "
                    "write; matching it again",
                    self.run.pk,
                    batch[-1].line,
                    exc_info=True,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _save_progress(self) -> None:
        values = self.counts.as_run_fields()
        for name, value in values.items():
            setattr(self.run, name, value)
        ImportRun.objects.filter(pk=self.run.pk).update(**values)
