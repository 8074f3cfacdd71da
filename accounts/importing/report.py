"""The CSV report of rejected rows: the original columns plus line, reason and extra cells.

Every cell is written as the account exports write text: a cell that a spreadsheet would
run as a formula, such as =cmd|' /C calc'!A0, gets a leading single quote. The report's
downloads apply the same escaping, which leaves an escaped cell unchanged.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from accounts.exports import neutralize_cell

from .reading import ObjectColumns
from .rows import as_text

REPORT_FOLDER = "import-reports"


def report_path(run_id: int, file_name: str) -> Path:
    """Return the report path of a run under MEDIA_ROOT/import-reports/."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(file_name).stem).strip("-.") or "import"
    return Path(settings.MEDIA_ROOT) / REPORT_FOLDER / f"run-{run_id}-{stem}-rejected.csv"


class RejectedRowReport:
    """Writes rejected rows as they come; the file is created at the first one."""

    def __init__(self, path: Path, header: list[str]) -> None:
        self.path = path
        self.header = list(header)
        self.rows = 0
        self._handle: IO[str] | None = None
        self._writer: Any = None
        added = ["line", "reason", "extra_cells"]
        # A file that already has these columns keeps them; ours get a prefix.
        while any(name in self.header for name in added):
            added = [f"import_{name}" for name in added]
        self._extra_columns = added
        self._object_columns = ObjectColumns(self.header)

    def add(self, line: int, values: Any, reason: str) -> None:
        """Append one rejected record: CSV cells, a JSON object or any other JSON value."""
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(
                [*(neutralize_cell(name) for name in self.header), *self._extra_columns]
            )

        # extra_cells is a JSON list of the cells beyond the header's columns, or the text
        # of a JSON record that is not an object.
        if isinstance(values, dict):
            cells = [as_text(value) for value in self._object_columns.cells(values)]
            extra = ""
        elif isinstance(values, list) and all(isinstance(cell, str) for cell in values):
            cells = values[: len(self.header)]
            cells += [""] * (len(self.header) - len(cells))
            beyond = values[len(self.header) :]
            extra = json.dumps(beyond, ensure_ascii=False) if beyond else ""
        else:
            cells = [""] * len(self.header)
            extra = "" if values is None else as_text(values)
        self._writer.writerow(
            [
                *(neutralize_cell(cell) for cell in cells),
                line,
                neutralize_cell(reason),
                neutralize_cell(extra),
            ]
        )
        self.rows += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
