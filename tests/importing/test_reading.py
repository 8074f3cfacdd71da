"""Encoding, delimiter and decimal-comma detection, and record streaming."""

from pathlib import Path

import pytest

from accounts.importing.errors import ImportFileError
from accounts.importing.reading import (
    SAMPLE_BYTES,
    detect_delimiter,
    detect_encoding,
    looks_like_decimal_comma,
    open_table,
    strip_control_characters,
    strip_json_control_characters,
)

TEXT = "Company,City\nZürich Versicherung,Zürich\nCafé Ünïon,Köln\n"


def read_all(path: Path, **options) -> tuple:
    with open_table(path, **options) as table:
        records = list(table.records)
    return table, records


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-bom", "utf-8-sig"),
        ("utf-16-le-bom", "utf-16"),
        ("utf-16-be-bom", "utf-16"),
        ("utf-16-le", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
        ("cp1252", "cp1252"),
    ],
)
def test_encoding_detected_and_decoded(write_text, encoding, detected):
    path = write_text(TEXT, encoding=encoding)

    table, records = read_all(path)

    assert detect_encoding(path) == detected
    assert table.encoding == detected
    assert table.header == ["Company", "City"]
    assert records[0].values == ["Zürich Versicherung", "Zürich"]
    assert records[1].values == ["Café Ünïon", "Köln"]


def test_invalid_utf8_after_sample_falls_back(write_text, tmp_path):
    filler = "".join(f"Company {index},Berlin\n" for index in range(SAMPLE_BYTES // 10))
    path = tmp_path / "late.csv"
    path.write_bytes(("Company,City\n" + filler).encode() + "Café,Köln\n".encode("cp1252"))

    table, records = read_all(path)

    assert len(filler.encode()) > SAMPLE_BYTES
    assert table.encoding == "cp1252"
    assert records[-1].values == ["Café", "Köln"]


def test_cp1252_undefined_byte_kept(tmp_path):
    path = tmp_path / "undefined.csv"
    path.write_bytes(b"Company\nAcme \x81 \x93Quoted\x94\n")

    _table, records = read_all(path)

    assert records[0].values == ["Acme \x81 \u201cQuoted\u201d"]


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        ("Company,Website,City", ","),
        ("Company;Website;City", ";"),
        ("Company\tWebsite\tCity", "\t"),
        ('"Name; legal",Website', ","),
        ('"Revenue, USD";"Employees, total";City', ";"),
        ('"Revenue, USD"\t"Employees; total"\tCity', "\t"),
        ("Company", ","),
        ("Company,Website;City", ","),
    ],
)
def test_delimiter_from_header(header, delimiter):
    assert detect_delimiter(header) == delimiter


def test_tab_file_read(write_csv):
    path = write_csv(["Company", "Website"], [["Acme, Inc.", "acme.com"]], delimiter="\t")

    table, records = read_all(path)

    assert table.delimiter == "\t"
    assert records[0].values == ["Acme, Inc.", "acme.com"]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["Acme", "12,5"], True),
        (["Acme", "1.234,56"], True),
        (["Acme", "€ 12,50"], True),
        (["Acme", "-3,5 %"], True),
        (["Acme", "1,5 Mio €"], True),
        (["Acme", "2,3 Mrd. EUR"], True),
        (["Acme", "1.250.000"], True),
        (["Acme", "€ 1.250.000"], True),
        (["Acme", "2.000"], False),
        (["Acme", "1,234"], False),
        (["Acme", "12.5"], False),
        (["Acme, Inc.", "Berlin"], False),
    ],
)
def test_decimal_comma_cells(cells, expected):
    assert looks_like_decimal_comma(cells) is expected


def test_semicolon_file_with_decimal_comma(write_csv):
    path = write_csv(["Company", "Revenue"], [["Acme", "1.200"], ["Blue", "12,5"]], delimiter=";")

    table, _records = read_all(path)

    assert table.delimiter == ";"
    assert table.uses_decimal_comma([1]) is True


def test_decimal_comma_only_given_columns(write_csv):
    path = write_csv(["Company", "Employees", "Rating"], [["Acme", "1,200", "4,5"]], delimiter=";")

    table, _records = read_all(path)

    assert table.uses_decimal_comma([1]) is False
    assert table.uses_decimal_comma([1, 2]) is True


