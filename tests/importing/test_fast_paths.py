"""Fast paths of the code the importer runs on every row give the general result.

Each test compares a shortcut with the code it skips: the general branch of the same
function, or the implementation the shortcut replaced, copied here as the reference.
"""

import json
import re
import string
import unicodedata

import idna
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accounts.importing.jsontext import json_text
from accounts.normalizers import (
    UnparsedValue,
    clean_company_name,
    domains,
    employees,
    is_third_party_host,
    is_third_party_url,
    money,
    names,
    normalize_domain,
    parse_employee_count,
    parse_money,
    registrable_domain,
    text,
    website_url,
    website_url_and_host,
)
from accounts.normalizers.text import MISSING_VALUE_TOKENS, is_missing

# Characters that exercise whitespace, placeholders, controls and punctuation.
MESSY_TEXT = st.text(
    alphabet=st.sampled_from(
        list(" \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u200b\ufeff\x00\x07\x7f-–/#.,'&naNAuLkow")
        + ["é", "ß", "İ", "ﬁ"]
    ),
    max_size=20,
)
WHITESPACE_RE = re.compile(r"\s+")


def reference_is_missing(value: str) -> bool:
    return WHITESPACE_RE.sub(" ", value).strip().casefold() in MISSING_VALUE_TOKENS


def reference_clean_text(value: str) -> str:
    cleaned = re.sub(r"\r\n?", "\n", value)
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f\ufeff]", "", cleaned).strip()


@given(MESSY_TEXT)
@example("  N/A  ")
@example("Not\u00a0Available")
@example("not  disclosed ")
@settings(deadline=None)
def test_is_missing_matches_reference(value):
    assert is_missing(value) == reference_is_missing(value)


@pytest.mark.parametrize("token", sorted(MISSING_VALUE_TOKENS))
def test_is_missing_every_token(token):
    assert is_missing(f"  {token.upper()}\t")


@given(MESSY_TEXT)
@example("a\r\nb\rc")
@example("\ufeffAcme\x00")
@settings(deadline=None)
def test_clean_text_matches_reference(value):
    assert text.clean_text(value) == reference_clean_text(value)


@given(MESSY_TEXT)
@settings(deadline=None)
def test_collapse_whitespace_matches_regex(value):
    assert text.collapse_whitespace(value) == WHITESPACE_RE.sub(" ", value).strip()


