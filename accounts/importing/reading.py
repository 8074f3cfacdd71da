"""Read CSV and JSON exports as a stream of records, detecting encoding and delimiter.

Encoding, checked in this order:

1. A byte order mark: UTF-8 (``EF BB BF``), UTF-16 LE (``FF FE``) or UTF-16 BE (``FE FF``).
2. UTF-16 without a BOM, when NUL bytes fill most odd positions of the first 4 KiB (LE) or
   most even positions (BE), the pattern ASCII text has in UTF-16.
3. UTF-8, when the whole file decodes as UTF-8.
4. UTF-8 with each invalid byte sequence decoded as U+FFFD (UTF8_REPLACE_ENCODING), when
   at least as many lines have valid non-ASCII UTF-8 characters as have invalid bytes.
   That keeps every valid character of a UTF-8 export with a few damaged bytes, and the
   importer names the damaged lines and flags their values.
5. Otherwise Windows-1252. The five bytes that Windows-1252 leaves undefined (0x81, 0x8D,
   0x8F, 0x90, 0x9D) decode to the same code points as in Latin-1.

The delimiter is whichever of comma, semicolon and tab occurs most often outside double
quotes in the header record, with ties going to comma, then semicolon, then tab.

CSV files are read line by line, so their size does not matter. JSON files must hold one
array and are loaded whole, so they are limited to MAX_JSON_BYTES.

C0 control characters other than tab, line feed and carriage return are removed from
column names and values as they are read, because PostgreSQL rejects NUL in text and JSON
values and the others carry no meaning in company data.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .binary import binary_content_check, binary_lines_check
from .errors import ImportFileError
from .jsontext import json_type_name
from .layouts import column_key

SAMPLE_BYTES = 64 * 1024
UTF8_CHECK_CHUNK_BYTES = 1024 * 1024
UTF16_PATTERN_BYTES = 4096
# Share of the checked byte pairs whose high byte must be NUL to call a file UTF-16.
UTF16_NUL_SHARE = 0.4

# JSON arrays are parsed in memory, which takes several times the file size.
MAX_JSON_BYTES = 100 * 1024 * 1024
# Levels of nested arrays and objects, the array of companies being level 1. Company
# exports have two or three (an object in the array, a list value in the object). The
# limit keeps the recursive steps after parsing, such as removing control characters,
# far from Python's recursion limit.
MAX_JSON_DEPTH = 32

DELIMITERS = (",", ";", "\t")
MAX_HEADER_LINES = 50

# Data rows read to detect decimal commas in semicolon files and a trailing delimiter.
SAMPLE_ROWS = 200
# Python's csv module rejects a cell over 131,072 characters, and its error loses the
# row's cells. Such a cell is usually an open quote that took in the following lines,
# which the reader reports with the cells when the limit allows reading it.
MAX_CELL_CHARACTERS = 16 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARACTERS))
# A number written with a decimal comma: 12,5 or 1.234,56, optionally signed, with a
# currency sign or code before, and after it a magnitude, a currency sign or code, or a
# percent sign: € 12,50, 1,5 Mio €, 2,3 Mrd. EUR, -3,5 %.
_CURRENCY = r"(?:[€$£]|[A-Z]{3})"
_MAGNITUDE = r"(?:tsd|mio|mrd|mld|mn|mln|bn|k|m|b)\.?"
DECIMAL_COMMA_CELL_RE = re.compile(
    rf"[-+]?\s*{_CURRENCY}?\s*(?:\d{{1,3}}(?:\.\d{{3}})+|\d+),\d{{1,2}}"
    rf"\s*(?:{_MAGNITUDE})?\s*(?:%|{_CURRENCY})?",
    re.IGNORECASE,
)
# A whole number with two or more groups of three digits after periods, 1.250.000, which
# only the decimal-comma convention writes.
DOT_THOUSANDS_CELL_RE = re.compile(
    rf"[-+]?\s*{_CURRENCY}?\s*[1-9]\d{{0,2}}(?:\.\d{{3}}){{2,}}\s*(?:{_MAGNITUDE})?\s*{_CURRENCY}?",
    re.IGNORECASE,
)

CP1252_ERROR_HANDLER = "icp_cp1252_latin1"

# Codec name of a file read as UTF-8 whose invalid byte sequences become U+FFFD, the
# replacement character. It is registered below, so open() and codecs accept it.
UTF8_REPLACE_ENCODING = "utf-8-replace"
# Names of the encodings that the reader chooses, as pages show them.
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    UTF8_REPLACE_ENCODING: "UTF-8, with invalid bytes replaced",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "cp1252": "Windows-1252",
}
REPLACEMENT_CHARACTER = "\ufffd"
# Line numbers with invalid UTF-8 bytes that a warning names.
INVALID_LINES_NAMED = 10

LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")

# C0 control characters except tab, line feed and carriage return.
CONTROL_CHARACTERS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _decode_undefined_as_latin1(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    undefined = error.object[error.start : error.end]
    return undefined.decode("latin-1"), error.end


codecs.register_error(CP1252_ERROR_HANDLER, _decode_undefined_as_latin1)


class _Utf8ReplaceDecoder(codecs.BufferedIncrementalDecoder):
    """UTF-8 incremental decoder that replaces invalid bytes whatever ``errors`` it gets."""

    def __init__(self, errors: str = "strict") -> None:
        super().__init__("replace")

    def _buffer_decode(self, data: bytes, errors: str, final: bool) -> tuple[str, int]:
        return codecs.utf_8_decode(data, "replace", final)


def _utf8_replace_decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
    return codecs.utf_8_decode(data, "replace", True)


def _utf8_replace_codec(name: str) -> codecs.CodecInfo | None:
    if name.replace("_", "-") != UTF8_REPLACE_ENCODING:
        return None
    utf8 = codecs.lookup("utf-8")
    return codecs.CodecInfo(
        name=UTF8_REPLACE_ENCODING,
        encode=utf8.encode,
        decode=_utf8_replace_decode,
        incrementalencoder=utf8.incrementalencoder,
        incrementaldecoder=_Utf8ReplaceDecoder,
        streamreader=utf8.streamreader,
        streamwriter=utf8.streamwriter,
    )


codecs.register(_utf8_replace_codec)


@dataclass
class Utf8Check:
    """Lines of a file that is not valid UTF-8: how many are valid and which are not.

    ``valid_lines`` counts the lines with non-ASCII characters that decode as UTF-8.
    ``invalid_lines`` lists the first INVALID_LINES_NAMED line numbers (1-based, physical
    lines) with invalid bytes, and ``invalid_line_count`` counts them all.
    """

    valid_lines: int = 0
    invalid_lines: list[int] = field(default_factory=list)
    invalid_line_count: int = 0

    @property
    def mostly_utf8(self) -> bool:
        return self.valid_lines >= self.invalid_line_count > 0

    def invalid_lines_text(self) -> str:
        """Return "line 40" for one invalid line, else "lines 3, 7" and how many more."""
        named = ", ".join(str(number) for number in self.invalid_lines)
        more = self.invalid_line_count - len(self.invalid_lines)
        if self.invalid_line_count == 1:
            return f"line {named}"
        return f"lines {named} and {more:,} more" if more > 0 else f"lines {named}"


def utf8_check(path: Path) -> Utf8Check:
    """Count the lines of a file that are valid and invalid UTF-8 (see Utf8Check).

    A line feed byte never occurs inside a UTF-8 sequence, so each line decodes on its own.
    """
    check = Utf8Check()
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                check.invalid_line_count += 1
                if len(check.invalid_lines) < INVALID_LINES_NAMED:
                    check.invalid_lines.append(number)
                continue
            check.valid_lines += 1
    return check


def encoding_label(encoding: str) -> str:
    """Return the name that pages show for an encoding that the reader chose."""
    return ENCODING_LABELS.get(encoding, encoding)


def encoding_warning(
    path: Path, encoding: str, *, file_name: str, before_import: bool = False
) -> str:
    """Return the warning for a file with invalid UTF-8 bytes, or "" for any other file.

    A file read with UTF8_REPLACE_ENCODING gets the lines whose bytes became U+FFFD. A file
    read as Windows-1252 that also has lines of valid UTF-8 gets the lines that made it
    fall back, because its UTF-8 characters, such as ’, then read garbled (â€™).
    ``before_import`` words the warning for the import wizard, before anything is written.
    """
    if encoding not in (UTF8_REPLACE_ENCODING, "cp1252"):
        return ""
    check = utf8_check(path)
    lines = check.invalid_lines_text()
    if encoding == UTF8_REPLACE_ENCODING:
        if before_import:
            return (
                f"“{file_name}” is UTF-8 except for bytes that are not valid UTF-8 at {lines}. "
                f"It is read as UTF-8, and each invalid byte becomes {REPLACEMENT_CHARACTER} "
                "(U+FFFD). The import will flag the values that contain it for review: "
                "correct them on the accounts afterwards, or fix the file and upload it again."
            )
        return (
            f"“{file_name}” is UTF-8 except for bytes that are not valid UTF-8 at {lines}. It "
            f"was read as UTF-8, and each invalid byte became {REPLACEMENT_CHARACTER} "
            "(U+FFFD). The values that contain it are flagged for review: correct them on the "
            "accounts, or fix the file and import it again."
        )
    if not check.valid_lines:
        return ""
    read_as = "is read" if before_import else "was read"
    those = "that line" if check.invalid_line_count == 1 else "those lines"
    return (
        f"“{file_name}” has bytes that are not valid UTF-8 at {lines}, so it {read_as} as "
        f"Windows-1252. Its {check.valid_lines:,} other lines with non-ASCII characters are "
        "valid UTF-8, and their characters read garbled, such as â€™ for ’. If the file is "
        f"UTF-8, fix the bytes at {those} and import it again."
    )


@dataclass
class Record:
    """One data record: ``line`` is the 1-based line where it starts (item number for JSON).

    ``values`` is a list of cells for CSV and the parsed item for JSON. ``error`` is set
    when the record cannot be imported: the CSV parser could not read it (``values`` is
    then None), or its cells do not line up with the header.
    """

    line: int
    values: Any = None
    error: str = ""


@dataclass
class Table:
    """An open export: its format, its column names and an iterator over its records.

    ``decimal_comma`` is the caller's override, or None to detect it with
    uses_decimal_comma. ``sample`` contains the first SAMPLE_ROWS data rows of a CSV file.
    """

    kind: str
    encoding: str
    delimiter: str
    header: list[str]
    records: Iterator[Record]
    decimal_comma: bool | None = None
    total_records: int | None = None
    sample: list[list[str]] = field(default_factory=list)

    def uses_decimal_comma(self, column_indexes: Iterable[int]) -> bool:
        """Return whether numbers are read with decimal commas, judged by the given columns.

        Without an override, a semicolon file uses decimal commas when a sampled cell of
        one of the columns is a number such as 12,5 or 1,5 Mio €, or has periods between
        groups of three digits, such as 1.250.000. Pass the columns whose numbers the
        import reads, so that a column the import ignores cannot switch the file.
        """
        # NOTE: a file whose only such numbers are like 2.000 is read with decimal points,
        # and the importer flags 2.000 as ambiguous instead of reading it as 2.
        if self.decimal_comma is not None:
            return self.decimal_comma
        if self.kind != "csv" or self.delimiter != ";":
            return False
        indexes = sorted(set(column_indexes))
        return any(
            looks_like_decimal_comma([cells[index] for index in indexes if index < len(cells)])
            for cells in self.sample
        )


def detect_encoding(path: Path) -> str:
    """Return the Python codec name to read the file with (see the module docstring)."""
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16
    if _decodes_as_utf8(path):
        return "utf-8"
    if utf8_check(path).mostly_utf8:
        return UTF8_REPLACE_ENCODING
    return "cp1252"


def utf16_length_check(path: Path, encoding: str, *, file_name: str) -> None:
    """Raise ImportFileError for a UTF-16 file with an odd number of bytes.

    UTF-16 stores every character in 2 or 4 bytes, so such a file was cut off, for example
    by a download that stopped early, and its last character is incomplete.
    """
    if not encoding.startswith("utf-16"):
        return
    size = path.stat().st_size
    if size % 2:
        raise ImportFileError(
            f"“{file_name}” is UTF-16 text with an odd number of bytes ({size:,}), so it is "
            "truncated: its last character is incomplete. Export or copy the file again, "
            "or save it as CSV UTF-8 and import that file."
        )


def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[:UTF16_PATTERN_BYTES]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even_nuls = sum(1 for index in range(0, pairs * 2, 2) if sample[index] == 0)
    odd_nuls = sum(1 for index in range(1, pairs * 2, 2) if sample[index] == 0)
    if odd_nuls >= pairs * UTF16_NUL_SHARE and even_nuls < odd_nuls / 4:
        return "utf-16-le"
    if even_nuls >= pairs * UTF16_NUL_SHARE and odd_nuls < even_nuls / 4:
        return "utf-16-be"
    return None


def _decodes_as_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(UTF8_CHECK_CHUNK_BYTES):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_delimiter(header: str) -> str:
    """Return the delimiter that occurs most often outside double quotes in ``header``."""
    counts = dict.fromkeys(DELIMITERS, 0)
    in_quotes = False
    for char in header:
        if char == '"':
            in_quotes = not in_quotes
        elif not in_quotes and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def looks_like_decimal_comma(cells: list[str]) -> bool:
    """Return True when any cell is a number written the continental European way.

    That is a number with a decimal comma (12,5 or 1,5 Mio €) or with periods between
    two or more groups of three digits (1.250.000).
    """
    return any(
        DECIMAL_COMMA_CELL_RE.fullmatch(text) or DOT_THOUSANDS_CELL_RE.fullmatch(text)
        for text in (cell.strip() for cell in cells if cell)
    )


def _open_text(path: Path, encoding: str) -> TextIO:
    errors = CP1252_ERROR_HANDLER if encoding == "cp1252" else "strict"
    return path.open("r", encoding=encoding, errors=errors, newline="")


def _read_header_text(handle: TextIO) -> str:
    """Return the first record's text, joining lines while a quoted value stays open."""
    text = ""
    for _ in range(MAX_HEADER_LINES):
        line = handle.readline()
        if not line:
            break
        text += line
        if text.count('"') % 2 == 0:
            break
    return text


