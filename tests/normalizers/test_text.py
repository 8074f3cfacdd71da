import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.normalizers import (
    UnparsedValue,
    clean_text,
    decode_character_references,
    industry_key,
    is_missing,
    strip_footnotes,
)
from accounts.normalizers.errors import visible_controls
from accounts.normalizers.text import character_count


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Software", "software"),
        ("Computer Software", "computer software"),
        ("  Computer   Software  ", "computer software"),
        ("Tech & Media", "tech and media"),
        ("Technology -> Software", "technology > software"),
        ("Technology->Software->SaaS", "technology > software > saas"),
        ("Technology > Software", "technology > software"),
        ("Technology → Software", "technology > software"),
        ("Technology » Software", "technology > software"),
        ("> Technology >> Software >", "technology > software"),
        ("Software/SaaS", "software saas"),
        ("Information Technology & Services", "information technology and services"),
        ("Women's Apparel", "womens apparel"),
        ("Women’s Apparel", "womens apparel"),
        ("E-Commerce", "e commerce"),
        ("U.S. Healthcare", "us healthcare"),
        ("ＳＯＦＴＷＡＲＥ", "software"),
        ("STRASSE", "strasse"),
        ("Bâtiment", "bâtiment"),
        ("", ""),
    ],
)
def test_industry_key_normalizes(raw: str, expected: str) -> None:
    assert industry_key(raw) == expected


def test_industry_key_synonyms_match() -> None:
    assert industry_key("IT & Services") == industry_key("it and services")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  hello  ", "hello"),
        ("line one\nline two", "line one\nline two"),
        ("line one\r\nline two", "line one\nline two"),
        ("line one\rline two", "line one\nline two"),
        ("col\tcol", "col\tcol"),
        ("bell\x07 and null\x00", "bell and null"),
        ("del\x7f", "del"),
        ("\ufeffBOM", "BOM"),
        ("rocket 🚀", "rocket 🚀"),
        ("שלום עולם", "שלום עולם"),
        ("مرحبا بالعالم", "مرحبا بالعالم"),
        ("mixed \u200fRTL mark", "mixed \u200fRTL mark"),
        ("👩\u200d💻", "👩\u200d💻"),
        (None, ""),
        ("", ""),
    ],
)
def test_clean_text_removes_control_characters(raw: str | None, expected: str) -> None:
    assert clean_text(raw) == expected


def test_clean_text_within_max_length() -> None:
    assert clean_text("  abc  ", max_length=3) == "abc"


def test_clean_text_counts_after_cleaning() -> None:
    assert clean_text("ab\x00\x01c", max_length=3) == "abc"


def test_clean_text_too_long_raises() -> None:
    with pytest.raises(UnparsedValue) as caught:
        clean_text("abcd", max_length=3)
    assert caught.value.field == "text"
    assert caught.value.value == "abcd"
    assert "at most 3 characters" in caught.value.hint


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Walmart[1]", "Walmart"),
        ("Walmart [1]", "Walmart"),
        ("Bentonville, Arkansas[2][3]", "Bentonville, Arkansas"),
        ("Founded 1962[a] in Arkansas", "Founded 1962 in Arkansas"),
        ("Revenue[note 1]", "Revenue"),
        ("Revenue[nb 2]", "Revenue"),
        ("Revenue[citation needed]", "Revenue"),
        ("Array[index]", "Array[index]"),
        ("[PHP](https://php.net)", "[PHP](https://php.net)"),
        ("no markers", "no markers"),
    ],
)
def test_strip_footnotes_removes_markers(raw: str, expected: str) -> None:
    assert strip_footnotes(raw) == expected


@pytest.mark.parametrize(
    "raw", [None, "", "  ", "-", "--", "—", "n/a", "N/A", "#N/A", "null", "NULL", "none", "nan"]
)
def test_is_missing_placeholders(raw: str | None) -> None:
    assert is_missing(raw) is True


@pytest.mark.parametrize("raw", ["0", "a", "Acme", "-5", "no"])
def test_is_missing_real_values(raw: str) -> None:
    assert is_missing(raw) is False


def test_unparsed_value_message_format() -> None:
    error = UnparsedValue("employee count", "25 employees + 50 contractors", "expected a count")
    assert str(error) == (
        'employee count "25 employees + 50 contractors" could not be parsed: expected a count'
    )
    assert isinstance(error, ValueError)


def test_unparsed_value_shortens_long_value_in_message() -> None:
    error = UnparsedValue("text", "x" * 500, "too long")
    assert len(str(error)) < 200
    assert error.value == "x" * 500


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Extra\tColumn", "Extra\\tColumn"),
        ("one\r\ntwo", "one\\r\\ntwo"),
        ("esc\x1bape", "esc\\x1bape"),
        ("next\x85line", "next\\x85line"),
        ("plain text", "plain text"),
    ],
)
def test_visible_controls_escapes(raw: str, expected: str) -> None:
    assert visible_controls(raw) == expected


def test_unparsed_value_message_shows_tab() -> None:
    error = UnparsedValue("employee count", "12\t000", "expected a count")
    assert str(error) == 'employee count "12\\t000" could not be parsed: expected a count'
    assert error.value == "12\t000"


def test_unparsed_value_survives_pickle() -> None:
    error = pickle.loads(pickle.dumps(UnparsedValue("country", "Atlantis", "unknown")))
    assert error.field == "country"
    assert error.value == "Atlantis"
    assert error.hint == "unknown"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_industry_key_never_crashes(raw: str) -> None:
    key = industry_key(raw)
    assert key == key.strip()
    assert "  " not in key


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.one_of(st.none(), st.integers(min_value=0, max_value=100)))
def test_clean_text_never_crashes(raw: str, max_length: int | None) -> None:
    try:
        cleaned = clean_text(raw, max_length=max_length)
    except UnparsedValue:
        return
    assert not any(ord(char) < 32 and char not in "\n\t" for char in cleaned)
    assert "\x7f" not in cleaned


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_strip_footnotes_never_crashes(raw: str) -> None:
    assert len(strip_footnotes(raw)) <= len(raw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abc", 3),
        ("🇩🇪", 1),
        ("🇩🇪🇫🇷", 2),
        ("👍🏽", 1),
        ("👨‍👩‍👧‍👦", 1),
        ("👨🏽‍👩🏽‍👧🏽‍👦🏽", 1),
        ("🏴󠁧󠁢󠁳󠁣󠁴󠁿", 1),
        ("e\u0301", 1),
        ("Cafe\u0301 a\u0300 la carte", 15),
        ("line\r\nline", 9),
        ("line\nline", 9),
        ("", 0),
    ],
)
def test_character_count_grapheme_clusters(text, expected):
    assert character_count(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AT&amp;T", "AT&T"),
        ("Q&#38;A", "Q&A"),
        ("Q&#x26;A", "Q&A"),
        ("Caf&eacute;", "Café"),
        ("Fish&ndash;Chips", "Fish–Chips"),
        ("&#150;", "–"),
        ("AT&T", "AT&T"),
        ("Ham&not Eggs", "Ham&not Eggs"),
        ("Ham&nothing;", "Ham&nothing;"),
        ("&foo;", "&foo;"),
        ("&amp;amp;", "&amp;"),
    ],
)
def test_decode_character_references(raw: str, expected: str) -> None:
    assert decode_character_references(raw) == expected


def test_industry_key_decodes_references() -> None:
    assert industry_key("Hotels, Resorts &amp; Cruise Lines") == industry_key(
        "Hotels, Resorts & Cruise Lines"
    )
