"""Read a company's RSS or Atom feed and propose research notes about funding, hires and expansion.

Feeds are fetched with the address, redirect, size and time rules of enrichment.website.
A feed larger than the size limit is rejected, because a cut XML document cannot be parsed.

The XML parser rejects entity declarations, which blocks the "billion laughs" and
"quadratic blowup" attacks that Expat releases before 2.7.2 allow (Python documentation,
"XML security"). External entities and DTDs are never fetched. ``defusedxml`` does this
when it is installed; otherwise Expat is driven directly with a handler that rejects
entity declarations.

``classify`` reads the title first and the summary only when the title matches nothing.
Funding wins over hires, and hires over expansion.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit
from xml.parsers import expat

from django.utils.dateparse import parse_datetime

from enrichment.providers.base import ProviderError
from enrichment.website import (
    AddressPolicy,
    FetchedResource,
    fetch_url,
    raise_for_fetch_status,
    website_max_bytes,
)

logger = logging.getLogger(__name__)

SOURCE = "feed"
MAX_SUMMARY_LENGTH = 280
DEFAULT_ITEM_LIMIT = 50
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)

ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
DUBLIN_CORE = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"


class InvalidFeed(ProviderError):
    """The document is not a readable RSS or Atom feed."""


class NoteKind(StrEnum):
    FUNDING = "funding"
    HIRE = "hire"
    EXPANSION = "expansion"
    OTHER = "other"


@dataclass(frozen=True)
class FeedItem:
    """One feed entry with its summary as plain text."""

    title: str
    url: str
    published_at: datetime | None
    summary: str


@dataclass(frozen=True)
class ResearchNote:
    """A proposed research note for a person to accept or dismiss.

    ``summary`` is plain text of at most MAX_SUMMARY_LENGTH characters.
    """

    kind: NoteKind
    title: str
    url: str
    published_at: datetime | None
    summary: str
    feed_url: str = ""


# Classification ------------------------------------------------------------------------

_AMOUNT = r"(?:[$€£¥]\s?\d|\b\d+(?:[.,]\d+)?\s?(?:k|m|mm|mn|million|b|bn|billion)\b)"
_FUNDING_PATTERNS = (
    r"\b(?:raises?|raised|raising|secures?|secured|closes?|closed|lands?|landed|announces?)\b"
    rf"[^.!?]{{0,60}}?(?:{_AMOUNT}|\bseries [a-h]\b|\bseed\b|\bfunding\b|\bfinancing\b"
    r"|\binvestment\b)",
    r"\bseries [a-h]\b",
    r"\b(?:pre-)?seed (?:round|funding|financing)\b",
    r"\bfunding round\b",
    r"\bround of (?:funding|financing)\b",
    r"\bventure (?:funding|financing|round|debt)\b",
    r"\bgrowth (?:equity|round)\b",
)
_ROLE = (
    r"(?:ceo|cto|cfo|coo|cmo|cro|cpo|ciso|chief [a-z]+ officer|vp|svp|evp|vice president"
    r"|president|head of|general manager|managing director|chair(?:man|woman|person)?)"
)
_HIRE_PATTERNS = (
    r"\bappoint(?:s|ed|ment)?\b",
    r"\bjoins? (?:[\w-]+ ){0,3}as\b",
    r"\bhires\b|\bhired\b",
    rf"\bnew {_ROLE}\b",
    rf"\bnames? [^.!?]{{0,60}}?\b{_ROLE}\b",
    r"\bpromot(?:es|ed)\b[^.!?]{0,60}?\bto\b",
    r"\bwelcomes?\b[^.!?]{0,60}?\b(?:as|to (?:the|our|its) (?:board|leadership|executive))\b",
)
_PLACES = (
    r"(?:office|offices|headquarters|hq|hub|facility|location|store|branch|campus|studio"
    r"|data ?cent(?:er|re))"
)
_EXPANSION_PATTERNS = (
    rf"\bopens? (?:a |an |its |our |the )?(?:new )?(?:[\w-]+ ){{0,2}}{_PLACES}\b",
    r"\bexpands? (?:[\w-]+ ){0,3}(?:in)?to\b",
    r"\bexpansion (?:in|into|to|across)\b",
    # "launches in Germany", but not "launches in beta".
    r"\blaunch(?:es|ed)? (?:operations |services |business )?in\b"
    r"(?! (?:beta|alpha|preview|early access|general availability|ga)\b)",
    r"\benters? (?:the )?(?:[\w-]+ ){0,3}market\b",
    rf"\bnew {_PLACES} in\b",
)


def _compile_all(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)


_RULES: tuple[tuple[NoteKind, tuple[re.Pattern[str], ...]], ...] = (
    (NoteKind.FUNDING, _compile_all(_FUNDING_PATTERNS)),
    (NoteKind.HIRE, _compile_all(_HIRE_PATTERNS)),
    (NoteKind.EXPANSION, _compile_all(_EXPANSION_PATTERNS)),
)


def classify(title: str, summary: str = "") -> NoteKind:
    """Return the kind of news an item reports, from its title or else its summary."""
    for text in (title, summary):
        for kind, patterns in _RULES:
            if any(pattern.search(text) for pattern in patterns):
                return kind
    return NoteKind.OTHER


def shorten(text: str, limit: int = MAX_SUMMARY_LENGTH) -> str:
    """Collapse whitespace and cut at a word boundary to at most ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.-")
    if not cut:
        cut = text[: limit - 1]
    return cut + "…"