def strip_control_characters(cells: list[str]) -> list[str]:
    """Return the cells without C0 control characters other than tab, LF and CR.

    The list itself is returned when no cell has one, which is the usual case.
    """
    # isprintable() is False for every control character, so one C-level scan of the
    # record clears most of them without a regular expression.
    text = "".join(cells)
    if text.isprintable() or not CONTROL_CHARACTERS_RE.search(text):
        return cells
    return [CONTROL_CHARACTERS_RE.sub("", cell) for cell in cells]


def strip_json_control_characters(value: Any) -> Any:
    """Return a parsed JSON value without C0 control characters (except tab, LF and CR).

    Strings are cleaned in lists and in object keys and values, at any depth.
    """
    if isinstance(value, str):
        if value.isprintable():
            return value
        return CONTROL_CHARACTERS_RE.sub("", value)
    if isinstance(value, list):
        return [strip_json_control_characters(item) for item in value]
    if isinstance(value, dict):
        return {
            strip_json_control_characters(key): strip_json_control_characters(item)
            for key, item in value.items()
        }
    return value


class ObjectColumns:
    """Places the values of JSON objects in header order, matching keys by column_key.

    Items of one array may spell a key in different cases, such as "name" and "Name",
    and the header names each column once. When one object has several spellings of a
    key, its first non-empty value is used, and cells() can report the other values.
    """

    def __init__(self, header: list[str]) -> None:
        self.width = len(header)
        self.positions: dict[str, int] = {}
        for index, name in enumerate(header):
            self.positions.setdefault(column_key(name), index)
        # Key as written to its header index, or None for a key of no column.
        self._known: dict[str, int | None] = {}

    def position(self, key: str) -> int | None:
        """Return the header index of an object key, or None when no column has its name."""
        try:
            return self._known[key]
        except KeyError:
            index = self.positions.get(column_key(str(key)))
            self._known[key] = index
            return index

    def cells(
        self, item: dict[str, Any], *, conflicts: list[KeyConflict] | None = None
    ) -> list[Any]:
        """Return the object's values in header order, None for the columns it lacks.

        When ``conflicts`` is a list, a KeyConflict is appended to it for each key whose
        non-empty value differs from the value already placed in its column.
        """
        cells: list[Any] = [None] * self.width
        for key, value in item.items():
            index = self.position(key)
            if index is None:
                continue
            current = cells[index]
            if _is_blank(current):
                cells[index] = value
            elif conflicts is not None and not _is_blank(value) and _differ(current, value):
                first_key = next(
                    other
                    for other, other_value in item.items()
                    if self.position(other) == index and other_value is current
                )
                conflicts.append(KeyConflict(index, first_key, current, key, value))
        return cells


