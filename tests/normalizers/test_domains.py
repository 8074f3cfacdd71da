import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.normalizers import UnparsedValue, is_third_party_url, normalize_domain, website_url


@pytest.mark.parametrize(
    "value",
    [
        "https://www.Example.com/about?utm=x",
        "example.com",
        "HTTP://WWW.EXAMPLE.COM/",
        "www.example.com:8080/path",
        " example.com. ",
        "//example.com/path",
        "https://example.com/#contact",
        "example.com/about",
        "<https://example.com>",
        "https:/example.com",
        "https//example.com",
        "http:// example.com",
        "info@example.com",
        "mailto:info@example.com",
        "https://user:secret@example.com/",
        "\u00a0example.com\u00a0",
        "ＥＸＡＭＰＬＥ．ｃｏｍ",
        "example。com",
    ],
)
def test_domain_strips_scheme_and_path(value: str) -> None:
    assert normalize_domain(value) == "example.com"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("shop.example.co.uk", "example.co.uk"),
        ("blog.example.com", "example.com"),
        ("a.b.c.example.com", "example.com"),
        ("https://www.bbc.co.uk/news", "bbc.co.uk"),
        ("example.com.au", "example.com.au"),
        ("sub.example.com.au", "example.com.au"),
        ("acme.github.io", "acme.github.io"),
        ("docs.acme.github.io", "acme.github.io"),
        ("acme.myshopify.com", "acme.myshopify.com"),
        ("example.io", "example.io"),
    ],
)
def test_domain_reduces_to_registrable_domain(value: str, expected: str) -> None:
    assert normalize_domain(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bücher.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("https://www.BÜCHER.de/katalog", "xn--bcher-kva.de"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai"),
    ],
)
def test_domain_returns_punycode_for_idn(value: str, expected: str) -> None:
    assert normalize_domain(value) == expected


def test_domain_unicode_and_punycode_match() -> None:
    assert normalize_domain("bücher.de") == normalize_domain("xn--bcher-kva.de")


@pytest.mark.parametrize("value", [None, "", "   ", "http://", "https://", "HTTP://", "-", "n/a"])
def test_domain_empty_values_return_none(value: str | None) -> None:
    assert normalize_domain(value) is None


@pytest.mark.parametrize(
    ("value", "hint_part"),
    [
        ("exa mple.com", "whitespace"),
        ("Acme Inc", "whitespace"),
        ("localhost", "no top-level domain"),
        ("http://localhost:8000/", "no top-level domain"),
        ("acme", "no top-level domain"),
        ("127.0.0.1", "IP address"),
        ("http://192.168.0.1/admin", "IP address"),
        ("[::1]", "IP address"),
        ("co.uk", "public suffix"),
        ("com", "no top-level domain"),
        ("github.io", "public suffix"),
        ("co.uk.", "public suffix"),
        ("example.notarealtld", "not in the public suffix list"),
        ("example.con", "not in the public suffix list"),
        ("-example.com", "invalid"),
        ("exa_mple.com", "invalid"),
        ("example..com", "invalid"),
        ("😀.com", "invalid"),
        ("http://[::1", "not a valid URL"),
    ],
)
def test_domain_invalid_host_raises(value: str, hint_part: str) -> None:
    with pytest.raises(UnparsedValue) as caught:
        normalize_domain(value)
    assert caught.value.field == "domain"
    assert caught.value.value == value
    assert hint_part in caught.value.hint


def test_domain_error_message_names_value() -> None:
    with pytest.raises(UnparsedValue) as caught:
        normalize_domain("localhost")
    assert str(caught.value).startswith('domain "localhost" could not be parsed: ')


@pytest.mark.parametrize(
    "url",
    [
        "https://www.linkedin.com/company/anvil-peak",
        "linkedin.com/in/someone",
        "https://uk.linkedin.com/company/x",
        "https://lnkd.in/abc",
        "https://facebook.com/anvilpeak",
        "https://m.me/anvilpeak",
        "https://twitter.com/anvilpeak",
        "https://x.com/anvilpeak",
        "https://www.instagram.com/anvilpeak",
        "https://www.crunchbase.com/organization/anvil-peak",
        "https://www.producthunt.com/products/anvil",
        "https://www.ycombinator.com/companies/anvil-peak",
        "https://apps.apple.com/us/app/anvil/id123",
        "https://play.google.com/store/apps/details?id=com.anvil",
        "https://github.com/anvil-peak",
        "https://medium.com/@anvil",
        "https://anvil.medium.com/",
        "https://angel.co/company/anvil",
        "https://wellfound.com/company/anvil",
        "https://anvil.notion.site/Careers-123",
        "https://www.youtube.com/@anvil",
    ],
)
def test_third_party_url_detects_platforms(url: str) -> None:
    assert is_third_party_url(url) is True


