"""Metadata that a company's HTML page declares about itself.

``parse_page`` reads the title, meta descriptions, Open Graph tags, social profile links
and RSS or Atom feed links. It uses the standard library's HTMLParser, which accepts
malformed markup, so a broken page gives fewer fields instead of an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

# Path prefixes of share buttons and platform pages that are not a company's profile.
_SOCIAL_SKIP_PATHS = {
    "linkedin": ("shareArticle", "sharing", "feed", "login"),
    "twitter": ("intent", "share", "home", "search", "hashtag", "i", "login"),
    "facebook": ("sharer", "sharer.php", "dialog", "plugins", "tr", "login.php"),
    "github": ("features", "about", "pricing", "login", "marketplace", "sponsors", "topics"),
}
_SOCIAL_HOSTS = {
    "linkedin.com": "linkedin",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "github.com": "github",
}
_FEED_TYPES = ("application/rss+xml", "application/atom+xml")


@dataclass
class PageMetadata:
    """Metadata that a page declares about itself.

    ``meta`` maps lower-case ``name`` and ``property`` attributes of meta tags to their
    content. ``og`` contains the Open Graph subset without the ``og:`` prefix.
    """

    title: str = ""
    description: str = ""
    og: dict[str, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    social_links: dict[str, str] = field(default_factory=dict)
    feed_urls: list[str] = field(default_factory=list)
    canonical_url: str = ""
    language: str = ""


class _PageParser(HTMLParser):
    def __init__(self, base_url: str, company_domain: str = "") -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.company_domain = company_domain
        self.metadata = PageMetadata()
        self._in_title = False
        self._title_parts: list[str] = []
        self._title_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name.lower(): (value or "") for name, value in attrs}
        if tag == "html" and attributes.get("lang"):
            self.metadata.language = attributes["lang"].strip()
        elif tag == "base" and attributes.get("href"):
            self.base_url = urljoin(self.base_url, attributes["href"])
        elif tag == "title" and not self._title_done:
            self._in_title = True
        elif tag == "meta":
            self._read_meta(attributes)
        elif tag == "link":
            self._read_link(attributes)
        elif tag == "a" and attributes.get("href"):
            self._add_social_link(attributes["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self._title_done = True

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)

    def close(self) -> None:
        super().close()
        self.metadata.title = " ".join("".join(self._title_parts).split())

    def _read_meta(self, attributes: dict[str, str]) -> None:
        key = (attributes.get("property") or attributes.get("name") or "").strip().lower()
        content = " ".join(attributes.get("content", "").split())
        if not key or not content or key in self.metadata.meta:
            return
        self.metadata.meta[key] = content
        if key.startswith("og:"):
            self.metadata.og[key[3:]] = content
        if key == "description":
            self.metadata.description = content

    def _read_link(self, attributes: dict[str, str]) -> None:
        rel = attributes.get("rel", "").lower().split()
        href = attributes.get("href", "").strip()
        if not href:
            return
        if "alternate" in rel and attributes.get("type", "").lower() in _FEED_TYPES:
            url = urljoin(self.base_url, href)
            if url not in self.metadata.feed_urls:
                self.metadata.feed_urls.append(url)
        elif "canonical" in rel and not self.metadata.canonical_url:
            self.metadata.canonical_url = urljoin(self.base_url, href)
        elif "me" in rel:
            self._add_social_link(href)

    def _add_social_link(self, href: str) -> None:
        network, url = social_profile(urljoin(self.base_url, href), self.company_domain)
        if network and network not in self.metadata.social_links:
            self.metadata.social_links[network] = url


def social_profile(url: str, company_domain: str = "") -> tuple[str, str]:
    """Return the network and cleaned profile URL of a social link, or ("", "").

    A link to ``company_domain`` (the registrable domain of the company whose page links)
    is a page of the company's own website, not a profile on someone else's platform, so
    facebook.com's links to facebook.com return ("", "").
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "", ""
    host = (parts.hostname or "").lower()
    company_domain = company_domain.lower()
    if company_domain and (host == company_domain or host.endswith(f".{company_domain}")):
        return "", ""
    for prefix in ("www.", "mobile.", "m.", "web."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    network = _SOCIAL_HOSTS.get(host)
    if network is None and host.endswith(".linkedin.com"):
        network = "linkedin"
    if network is None:
        return "", ""
    segments = [segment for segment in parts.path.split("/") if segment]
    if not segments or segments[0] in _SOCIAL_SKIP_PATHS[network]:
        return "", ""
    if network == "linkedin":
        if segments[0] not in ("company", "school", "showcase") or len(segments) < 2:
            return "", ""
        path = "/".join(segments[:2])
    else:
        path = segments[0]
    return network, urlunsplit(("https", parts.netloc.lower(), "/" + path, "", ""))


def parse_page(html: str, base_url: str, company_domain: str = "") -> PageMetadata:
    """Read the title, meta and Open Graph tags, social links and feed links of a page.

    ``company_domain`` is the registrable domain of the company whose page it is. Links
    to that domain are not social profile links, even on a social platform's own site.
    """
    parser = _PageParser(base_url, company_domain)
    parser.feed(html)
    parser.close()
    metadata = parser.metadata
    twitter_site = metadata.meta.get("twitter:site", "").lstrip("@")
    if (
        twitter_site
        and "twitter" not in metadata.social_links
        and company_domain not in ("twitter.com", "x.com")
        and re.fullmatch(r"\w{1,15}", twitter_site)
    ):
        metadata.social_links["twitter"] = f"https://twitter.com/{twitter_site}"
    return metadata