@dataclass
class KeyConflict:
    """Two keys of one JSON object that name one column, with different values."""

    index: int
    first_key: str
    first_value: Any
    key: str
    value: Any


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _differ(first: Any, second: Any) -> bool:
    """Return whether two values differ as the importer reads them: 5 and "5" do not."""
    return _as_cell(first) != _as_cell(second)


def _as_cell(value: Any) -> str:
    # JSON's spelling, so true and 1 stay different although True == 1 in Python.
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _excerpt(text: str, limit: int = 40) -> str:
    """Return the start of a cell in quotes, from its first line with text, up to ``limit``."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return "an empty value"
    shortened = lines[0][:limit]
    if shortened != text:
        shortened += "…"
    return f"“{shortened}”"


def _swallowed_lines(cells: list[str], columns: int, delimiter: str) -> str | None:
    """Return the cell of the file's last row that took in the rest of the file, or None.

    A quote that opens in the last column and never closes makes the CSV parser read
    every following line into that cell, to the end of the file, while the row's cells
    still line up with the header. Such a cell ends with the file's last line break, and
    each of its lines after the first that is not blank looks like a row, with at least
    as many values as the header has columns, less one. A closed quoted cell, such as a
    description written over several lines, rarely has all three.
    """
    needed = max(3, columns - 1)
    for cell in cells:
        if not cell.endswith(("\n", "\r")):
            continue
        lines = [line for line in LINE_BREAK_RE.split(cell)[1:] if line.strip()]
        if lines and all(
            len(next(csv.reader([line], delimiter=delimiter), [])) >= needed for line in lines
        ):
            return cell
    return None


def _rows_inside_cell(
    cells: list[str], delimiter: str, *, closes_inside_value: bool = False
) -> int | None:
    """Return the index of a cell that took in whole rows up to a later quote, or None.

    A quote that opens in a row and closes in a later one, such as at the quoted value
    of a later row, makes the CSV parser read the lines between into one cell. When the
    row's cells then line up with the header, the lines that the row spans look like
    rows: the opening line, with the cells before the cell, and each line in between
    that is not blank have as many delimiters as the header. The closing line has at
    least as many, more when the value whose quote closed the cell contains delimiters,
    and the quote that was to close that value ends one of its cells. The header must
    have 3 or more columns, because in a file of two columns a value over several lines
    can match by chance. A description or an address over several lines rarely has the
    same number of delimiters as the header on each line.

    When the quote closes on the next line, no line lies between, and a quoted value
    written over two lines matches the delimiter counts more easily. Such a value ends
    with a quote only when it ends with a quoted word, whose quotes come in pairs, so
    the cell that ends with the stray quote must also contain an odd number of quotes.

    A quote that closes inside a later row's unquoted value, as in 5" screen, ends no cell
    with a quote, and the CSV parser drops it. ``closes_inside_value`` tells that the
    record's raw text has such a quote (see _quote_closes_inside_value), which no valid
    quoted value has, so then the lines only need to look like rows.
    """
    expected = len(cells) - 1
    if expected < 2:
        return None
    for index, cell in enumerate(cells):
        if "\n" not in cell and "\r" not in cell:
            continue
        first, *between, last = LINE_BREAK_RE.split(cell)
        between = [line for line in between if line.strip()]
        if first.count(delimiter) + index != expected:
            return None
        if any(line.count(delimiter) != expected for line in between):
            return None
        after = cells[index + 1 :]
        if last.count(delimiter) + len(after) < expected:
            return None
        if closes_inside_value:
            return index
        # The quote that closed the cell opened a later value, so the quote that was to
        # close that value is read as the last character of the cell or of a later one.
        closing = [value for value in (cell, *after) if value.endswith('"')]
        if not between:
            closing = [value for value in closing if value.count('"') % 2 == 1]
        return index if closing else None
    return None


def _quote_closes_inside_value(lines: list[str], delimiter: str) -> bool:
    """Return True when a quote of the record closes a value and more text follows it.

    In valid CSV a closing quote is followed by a delimiter or a line break, as in
    "Acme, Inc.",DE. The CSV parser's strict mode rejects any other character after it,
    as in "Makes widgets ... 5" screen, where the inch mark closed the quote that opened
    rows earlier.
    """
    try:
        for _cells in csv.reader(lines, delimiter=delimiter, strict=True):
            pass
    except csv.Error:
        return True
    return False


class _LineRecorder:
    """Iterator over the lines of a text file that keeps the lines of the current record.

    The CSV parser drops the quotes it reads, so the reader checks a record that spans
    several lines in its raw text. ``lines`` is cleared before each record.
    """

    def __init__(self, handle: TextIO) -> None:
        self._lines = iter(handle)
        self.lines: list[str] = []

    def __iter__(self) -> _LineRecorder:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.lines.append(line)
        return line


def _late_quote_error(cell: str, first_line: int, last_line: int) -> str:
    return (
        "the row's values line up with the header, but one of them contains lines that look "
        f'like rows of their own: a quote (") on line {first_line}, before {_excerpt(cell)}, '
        f"seems to open without closing until line {last_line}, so lines {first_line}-"
        f"{last_line} were read as one row. Close the quote or remove it. If the quote is "
        'part of the value, put the value in quotes and write the quote twice (""). Then '
        "export the file again."
    )


def _delimiter_name(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def _delimiters(count: int, delimiter_name: str) -> str:
    return (
        f"an extra {delimiter_name}" if count == 1 else f"{count} extra {delimiter_name} delimiters"
    )


def _open_quote_error(problem: str, cell: str, first_line: int, last_line: int) -> str:
    if last_line > first_line:
        lines_read = f"so lines {first_line}-{last_line} were read as one row"
    else:
        lines_read = f"and to take in the rest of line {first_line}"
    return (
        f'{problem}: a quote (") before {_excerpt(cell)} seems to open without closing, '
        f"{lines_read}. Close the quote or remove it, and export the file again."
    )


def _column_count_error(
    cells: list[str], columns: int, delimiter: str, first_line: int, last_line: int
) -> str:
    """Explain why a row with another number of cells than the header is not imported.

    The reason names the cell or cells that show the likely cause, and the lines read as
    the row (more than one when a quote opens without closing).
    """
    delimiter_name = _delimiter_name(delimiter)
    values = "1 value" if len(cells) == 1 else f"{len(cells)} values"
    problem = (
        f"the row has {values} but the header names {columns} columns, so its values "
        "cannot be matched to columns"
    )
    opened = [cell for cell in cells if "\n" in cell or "\r" in cell]
    if not opened and len(cells) < columns:
        opened = [cell for cell in cells if delimiter in cell]
    if opened:
        return _open_quote_error(problem, opened[0], first_line, last_line)
    extra_cells = cells[columns:]
    if extra_cells and not any(cell.strip() for cell in extra_cells):
        return (
            f"{problem}: the row ends with {_delimiters(len(extra_cells), delimiter_name)}. "
            "Remove them, or end every line the same way, and import the file again."
        )
    if extra_cells:
        extra = ", ".join(_excerpt(cell) for cell in extra_cells[:3])
        more = " and more" if len(extra_cells) > 3 else ""
        return (
            f"{problem}: a value seems to contain a {delimiter_name} without quotes around "
            f"it, leaving {extra}{more} beyond the last column. Put the value in quotes, or "
            "remove the extra values, and export it again."
        )
    last = _excerpt(cells[-1]) if cells else "nothing"
    return (
        f"{problem}: the row ends after {last} in column {len(cells)}. Check the row for a "
        f"missing {delimiter_name} and export it again."
    )


def _csv_records(
    reader: Any,
    columns: int,
    delimiter: str,
    *,
    trailing_delimiter: bool,
    line_offset: int = 0,
    recorder: _LineRecorder | None = None,
) -> Iterator[Record]:
    """Read CSV records, rejecting rows whose cells do not line up with the header.

    With ``trailing_delimiter`` (the file ends its data lines with a delimiter that the
    header lacks), the one empty cell after the last column is dropped. A row that lines
    up but whose cell took in whole rows up to a later quote (see _rows_inside_cell) or
    the rest of the file (see _swallowed_lines) is rejected. ``recorder``, the line
    iterator that ``reader`` reads, gives the raw text of a record over several lines.
    """
    # A lined-up row with a cell that ends with a line break, kept back until it is known
    # whether it is the file's last row.
    last_candidate: tuple[Record, list[str], int, int] | None = None
    while True:
        start_line = reader.line_num + 1
        # _offset_lines shifts the record's line later, so messages add the offset here.
        first_line = start_line + line_offset
        if recorder is not None:
            recorder.lines.clear()
        try:
            cells = next(reader)
        except StopIteration:
            if last_candidate is not None:
                yield _last_record_checked(*last_candidate, columns, delimiter)
            return
        except csv.Error as error:
            cells = None
            parser_error = error
        if last_candidate is not None:
            yield last_candidate[0]
            last_candidate = None
        last_line = max(reader.line_num, start_line) + line_offset
        if cells is None:
            yield Record(
                line=start_line,
                error=f"the CSV parser failed on lines {first_line}-{last_line}: {parser_error}. "
                "A quote that opens without closing often causes this: close it and export "
                "the file again.",
            )
            continue
        values = strip_control_characters(cells)
        # A blank line, or one of spaces, has no values. The row parser reports it as
        # blank, not as misaligned.
        if not any(cell.strip() for cell in cells):
            yield Record(line=start_line, values=values)
            continue
        lined_up = len(cells) == columns or (trailing_delimiter and len(cells) == columns + 1)
        late_quote_index = None
        if lined_up and last_line > first_line:
            closes_inside_value = recorder is not None and _quote_closes_inside_value(
                recorder.lines, delimiter
            )
            late_quote_index = _rows_inside_cell(
                cells, delimiter, closes_inside_value=closes_inside_value
            )
        error = ""
        if late_quote_index is not None:
            error = _late_quote_error(cells[late_quote_index], first_line, last_line)
        elif trailing_delimiter and len(cells) == columns + 1 and not cells[-1].strip():
            values = values[:columns]
        elif trailing_delimiter and len(cells) == columns and not cells[-1].strip():
            delimiter_name = _delimiter_name(delimiter)
            last = _excerpt(cells[-2]) if len(cells) > 1 else "nothing"
            error = (
                f"the row has {columns - 1} values and a {delimiter_name} at the end, where "
                f"the other lines have {columns} and a {delimiter_name} at the end, so its "
                f"values cannot be matched to columns: it ends after {last}. "
                f"Check the row for a missing {delimiter_name} and export it again."
            )
        elif len(cells) != columns:
            error = _column_count_error(cells, columns, delimiter, first_line, last_line)
        elif any(cell.endswith(("\n", "\r")) for cell in cells):
            last_candidate = (Record(line=start_line, values=values), cells, first_line, last_line)
            continue
        # A rejected row keeps its cells for the report, so nothing of it is lost.
        yield Record(line=start_line, values=values, error=error)


def _last_record_checked(
    record: Record, cells: list[str], first_line: int, last_line: int, columns: int, delimiter: str
) -> Record:
    """Return the file's last record, rejected when a cell of it took in the other rows."""
    swallowed = _swallowed_lines(cells, columns, delimiter)
    if swallowed is None:
        return record
    record.error = _open_quote_error(
        "the row's values line up with the header, but one of them contains lines that look "
        "like rows of their own",
        swallowed,
        first_line,
        last_line,
    )
    return record


