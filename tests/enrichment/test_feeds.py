import sys
from datetime import UTC, datetime

import pytest

from enrichment.feeds import (
    MAX_SUMMARY_LENGTH,
    FeedItem,
    InvalidFeed,
    NoteKind,
    classify,
    parse_feed,
    propose_notes,
    read_feed,
    shorten,
)

from .fake_server import FakeResponse

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>Northwind News</title>
  <link>https://northwind-analytics.com/news</link>
  <item>
    <title>Northwind raises $20M Series B to expand its sales team</title>
    <link>https://northwind-analytics.com/news/series-b</link>
    <pubDate>Tue, 04 Jun 2024 09:30:00 +0000</pubDate>
    <description>&lt;p&gt;Led by &lt;b&gt;Acme Ventures&lt;/b&gt;,
      the round brings total funding to $32M.&lt;/p&gt;</description>
  </item>
  <item>
    <title>Jane Doe joins as VP of Sales</title>
    <link>/news/jane-doe</link>
    <pubDate>Mon, 03 Jun 2024 08:00:00 GMT</pubDate>
    <description>Jane comes from a decade of enterprise sales leadership.</description>
  </item>
  <item>
    <title>Northwind opens office in Singapore</title>
    <link>https://northwind-analytics.com/news/singapore</link>
    <description>Our first office in Asia.</description>
  </item>
  <item>
    <title>Product update: faster exports</title>
    <link>https://northwind-analytics.com/news/exports</link>
    <description>Exports now finish in seconds.</description>
  </item>
</channel>
</rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Brightwave Blog</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6</id>
  <updated>2024-05-01T10:00:00Z</updated>
  <entry>
    <title>Brightwave appoints Sam Lee as Chief Technology Officer</title>
    <link rel="alternate" href="https://brightwave.io/blog/cto"/>
    <link rel="edit" href="https://brightwave.io/api/entries/1"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <published>2024-05-01T10:00:00+02:00</published>
    <updated>2024-05-02T10:00:00Z</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
      <p>Sam led platform teams at two <em>data</em> companies.</p>
    </div></content>
  </entry>
  <entry>
    <title type="html">Brightwave launches in Japan</title>
    <link href="https://brightwave.io/blog/japan"/>
    <id>urn:uuid:2</id>
    <updated>2024-04-01T00:00:00Z</updated>
    <summary>Tokyo customers now get local support.</summary>
  </entry>
</feed>
"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://example.org/"><title>News</title></channel>
  <item rdf:about="https://example.org/1">
    <title>Example closes seed round</title>
    <link>https://example.org/1</link>
    <dc:date>2024-02-01T12:00:00Z</dc:date>
    <description>Seed funding for the next year.</description>
  </item>
</rdf:RDF>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<rss version="2.0"><channel><item><title>&lol3;</title></item></channel></rss>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&secret;</title></item></channel></rss>
"""

RSS_091_DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><item><title>Acme hires a new CFO</title>
<link>https://acme.com/cfo</link></item></channel></rss>
"""


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("Northwind raises $20M Series B to expand its sales team", NoteKind.FUNDING),
        ("Acme closes €5 million seed round", NoteKind.FUNDING),
        ("Brightwave announces new funding round led by Index", NoteKind.FUNDING),
        ("Acme secures Series A financing", NoteKind.FUNDING),
        ("Acme appoints Jane Doe as Chief Revenue Officer", NoteKind.HIRE),
        ("John Smith joins as VP of Sales", NoteKind.HIRE),
        ("Acme hires former Stripe executive to lead partnerships", NoteKind.HIRE),
        ("Meet our new CTO", NoteKind.HIRE),
        ("Acme names Maria Garcia CEO", NoteKind.HIRE),
        ("Acme opens office in Berlin", NoteKind.EXPANSION),
        ("Acme opens its new European headquarters", NoteKind.EXPANSION),
        ("Acme expands to Latin America", NoteKind.EXPANSION),
        ("Brightwave launches in Japan", NoteKind.EXPANSION),
        ("Acme enters the Brazilian market", NoteKind.EXPANSION),
        ("Acme launches in beta: the new dashboard", NoteKind.OTHER),
        ("How we raised the bar for data quality", NoteKind.OTHER),
        ("We're hiring engineers", NoteKind.OTHER),
        ("Product update: faster exports", NoteKind.OTHER),
    ],
)
def test_classify_titles(title, kind):
    assert classify(title) == kind


def test_classify_uses_summary_when_title_neutral():
    kind = classify("Weekly update", "This week Acme opens a new office in Austin.")

    assert kind == NoteKind.EXPANSION


def test_classify_prefers_title():
    kind = classify("Acme appoints a new CFO", "The CFO led the Series C round at her last job.")

    assert kind == NoteKind.HIRE


def test_shorten_caps_length():
    text = "word " * 200

    short = shorten(text)

    assert len(short) <= MAX_SUMMARY_LENGTH
    assert short.endswith("…")
    assert "  " not in short


def test_shorten_keeps_short_text():
    assert shorten("  Two   words ") == "Two words"


def test_rss_items_parsed():
    items = parse_feed(RSS, base_url="https://northwind-analytics.com/feed/")

    assert len(items) == 4
    assert items[0].title == "Northwind raises $20M Series B to expand its sales team"
    assert items[0].url == "https://northwind-analytics.com/news/series-b"
    assert items[0].published_at == datetime(2024, 6, 4, 9, 30, tzinfo=UTC)
    assert items[0].summary == "Led by Acme Ventures, the round brings total funding to $32M."
    assert items[1].url == "https://northwind-analytics.com/news/jane-doe"
    assert items[2].published_at is None