def test_comma_file_never_decimal_comma(write_csv):
    path = write_csv(["Company", "Revenue"], [["Acme", "12,5"]])

    table, _records = read_all(path)

    assert table.uses_decimal_comma([1]) is False


def test_decimal_comma_override(write_csv):
    path = write_csv(["Company", "Revenue"], [["Acme", "12,5"]], delimiter=";")

    table, _records = read_all(path, decimal_comma=False)

    assert table.uses_decimal_comma([1]) is False


def test_line_numbers_follow_quoted_newlines(write_text):
    path = write_text('Company,Notes\nAcme,"two\nlines"\n\nBlue,one\n')

    _table, records = read_all(path)

    assert [record.line for record in records] == [2, 4, 5]
    assert records[1].values == []
    assert records[2].values == ["Blue", "one"]


def test_json_array_items_numbered(write_json):
    path = write_json([{"name": "Acme", "id": 1}, {"name": "Blue", "slug": "blue"}])

    table, records = read_all(path)

    assert table.kind == "json"
    assert table.header == ["name", "id", "slug"]
    assert table.total_records == 2
    assert [record.line for record in records] == [1, 2]
    assert records[1].values == {"name": "Blue", "slug": "blue"}


def test_json_object_rejected(write_json):
    path = write_json({"companies": []})

    with pytest.raises(ImportFileError, match="not an array"):
        read_all(path)


def test_invalid_json_rejected(write_text):
    path = write_text('[{"name": "Acme",}]', name="broken.json")

    with pytest.raises(ImportFileError, match="broken.json is not valid JSON"):
        read_all(path)


def test_missing_file_rejected(tmp_path):
    with pytest.raises(ImportFileError, match="was not found"):
        read_all(tmp_path / "absent.csv")


def test_empty_file_rejected(write_text):
    path = write_text("")

    with pytest.raises(ImportFileError, match="is empty"):
        read_all(path)


def test_control_characters_removed_from_csv(write_text):
    path = write_text('Com\x00pany,Notes\n"Ac\x00me\x1b","tab\there,\nnew line\x07"\nBeta,plain\n')

    table, records = read_all(path)

    assert table.header == ["Company", "Notes"]
    assert records[0].values == ["Acme", "tab\there,\nnew line"]
    assert records[1].values == ["Beta", "plain"]


def test_strip_control_characters_keeps_clean_list():
    cells = ["Café", "tab\t", "line\r\n", "😀"]

    assert strip_control_characters(cells) is cells


def test_control_characters_removed_from_json(write_json):
    path = write_json([{"na\u0000me": "Ac\u0000me", "tags": ["a\u0001", 5, None, {"k": "\b"}]}])

    table, records = read_all(path)

    assert table.header == ["name", "tags"]
    assert records[0].values == {"name": "Acme", "tags": ["a", 5, None, {"k": ""}]}


def test_strip_json_control_characters_keeps_other_values():
    assert strip_json_control_characters(12.5) == 12.5
    assert strip_json_control_characters(True) is True
    assert strip_json_control_characters("tab\tline\n") == "tab\tline\n"


def test_row_with_missing_cells_rejected(write_text):
    path = write_text("Company,Website,City\nAcme,acme.com,Berlin\nTooFew Inc,toofew.com\n")

    _table, records = read_all(path)

    assert records[0].error == ""
    assert "has 2 values but the header names 3 columns" in records[1].error
    assert "the row ends after “toofew.com” in column 2" in records[1].error
    assert "Check the row for a missing ','" in records[1].error
    assert records[1].values == ["TooFew Inc", "toofew.com"]


def test_row_with_extra_cells_rejected(write_text):
    path = write_text("Company,Website\nAcme,acme.com,Berlin,DE\n")

    _table, records = read_all(path)

    assert "has 4 values but the header names 2 columns" in records[0].error
    assert "contain a ',' without quotes around it" in records[0].error
    assert "leaving “Berlin”, “DE” beyond the last column" in records[0].error


def test_quoted_delimiter_not_blamed_on_quote(write_text):
    path = write_text('Company,City,Extra\nAcme,"Austin, Texas",1990,x\n')

    _table, records = read_all(path)

    assert "without quotes around it" in records[0].error
    assert "seems to open without closing" not in records[0].error


def test_single_extra_empty_cell_rejected(write_text):
    path = write_text("Company,Industry,City\nAcme,Software,Berlin\nShift,Software, SaaS,Berlin,\n")

    _table, records = read_all(path)

    assert records[0].error == ""
    assert "has 5 values but the header names 3 columns" in records[1].error


