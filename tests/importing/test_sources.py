"""The source name rule shared by the import page, the API and the CLI."""

import pytest

from accounts.importing.errors import ImportFileError
from accounts.importing.sources import source_name_normalize


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hubspot", "hubspot"),
        ("HubSpot", "hubspot"),
        (" Trade-Show_2026.v2 ", "trade-show_2026.v2"),
    ],
)
def test_source_name_lowered(name, expected):
    assert source_name_normalize(name) == expected


def test_source_name_empty_means_detected():
    assert source_name_normalize("  ") == ""


@pytest.mark.parametrize("name", ["日本語 source!! with spaces", "hub spot", "-hubspot", "a/b"])
def test_source_name_invalid_characters(name):
    with pytest.raises(ImportFileError) as raised:
        source_name_normalize(name)
    assert f"Source “{name}” is invalid" in str(raised.value)
    assert "such as hubspot" in str(raised.value)


@pytest.mark.parametrize("name", ["manual", "Manual", "unrecorded"])
def test_source_name_reserved(name):
    with pytest.raises(ImportFileError) as raised:
        source_name_normalize(name)
    assert f"Source “{name}” is reserved" in str(raised.value)
    assert "name the system the file comes from" in str(raised.value)


def test_source_name_too_long():
    with pytest.raises(ImportFileError, match="51 characters long, more than the 50"):
        source_name_normalize("a" * 51)


def test_source_long_name_shortened():
    with pytest.raises(ImportFileError) as caught:
        source_name_normalize("a" * 5000)

    message = str(caught.value)
    assert message.startswith(f"Source “{'a' * 79}…” is 5000 characters long")
    assert len(message) < 200