@pytest.mark.parametrize(
    "url",
    [
        "https://anvilpeak.com",
        "https://www.apple.com",
        "https://google.com",
        "https://inbox.com",
        "https://notx.com",
        "https://mylinkedin.com",
        "https://anvil.github.io",
        "",
        None,
        "http://",
        "localhost",
        "not a url",
    ],
)
def test_third_party_url_rejects_company_sites(url: str | None) -> None:
    assert is_third_party_url(url) is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("example.com", "https://example.com"),
        ("www.example.com", "https://www.example.com"),
        ("http://example.com", "http://example.com"),
        ("HTTPS://WWW.EXAMPLE.COM/", "https://www.example.com"),
        ("https://example.com/About", "https://example.com/About"),
        ("https://example.com/about/", "https://example.com/about/"),
        ("https://example.com/about#team", "https://example.com/about"),
        ("https://example.com/?utm_source=x&utm_medium=y", "https://example.com"),
        ("https://example.com/p?id=3&gclid=abc&fbclid=def", "https://example.com/p?id=3"),
        ("https://example.com?lang=en", "https://example.com/?lang=en"),
        ("//example.com/a", "https://example.com/a"),
        ("https://example.com:443/", "https://example.com"),
        ("http://example.com:80/", "http://example.com"),
        ("example.com:8080/app", "https://example.com:8080/app"),
        ("https://example.com/about us", "https://example.com/about%20us"),
        ("https://example.com/a%20b", "https://example.com/a%20b"),
        ("bücher.de/straße", "https://xn--bcher-kva.de/stra%C3%9Fe"),
        (" <https://example.com> ", "https://example.com"),
    ],
)
def test_website_url_cleans_url(value: str, expected: str) -> None:
    assert website_url(value) == expected


@pytest.mark.parametrize("value", [None, "", "  ", "http://", "https://", "n/a"])
def test_website_url_empty_values_return_none(value: str | None) -> None:
    assert website_url(value) is None


@pytest.mark.parametrize(
    "value",
    ["ftp://example.com", "localhost", "127.0.0.1", "co.uk", "acme inc", "example.com:99999"],
)
def test_website_url_invalid_raises(value: str) -> None:
    with pytest.raises(UnparsedValue) as caught:
        website_url(value)
    assert caught.value.field == "website"


@pytest.mark.parametrize("value", ["not a domain!!", "acme inc", "http://[::1", "http://:80/"])
def test_website_url_invalid_hint_gives_fix(value: str) -> None:
    with pytest.raises(UnparsedValue) as caught:
        website_url(value)
    assert caught.value.hint.endswith(". Enter a domain such as example.com.")


def test_website_url_keeps_subdomain() -> None:
    assert website_url("apps.apple.com/us/app/x") == "https://apps.apple.com/us/app/x"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_normalize_domain_never_crashes(value: str) -> None:
    try:
        result = normalize_domain(value)
    except UnparsedValue:
        return
    assert result is None or (result.isascii() and result == result.lower())


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.from_regex(r"(https?://)?[a-zA-Zü0-9.\-]{1,20}\.(com|de|co\.uk|io)(:\d{1,6})?(/\S*)?"),
    )
)
def test_website_url_never_crashes(value: str) -> None:
    try:
        result = website_url(value)
    except UnparsedValue:
        return
    assert result is None or result.startswith(("http://", "https://"))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_is_third_party_url_never_crashes(value: str) -> None:
    assert is_third_party_url(value) in (True, False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://www.anvilpeak.example/about", "anvilpeak.example"),
        ("shop.anvilpeak.test", "anvilpeak.test"),
    ],
)
def test_domain_accepts_reserved_test_tlds(value, expected):
    assert normalize_domain(value) == expected


@pytest.mark.parametrize(
    ("url", "company_domain", "company_name"),
    [
        ("https://www.facebook.com/", "facebook.com", ""),
        ("https://www.facebook.com/help", "facebook.com", ""),
        ("https://about.facebook.com/", "facebook.com", ""),
        ("https://www.linkedin.com/company/linkedin", "linkedin.com", ""),
        ("https://apps.apple.com/us/app/pages/id361309726", "apple.com", ""),
        ("https://www.facebook.com/", "", "Facebook, Inc."),
        ("http://producthunt.com", "", "Product Hunt"),
        ("https://www.ycombinator.com", "", "Y Combinator"),
        ("https://www.linkedin.com/", "", "LinkedIn Corporation"),
    ],
)
def test_third_party_url_not_for_own_domain(url, company_domain, company_name) -> None:
    assert (
        is_third_party_url(url, company_domain=company_domain, company_name=company_name) is False
    )


@pytest.mark.parametrize(
    ("url", "company_domain", "company_name"),
    [
        ("https://www.facebook.com/anvilpeak", "anvilpeak.com", ""),
        ("https://www.facebook.com/anvilpeak", "", "Anvil Peak"),
        ("https://www.producthunt.com/posts/storyline-7", "", "Storyline"),
        ("https://www.facebook.com/meta", "", "Meta Platforms"),
        ("https://notfacebook.com.linkedin.com/x", "facebook.com", ""),
    ],
)
def test_third_party_url_for_other_companies(url, company_domain, company_name) -> None:
    assert is_third_party_url(url, company_domain=company_domain, company_name=company_name) is True