def test_unclosed_quote_named(write_text):
    path = write_text('Company,Industry,City\nZZZ,"Unclosed Corp,Software,Austin\nBlue,IT,Oslo\n')

    _table, records = read_all(path)

    assert len(records) == 1
    assert 'a quote (") before “Unclosed Corp,Software,Austin…” seems to open' in records[0].error
    assert "lines 2-3 were read as one row" in records[0].error


def test_quote_taking_whole_file_named(write_text):
    path = write_text(
        'Company,Industry,City\n"Open Corp,Software,Austin\nBlue,IT,Oslo\nRed,IT,Rome\n'
    )

    _table, records = read_all(path)

    assert len(records) == 1
    assert "the row has 1 value but the header names 3 columns" in records[0].error
    assert "before “Open Corp,Software,Austin…”" in records[0].error
    assert "lines 2-4 were read as one row" in records[0].error


def test_single_trailing_delimiter_named(write_text):
    path = write_text("Company,Website\nAcme,acme.com\nBlue,blue.com,\n")

    _table, records = read_all(path)

    assert "the row ends with an extra ','" in records[1].error
    assert "without quotes" not in records[1].error


def test_trailing_delimiter_on_every_line_dropped(write_text):
    path = write_text("Company,Website\nAcme,acme.com,\nBlue,blue.com,\n")

    _table, records = read_all(path)

    assert [record.error for record in records] == ["", ""]
    assert records[0].values == ["Acme", "acme.com"]


def test_extra_empty_cell_rejected_without_trailing_style(write_text):
    path = write_text("Company,Website\nAcme,acme.com\nBlue,blue.com,\n")

    _table, records = read_all(path)

    assert records[0].error == ""
    assert "has 3 values but the header names 2 columns" in records[1].error


def test_short_row_among_trailing_lines_named(write_text):
    path = write_text(
        "Name,Website,Employees,Country\n"
        "A1 Co,a1.example,50,US,\n"
        "A2 Co,a2.example,50,US,\n"
        "A3 Co,a3.example,US,\n"
        "A4 Co,a4.example,50,US,\n"
    )

    _table, records = read_all(path)

    assert [bool(record.error) for record in records] == [False, False, True, False]
    assert "the row has 3 values and a ',' at the end" in records[2].error
    assert "it ends after “US”" in records[2].error
    assert records[3].values == ["A4 Co", "a4.example", "50", "US"]


def test_open_quote_in_last_column_named(write_text):
    path = write_text(
        'Name,Website,Employees,Country\nBeta Co,beta.example,60,"US\n'
        "Gamma Co,gamma.example,70,US\nDelta Co,delta.example,80,US\n"
    )

    _table, records = read_all(path)

    assert len(records) == 1
    assert "contains lines that look like rows of their own" in records[0].error
    assert "before “US…”" in records[0].error
    assert "lines 2-4 were read as one row" in records[0].error


@pytest.mark.parametrize(
    "text",
    [
        'Company,Website,Description\n"Acme",acme.example,"Met at SaaStr.\n'
        'HQ: 500 Main St, Suite 200, Austin, TX 78701\nFollow up in Q3"\nBolt,bolt.example,Fit\n',
        'Company,Notes\nAcme,"Line one, with a comma\nLine two, three, four"\n',
        'Company;Website;Notes\r\nAcme;acme.example;"Adresse: Hauptstr. 5; 10115 Berlin; DE\r\n'
        'Kunde seit 2019"\r\n',
    ],
)
def test_closed_multiline_cells_accepted(write_text, text):
    _table, records = read_all(write_text(text))

    assert all(record.error == "" for record in records)


def test_multiline_description_accepted(write_text):
    path = write_text(
        "Name,Website,Employees,Country,Description\n"
        'Alpha Co,alpha.example,50,US,"Widgets, gadgets\nand tools, for teams"\n'
    )

    _table, records = read_all(path)

    assert records[0].error == ""


def test_header_trailing_delimiter_dropped(write_text):
    path = write_text("Name,Website,Country,\nAcme,acme.example,US\nBlue,blue.example,DE\n")

    table, records = read_all(path)

    assert table.header == ["Name", "Website", "Country"]
    assert [record.error for record in records] == ["", ""]


