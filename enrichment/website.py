"""Fetch a company's own web page safely and read company facts from it.

A URL given by a user must not reach the portal's internal network, so ``fetch_url``:

- accepts only http and https URLs;
- resolves the host and rejects it when any address is private, loopback, link-local,
  multicast, reserved, unspecified or otherwise not global (IPv4 and IPv6, including
  IPv4-mapped IPv6), unless ``settings.ENRICHMENT_ALLOW_PRIVATE_ADDRESSES`` is True;
- follows redirects itself and checks every hop the same way;
- checks the address of every socket it connects, so a DNS response that changes between
  the check and the connection is caught too;
- ignores proxy environment variables, so the checked address is the one connected to;
- stops reading after ``ENRICHMENT_WEBSITE_MAX_BYTES`` (default 2 MB) and gives up when
  the whole fetch takes longer than ``ENRICHMENT_WEBSITE_TIMEOUT_SECONDS`` (default 15).

``WebsiteProvider`` reads the title, descriptions, Open Graph tags, social profile links,
RSS and Atom feed links and the technologies of a home page into CompanyFacts.
"""

from __future__ import annotations

import codecs
import ipaddress
import logging
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from accounts.normalizers import UnparsedValue, clean_text, normalize_domain, website_url
from enrichment.http import parse_retry_after
from enrichment.providers.base import (
    CompanyFacts,
    CompanyNotFound,
    InvalidDomain,
    Provider,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
)
from enrichment.providers.fingerprints import detect_technologies
from enrichment.providers.pages import PageMetadata, parse_page

logger = logging.getLogger(__name__)

SOURCE = "website"
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 15.0
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_REDIRECTS = 5
USER_AGENT = "ICP-Portal-Enrichment/1.0 (company research)"
HTML_CONTENT_TYPES = ("text/html", "application/xhtml+xml")
_READ_CHUNK_BYTES = 64 * 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class DisallowedURL(ProviderError):
    """The URL's scheme or address may not be fetched."""


class UnexpectedContent(ProviderError):
    """The server returned content of a type that cannot be read, such as a PDF."""


class WebsiteConnectionError(ProviderUnavailable):
    """The connection to the site failed, for example refused, reset or a TLS error."""


# Address checks ------------------------------------------------------------------------


# NAT64 prefixes (RFC 6052 and RFC 8215). The well-known prefix embeds the IPv4 address in
# its last 32 bits, and the local-use prefix is never a public address.
NAT64_NETWORK = ipaddress.IPv6Network("64:ff9b::/96")
LOCAL_NAT64_NETWORK = ipaddress.IPv6Network("64:ff9b:1::/48")
# Deprecated IPv4-compatible addresses (RFC 4291 section 2.5.5.1), such as ::127.0.0.1.
IPV4_COMPATIBLE_NETWORK = ipaddress.IPv6Network("::/96")


def embedded_ipv4_addresses(
    ip: ipaddress.IPv6Address,
) -> list[tuple[str, ipaddress.IPv4Address]]:
    """Return the IPv4 addresses that an IPv6 address embeds, each with its mechanism.

    The Teredo entry is the client's address, which Teredo relays deliver to.
    """
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    last_32_bits = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        found.append(("IPv4-mapped", ip.ipv4_mapped))
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        found.append(("Teredo", ip.teredo[1]))
    if ip in NAT64_NETWORK:
        found.append(("NAT64", last_32_bits))
    # :: and ::1 are the unspecified and loopback addresses, which the checks name as such.
    if ip in IPV4_COMPATIBLE_NETWORK and int(ip) > 1:
        found.append(("IPv4-compatible", last_32_bits))
    return found


