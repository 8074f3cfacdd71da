import codecs
import csv
import io
import json
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    """Write rejected-row reports under the test's temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def encode_text(text: str, encoding: str) -> bytes:
    """Encode text as a file would store it; ``-bom`` adds the encoding's byte order mark."""
    boms = {
        "utf-8-bom": (codecs.BOM_UTF8, "utf-8"),
        "utf-16-le-bom": (codecs.BOM_UTF16_LE, "utf-16-le"),
        "utf-16-be-bom": (codecs.BOM_UTF16_BE, "utf-16-be"),
    }
    if encoding in boms:
        bom, codec = boms[encoding]
        return bom + text.encode(codec)
    return text.encode(encoding)


@pytest.fixture
def write_csv(tmp_path: Path):
    """Return a function that writes a header and rows as a CSV file and returns its path."""

    def write(
        header: list[str],
        rows: list[list[str]],
        *,
        name: str = "export.csv",
        encoding: str = "utf-8",
        delimiter: str = ",",
    ) -> Path:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        path = tmp_path / name
        path.write_bytes(encode_text(buffer.getvalue(), encoding))
        return path

    return write


@pytest.fixture
def write_text(tmp_path: Path):
    """Return a function that writes raw text to a file and returns its path."""

    def write(text: str, *, name: str = "export.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(encode_text(text, encoding))
        return path

    return write


@pytest.fixture
def write_json(tmp_path: Path):
    """Return a function that writes data as a JSON file and returns its path."""

    def write(data: object, *, name: str = "export.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    return write