def propose_notes(items: Iterable[FeedItem], feed_url: str = "") -> list[ResearchNote]:
    """Turn feed items into research notes with a kind and a short summary."""
    return [
        ResearchNote(
            kind=classify(item.title, item.summary),
            title=item.title,
            url=item.url,
            published_at=item.published_at,
            summary=shorten(item.summary),
            feed_url=feed_url,
        )
        for item in items
    ]


# Fetching and parsing ------------------------------------------------------------------


def read_feed(
    url: str,
    *,
    domain: str = "",
    limit: int = DEFAULT_ITEM_LIMIT,
    policy: AddressPolicy | None = None,
) -> list[ResearchNote]:
    """Fetch a feed and return research notes for its first ``limit`` items.

    Raises the errors of fetch_url, the status errors of raise_for_fetch_status and
    InvalidFeed for a document that is too large or not a feed.
    """
    label = domain or urlsplit(url).hostname or url
    resource = fetch_url(url, domain=label, accept=FEED_ACCEPT, policy=policy)
    raise_for_fetch_status(resource, label, source=SOURCE)
    items = parse_feed_resource(resource, label)
    notes = propose_notes(items[:limit], feed_url=resource.final_url)
    logger.info(
        "Read %s items from feed %s for %s: %s funding, %s hire, %s expansion",
        len(notes),
        resource.final_url,
        label,
        sum(note.kind == NoteKind.FUNDING for note in notes),
        sum(note.kind == NoteKind.HIRE for note in notes),
        sum(note.kind == NoteKind.EXPANSION for note in notes),
    )
    return notes


def parse_feed_resource(resource: FetchedResource, domain: str) -> list[FeedItem]:
    """Parse a fetched feed; a body cut at the size limit raises InvalidFeed."""
    if resource.truncated:
        logger.warning(
            "Feed %s for %s exceeds %s bytes", resource.final_url, domain, website_max_bytes()
        )
        raise InvalidFeed(
            SOURCE,
            domain,
            f"the feed {resource.final_url} is larger than {website_max_bytes()} bytes, the "
            "ENRICHMENT_WEBSITE_MAX_BYTES limit.",
        )
    return parse_feed(resource.content, base_url=resource.final_url, domain=domain)


def parse_feed(data: bytes, *, base_url: str = "", domain: str = "") -> list[FeedItem]:
    """Parse RSS 2.0, RSS 1.0 (RDF) or Atom 1.0 into FeedItems, in document order."""
    root = parse_xml(data, domain=domain or base_url)
    if root.tag == f"{ATOM}feed":
        entries = root.findall(f"{ATOM}entry")
        return [_atom_item(entry, base_url) for entry in entries]
    if root.tag == "rss":
        channel = root.find("channel")
        items = channel.findall("item") if channel is not None else []
        return [_rss_item(item, base_url, namespace="") for item in items]
    if root.tag.endswith("RDF"):
        return [_rss_item(item, base_url, namespace=RSS1) for item in root.findall(f"{RSS1}item")]
    raise InvalidFeed(
        SOURCE,
        domain or base_url,
        f"the document's root element is {root.tag!r}, not an RSS or Atom feed.",
    )


