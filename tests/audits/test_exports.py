import pytest

from audits.exports import csv_lines, neutralize


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