@dataclass(frozen=True)
class AddressPolicy:
    """Rule for the IP addresses that fetches may connect to.

    Only global addresses are allowed unless ``allow_private`` is set. ``allowed_networks``
    admits specific non-global networks even so, for example a local test server.
    """

    allow_private: bool = False
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_settings(cls) -> AddressPolicy:
        return cls(
            allow_private=bool(getattr(settings, "ENRICHMENT_ALLOW_PRIVATE_ADDRESSES", False))
        )

    def rejection_reason(self, address: str) -> str:
        """Return why the IP address may not be connected to, or "" when it may.

        An IPv6 address that embeds an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4,
        Teredo or NAT64) is rejected when the embedded address is, because a relay or the
        host's own stack may deliver its packets to that IPv4 address.
        """
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if self.allow_private or any(ip in network for network in self.allowed_networks):
            return ""
        if isinstance(ip, ipaddress.IPv6Address):
            for kind, embedded in embedded_ipv4_addresses(ip):
                reason = self.rejection_reason(str(embedded))
                if reason:
                    return f"{ip} embeds the IPv4 address {embedded} ({kind}), and {reason}"
            if ip in LOCAL_NAT64_NETWORK:
                return f"{ip} is a local-use NAT64 address"
        # The specific kinds come first: Python also counts loopback and link-local
        # addresses as private.
        for label, test in (
            ("a loopback", ip.is_loopback),
            ("a link-local", ip.is_link_local),
            ("a multicast", ip.is_multicast),
            ("an unspecified", ip.is_unspecified),
            ("a reserved", ip.is_reserved),
            ("a private", ip.is_private),
        ):
            if test:
                return f"{ip} is {label} address"
        if not ip.is_global:
            return f"{ip} is not a public address"
        return ""


def rejected_address_clause(host: str, address: str, reason: str, *, verb: str) -> str:
    """Return a clause naming the rejected address of ``host`` and the policy's reason.

    ``verb`` links the host and the address, such as "resolves to". A host that is that
    address itself gets the reason alone, so the address is not repeated.
    """
    try:
        same = ipaddress.ip_address(host.strip("[]")) == ipaddress.ip_address(
            address.split("%", 1)[0]
        )
    except ValueError:
        same = False
    if same:
        return reason
    return f"{host} {verb} {address}, and {reason}"


def check_url(url: str, policy: AddressPolicy, *, domain: str = "") -> tuple[str, str, int]:
    """Return the scheme, host and port of an allowed URL; raise DisallowedURL otherwise.

    Every address the host resolves to must be allowed, because the connection may use
    any of them.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    label = domain or host or url
    if scheme not in ("http", "https"):
        raise DisallowedURL(
            SOURCE,
            label,
            f"the URL {url!r} uses the scheme {scheme or 'none'!r}, but only http and https "
            "URLs are fetched. Enter the company's web address, such as https://example.com.",
        )
    if not host:
        raise DisallowedURL(SOURCE, label, f"the URL {url!r} has no host name.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as error:
        raise DisallowedURL(
            SOURCE, label, f"the URL {url!r} has an invalid port ({error})."
        ) from error

    for address in resolve_host(host, port, domain=label):
        reason = policy.rejection_reason(address)
        if reason:
            logger.warning("Rejected website URL %s for %s: %s", url, label, reason)
            raise DisallowedURL(
                SOURCE,
                label,
                f"the URL {url!r} was rejected because "
                f"{rejected_address_clause(host, address, reason, verb='resolves to')}. Only "
                "public addresses are fetched. Set ENRICHMENT_ALLOW_PRIVATE_ADDRESSES = True "
                "only for local development and tests.",
            )
    return scheme, host, port


def resolve_host(host: str, port: int, *, domain: str) -> list[str]:
    """Return every IP address of the host, or raise ProviderUnavailable when it has none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        logger.warning("Could not resolve %s for %s: %s", host, domain, error)
        raise ProviderUnavailable(
            SOURCE,
            domain,
            f"the host name {host} could not be resolved ({error}). Check the web address.",
        ) from error
    return sorted({str(info[4][0]) for info in infos})


