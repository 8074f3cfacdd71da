"""Streamed CSV downloads that spreadsheets open without running formulas."""

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

# A cell starting with one of these is read as a formula by Excel, LibreOffice and
# Google Sheets (OWASP "CSV injection"), so it gets a leading apostrophe.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def neutralize(value: Any) -> str:
    """Return the cell text with a leading ' when a spreadsheet would run it as a formula.

    Plain numbers such as -8 or +1.5 stay as they are.
    """
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([neutralize(cell) for cell in header])
    for row in rows:
        yield writer.writerow([neutralize(cell) for cell in row])


# Size in characters of the chunks a download is streamed in. A chunk per line cost the
# response's per-chunk encoding on every line of exports with hundreds of thousands.
CSV_CHUNK_CHARACTERS = 64 * 1024


def csv_chunks(lines: Iterable[str]) -> Iterator[str]:
    """Join ``lines`` into chunks of about CSV_CHUNK_CHARACTERS, each of whole lines."""
    buffer: list[str] = []
    size = 0
    for line in lines:
        buffer.append(line)
        size += len(line)
        if size >= CSV_CHUNK_CHARACTERS:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """Stream ``rows`` as a CSV attachment named ``filename``."""
    response = StreamingHttpResponse(
        csv_chunks(csv_lines(header, rows)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