def test_atom_entries_parsed():
    items = parse_feed(ATOM, base_url="https://brightwave.io/atom.xml")

    assert len(items) == 2
    assert items[0].url == "https://brightwave.io/blog/cto"
    assert items[0].published_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert items[0].summary == "Sam led platform teams at two data companies."
    assert items[1].published_at == datetime(2024, 4, 1, tzinfo=UTC)
    assert items[1].summary == "Tokyo customers now get local support."


def test_rdf_items_parsed():
    items = parse_feed(RDF)

    assert items[0].title == "Example closes seed round"
    assert items[0].published_at == datetime(2024, 2, 1, 12, tzinfo=UTC)


def test_notes_classified_and_short():
    notes = propose_notes(parse_feed(RSS), feed_url="https://northwind-analytics.com/feed/")

    assert [note.kind for note in notes] == [
        NoteKind.FUNDING,
        NoteKind.HIRE,
        NoteKind.EXPANSION,
        NoteKind.OTHER,
    ]
    assert all(len(note.summary) <= MAX_SUMMARY_LENGTH for note in notes)
    assert notes[0].feed_url == "https://northwind-analytics.com/feed/"


def test_long_summary_shortened():
    item = FeedItem(title="Acme raises $5M", url="", published_at=None, summary="detail " * 100)

    note = propose_notes([item])[0]

    assert len(note.summary) <= MAX_SUMMARY_LENGTH
    assert note.summary.endswith("…")


@pytest.fixture(params=["defusedxml", "expat"])
def xml_parser(request, monkeypatch):
    """Run a test with defusedxml and again with the Expat fallback."""
    if request.param == "defusedxml":
        pytest.importorskip("defusedxml")
    else:
        monkeypatch.setitem(sys.modules, "defusedxml", None)
        monkeypatch.setitem(sys.modules, "defusedxml.ElementTree", None)
    return request.param


def test_entity_expansion_rejected(xml_parser):
    with pytest.raises(InvalidFeed) as raised:
        parse_feed(BILLION_LAUGHS)

    assert "entities" in str(raised.value)


def test_external_entity_rejected(xml_parser):
    with pytest.raises(InvalidFeed):
        parse_feed(EXTERNAL_ENTITY)


def test_doctype_without_entities_accepted(xml_parser):
    items = parse_feed(RSS_091_DOCTYPE)

    assert items[0].title == "Acme hires a new CFO"


def test_namespaced_feed_parsed(xml_parser):
    items = parse_feed(ATOM)

    assert items[0].title == "Brightwave appoints Sam Lee as Chief Technology Officer"


def test_malformed_xml_rejected(xml_parser):
    with pytest.raises(InvalidFeed) as raised:
        parse_feed(b"<rss><channel><item></channel>")

    assert "not well-formed" in str(raised.value)


def test_html_document_rejected():
    with pytest.raises(InvalidFeed) as raised:
        parse_feed(b"<html><body>Not a feed</body></html>")

    assert "'html'" in str(raised.value)


def test_read_feed_from_server(settings, fake_server):
    settings.ENRICHMENT_ALLOW_PRIVATE_ADDRESSES = True
    fake_server.route(
        "GET", "/feed/", FakeResponse(body=RSS, headers={"Content-Type": "application/rss+xml"})
    )

    notes = read_feed(fake_server.url + "/feed/", limit=2)

    assert [note.kind for note in notes] == [NoteKind.FUNDING, NoteKind.HIRE]
    assert notes[1].url == fake_server.url + "/news/jane-doe"
    assert notes[0].feed_url == fake_server.url + "/feed/"


def test_read_feed_refuses_private_address(fake_server):
    from enrichment.website import DisallowedURL

    with pytest.raises(DisallowedURL):
        read_feed(fake_server.url + "/feed/")

    assert fake_server.count() == 0


def test_oversized_feed_rejected(settings, fake_server):
    settings.ENRICHMENT_ALLOW_PRIVATE_ADDRESSES = True
    settings.ENRICHMENT_WEBSITE_MAX_BYTES = 1000
    fake_server.route("GET", "/feed/", FakeResponse(body=RSS))

    with pytest.raises(InvalidFeed) as raised:
        read_feed(fake_server.url + "/feed/")

    assert "larger than 1000 bytes" in str(raised.value)


@pytest.mark.parametrize(
    "link", ["javascript:alert(3)", " JavaScript:alert(3)", "data:text/html,<b>x</b>"]
)
def test_item_link_other_scheme_dropped(link):
    feed = (
        "<rss version='2.0'><channel><item><title>Acme hires new CRO</title>"
        f"<link>{link}</link></item></channel></rss>"
    ).encode()

    items = parse_feed(feed, base_url="https://acme.example/feed.xml")

    assert items[0].title == "Acme hires new CRO"
    assert items[0].url == ""


def test_item_relative_link_made_absolute():
    feed = (
        b"<rss version='2.0'><channel><item><title>Acme opens office</title>"
        b"<link>/news/office</link></item></channel></rss>"
    )

    items = parse_feed(feed, base_url="https://acme.example/feed.xml")

    assert items[0].url == "https://acme.example/news/office"