class _DisallowedPeer(Exception):
    """A socket connected to an address that the policy rejects."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        self.host = host
        self.reason = reason
        self.clause = rejected_address_clause(host, address, reason, verb="connected to")
        super().__init__(self.clause)


def guarded_adapter(
    policy: AddressPolicy, disallowed: Callable[[str, str, str], Exception] = _DisallowedPeer
) -> HTTPAdapter:
    """Build a requests adapter whose connections check the address they connected to.

    A connection to an address that ``policy`` rejects is closed, and
    ``disallowed(host, address, reason)`` is raised.
    """

    def check_peer(sock: socket.socket, host: str) -> None:
        address = str(sock.getpeername()[0])
        reason = policy.rejection_reason(address)
        if reason:
            sock.close()
            raise disallowed(host, address, reason)

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            check_peer(sock, self.host)
            return sock

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            check_peer(sock, self.host)
            return sock

    class GuardedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    class GuardedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {
                "http": GuardedHTTPConnectionPool,
                "https": GuardedHTTPSConnectionPool,
            }

    return GuardedAdapter()


# Fetching ------------------------------------------------------------------------------


@dataclass
class FetchedResource:
    """A fetched document.

    ``content`` contains at most the size limit. ``truncated`` is True when the server
    sent more.
    """

    url: str
    final_url: str
    status: int
    headers: CaseInsensitiveDict[str]
    content: bytes
    truncated: bool
    fetched_at: datetime

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()

    def text(self) -> str:
        """Decode the content with its declared or sniffed charset, replacing bad bytes."""
        return self.content.decode(_charset(self.headers, self.content), errors="replace")


def fetch_url(
    url: str,
    *,
    domain: str = "",
    accept: str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
    max_bytes: int | None = None,
    timeout_seconds: float | None = None,
    policy: AddressPolicy | None = None,
) -> FetchedResource:
    """Fetch a URL under the address, redirect, size and time rules of this module.

    Returns the response of the last hop with any status, which the caller interprets.
    Raises DisallowedURL for a rejected scheme or address on any hop, and
    ProviderUnavailable for resolution, connection and TLS failures, too many redirects
    and a fetch that exceeds the time limit.

    NOTE: host name resolution is not bounded by the time limit. The system resolver's
    own timeout applies to it.
    """
    policy = policy or AddressPolicy.from_settings()
    max_bytes = max_bytes if max_bytes is not None else website_max_bytes()
    timeout_seconds = timeout_seconds if timeout_seconds is not None else website_timeout()
    deadline = time.monotonic() + timeout_seconds
    label = domain or urlsplit(url).hostname or url

    with requests.Session() as session:
        session.trust_env = False
        adapter = guarded_adapter(policy)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            check_url(current, policy, domain=label)
            response = _get(session, current, accept, deadline, timeout_seconds, label)
            location = response.headers.get("Location")
            if response.status_code in _REDIRECT_STATUSES and location:
                response.close()
                target = urljoin(current, location)
                logger.info("Website %s redirects to %s", current, target)
                current = target
                continue
            try:
                content, truncated = _read_limited(
                    response, max_bytes, deadline, timeout_seconds, label
                )
            finally:
                response.close()
            return FetchedResource(
                url=url,
                final_url=current,
                status=response.status_code,
                headers=CaseInsensitiveDict(response.headers),
                content=content,
                truncated=truncated,
                fetched_at=timezone.now(),
            )
    logger.warning("Website %s for %s redirected more than %s times", url, label, MAX_REDIRECTS)
    raise ProviderUnavailable(
        SOURCE, label, f"{url} redirected more than {MAX_REDIRECTS} times. Check the web address."
    )


def _get(
    session: requests.Session,
    url: str,
    accept: str,
    deadline: float,
    timeout_seconds: float,
    label: str,
) -> requests.Response:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _timed_out(url, timeout_seconds, label)
    try:
        return session.get(
            url,
            headers={"User-Agent": USER_AGENT, "Accept": accept},
            stream=True,
            allow_redirects=False,
            timeout=(min(CONNECT_TIMEOUT_SECONDS, remaining), remaining),
        )
    except _DisallowedPeer as error:
        logger.warning("Rejected connection to %s for %s: %s", url, label, error.reason)
        raise DisallowedURL(
            SOURCE,
            label,
            f"the connection to {error.host} was rejected because {error.clause}. Only public "
            "addresses are fetched.",
        ) from error
    except requests.Timeout as error:
        logger.warning("Website %s for %s timed out: %s", url, label, error)
        raise _timed_out(url, timeout_seconds, label) from error
    except requests.RequestException as error:
        logger.warning("Website %s for %s failed: %s", url, label, error)
        raise WebsiteConnectionError(
            SOURCE, label, f"{url} could not be fetched ({error}). Check the address or try later."
        ) from error


def _read_limited(
    response: requests.Response, max_bytes: int, deadline: float, timeout_seconds: float, label: str
) -> tuple[bytes, bool]:
    """Read the body up to ``max_bytes`` (after decompression) and before the deadline.

    read1 returns what one socket read delivers, so a server that sends slowly is
    noticed at the next chunk. NOTE: a server that sends nothing at all is noticed only
    when the read timeout, which equals the time left at the request, runs out.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise _timed_out(response.url, timeout_seconds, label)
            chunk = response.raw.read1(_READ_CHUNK_BYTES, decode_content=True)
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                logger.info(
                    "Website %s for %s is larger than %s bytes: reading stopped",
                    response.url,
                    label,
                    max_bytes,
                )
                return b"".join(chunks)[:max_bytes], True
    except (requests.RequestException, Urllib3HTTPError, OSError) as error:
        logger.warning("Reading %s for %s failed: %s", response.url, label, error)
        raise ProviderUnavailable(
            SOURCE, label, f"reading {response.url} failed ({error}). Try again later."
        ) from error