@pytest.mark.parametrize("keep", ["", ">", "&-"])
@given(value=st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
@settings(deadline=None)
def test_replace_punctuation_ascii_matches_general(keep, value):
    assert text.replace_punctuation(value, keep) == text._replace_punctuation_slowly(value, keep)


def test_strip_footnotes_without_bracket_unchanged():
    assert text.strip_footnotes("Acme Corp (note 1)") == "Acme Corp (note 1)"
    assert text.strip_footnotes("Acme Corp[1]") == "Acme Corp"


HOST_LABEL = st.text(alphabet="abcxnz019-", min_size=1, max_size=8)
HOSTS = st.lists(HOST_LABEL, min_size=1, max_size=4).map(".".join)


def idna_host(host: str) -> str | None:
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except UnicodeError:
        return None


@given(HOSTS)
@example("xn--bcher-kva.de")
@example("ab--cd.example")
@example("-acme.com")
@example("acme-.com")
@example("a." * 130 + "com")
@example("1.2.3.4")
@example("acme.123")
@settings(max_examples=300, deadline=None)
def test_plain_host_pattern_matches_idna(host):
    if domains._PLAIN_ASCII_HOST_RE.fullmatch(host) and len(host) <= domains._MAX_HOST_LENGTH:
        assert idna_host(host) == host


def test_ascii_host_fast_path_still_rejects_ip_addresses():
    with pytest.raises(domains._InvalidHost, match="IP address"):
        domains._ascii_host.__wrapped__("10.0.0.1")


WEBSITE_TEXT = st.one_of(
    st.builds(
        lambda scheme, www, host, path: f"{scheme}{www}{host}{path}",
        st.sampled_from(["", "http://", "https://", "HTTPS://", "https//", "//", "ftp://"]),
        st.sampled_from(["", "www.", "WWW."]),
        st.sampled_from(
            ["acme.com", "Acme.CO.UK", "acme.example", "acme.com.", "localhost", "a..b.com", ""]
        ),
        st.sampled_from(
            ["", "/", "/about", "/a/b-c_d.html", "/über", "/a b", "?x=1", ":8080/", "#top"]
        ),
    ),
    st.text(alphabet="abc.:/?#@%-_ éA1", max_size=25),
)


def general_website_url_and_host(value):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(domains, "_SIMPLE_WEBSITE_RE", re.compile(r"(?!)"))
        try:
            return website_url_and_host(value)
        except UnparsedValue as error:
            return ("error", error.field, error.value, error.hint)


@given(WEBSITE_TEXT)
@example("https://www.acme.example/about")
@example("acme.com/")
@example("ACME.COM.")
@settings(max_examples=300, deadline=None)
def test_simple_website_matches_general_path(value):
    try:
        fast = website_url_and_host(value)
    except UnparsedValue as error:
        fast = ("error", error.field, error.value, error.hint)

    assert fast == general_website_url_and_host(value)


@given(WEBSITE_TEXT)
@settings(max_examples=300, deadline=None)
def test_website_host_matches_url_parsing(value):
    try:
        result = website_url_and_host(value)
    except UnparsedValue:
        return
    if result is None:
        assert website_url(value) is None
        return
    url, host = result

    assert website_url(value) == url
    assert is_third_party_host(host) == is_third_party_url(url)
    assert registrable_domain(host, value=url) == normalize_domain(url)


def test_third_party_host_checks_parent_domains():
    assert is_third_party_host("apps.apple.com")
    assert is_third_party_host("www.linkedin.com")
    assert not is_third_party_host("apple.com")


@given(st.text(alphabet="0123456789", min_size=1, max_size=12))
@example("0")
@example("007")
@example("10000001")
@settings(deadline=None)
def test_plain_employee_count_matches_general_path(value):
    def outcome(function):
        try:
            return function()
        except UnparsedValue as error:
            return ("error", error.field, error.value, error.hint)

    fast = outcome(lambda: parse_employee_count(value))
    general = outcome(lambda: employees._parse_employee_text(value, decimal_comma=False))

    assert fast == general


AMOUNTS = st.one_of(
    st.integers(min_value=1, max_value=10**30).map(str),
    st.integers(min_value=1, max_value=10**12).map(lambda number: f"{number:,}"),
    st.text(alphabet="0123456789,", min_size=1, max_size=16),
)


@pytest.mark.parametrize("multiplier", [1, 1000])
@pytest.mark.parametrize("default_currency", ["USD", "EUR", None])
@given(value=AMOUNTS)
@example(value="12,500,000")
@example(value="012")
@settings(max_examples=150, deadline=None)
def test_plain_amount_matches_general_path(multiplier, default_currency, value):
    def outcome():
        try:
            result = parse_money(value, default_currency=default_currency, multiplier=multiplier)
        except UnparsedValue as error:
            return ("error", error.field, error.value, error.hint)
        return None if result is None else (result.amount.as_tuple(), result.currency)

    fast = outcome()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(money, "_PLAIN_AMOUNT_RE", re.compile(r"(?!)"))
        general = outcome()

    assert fast == general


def reference_clean_company_name(name: str) -> str:
    cleaned = names._ZERO_WIDTH_RE.sub("", text.clean_text(name))
    cleaned = text.collapse_whitespace(text.strip_footnotes(cleaned))
    inverted = names._INVERTED_ARTICLE_RE.fullmatch(cleaned)
    if inverted is not None:
        cleaned = "The " + inverted["name"].rstrip(" ,")
    return cleaned


@given(
    st.lists(
        st.sampled_from([*" ,()ThEe\u200b\u2060Acmé[1]", "the", "THE", "(The)", ", the"]),
        max_size=12,
    ).map("".join)
)
@example("Estée Lauder Companies (The)")
@example("Home Depot, The")
@example("Acme\u200b Inc")
@settings(deadline=None)
def test_clean_company_name_matches_reference(name):
    assert clean_company_name(name) == reference_clean_company_name(name)


def reference_trailing_suffix_tokens(tokens: list[str]) -> int:
    for phrase in names._LEGAL_SUFFIX_PHRASES:
        if tuple(tokens[-len(phrase) :]) == phrase:
            return len(phrase)
    last = tokens[-1]
    if last in names.LEGAL_SUFFIXES or last in names._SHARE_CLASS_TOKENS:
        return 1
    run_length = 0
    while run_length < len(tokens) and len(tokens[-1 - run_length]) == 1:
        run_length += 1
    for length in range(run_length, 1, -1):
        if "".join(tokens[-length:]) in names.LEGAL_SUFFIXES:
            return length
    return 0


SUFFIX_TOKENS = sorted(
    {token for phrase in names._LEGAL_SUFFIX_PHRASES for token in phrase}
    | {"inc", "co", "s", "a", "l", "c", "acme", "the"}
)


@given(st.lists(st.sampled_from(SUFFIX_TOKENS), min_size=1, max_size=5))
@settings(deadline=None)
def test_suffix_phrases_by_last_token_match_reference(tokens):
    assert names._count_trailing_suffix_tokens(tokens) == reference_trailing_suffix_tokens(tokens)


@pytest.mark.parametrize("character", list(string.printable))
def test_ascii_nfkc_is_identity(character):
    # The fast paths above skip NFKC for ASCII text.
    assert unicodedata.normalize("NFKC", character) == character


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@given(JSON_VALUES)
@example({"count": 240, "min": 201, "max": None, "approximate": False})
@example(["Salesforce", "HubSpot", 'ünïcode "quoted"'])
@example({1: "not a string key"})
@settings(deadline=None)
def test_json_text_matches_json_encoder(value):
    encoder = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)

    assert json_text(value) == encoder.encode(value)
