import pytest

from audits.exports import csv_lines, csv_response, neutralize


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1+1", "'+1+1"),
        ("-cmd", "'-cmd"),
        ("@import", "'@import"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("-8", "-8"),
        ("+1.5", "+1.5"),
        ("12", "12"),
        ("Acme", "Acme"),
        (None, ""),
        (-8, "-8"),
    ],
)
def test_neutralize(value, expected):
    assert neutralize(value) == expected


def test_csv_lines_quotes_and_neutralizes():
    lines = list(csv_lines(["a", "b"], [["=1+1", 'say "hi"']]))
    assert lines[0] == "a,b\r\n"
    assert lines[1] == '\'=1+1,"say ""hi"""\r\n'


def test_csv_response_streams_chunks_of_lines():
    rows = [[index, f"Company {index}"] for index in range(10_000)]
    response = csv_response("rows.csv", ["id", "name"], rows)
    chunks = [chunk.decode() for chunk in response.streaming_content]
    assert len(chunks) < 10
    assert all(chunk.endswith("\r\n") for chunk in chunks)
    assert "".join(chunks) == "".join(csv_lines(["id", "name"], rows))