def test_space_only_line_is_blank(write_text):
    path = write_text("Name,Website\nAcme,acme.example\n   \nBlue,blue.example\n")

    _table, records = read_all(path)

    assert [record.error for record in records] == ["", "", ""]


def test_empty_extra_cells_named_as_delimiters(write_text):
    path = write_text("Name,Country\nAcme,US\nBlue,DE,,\n")

    _table, records = read_all(path)

    assert "the row ends with 2 extra ',' delimiters" in records[1].error


def test_quote_to_end_of_line_named(write_text):
    path = write_text('Name,Website,Country\nAcme,"acme.example,US\n')

    _table, records = read_all(path)

    assert "to take in the rest of line 2" in records[0].error


def test_quote_before_line_break_shows_text(write_text):
    path = write_text('Name,Website,Country\nAcme,"\nacme.example,US\n')

    _table, records = read_all(path)

    assert "before “acme.example,US…”" in records[0].error


def test_json_file_of_one_object_named(tmp_path):
    path = tmp_path / "one.json"
    path.write_text('{"name": "Acme"}', encoding="utf-8")

    with pytest.raises(ImportFileError, match="contains a JSON object, not an array"):
        read_all(path)


def test_long_open_quote_cell_keeps_cells(write_text):
    filler = "\n".join(f"Row {number},row{number}.example,US" for number in range(8000))
    path = write_text(f'Name,Website,Country\nAcme,"acme.example,US\n{filler}\n')

    _table, records = read_all(path)

    assert len(records) == 1
    assert records[0].values[0] == "Acme"
    assert "lines 2-8002 were read as one row" in records[0].error


@pytest.mark.parametrize("depth", [40, 1500])
def test_deeply_nested_json_rejected(write_text, depth):
    path = write_text("[" * depth + "]" * depth, name="deep.json")

    with pytest.raises(ImportFileError) as raised:
        read_all(path)

    assert "deep.json is not valid for an import" in str(raised.value)
    assert "nested more than 32 levels deep" in str(raised.value)


def test_json_nesting_at_limit_read(write_json):
    value: object = "x"
    for _ in range(30):
        value = [value]
    path = write_json([{"name": "Acme", "tags": value}])

    _table, records = read_all(path)

    assert records[0].values["name"] == "Acme"


@pytest.mark.parametrize(
    ("line", "binary"),
    [
        ("Acme,acme.example,DE\n", False),
        ("Ac\x00me,acme.example,DE\n", False),
        ("Acme" + "\x00" * 30 + ",acme.example,DE\n", False),
        ('Acme,"first\x0bsecond\x0bthird\x0bfourth\x0bfifth",DE\n', False),
        ("Acme,\x01\x02\x03\x04,DE\n", True),
        ("x" * 400 + "\x01\x02\x03\x04\n", False),
        ("PK\x03\x04 text after an archive signature\n", True),
    ],
)
def test_binary_lines_detected(write_text, line, binary):
    # The rows come after the first 8 KiB, which binary_content_check reads.
    plain = "".join(f"Firma {index},plain.example,DE\n" for index in range(400))
    path = write_text(f"Company,Website,Country\n{plain}{line}Beta,beta.example,DE\n")

    if binary:
        with pytest.raises(ImportFileError, match=r"contains binary data on line 402"):
            read_all(path)
    else:
        _table, records = read_all(path)
        assert records[-1].values == ["Beta", "beta.example", "DE"]
        assert len(records) == 402


def test_binary_lines_error_lists_first_lines(write_text):
    plain = "".join(f"Firma {index},plain.example,DE\n" for index in range(400))
    binary = "".join(f"\x01\x02\x03\x04 {index}\n" for index in range(8))
    path = write_text(f"Company,Website,Country\n{plain}{binary}")

    with pytest.raises(ImportFileError) as raised:
        read_all(path)

    assert "on lines 402, 403, 404, 405, 406 and 3 more, up to line 409," in str(raised.value)


def test_quote_closing_in_later_row_named(write_text):
    path = write_text(
        "Company,Website,Country\n"
        'Acme,"acme.example,DE\n'
        "Beta,beta.example,DE\n"
        'Gamma,"gamma.example",DE\n'
        "Delta,delta.example,DE\n"
    )

    _table, records = read_all(path)

    assert len(records) == 2
    assert records[0].line == 2
    assert 'a quote (") on line 2, before “acme.example,DE…”' in records[0].error
    assert "seems to open without closing until line 4" in records[0].error
    assert "lines 2-4 were read as one row" in records[0].error
    assert "Close the quote or remove it." in records[0].error
    assert 'write the quote twice ("")' in records[0].error
    assert records[1].values == ["Delta", "delta.example", "DE"]
    assert records[1].error == ""


