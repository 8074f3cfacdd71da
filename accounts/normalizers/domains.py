"""Company domains and website URLs.

``normalize_domain`` accepts a bare host, a URL with or without scheme, port, path, query or
userinfo, an e-mail address, surrounding whitespace, angle brackets and a trailing dot. It
returns the registrable domain in lower-case ASCII: ``https://www.Example.com/about?utm=x``,
``shop.example.co.uk`` and ``bücher.de`` give ``example.com``, ``example.co.uk`` and
``xn--bcher-kva.de``.

The registrable domain comes from the public suffix list bundled with the ``publicsuffixlist``
package, including its private section, which is never fetched at run time. Because of
the private section, sites on shared hosts stay distinct (``acme.github.io``,
``acme.myshopify.com``). Hosts are converted to ASCII with IDNA 2008 and UTS #46 mapping
(the ``idna`` package), so Unicode and punycode spellings give the same result.

Hosts with spaces, IP addresses, single-label hosts (``localhost``), bare public suffixes
(``co.uk``, ``github.io``) and top-level domains missing from the list raise
UnparsedValue(field="domain").
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import lru_cache
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit

import idna
from publicsuffixlist import PublicSuffixList

from .errors import UnparsedValue
from .names import company_name_key
from .text import is_missing

_PUBLIC_SUFFIXES = PublicSuffixList(accept_unknown=False)

# Hosts whose pages belong to a platform, not to the company that links to them. A URL
# matches when its host equals an entry or is a subdomain of one.
THIRD_PARTY_HOSTS: frozenset[str] = frozenset(
    {
        "linkedin.com",
        "lnkd.in",
        "facebook.com",
        "fb.com",
        "fb.me",
        "m.me",
        "twitter.com",
        "x.com",
        "t.co",
        "instagram.com",
        "threads.net",
        "youtube.com",
        "youtu.be",
        "tiktok.com",
        "pinterest.com",
        "reddit.com",
        "crunchbase.com",
        "producthunt.com",
        "ycombinator.com",
        "angel.co",
        "wellfound.com",
        "pitchbook.com",
        "zoominfo.com",
        "apollo.io",
        "glassdoor.com",
        "indeed.com",
        "g2.com",
        "capterra.com",
        "trustpilot.com",
        "yelp.com",
        "bloomberg.com",
        "wikipedia.org",
        "apps.apple.com",
        "itunes.apple.com",
        "play.google.com",
        "chrome.google.com",
        "chromewebstore.google.com",
        "docs.google.com",
        "sites.google.com",
        "drive.google.com",
        "github.com",
        "gitlab.com",
        "bitbucket.org",
        "medium.com",
        "substack.com",
        "notion.site",
        "notion.so",
        "linktr.ee",
        "bit.ly",
        "calendly.com",
        "typeform.com",
    }
)

# Also accepts the typos "https//", "https:/" and spaces around the colon.
_WEB_SCHEME_RE = re.compile(r"(?P<scheme>https?|ftp|mailto)(?:\s*:\s*/*|//)\s*", re.IGNORECASE)
_BARE_SCHEME_RE = re.compile(r"(?:https?\s*:\s*/*\s*)+", re.IGNORECASE)
_DOT_VARIANTS = str.maketrans({"。": ".", "．": ".", "｡": "."})
_ASCII_LABEL_RE = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_TRACKING_PARAMETER_RE = re.compile(
    r"utm_.*|gclid|fbclid|msclkid|mc_cid|mc_eid|_hsenc|_hsmi|hsctatracking|yclid|_ga",
    re.IGNORECASE,
)
_WHITESPACE_RE = re.compile(r"\s")

# The fix that ends the hints about a value without a usable host name. The API's field
# messages replace this sentence with their own example (accounts.api.serializers).
_DOMAIN_FIX = "Enter a domain such as example.com."

# A website after its scheme that urlsplit reads as a host and a path made only of
# characters that quote leaves unchanged, with no port, user, query or fragment.
_SIMPLE_WEBSITE_RE = re.compile(r"(?P<host>[A-Za-z0-9.-]+)(?P<path>/[A-Za-z0-9._~/-]*)?")


def normalize_domain(value: str | None) -> str | None:
    """Return the registrable domain of a host, URL or e-mail address, in lower-case ASCII.

    None, blank values, placeholders and a bare scheme (``http://``) return None. See the
    module docstring for what is accepted. Raises UnparsedValue(field="domain").
    """
    host = _host_from_value(value, field="domain")
    if host is None:
        return None
    return _registrable_domain(host, value or "", "domain")


def website_url(value: str | None) -> str | None:
    """Return a cleaned absolute http(s) URL for a website column value.

    Adds ``https://`` when the scheme is missing, lower-cases the scheme and host, converts
    the host to ASCII, drops the default port, the fragment and tracking parameters
    (``utm_*``, ``gclid``, ``fbclid`` …) and percent-encodes spaces and non-ASCII
    characters in the path. A bare root path is dropped, so ``example.com`` gives
    ``https://example.com``. None, blank values
    and a bare scheme return None. Raises UnparsedValue(field="website") for hosts that
    normalize_domain rejects and for schemes other than http and https.
    """
    result = website_url_and_host(value)
    return None if result is None else result[0]


def website_url_and_host(value: str | None) -> tuple[str, str] | None:
    """Return website_url(value) and the host of that URL, or None when it returns None.

    The host is the one that is_third_party_host and registrable_domain take, so a
    caller that needs the URL, its domain and whether it is a third-party page parses
    the value once. Raises UnparsedValue(field="website") as website_url does.
    """
    if value is None or is_missing(value):
        return None
    text = _prepare(value)
    if _BARE_SCHEME_RE.fullmatch(text):
        return None
    scheme = "https"
    scheme_match = _WEB_SCHEME_RE.match(text)
    if scheme_match is not None:
        scheme = scheme_match["scheme"].lower()
        if scheme not in ("http", "https"):
            raise UnparsedValue("website", value, f"expected an http or https URL, not {scheme}")
        text = text[scheme_match.end() :]
    simple = _SIMPLE_WEBSITE_RE.fullmatch(text)
    if simple is not None:
        result = _simple_website_url_and_host(simple, scheme, value)
        if result is not None:
            return result
    parts = _split(text, value, "website")
    host = _host_from_parts(parts, value, "website")
    _registrable_domain(host, value, "website")

    netloc = host
    port = _port(parts, value)
    if port is not None and port != (443 if scheme == "https" else 80):
        netloc = f"{host}:{port}"
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    query_pairs = [
        (key, item)
        for key, item in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING_PARAMETER_RE.fullmatch(key)
    ]
    if not query_pairs:
        if path == "/":
            path = ""
        return f"{scheme}://{netloc}{path}", host
    return f"{scheme}://{netloc}{path or '/'}?{urlencode(query_pairs)}", host


def _simple_website_url_and_host(
    simple: re.Match[str], scheme: str, value: str
) -> tuple[str, str] | None:
    """Return the URL and host of a host name with a plain path, without urlsplit.

    The result equals the general path of website_url_and_host, because urlsplit reads
    such a text as that host and path, quote leaves the path unchanged and there is no
    port, query or fragment. Returns None for an empty host, which the general path
    reports.
    """
    host = simple["host"].lower().rstrip(".")
    if not host:
        return None
    host = _checked_host(host, value, "website")
    _registrable_domain(host, value, "website")
    path = simple["path"] or ""
    if path == "/":
        path = ""
    return f"{scheme}://{host}{path}", host


def is_third_party_url(
    url: str | None, *, company_domain: str = "", company_name: str = ""
) -> bool:
    """Return True when the URL's host is a platform in THIRD_PARTY_HOSTS or a subdomain of one.

    Matching uses the full host, so ``apps.apple.com`` is third party but ``apple.com``
    is not. A host on the company's own domain is never third party (see
    is_third_party_host). Blank values and values without a readable host return False.
    """
    try:
        host = _host_from_value(url, field="website")
    except UnparsedValue:
        return False
    if host is None:
        return False
    return is_third_party_host(host, company_domain=company_domain, company_name=company_name)


def is_third_party_host(host: str, *, company_domain: str = "", company_name: str = "") -> bool:
    """Return True when a lower-case ASCII host is in THIRD_PARTY_HOSTS or a subdomain of one.

    A platform's pages are its own website, so the host is not third party when it is on
    ``company_domain`` (the company's registrable domain, such as ``facebook.com`` for
    Facebook) or when ``company_name`` names the platform (see is_platform_company).
    """
    labels = host.split(".")
    suffixes = [".".join(labels[index:]) for index in range(len(labels))]
    if not any(suffix in THIRD_PARTY_HOSTS for suffix in suffixes):
        return False
    if company_domain and company_domain.lower() in suffixes:
        return False
    return not (company_name and is_platform_company(company_name, host))


def is_platform_company(company_name: str, host: str) -> bool:
    """Return True when the company's name is the first label of the host's registrable domain.

    Names are compared as company_name_key reads them, without spaces and hyphens, so
    "Product Hunt" is the company of ``producthunt.com`` and "Facebook, Inc." that of
    ``www.facebook.com``, while "Storyline" is not that of ``producthunt.com``.
    NOTE: a company that shares its name with a platform (a "Medium Ltd." whose website is
    a medium.com page) is taken for that platform.
    """
    try:
        domain = _registrable_domain(host, host, "domain")
    except UnparsedValue:
        return False
    label = domain.split(".", 1)[0].replace("-", "")
    name = company_name_key(company_name).replace(" ", "").replace("-", "")
    return bool(name) and name == label


def registrable_domain(host: str, *, value: str) -> str:
    """Return the registrable domain of a lower-case ASCII host, as normalize_domain does.

    ``value`` is the text the host came from, for the error. Raises
    UnparsedValue(field="domain") for the hosts that normalize_domain rejects.
    """
    return _registrable_domain(host, value, "domain")


def _prepare(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).translate(_DOT_VARIANTS).strip()
    return text.strip("<>\"'").strip()


def _host_from_value(value: str | None, *, field: str) -> str | None:
    """Return the lower-case ASCII host of the value, or None when it is blank."""
    if value is None or is_missing(value):
        return None
    host, hint = _host_or_hint(value)
    if hint:
        raise UnparsedValue(field, value, hint)
    return host


@lru_cache(maxsize=1024)
def _host_or_hint(value: str) -> tuple[str | None, str]:
    """Return the host of a non-blank value and "", or None and the reason it has none.

    Importers call is_third_party_url and normalize_domain on the same URL one after the
    other, so a small cache saves the second parse.
    """
    text = _prepare(value)
    if _BARE_SCHEME_RE.fullmatch(text):
        return None, ""
    scheme_match = _WEB_SCHEME_RE.match(text)
    if scheme_match is not None:
        text = text[scheme_match.end() :]
    try:
        return _host_from_parts(_split(text, value, "domain"), value, "domain"), ""
    except UnparsedValue as error:
        return None, error.hint


def _split(text: str, value: str, field: str) -> SplitResult:
    if _WHITESPACE_RE.search(text.split("/", 1)[0]):
        raise UnparsedValue(field, value, f"the host contains whitespace. {_DOMAIN_FIX}")
    try:
        return urlsplit("//" + text.lstrip("/"))  # also reads "//example.com"
    except ValueError as error:
        raise UnparsedValue(
            field, value, f"it is not a valid URL ({error}). {_DOMAIN_FIX}"
        ) from None


def _host_from_parts(parts: SplitResult, value: str, field: str) -> str:
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnparsedValue(field, value, f"no host name was found. {_DOMAIN_FIX}")
    return _checked_host(host, value, field)


def _checked_host(host: str, value: str, field: str) -> str:
    try:
        return _ascii_host(host)
    except _InvalidHost as error:
        raise UnparsedValue(field, value, str(error)) from None


def _registrable_domain(host: str, value: str, field: str) -> str:
    try:
        return _registrable_domain_of_ascii_host(host)
    except _InvalidHost as error:
        raise UnparsedValue(field, value, str(error)) from None


class _InvalidHost(ValueError):
    """Hint about an invalid host, raised by the cached helpers below."""


# Host names that IDNA 2008 with UTS #46 mapping returns unchanged: lower-case ASCII labels
# of 1 to 63 letters, digits and inner hyphens, without hyphens in the third and fourth
# place (which "xn--" labels have), and a last label that starts with a letter, so the
# host is no IP address.
_PLAIN_ASCII_HOST_RE = re.compile(
    r"(?:(?![a-z0-9-]{2}--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?![a-z0-9-]{2}--)[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
)
_MAX_HOST_LENGTH = 253


@lru_cache(maxsize=65536)
def _ascii_host(host: str) -> str:
    if len(host) <= _MAX_HOST_LENGTH and _PLAIN_ASCII_HOST_RE.fullmatch(host):
        return host
    if _is_ip_address(host):
        raise _InvalidHost("an IP address is not a company domain")
    if "." not in host:
        raise _InvalidHost(f'"{host}" has no top-level domain. {_DOMAIN_FIX}')
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except UnicodeError as error:  # idna.IDNAError is a UnicodeError
        raise _InvalidHost(f"the host name is invalid ({error})") from None


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# Top-level domains reserved for documentation and testing (RFC 2606 and RFC 6761). They
# are not in the public suffix list, but demo and test data use them on purpose.
_RESERVED_TEST_TLDS = frozenset({"example", "test"})


@lru_cache(maxsize=65536)
def _registrable_domain_of_ascii_host(host: str) -> str:
    labels = host.split(".")
    if labels[-1] in _RESERVED_TEST_TLDS and len(labels) >= 2:
        return ".".join(labels[-2:])
    domain = _PUBLIC_SUFFIXES.privatesuffix(host)
    if domain is None:
        if _PUBLIC_SUFFIXES.is_public(host):
            raise _InvalidHost(f'"{host}" is a public suffix, not a company domain')
        top_level = host.rsplit(".", 1)[-1]
        raise _InvalidHost(f'the top-level domain "{top_level}" is not in the public suffix list')
    if not all(_ASCII_LABEL_RE.fullmatch(label) for label in domain.split(".")):
        raise _InvalidHost(f'"{domain}" is not a valid domain name')
    return domain


def _port(parts: SplitResult, value: str) -> int | None:
    try:
        return parts.port
    except ValueError:
        raise UnparsedValue("website", value, "the port is not a number from 0 to 65535") from None