def parse_xml(data: bytes, *, domain: str = "") -> ElementTree.Element:
    """Parse XML with entity declarations rejected; raise InvalidFeed for bad documents."""
    try:
        from defusedxml import DefusedXmlException
        from defusedxml.ElementTree import fromstring
    except ImportError:
        return _parse_with_expat(data, domain)
    try:
        return fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        logger.warning("Rejected feed XML for %s: %s", domain, error)
        raise InvalidFeed(
            SOURCE, domain, f"the feed declares entities, which are not allowed ({error})."
        ) from error
    except ElementTree.ParseError as error:
        logger.warning("Feed XML for %s is not well-formed: %s", domain, error)
        raise InvalidFeed(SOURCE, domain, f"the feed is not well-formed XML ({error}).") from error


class _EntityDeclared(Exception):
    pass


def _parse_with_expat(data: bytes, domain: str) -> ElementTree.Element:
    """Build an ElementTree with Expat, failing on any entity declaration."""
    builder = ElementTree.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")

    def reject_entity(*_args: object) -> None:
        raise _EntityDeclared("the feed declares an entity")

    def qualified(name: str) -> str:
        return "{" + name if "}" in name else name

    def start(name: str, attributes: dict[str, str]) -> None:
        builder.start(qualified(name), {qualified(key): value for key, value in attributes.items()})

    parser.EntityDeclHandler = reject_entity
    parser.UnparsedEntityDeclHandler = reject_entity
    parser.ExternalEntityRefHandler = reject_entity
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda name: builder.end(qualified(name))
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
        return builder.close()
    except _EntityDeclared as error:
        logger.warning("Rejected feed XML for %s: %s", domain, error)
        raise InvalidFeed(
            SOURCE, domain, "the feed declares entities, which are not allowed."
        ) from error
    except expat.ExpatError as error:
        logger.warning("Feed XML for %s is not well-formed: %s", domain, error)
        raise InvalidFeed(SOURCE, domain, f"the feed is not well-formed XML ({error}).") from error


def _item_url(base_url: str, link: str) -> str:
    """Return an item's absolute http(s) link, or "" for none or another scheme.

    A feed is untrusted input: a javascript: or data: link must not reach a note's source
    link, which the API serves to other tools.
    """
    if not link:
        return ""
    url = urljoin(base_url, link.strip())
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        logger.info("Feed item link %r dropped: not an http or https address", link[:200])
        return ""
    return url


def _rss_item(item: ElementTree.Element, base_url: str, *, namespace: str) -> FeedItem:
    title = _text(item.find(f"{namespace}title"))
    link = _text(item.find(f"{namespace}link")) or _text(item.find("guid"))
    published = _parse_date(_text(item.find("pubDate")) or _text(item.find(f"{DUBLIN_CORE}date")))
    summary_html = _text(item.find(f"{namespace}description")) or _text(
        item.find(f"{CONTENT}encoded")
    )
    return FeedItem(
        title=_plain(title),
        url=_item_url(base_url, link),
        published_at=published,
        summary=_plain(summary_html),
    )


def _atom_item(entry: ElementTree.Element, base_url: str) -> FeedItem:
    link = ""
    for candidate in entry.findall(f"{ATOM}link"):
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            link = candidate.get("href", "")
            break
    summary = entry.find(f"{ATOM}summary")
    if summary is None:
        summary = entry.find(f"{ATOM}content")
    published = _parse_date(
        _text(entry.find(f"{ATOM}published")) or _text(entry.find(f"{ATOM}updated"))
    )
    return FeedItem(
        title=_plain(_element_text(entry.find(f"{ATOM}title"))),
        url=_item_url(base_url, link),
        published_at=published,
        summary=_plain(_element_text(summary)),
    )


def _text(element: ElementTree.Element | None) -> str:
    if element is None or element.text is None:
        return ""
    return element.text.strip()


def _element_text(element: ElementTree.Element | None) -> str:
    """Return all text of an element, including that of XHTML children."""
    if element is None:
        return ""
    return "".join(element.itertext()).strip()


def _parse_date(text: str) -> datetime | None:
    """Parse an RFC 822 (RSS) or ISO 8601 (Atom, Dublin Core) date as an aware datetime."""
    if not text:
        return None
    moment: datetime | None = None
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipped = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skipped += 1
        elif tag in ("p", "br", "div", "li"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skipped:
            self._skipped -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipped:
            self.parts.append(data)


def _plain(html_text: str) -> str:
    """Return the text of an HTML fragment with tags removed and whitespace collapsed."""
    if not html_text:
        return ""
    extractor = _TextExtractor()
    extractor.feed(html_text)
    extractor.close()
    return " ".join("".join(extractor.parts).split())