def test_late_quote_in_last_column_named(write_text):
    path = write_text(
        "Company,Website,Country\n"
        'Acme,acme.example,"DE\n'
        "Beta,beta.example,DE\n"
        "Gamma,gamma.example,DE\n"
        'Delta,delta.example,"DE"\n'
        "Omega,omega.example,DE\n"
    )

    _table, records = read_all(path)

    assert len(records) == 2
    assert "until line 5, so lines 2-5 were read as one row" in records[0].error
    assert records[1].values == ["Omega", "omega.example", "DE"]


def test_late_quote_with_trailing_delimiters_named(write_text):
    path = write_text(
        "Company;Website;Country\n"
        "Zeta;zeta.example;DE;\n"
        'Acme;"acme.example;DE;\n'
        "Beta;beta.example;DE;\n"
        'Gamma;"gamma.example";DE;\n'
        "Delta;delta.example;DE;\n"
    )

    _table, records = read_all(path)

    assert len(records) == 3
    assert "lines 3-5 were read as one row" in records[1].error
    assert records[2].values == ["Delta", "delta.example", "DE"]


def test_quote_closing_on_next_line_named(write_text):
    path = write_text(
        "Company,Website,Country\n"
        'Acme,"acme.example,DE\n'
        'Beta,"beta.example",DE\n'
        "Gamma,gamma.example,DE\n"
    )

    _table, records = read_all(path)

    assert len(records) == 2
    assert records[0].line == 2
    assert 'a quote (") on line 2, before “acme.example,DE…”' in records[0].error
    assert "seems to open without closing until line 3" in records[0].error
    assert "lines 2-3 were read as one row" in records[0].error
    assert "Close the quote or remove it." in records[0].error
    assert records[0].values == ["Acme", 'acme.example,DE\nBeta,beta.example"', "DE"]
    assert records[1].values == ["Gamma", "gamma.example", "DE"]
    assert records[1].error == ""


def test_next_line_quote_in_last_column_named(write_text):
    path = write_text(
        "Company,Website,Country\n"
        'Acme,acme.example,"DE\n'
        'Beta,beta.example,"DE"\n'
        "Gamma,gamma.example,DE\n"
    )

    _table, records = read_all(path)

    assert len(records) == 2
    assert "until line 3, so lines 2-3 were read as one row" in records[0].error
    assert records[1].values == ["Gamma", "gamma.example", "DE"]


def test_next_line_quote_closed_by_value_with_delimiter(write_text):
    path = write_text(
        "Symbol,Name,Sector,Price\n"
        'MMM,"3M,Industrials,178.96\n'
        'ABNB,Airbnb,"Hotels, Resorts",150.10\n'
        "ACN,Accenture,IT Consulting,301.50\n"
    )

    _table, records = read_all(path)

    assert len(records) == 2
    assert "lines 2-3 were read as one row" in records[0].error
    assert records[1].values == ["ACN", "Accenture", "IT Consulting", "301.50"]


@pytest.mark.parametrize(
    "value",
    [
        'Fast, cheap\nWe say "hi, all"',
        'Fast, cheap\nSay "hi", then "bye"',
        "Fast, cheap\nGood, fast",
    ],
)
def test_two_line_value_still_read(write_csv, value):
    # Each line has the header's number of delimiters, but the value's quotes are paired
    # or it ends without one, so it is a value written over two lines.
    rows = [["Acme", value, "acme.example"], ["Blue", "plain", "blue.example"]]
    path = write_csv(["Company", "Tagline", "Website"], rows)

    _table, records = read_all(path)

    assert [record.error for record in records] == ["", ""]
    assert records[0].values == ["Acme", value, "acme.example"]


@pytest.mark.parametrize(
    "value",
    [
        "Main Street 1\nSuite 200\nBerlin",
        "We build tools.\nFounded in 1990, in Berlin, Germany.\nPrivately held.",
        "Line one, with a comma\nLine two, with two, commas\nLine three",
        "First line\nSecond line, with, commas\nThird line, with, commas, too",
    ],
)
def test_multiline_values_still_read(write_csv, value):
    rows = [["Acme", value, "acme.example"], ["Blue", "plain", "blue.example"]]
    path = write_csv(["Company", "Description", "Website"], rows)

    _table, records = read_all(path)

    assert [record.error for record in records] == ["", ""]
    assert records[0].values == ["Acme", value, "acme.example"]


