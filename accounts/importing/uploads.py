"""Checks of an uploaded import file, shared by the import page and the API.

upload_check runs before the file is stored and upload_content_check after, so both
entry points accept the same extensions and sizes and reject the same binary files.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from .binary import binary_content_check
from .errors import ImportFileError
from .reading import detect_encoding, is_json_export, open_table, utf16_length_check

# The reader detects the delimiter from the header, so .tsv files import like .csv files.
ALLOWED_EXTENSIONS = (".csv", ".tsv", ".json", ".txt")
DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def max_upload_bytes() -> int:
    """Return the upload limit in bytes: ICP_IMPORT_MAX_UPLOAD_BYTES or 200 MB."""
    return int(getattr(settings, "ICP_IMPORT_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def size_label(size: int) -> str:
    """Return a byte count as text such as "200 MB" or "12.5 KB"."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:,.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{size} bytes"


def upload_check(uploaded: UploadedFile) -> None:
    """Check the name, size and emptiness of an upload before it is stored.

    Raises ValidationError with the reason and the fix.
    """
    name = uploaded.name or ""
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_EXTENSIONS:
        extension = suffix or "no extension"
        raise ValidationError(
            f"“{name}” has {extension}: upload a .csv, .tsv, .json or .txt file. In Excel use "
            "File > Save As > CSV UTF-8."
        )
    limit = max_upload_bytes()
    if uploaded.size is not None and uploaded.size > limit:
        raise ValidationError(
            f"“{name}” is {size_label(uploaded.size)}, more than the {size_label(limit)} "
            "an upload may have: split it into smaller files."
        )
    if not uploaded.size:
        raise ValidationError(f"“{name}” is empty: export the file again with a header row.")


def upload_content_check(path: Path, *, file_name: str) -> str:
    """Check that a stored upload is a non-empty text file and return its encoding.

    Raises ImportFileError, naming ``file_name`` and the fix, for an empty file, a UTF-16
    file cut to an odd number of bytes, and binary data such as an Excel workbook or a PDF
    document renamed to .csv.
    """
    if path.stat().st_size == 0:
        raise ImportFileError(f"“{file_name}” is empty: export the file again with a header row.")
    encoding = detect_encoding(path)
    utf16_length_check(path, encoding, file_name=file_name)
    binary_content_check(path, encoding, file_name=file_name)
    return encoding


def upload_records_count(path: Path) -> int | None:
    """Count the data records of a stored CSV upload as the importer reads them.

    A record is one row of the import, so a quoted value with line breaks does not add
    records, and rows that the import will reject are counted. The file is streamed, so
    memory stays flat at any size. Returns None for a JSON file, which open_table loads
    whole: the importer counts its array when it loads it for the import. Raises
    ImportFileError when the file cannot be opened as an export, and UnicodeDecodeError
    when a later line does not decode.
    """
    if is_json_export(path):
        return None
    with open_table(path) as table:
        return sum(1 for _record in table.records)