def _sample_rows(path: Path, encoding: str, delimiter: str) -> list[list[str]]:
    """Return the first SAMPLE_ROWS rows after the header line, blank ones included.

    Sampling stops at a row that the CSV parser cannot read, which the import reports.
    """
    rows = []
    with _open_text(path, encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        try:
            for cells in reader:
                rows.append(cells)
                if len(rows) >= SAMPLE_ROWS:
                    break
        except csv.Error:
            pass
    return rows


def _non_blank(sample: list[list[str]]) -> list[list[str]]:
    """Return the sampled lines that have a value, leaving out blank ones and spaces."""
    return [cells for cells in sample if any(cell.strip() for cell in cells)]


def _has_trailing_delimiter(sample: list[list[str]], columns: int) -> bool:
    """Return True when most sampled data lines end with a delimiter that the header lacks.

    Such files have one empty cell more than the header on those lines. A line with an
    extra empty cell among lines without one is a misaligned row instead, so more than
    half of the lines must have it.
    """
    lines = _non_blank(sample)
    trailing = sum(1 for cells in lines if len(cells) == columns + 1 and not cells[-1].strip())
    return trailing > len(lines) / 2


def _without_blank_last_column(header: list[str], sample: list[list[str]]) -> list[str]:
    """Return the header without a blank last name when the data lines lack that column.

    A header that ends with a delimiter names one blank column more than its data lines
    have. It is dropped when more than half of the sampled lines have one value fewer.
    """
    if len(header) < 2 or header[-1].strip():
        return header
    lines = _non_blank(sample)
    shorter = sum(1 for cells in lines if len(cells) == len(header) - 1)
    return header[:-1] if shorter > len(lines) / 2 else header


def is_json_export(path: Path) -> bool:
    """Return True when open_table reads the file as a JSON array rather than as CSV."""
    return _looks_like_json(path, detect_encoding(path))


def _looks_like_json(path: Path, encoding: str) -> bool:
    if path.suffix.lower() == ".json":
        return True
    with _open_text(path, encoding) as handle:
        start = handle.read(1024).lstrip()
    return start.startswith("[")


@contextmanager
def open_table(path: Path, *, decimal_comma: bool | None = None) -> Iterator[Table]:
    """Open a CSV or JSON export and yield a Table whose records stream from the file.

    ``decimal_comma`` overrides the detection of Table.uses_decimal_comma.
    Raises ImportFileError when the file is missing, empty, starts with binary data (see
    binary_content_check), has a line of binary data further on (see binary_lines_check)
    or is not a CSV or JSON array.
    """
    if not path.is_file():
        raise ImportFileError(f"{path} was not found: check the path.")
    if path.stat().st_size == 0:
        raise ImportFileError(f"{path} is empty: export the file again with a header row.")

    encoding = detect_encoding(path)
    utf16_length_check(path, encoding, file_name=path.name)
    # Uploads were checked fully before they were stored, so a stray NUL of a file given to
    # the command is stripped as before, while a workbook or PDF is rejected on every path.
    binary_content_check(path, encoding, file_name=path.name, signatures_only=True)
    if _looks_like_json(path, encoding):
        yield _open_json(path, encoding)
        return
    # Binary data after the first rows would be read as rows, some of which could line up
    # and become accounts, and its bytes make a UTF-8 file read as Windows-1252.
    binary_lines_check(path, encoding, file_name=path.name)

    with _open_text(path, encoding) as handle:
        header_text = _read_header_text(handle)
        delimiter = detect_delimiter(header_text)
        header = strip_control_characters(next(csv.reader([header_text], delimiter=delimiter), []))
        if not any(cell.strip() for cell in header):
            raise ImportFileError(
                f"{path.name} has no header row: the first line must name the columns."
            )
        duplicate_columns_check(header, path.name)
        sample = _sample_rows(path, encoding, delimiter)
        header = _without_blank_last_column(header, sample)
        trailing_delimiter = _has_trailing_delimiter(sample, len(header))
        recorder = _LineRecorder(handle)
        reader = csv.reader(recorder, delimiter=delimiter)
        # The reader counts lines from where it starts, which is after the header record.
        reader_offset = header_text.count("\n") or 1
        yield Table(
            kind="csv",
            encoding=encoding,
            delimiter=delimiter,
            header=header,
            records=_offset_lines(
                _csv_records(
                    reader,
                    len(header),
                    delimiter,
                    trailing_delimiter=trailing_delimiter,
                    line_offset=reader_offset,
                    recorder=recorder,
                ),
                reader_offset,
            ),
            decimal_comma=decimal_comma,
            sample=sample,
        )


def duplicate_columns_check(header: list[str], file_name: str) -> None:
    """Raise ImportFileError when two columns of a CSV header have the same name.

    Names are compared by column_key, as layouts match them, so ``Name`` and ``name `` are
    one name. The importer reads one column per name, so the other's values would be lost.
    Blank names are allowed, because no field reads a column without a name.
    """
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(header, start=1):
        key = column_key(name)
        if key:
            positions.setdefault(key, []).append(index)
    duplicates = [
        (header[indexes[0] - 1], indexes) for indexes in positions.values() if len(indexes) > 1
    ]
    if not duplicates:
        return
    described = "; ".join(
        f"“{name}” at columns {', '.join(str(index) for index in indexes)}"
        for name, indexes in duplicates
    )
    raise ImportFileError(
        f"{file_name} has columns with the same name: {described}. The import would read "
        "one of them and lose the other's values. Rename or remove the duplicate columns and "
        "import the file again."
    )


def _offset_lines(records: Iterator[Record], offset: int) -> Iterator[Record]:
    for record in records:
        record.line += offset
        yield record


def _open_json(path: Path, encoding: str) -> Table:
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise ImportFileError(
            f"{path.name} is {size:,} bytes, more than the {MAX_JSON_BYTES:,} bytes a JSON "
            "import may have: split the array into smaller files or export CSV."
        )
    try:
        with _open_text(path, encoding) as handle:
            items = json.load(handle)
    except RecursionError as error:
        raise ImportFileError(
            f"{path.name} is not valid for an import: its arrays or objects are nested more "
            f"than {MAX_JSON_DEPTH} levels deep. Fix the file so that it contains one array "
            "of company objects, or export it as CSV."
        ) from error
    except json.JSONDecodeError as error:
        raise ImportFileError(
            f"{path.name} is not valid JSON ({error}): fix the file or export it as CSV."
        ) from error
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"{path.name} could not be decoded as {encoding} ({error}): save it as UTF-8."
        ) from error
    if not isinstance(items, list):
        raise ImportFileError(
            f"{path.name} contains a JSON {json_type_name(items)}, not an array of company "
            "objects: wrap the objects in [ ... ]."
        )
    if _nesting_depth(items) > MAX_JSON_DEPTH:
        raise ImportFileError(
            f"{path.name} is not valid for an import: its arrays or objects are nested more "
            f"than {MAX_JSON_DEPTH} levels deep. Fix the file so that it contains one array "
            "of company objects, or export it as CSV."
        )
    items = strip_json_control_characters(items)

    # Keys that differ only in case or spacing are one column, named as first seen.
    header: dict[str, str] = {}
    for item in items:
        if isinstance(item, dict):
            for key in item:
                header.setdefault(column_key(str(key)), str(key))
    records = (Record(line=index, values=item) for index, item in enumerate(items, start=1))
    return Table(
        kind="json",
        encoding=encoding,
        delimiter="",
        header=list(header.values()),
        records=records,
        total_records=len(items),
    )


def _nesting_depth(value: Any) -> int:
    """Return how many levels of arrays and objects ``value`` has, up to MAX_JSON_DEPTH + 1.

    The walk uses a stack instead of recursion, so any depth that json.load returns is safe.
    """
    if not isinstance(value, list | dict):
        return 0
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, list | dict))
    return deepest
