"""Detect binary data in an import file, such as a workbook or PDF document named .csv.

The import page, the API and the importer itself run binary_content_check, so every
path rejects workbooks and other binary formats with the same message. The importer
also runs binary_lines_check on every line of a CSV file, because binary data can follow
rows of text, such as an archive appended to an export.
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


# Characters of the lines that binary_lines_check reads and checks at a time.
LINE_BLOCK_CHARACTERS = 1024 * 1024
# C0 control characters that text does not contain, with a run of NUL bytes as one match.
# Tab, line feed, vertical tab, form feed and carriage return are left out, because
# exports use them as spacing and line breaks (FileMaker writes a line break in a value
# as a vertical tab). Padding of NUL bytes after a value counts once.
BINARY_CONTROL_RE = re.compile(r"\x00+|[\x01-\x08\x0e-\x1f]")
BINARY_CONTROL_BYTES_RE = re.compile(rb"[\x00-\x08\x0e-\x1f]")
# A line is binary data when at least MIN_LINE_CONTROLS matches of BINARY_CONTROL_RE make
# up at least MIN_LINE_CONTROL_SHARE of its characters. About 10 % of random bytes, such as
# compressed data, are such characters, while a row with a stray NUL has one.
MIN_LINE_CONTROLS = 4
MIN_LINE_CONTROL_SHARE = 0.02
# Signatures that contain a control character, so that text never contains them. A line
# with one is binary data whatever its share of control characters.
LINE_SIGNATURES = tuple(
    (signature.decode("latin-1"), label)
    for signature, label in BINARY_SIGNATURES
    if BINARY_CONTROL_RE.search(signature.decode("latin-1"))
)
# Line numbers named in the error, from the first binary line on.
SHOWN_BINARY_LINES = 5


def binary_lines_check(path: Path, encoding: str, *, file_name: str) -> None:
    """Raise ImportFileError when any line of a text file is binary data.

    The message names ``file_name``, the binary lines and the fix. Lines are numbered
    as the CSV reader numbers them, the header being line 1. A line with a few stray NUL
    or control characters is text, and the reader strips those characters from values.
    """
    # In UTF-8 and Windows-1252 each control character and line break is one byte, so a
    # file without such bytes is text. Latin-1 reads every byte as the code point of its
    # value, so it finds those bytes at the same lines as the file's encoding.
    # "utf-8-replace" is reading.UTF8_REPLACE_ENCODING, UTF-8 with invalid bytes replaced.
    single_byte_controls = encoding in ("utf-8", "utf-8-sig", "utf-8-replace", "cp1252")
    if single_byte_controls and not _has_control_bytes(path):
        return
    text_encoding = "latin-1" if single_byte_controls else encoding
    binary_lines: list[int] = []
    label = ""
    read = 0
    with path.open("r", encoding=text_encoding, errors="replace", newline="") as handle:
        while lines := handle.readlines(LINE_BLOCK_CHARACTERS):
            # One search of the block clears the usual block, which has no control character.
            if BINARY_CONTROL_RE.search("".join(lines)) is not None:
                for index, line in enumerate(lines):
                    line_label = _binary_line_label(line)
                    if line_label is not None:
                        binary_lines.append(read + index + 1)
                        label = label or line_label
            read += len(lines)
    if binary_lines:
        raise ImportFileError(_binary_lines_error(file_name, binary_lines, label))


def _has_control_bytes(path: Path) -> bool:
    """Return whether the file has a byte that BINARY_CONTROL_RE matches, reading it fast."""
    with path.open("rb") as handle:
        while chunk := handle.read(LINE_BLOCK_CHARACTERS):
            if BINARY_CONTROL_BYTES_RE.search(chunk) is not None:
                return True
    return False


def _binary_line_label(line: str) -> str | None:
    """Return what a binary line seems to be ("" when unknown), or None for a text line."""
    for signature, label in LINE_SIGNATURES:
        if signature in line:
            return label
    controls = len(BINARY_CONTROL_RE.findall(line))
    if controls >= MIN_LINE_CONTROLS and controls >= len(line) * MIN_LINE_CONTROL_SHARE:
        return ""
    return None


def _binary_lines_error(file_name: str, binary_lines: list[int], label: str) -> str:
    listed = ", ".join(str(line) for line in binary_lines[:SHOWN_BINARY_LINES])
    if len(binary_lines) == 1:
        where = f"line {listed}"
    elif len(binary_lines) <= SHOWN_BINARY_LINES:
        where = f"lines {listed}"
    else:
        more = len(binary_lines) - SHOWN_BINARY_LINES
        where = f"lines {listed} and {more} more, up to line {binary_lines[-1]}"
    kind = f" (it looks like {label})" if label else ""
    return (
        f"“{file_name}” contains binary data on {where}{kind}, so its rows cannot be read "
        "reliably. No row was imported: remove the binary data from the file, or export "
        "it again, and import the new file."
    )