def test_late_quote_closed_by_value_with_delimiter(write_text):
    # The quote before "Hotels, Resorts" closes the open value, and the comma in that
    # value gives back the cell that the open quote took from the first line.
    path = write_text(
        "Symbol,Name,Sector,Price\n"
        'MMM,"3M,Industrials,178.96\n'
        "AOS,A. O. Smith,Building Products,63.08\n"
        'ABNB,Airbnb,"Hotels, Resorts",150.10\n'
        "ACN,Accenture,IT Consulting,301.50\n"
    )

    _table, records = read_all(path)

    assert len(records) == 2
    assert 'a quote (") on line 2, before “3M,Industrials,178.96…”' in records[0].error
    assert "lines 2-4 were read as one row" in records[0].error
    assert records[1].values == ["ACN", "Accenture", "IT Consulting", "301.50"]


def test_multiline_last_column_still_read(write_csv):
    value = 'Headquarters\nBerlin, BE, Germany\nKnown as "Acme Berlin", since 1990, in Germany'
    path = write_csv(["Company", "Website", "Address"], [["Acme", "acme.example", value]])

    _table, records = read_all(path)

    assert records[0].error == ""
    assert records[0].values == ["Acme", "acme.example", value]


def test_multiline_last_row_ending_in_break_read(write_csv):
    # A Markdown profile ends with a line break and has a line with commas.
    value = '---\ntitle: "Zup"\n---\n\n## Company blurb\n\nWe build apps, sites, and APIs.\n'
    rows = [["Blue", "blue.example", "plain"], ["Zup", "zup.example", value]]
    path = write_csv(["Company", "Website", "Profile"], rows)

    _table, records = read_all(path)

    assert records[1].error == ""
    assert records[1].values == ["Zup", "zup.example", value]


def test_quote_closing_inside_later_value_named(write_text):
    # The inch mark of 5" closes the quote that opened on line 2.
    path = write_text(
        "Company,Website,Description\n"
        'Acme,acme.example,"Makes widgets\n'
        'Beta,beta.example,Has a 5" screen\n'
        "Gamma,gamma.example,Plain\n"
    )

    _table, records = read_all(path)

    assert len(records) == 2
    assert records[0].line == 2
    assert 'a quote (") on line 2, before “Makes widgets…”' in records[0].error
    assert "lines 2-3 were read as one row" in records[0].error
    assert 'write the quote twice ("")' in records[0].error
    assert records[0].values == [
        "Acme",
        "acme.example",
        "Makes widgets\nBeta,beta.example,Has a 5 screen",
    ]
    assert records[1].values == ["Gamma", "gamma.example", "Plain"]
    assert records[1].error == ""


def test_quote_closing_inside_value_rows_later(write_text):
    path = write_text(
        "Company,Website,Description\n"
        'Acme,acme.example,"Widgets\n'
        "Beta,beta.example,Tablets\n"
        'Gamma,gamma.example,A 7" screen\n'
        "Delta,delta.example,Plain\n"
    )

    _table, records = read_all(path)

    assert len(records) == 2
    assert "lines 2-4 were read as one row" in records[0].error
    assert records[1].values == ["Delta", "delta.example", "Plain"]


def test_multiline_value_with_row_like_line_read(write_text):
    # A valid quoted value whose last line has as many commas as the header.
    path = write_text(
        "Company,Website,Description\n"
        'Acme,acme.example,"Makes widgets\n'
        'for cars, boats, and planes"\n'
        "Beta,beta.example,Plain\n"
    )

    _table, records = read_all(path)

    assert [record.error for record in records] == ["", ""]
    assert records[0].values[2] == "Makes widgets\nfor cars, boats, and planes"


def test_quote_inside_unquoted_value_read(write_text):
    path = write_text(
        'Company,Website,Description\nAcme,acme.example,Has a 5" screen\nBeta,beta.example,x\n'
    )

    _table, records = read_all(path)

    assert [record.error for record in records] == ["", ""]
    assert records[0].values[2] == 'Has a 5" screen'
