"""Detect binary data in an import file, such as a workbook or PDF document named .csv.

The import page, the API and the importer itself run binary_content_check, so every
path rejects workbooks and other binary formats with the same message.
"""

from __future__ import annotations

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


def binary_content_check(
    path: Path, encoding: str, *, file_name: str, signatures_only: bool = False
) -> None:
    """Raise ImportFileError when the start of the file is binary data, not text.

    ``encoding`` is the file's detected encoding. The message names ``file_name``, what
    the file seems to be and the fix. With ``signatures_only``, only known binary formats
    such as workbooks and PDF documents are rejected, and stray NUL or control characters
    are left for the reader, which strips them from values.
    """
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if signatures_only:
        binary = next(
            (label for signature, label in BINARY_SIGNATURES if head.startswith(signature)), ""
        )
    else:
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
