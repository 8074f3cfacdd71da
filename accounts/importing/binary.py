"""Detect binary data in an import file, such as a workbook or PDF document named .csv.

The import page, the API and the importer itself run binary_content_check, so every
path rejects the same files with the same message. The reader checks every later line
with is_binary_line, because binary data can also follow the rows of a text file.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ImportFileError

SNIFF_BYTES = 8192
# Share of control characters in the first bytes above which a text file is binary data.
MAX_CONTROL_SHARE = 0.01

# Signatures of binary formats that people upload by mistake, with their names for the error.
BINARY_SIGNATURES = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or a ZIP archive"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"SQLite format 3", "an SQLite database"),
)


def binary_content_check(path: Path, encoding: str, *, file_name: str) -> None:
    """Raise ImportFileError when the start of the file is binary data, not text.

    ``encoding`` is the file's detected encoding. The message names ``file_name``, what
    the file seems to be and the fix.
    """
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    binary = _binary_reason(head, encoding)
    if binary:
        raise ImportFileError(
            f"“{file_name}” is {binary}, not a CSV or JSON text file: save it as CSV UTF-8 "
            "and import that file."
        )


def _binary_reason(head: bytes, encoding: str) -> str:
    for signature, label in BINARY_SIGNATURES:
        if head.startswith(signature):
            return label
    if encoding.startswith("utf-16"):
        return ""
    if b"\x00" in head:
        return "binary data (it contains NUL bytes)"
    text = head.decode(encoding if encoding != "cp1252" else "latin-1", errors="replace")
    controls = sum(1 for char in text if ord(char) < 32 and char not in "\t\n\r\f")
    if text and controls / len(text) > MAX_CONTROL_SHARE:
        return "binary data (it contains control characters)"
    return ""


# NUL and the C0 control characters that text does not contain. Tab, line feed, vertical
# tab, form feed and carriage return are left out, because exports use them as spacing
# and line breaks.
BINARY_CHARACTERS_RE = re.compile(r"[\x00-\x08\x0e-\x1f]")
# A line with NUL is binary data, and so is a line in which at least MIN_LINE_CONTROLS
# such control characters make up more than MAX_LINE_CONTROL_SHARE of the characters.
# About 10 % of random bytes are such characters, and a stray one in a text line stays
# below both limits.
MIN_LINE_CONTROLS = 2
MAX_LINE_CONTROL_SHARE = 0.05


def is_binary_line(line: str) -> bool:
    """Return True when a line of a text file is binary data (see BINARY_CHARACTERS_RE)."""
    if BINARY_CHARACTERS_RE.search(line) is None:
        return False
    if "\x00" in line:
        return True
    controls = len(BINARY_CHARACTERS_RE.findall(line))
    return controls >= MIN_LINE_CONTROLS and controls > len(line) * MAX_LINE_CONTROL_SHARE
