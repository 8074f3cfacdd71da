import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.normalizers import (
    TECHNOLOGY_ALIASES,
    long_technologies,
    normalize_technologies,
    technology_key,
    technology_length_message,
)
from accounts.normalizers.technologies import MAX_TECHNOLOGY_LENGTH


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Python, Django", ["Python", "Django"]),
        ("Python; Django", ["Python", "Django"]),
        ("Python | Django", ["Python", "Django"]),
        ("Python\nDjango", ["Python", "Django"]),
        ("Python\r\nDjango", ["Python", "Django"]),
        ("* Python\n* Django", ["Python", "Django"]),
        ("- Python\n- Django", ["Python", "Django"]),
        ("1. Python\n2. Django", ["Python", "Django"]),
        ("• Python • Django", ["Python", "Django"]),
        ("Python · Django", ["Python", "Django"]),
        ("[PHP](https://php.net), [Laravel](https://laravel.com)", ["PHP", "Laravel"]),
        ("**React**, `k8s`", ["React", "Kubernetes"]),
        ("C++, C#, .NET, Node.js", ["C++", "C#", ".NET", "Node.js"]),
    ],
)
def test_technologies_split_on_separators(raw: str, expected: list[str]) -> None:
    assert normalize_technologies(raw) == expected


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("js", "JavaScript"),
        ("javascript", "JavaScript"),
        ("JavaScript", "JavaScript"),
        ("aws", "AWS"),
        ("Amazon Web Services", "AWS"),
        ("gcp", "Google Cloud"),
        ("google cloud", "Google Cloud"),
        ("postgres", "PostgreSQL"),
        ("PostgreSQL", "PostgreSQL"),
        ("k8s", "Kubernetes"),
        ("kubernetes", "Kubernetes"),
        ("golang", "Go"),
        ("go", "Go"),
        ("dotnet", ".NET"),
        (".net", ".NET"),
        ("salesforce", "Salesforce"),
        ("SFDC", "Salesforce"),
        ("hubspot", "HubSpot"),
        ("react", "React"),
        ("react.js", "React"),
        ("reactjs", "React"),
        ("ReactJS", "React"),
        ("node", "Node.js"),
        ("node.js", "Node.js"),
        ("NodeJS", "Node.js"),
        ("ml", "Machine Learning"),
        ("  Ruby   on  Rails ", "Ruby on Rails"),
    ],
)
def test_technologies_map_aliases(alias: str, canonical: str) -> None:
    assert normalize_technologies(alias) == [canonical]


def test_technologies_alias_table_size() -> None:
    assert len(TECHNOLOGY_ALIASES) >= 60
    assert all(key == key.casefold().strip() for key in TECHNOLOGY_ALIASES)


def test_technologies_keep_unknown_spelling() -> None:
    assert normalize_technologies("  Custom   CRM  , weird-Tool ") == ["Custom CRM", "weird-Tool"]


def test_technologies_dedupe_case_insensitive() -> None:
    raw = "Custom CRM, custom crm, CUSTOM CRM, JS, JavaScript, javascript"
    assert normalize_technologies(raw) == ["Custom CRM", "JavaScript"]


def test_technologies_keep_order() -> None:
    assert normalize_technologies("Zendesk, AWS, Android") == ["Zendesk", "AWS", "Android"]


@pytest.mark.parametrize(
    "raw",
    [
        "https://example.com",
        "http://example.com/stack",
        "www.example.com",
        "<https://example.com>",
        "",
        "  ",
        ",,;;||",
        "n/a",
        "-",
        "* ",
    ],
)
def test_technologies_drop_empty_and_urls(raw: str) -> None:
    assert normalize_technologies(raw) == []


def test_technologies_none_is_empty() -> None:
    assert normalize_technologies(None) == []


def test_technologies_accept_iterables() -> None:
    raw = ["Python, Django", None, "AWS", "amazon web services", ""]
    assert normalize_technologies(raw) == ["Python", "Django", "AWS"]


def test_technologies_accept_generator() -> None:
    assert normalize_technologies(item for item in ["k8s", "Go"]) == ["Kubernetes", "Go"]


def test_technologies_cut_long_items_at_word() -> None:
    result = normalize_technologies("word " * 30)
    assert len(result) == 1
    assert len(result[0]) <= MAX_TECHNOLOGY_LENGTH
    assert result[0].endswith("word")


def test_technologies_cut_long_single_word() -> None:
    result = normalize_technologies("x" * 100)
    assert result == ["x" * MAX_TECHNOLOGY_LENGTH]


def test_long_technologies_lists_uncut_names() -> None:
    long_name = "word " * 20
    raw = f"k8s, {long_name}, {'x' * MAX_TECHNOLOGY_LENGTH}, {'y' * 65}"
    assert long_technologies(raw) == [long_name.strip(), "y" * 65]
    assert long_technologies(["Go", "z" * 70, None]) == ["z" * 70]
    assert long_technologies(None) == []


def test_technology_length_message_names_limit() -> None:
    message = technology_length_message("y" * 65)
    assert message == (
        f"“{'y' * 65}” is 65 characters long, over the limit of 64 for a technology name: "
        "shorten it."
    )


def test_technologies_keep_domain_like_names() -> None:
    assert normalize_technologies("Socket.io, Three.js") == ["Socket.io", "Three.js"]


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=120), st.lists(st.one_of(st.none(), st.text(max_size=30)))))
def test_normalize_technologies_never_crashes(raw: str | list[str | None]) -> None:
    result = normalize_technologies(raw)
    keys = [item.casefold() for item in result]
    assert len(keys) == len(set(keys))
    assert all(0 < len(item) <= MAX_TECHNOLOGY_LENGTH for item in result)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AT&amp;T Cloud; Salesforce", ["AT&T Cloud", "Salesforce"]),
        ("Q&amp;A Tool;Jira", ["Q&A Tool", "Jira"]),
        ("Q&#38;A Tool; Jira", ["Q&A Tool", "Jira"]),
        ("Q&#x26;A Tool; Jira", ["Q&A Tool", "Jira"]),
    ],
)
def test_technologies_decode_character_references(raw: str, expected: list[str]) -> None:
    assert normalize_technologies(raw) == expected


def test_technologies_reference_and_character_one_name() -> None:
    assert normalize_technologies("AT&T, AT&amp;T, at&amp;t") == ["AT&T"]
    assert normalize_technologies(["AT&amp;T"]) == normalize_technologies(["AT&T"])


def test_technologies_decode_after_splitting() -> None:
    # &#44; is a comma and &#59; a semicolon, which decode inside the item.
    assert normalize_technologies("Foo&#44; Bar; Jira") == ["Foo, Bar", "Jira"]
    assert normalize_technologies("A&#59;B, Jira") == ["A;B", "Jira"]


def test_technologies_keep_unknown_references() -> None:
    assert normalize_technologies("Ham&nothing; R&Dfoo;Jira") == ["Ham&nothing", "R&Dfoo", "Jira"]


def test_technology_key_decodes_references() -> None:
    assert technology_key("AT&amp;T") == technology_key("at&t")
    assert technology_key("AT&amp;T") == "at&t"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AT&T; Jira", ["AT&T", "Jira"]),
        ("R&D;Jira", ["R&D", "Jira"]),
        ("Q&A Tool, AT&T Cloud", ["Q&A Tool", "AT&T Cloud"]),
    ],
)
def test_technologies_keep_literal_ampersand(raw: str, expected: list[str]) -> None:
    assert normalize_technologies(raw) == expected
