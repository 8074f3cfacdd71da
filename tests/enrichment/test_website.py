import ipaddress
import time

import pytest
import requests

from enrichment import website
from enrichment.providers import CompanyNotFound, ProviderUnavailable
from enrichment.providers.fingerprints import match_signatures
from enrichment.providers.pages import parse_page
from enrichment.website import (
    AddressPolicy,
    DisallowedURL,
    UnexpectedContent,
    WebsiteConnectionError,
    WebsiteProvider,
    fetch_url,
)

from .fake_server import FakeResponse

HOME_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Home | Northwind Analytics</title>
<meta name="description" content="Revenue dashboards for B2B sales teams.">
<meta property="og:site_name" content="Northwind Analytics">
<meta property="og:title" content="Northwind Analytics: revenue dashboards">
<meta property="og:description" content="Dashboards that sales leaders read.">
<meta property="og:image" content="https://northwind-analytics.com/og.png">
<meta name="generator" content="WordPress 6.4.2">
<link rel="canonical" href="https://northwind-analytics.com/">
<link rel="alternate" type="application/rss+xml" title="News" href="/feed/">
<link rel="alternate" type="application/atom+xml" href="https://blog.northwind-analytics.com/atom.xml">
<link rel="stylesheet" href="/wp-content/themes/northwind/style.css">
<script src="https://js.hs-scripts.com/123456.js"></script>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-ABC123"></script>
</head>
<body>
<a href="https://twitter.com/intent/tweet?text=hello">Share on X</a>
<a href="https://www.linkedin.com/shareArticle?url=x">Share on LinkedIn</a>
<a href="https://www.linkedin.com/company/northwind-analytics/">LinkedIn</a>
<a href="https://x.com/northwindhq?ref=footer">X</a>
<a href="https://github.com/northwind">GitHub</a>
<a href="https://www.facebook.com/sharer/sharer.php?u=x">Share</a>
<a href="https://www.facebook.com/northwindanalytics">Facebook</a>
</body>
</html>
"""
HOME_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Server": "nginx/1.25.3",
    "X-Powered-By": "PHP/8.2.1",
}
LOOPBACK_ONLY = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))


@pytest.fixture
def allow_private(settings):
    settings.ENRICHMENT_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def home(fake_server):
    fake_server.route("GET", "/", FakeResponse(body=HOME_PAGE, headers=HOME_HEADERS))
    return fake_server.url + "/"


def test_page_title_and_descriptions():
    metadata = parse_page(HOME_PAGE, "https://northwind-analytics.com/")

    assert metadata.title == "Home | Northwind Analytics"
    assert metadata.description == "Revenue dashboards for B2B sales teams."
    assert metadata.og["site_name"] == "Northwind Analytics"
    assert metadata.og["description"] == "Dashboards that sales leaders read."
    assert metadata.canonical_url == "https://northwind-analytics.com/"
    assert metadata.language == "en"


def test_page_social_links_skip_share_buttons():
    metadata = parse_page(HOME_PAGE, "https://northwind-analytics.com/")

    assert metadata.social_links == {
        "linkedin": "https://www.linkedin.com/company/northwind-analytics",
        "twitter": "https://x.com/northwindhq",
        "github": "https://github.com/northwind",
        "facebook": "https://www.facebook.com/northwindanalytics",
    }


def test_page_feed_links_absolute():
    metadata = parse_page(HOME_PAGE, "https://northwind-analytics.com/")

    assert metadata.feed_urls == [
        "https://northwind-analytics.com/feed/",
        "https://blog.northwind-analytics.com/atom.xml",
    ]


PLATFORM_HOME_PAGE = """<html><head><title>Facebook</title></head><body>
<a href="https://www.facebook.com/pages/create">Create a Page</a>
<a href="/help">Help</a>
<a href="https://www.linkedin.com/company/facebook/">LinkedIn</a>
</body></html>"""


def test_own_domain_links_are_not_social_profiles():
    metadata = parse_page(PLATFORM_HOME_PAGE, "https://www.facebook.com/", "facebook.com")

    assert metadata.social_links == {
        "linkedin": "https://www.linkedin.com/company/facebook",
    }


def test_platform_links_are_profiles_for_others():
    metadata = parse_page(PLATFORM_HOME_PAGE, "https://www.facebook.com/", "anvilpeak.com")

    assert metadata.social_links["facebook"] == "https://www.facebook.com/pages"


def test_twitter_site_meta_fallback():
    metadata = parse_page('<meta name="twitter:site" content="@acmehq">', "https://acme.com/")

    assert metadata.social_links == {"twitter": "https://twitter.com/acmehq"}


def test_signatures_decode_generator_references():
    page = '<meta name="generator" content="&#68;rupal 10 (https://www.drupal.org)">'

    assert match_signatures(page, {}) == ["Drupal"]


def test_signatures_detect_html_and_headers():
    found = match_signatures(HOME_PAGE, HOME_HEADERS)

    assert "WordPress" in found
    assert "HubSpot" in found
    assert "Google Analytics" in found
    assert "Nginx" in found
    assert "PHP" in found
    assert "Shopify" not in found


def test_signatures_detect_cookies_and_generator():
    found = match_signatures(
        '<meta content="Drupal 10 (https://www.drupal.org)" name="generator">',
        {"Set-Cookie": "hubspotutk=abc; Path=/, PHPSESSID=xyz; Path=/", "CF-RAY": "8a1-AMS"},
    )

    assert found == ["Drupal", "HubSpot", "Cloudflare", "PHP"]


def test_wappalyzer_fingerprints_used():
    pytest.importorskip("Wappalyzer")
    from enrichment.providers.fingerprints import wappalyzer_technologies

    found = wappalyzer_technologies(HOME_PAGE, HOME_HEADERS, "https://northwind-analytics.com/")

    assert "WordPress" in found
    assert "MySQL" in found  # implied by WordPress in the Wappalyzer data


def test_lookup_url_maps_facts(allow_private, home):
    facts = WebsiteProvider().lookup_url(home)

    assert facts.source == "website"
    assert facts.domain == "127.0.0.1"
    assert facts.name == "Northwind Analytics"
    assert facts.description == "Revenue dashboards for B2B sales teams."
    assert facts.website == home
    assert facts.social_links["linkedin"] == "https://www.linkedin.com/company/northwind-analytics"
    assert facts.raw["feed_urls"][0] == home + "feed/"
    assert facts.raw["truncated"] is False


def test_lookup_url_detects_technologies(allow_private, home):
    facts = WebsiteProvider().lookup_url(home)

    for name in ("WordPress", "HubSpot", "Google Analytics", "PHP"):
        assert name in facts.technologies


def test_lookup_url_detects_server_header_with_fingerprints(allow_private, home):
    pytest.importorskip("Wappalyzer", reason="the optional fingerprint package is not installed")
    facts = WebsiteProvider().lookup_url(home)

    assert "Nginx" in facts.technologies


def test_name_from_title_when_no_site_name(allow_private, fake_server):
    page = "<title>Home - Acme Robotics</title>"
    fake_server.route("GET", "/", FakeResponse(body=page, headers={"Content-Type": "text/html"}))

    facts = WebsiteProvider().lookup_url(fake_server.url + "/", domain="acmerobotics.com")

    assert facts.name == "Acme Robotics"


def test_size_limit_stops_reading(allow_private, settings, fake_server):
    settings.ENRICHMENT_WEBSITE_MAX_BYTES = 100_000
    chunk = "<p>" + "x" * 1021 + "</p>"
    fake_server.route(
        "GET",
        "/",
        FakeResponse(body=chunk, repeat_body=3000, headers={"Content-Type": "text/html"}),
    )

    resource = fetch_url(fake_server.url + "/")

    assert resource.truncated is True
    assert len(resource.content) == 100_000


def test_small_page_not_truncated(allow_private, home):
    resource = fetch_url(home)

    assert resource.truncated is False
    assert resource.content == HOME_PAGE.encode()


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)", "gopher://example.com/"],
)
def test_non_http_scheme_refused(url):
    with pytest.raises(DisallowedURL) as raised:
        fetch_url(url)

    assert "only http and https" in str(raised.value)


def test_private_address_refused_by_default(home, fake_server):
    with pytest.raises(DisallowedURL) as raised:
        fetch_url(home)

    assert "127.0.0.1 is a loopback address" in str(raised.value)
    assert "ENRICHMENT_ALLOW_PRIVATE_ADDRESSES" in str(raised.value)
    assert fake_server.count() == 0


def test_name_resolving_to_loopback_refused(fake_server):
    with pytest.raises(DisallowedURL) as raised:
        fetch_url(f"http://localhost:{fake_server.port}/")

    assert "loopback" in str(raised.value)
    assert fake_server.count() == 0


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2001:db8::1",
    ],
)
def test_non_public_addresses_rejected(address):
    assert AddressPolicy().rejection_reason(address) != ""


@pytest.mark.parametrize(
    ("address", "kind", "embedded"),
    [
        ("2002:7f00:1::", "6to4", "127.0.0.1 is a loopback address"),
        ("2002:a9fe:a9fe::", "6to4", "169.254.169.254 is a link-local address"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo", "127.0.0.1 is a loopback address"),
        ("64:ff9b::7f00:1", "NAT64", "127.0.0.1 is a loopback address"),
        ("64:ff9b::a00:1", "NAT64", "10.0.0.1 is a private address"),
        ("::127.0.0.1", "IPv4-compatible", "127.0.0.1 is a loopback address"),
    ],
)
def test_embedded_ipv4_rejected(address, kind, embedded):
    reason = AddressPolicy().rejection_reason(address)
    assert f"({kind})" in reason
    assert reason.endswith(embedded)


def test_local_nat64_rejected():
    reason = AddressPolicy().rejection_reason("64:ff9b:1::808:808")
    assert reason == "64:ff9b:1::808:808 is a local-use NAT64 address"


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2002:808:808::"]
)
def test_public_addresses_allowed(address):
    assert AddressPolicy().rejection_reason(address) == ""


def test_allow_private_setting_admits_all(settings):
    settings.ENRICHMENT_ALLOW_PRIVATE_ADDRESSES = True

    assert AddressPolicy.from_settings().rejection_reason("10.0.0.1") == ""


def test_redirect_to_metadata_address_refused(fake_server):
    fake_server.route(
        "GET",
        "/",
        FakeResponse(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}),
    )

    with pytest.raises(DisallowedURL) as raised:
        fetch_url(fake_server.url + "/", policy=LOOPBACK_ONLY)

    assert "169.254.169.254 is a link-local address" in str(raised.value)
    assert fake_server.count() == 1


def test_redirect_to_other_loopback_refused(fake_server):
    target = f"http://127.0.0.2:{fake_server.port}/admin"
    fake_server.route("GET", "/", FakeResponse(status=307, headers={"Location": target}))

    with pytest.raises(DisallowedURL):
        fetch_url(fake_server.url + "/", policy=LOOPBACK_ONLY)

    assert fake_server.count() == 1


def test_redirect_to_non_http_refused(fake_server):
    fake_server.route(
        "GET", "/", FakeResponse(status=301, headers={"Location": "file:///etc/passwd"})
    )

    with pytest.raises(DisallowedURL):
        fetch_url(fake_server.url + "/", policy=LOOPBACK_ONLY)


def test_allowed_redirect_followed(fake_server):
    fake_server.route("GET", "/", FakeResponse(status=301, headers={"Location": "/home"}))
    fake_server.route("GET", "/home", FakeResponse(body=HOME_PAGE, headers=HOME_HEADERS))

    resource = fetch_url(fake_server.url + "/", policy=LOOPBACK_ONLY)

    assert resource.status == 200
    assert resource.final_url == fake_server.url + "/home"
    assert fake_server.count() == 2


def test_redirect_loop_stops(fake_server):
    fake_server.route("GET", "/", FakeResponse(status=302, headers={"Location": "/"}))

    with pytest.raises(ProviderUnavailable) as raised:
        fetch_url(fake_server.url + "/", policy=LOOPBACK_ONLY)

    assert "redirected more than 5 times" in str(raised.value)
    assert fake_server.count() == 6


def test_changed_dns_response_caught(fake_server, monkeypatch):
    # The resolution check gets a public address, but the socket connects to loopback,
    # as after a DNS rebinding. The connected address is checked, so no request is sent.
    monkeypatch.setattr(website, "resolve_host", lambda host, port, domain: ["93.184.216.34"])
    fake_server.route("GET", "/", FakeResponse(body=HOME_PAGE, headers=HOME_HEADERS))

    with pytest.raises(DisallowedURL) as raised:
        fetch_url(fake_server.url + "/")

    assert "loopback" in str(raised.value)
    assert fake_server.count() == 0


def test_total_time_limit(allow_private, fake_server):
    fake_server.route(
        "GET",
        "/",
        FakeResponse(
            body="<p>slow</p>" * 2000,
            chunk_size=200,
            chunk_delay=0.05,
            headers={"Content-Type": "text/html"},
        ),
    )
    started = time.monotonic()

    with pytest.raises(ProviderUnavailable) as raised:
        fetch_url(fake_server.url + "/", timeout_seconds=0.5)

    assert "longer than the limit of 0.5 seconds" in str(raised.value)
    assert time.monotonic() - started < 2.0


def test_slow_headers_time_out(allow_private, fake_server):
    fake_server.route("GET", "/", FakeResponse(body="late", delay=1.5))

    with pytest.raises(ProviderUnavailable):
        fetch_url(fake_server.url + "/", timeout_seconds=0.3)


def test_pdf_rejected(allow_private, fake_server):
    fake_server.route(
        "GET", "/", FakeResponse(body=b"%PDF-1.7", headers={"Content-Type": "application/pdf"})
    )

    with pytest.raises(UnexpectedContent) as raised:
        WebsiteProvider().lookup_url(fake_server.url + "/")

    assert "application/pdf" in str(raised.value)


def test_missing_page_not_found(allow_private, fake_server):
    fake_server.route("GET", "/", FakeResponse(status=404, body="gone"))

    with pytest.raises(CompanyNotFound):
        WebsiteProvider().lookup_url(fake_server.url + "/")


def test_charset_from_meta_tag(allow_private, fake_server):
    body = '<meta charset="iso-8859-1"><title>Café Müller</title>'.encode("latin-1")
    fake_server.route("GET", "/", FakeResponse(body=body, headers={"Content-Type": "text/html"}))

    resource = fetch_url(fake_server.url + "/")

    assert "Café Müller" in resource.text()


def test_domain_lookup_falls_back_to_http(monkeypatch):
    tried = []

    def fake_lookup(self, url, *, domain=""):
        tried.append(url)
        if url.startswith("https://"):
            raise WebsiteConnectionError("website", domain, "TLS handshake failed")
        return "facts"

    monkeypatch.setattr(WebsiteProvider, "lookup_url", fake_lookup)

    assert WebsiteProvider().lookup("acme.com") == "facts"
    assert tried == ["https://acme.com/", "http://acme.com/"]


class _Rejected(Exception):
    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(host, address, reason)
        self.reason = reason


def test_guarded_adapter_rejects_loopback(fake_server):
    # A name can resolve to a public address when checked and to a loopback one when the
    # connection is made, so the adapter checks the address it actually connected to.
    fake_server.route("GET", "/", FakeResponse(body="secret"))
    with requests.Session() as session:
        session.mount("http://", website.guarded_adapter(AddressPolicy(), _Rejected))
        with pytest.raises(_Rejected) as raised:
            session.get(fake_server.url + "/", timeout=5)
    assert raised.value.reason == "127.0.0.1 is a loopback address"
    assert fake_server.count("/") == 0


def test_guarded_adapter_allows_permitted_address(fake_server):
    fake_server.route("GET", "/", FakeResponse(body="public page"))
    with requests.Session() as session:
        session.mount("http://", website.guarded_adapter(LOOPBACK_ONLY, _Rejected))
        response = session.get(fake_server.url + "/", timeout=5)
    assert response.text == "public page"