def _timed_out(url: str, timeout_seconds: float, label: str) -> ProviderUnavailable:
    logger.warning("Website %s for %s took longer than %ss", url, label, timeout_seconds)
    return ProviderUnavailable(
        SOURCE,
        label,
        f"fetching {url} took longer than the limit of {timeout_seconds:g} seconds. "
        "Try again later or raise ENRICHMENT_WEBSITE_TIMEOUT_SECONDS.",
    )


def website_max_bytes() -> int:
    """Return ENRICHMENT_WEBSITE_MAX_BYTES, the most bytes read from one page or feed."""
    return int(getattr(settings, "ENRICHMENT_WEBSITE_MAX_BYTES", DEFAULT_MAX_BYTES))


def website_timeout() -> float:
    """Return ENRICHMENT_WEBSITE_TIMEOUT_SECONDS, the time limit of one fetch with redirects."""
    return float(getattr(settings, "ENRICHMENT_WEBSITE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))


_META_CHARSET_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)


def _charset(headers: CaseInsensitiveDict[str], content: bytes) -> str:
    candidates: list[str] = []
    match = re.search(
        r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", headers.get("Content-Type", ""), re.I
    )
    if match:
        candidates.append(match.group(1))
    if content.startswith(codecs.BOM_UTF8):
        candidates.append("utf-8-sig")
    meta = _META_CHARSET_RE.search(content[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii"))
    for candidate in candidates:
        try:
            return codecs.lookup(candidate).name
        except LookupError:
            continue
    return "utf-8"


# Provider ------------------------------------------------------------------------------


@dataclass
class WebsitePage:
    """A fetched home page with what was read from it."""

    resource: FetchedResource
    metadata: PageMetadata
    technologies: list[str]


def read_company_page(
    url: str,
    *,
    domain: str = "",
    policy: AddressPolicy | None = None,
    company_domain: str = "",
) -> WebsitePage:
    """Fetch an HTML page and read its metadata and technologies.

    ``domain`` labels the page in errors and logs. ``company_domain`` is the company's own
    registrable domain, whose links are not social profiles (see parse_page).

    Raises the errors of fetch_url, CompanyNotFound for 404 and 410, ProviderRateLimited
    for 429, ProviderUnavailable for other error statuses and UnexpectedContent for a
    body that is not HTML.
    """
    label = domain or urlsplit(url).hostname or url
    resource = fetch_url(url, domain=label, policy=policy)
    raise_for_fetch_status(resource, label)
    if resource.content_type and resource.content_type not in HTML_CONTENT_TYPES:
        logger.warning("Website %s for %s sent %s, not HTML", url, label, resource.content_type)
        raise UnexpectedContent(
            SOURCE,
            label,
            f"{resource.final_url} is {resource.content_type}, not an HTML page. Enter the "
            "address of the company's home page.",
        )
    html = resource.text()
    metadata = parse_page(html, resource.final_url, company_domain)
    technologies = detect_technologies(html, resource.headers, resource.final_url)
    return WebsitePage(resource=resource, metadata=metadata, technologies=technologies)


def raise_for_fetch_status(resource: FetchedResource, label: str, source: str = SOURCE) -> None:
    """Raise the ProviderError for a non-2xx status of a fetched page or feed.

    404 and 410 raise CompanyNotFound, 429 ProviderRateLimited and any other status
    ProviderUnavailable. ``source`` names the caller in the error.
    """
    status = resource.status
    if 200 <= status < 300:
        return
    logger.warning("%s %s for %s returned HTTP %s", source, resource.final_url, label, status)
    if status in (404, 410):
        raise CompanyNotFound(
            source, label, f"{resource.final_url} returned HTTP {status}. Check the web address."
        )
    if status == 429:
        retry_after = parse_retry_after(resource.headers) or 60.0
        raise ProviderRateLimited(
            source,
            label,
            f"{resource.final_url} returned 429 Too Many Requests. Try again in "
            f"{retry_after:.0f} seconds.",
            retry_after=retry_after,
        )
    raise ProviderUnavailable(
        source,
        label,
        f"{resource.final_url} returned HTTP {status}. The site may be down or may block "
        "automated requests. Try again later.",
    )


class WebsiteProvider(Provider):
    """Reads facts from the company's own home page."""

    name = SOURCE

    def __init__(self, policy: AddressPolicy | None = None) -> None:
        super().__init__()
        self.policy = policy

    def fetch(self, domain: str) -> CompanyFacts:
        """Fetch ``https://<domain>/``, falling back to http when https cannot connect."""
        try:
            return self.lookup_url(f"https://{domain}/", domain=domain)
        except WebsiteConnectionError as error:
            logger.info("https failed for %s (%s): trying http", domain, error.detail)
            return self.lookup_url(f"http://{domain}/", domain=domain)

    def lookup_url(self, url: str, *, domain: str = "") -> CompanyFacts:
        """Read the page at a user-given URL into CompanyFacts.

        ``domain`` is the company's own domain. Without it the domain is taken from the
        URL for the facts, but the URL may be a page on another platform, so its links
        to that platform still count as social profiles.
        """
        company_domain = domain
        domain = domain or _domain_of(url)
        page = read_company_page(
            url, domain=domain, policy=self.policy, company_domain=company_domain
        )
        return map_page(page, domain)


def _domain_of(url: str) -> str:
    try:
        domain = normalize_domain(url)
    except UnparsedValue as error:
        host = urlsplit(url if "//" in url else f"//{url}").hostname
        if not host:
            raise InvalidDomain(SOURCE, url, str(error)) from error
        # IP addresses and single-label hosts have no registrable domain.
        return host
    return domain or url


def map_page(page: WebsitePage, domain: str) -> CompanyFacts:
    """Map a read page to CompanyFacts."""
    metadata = page.metadata
    resource = page.resource
    facts = CompanyFacts(
        source=SOURCE,
        domain=domain,
        name=_company_name(metadata, domain),
        description=clean_text(metadata.description or metadata.og.get("description", "")),
        technologies=page.technologies,
        social_links=dict(metadata.social_links),
        fetched_at=resource.fetched_at,
        raw={
            "url": resource.url,
            "final_url": resource.final_url,
            "status": resource.status,
            "title": metadata.title,
            "og": metadata.og,
            "feed_urls": metadata.feed_urls,
            "truncated": resource.truncated,
            "server": resource.headers.get("Server", ""),
        },
    )
    try:
        facts.website = website_url(resource.final_url) or ""
    except UnparsedValue:
        facts.website = resource.final_url
    return facts


_TITLE_SEPARATOR_RE = re.compile(r"\s+[|\-–—:·•]\s+")


def _company_name(metadata: PageMetadata, domain: str) -> str:
    """Return og:site_name, or the part of the title that contains the domain's name.

    Titles such as "Home - Acme" put the company name anywhere, so a part is used only
    when it contains the first label of the domain (``acme`` for ``acme.com``).
    """
    site_name = clean_text(metadata.og.get("site_name", ""))
    if site_name:
        return site_name
    label = re.sub(r"[^a-z0-9]", "", domain.split(".", 1)[0].lower())
    if not label:
        return ""
    for part in _TITLE_SEPARATOR_RE.split(metadata.title):
        if label in re.sub(r"[^a-z0-9]", "", part.lower()):
            return clean_text(part)
    return ""
