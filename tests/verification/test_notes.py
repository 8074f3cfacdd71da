"""Proposed research notes from company feeds."""

from datetime import UTC, datetime

import pytest

from accounts.models import ResearchNote
from enrichment.feeds import NoteKind
from enrichment.feeds import ResearchNote as FeedNote
from enrichment.services import account_feeds_read, research_notes_propose
from tests.enrichment.fake_server import FakeResponse

from .conftest import blank_account, observe

pytestmark = pytest.mark.django_db

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>News</title>
  <item>
    <title>Northwind raises $20M Series B</title>
    <link>https://northwind.example/news/series-b</link>
    <pubDate>Tue, 04 Jun 2024 09:30:00 +0000</pubDate>
    <description>The round brings total funding to $32M.</description>
  </item>
  <item>
    <title>Jane Doe joins as VP of Sales</title>
    <link>https://northwind.example/news/jane-doe</link>
    <description>Jane comes from enterprise sales.</description>
  </item>
</channel></rss>
"""


def feed_note(url: str, title: str = "Northwind opens office in Singapore") -> FeedNote:
    return FeedNote(
        kind=NoteKind.EXPANSION,
        title=title,
        url=url,
        published_at=datetime(2024, 6, 4, 9, 30, tzinfo=UTC),
        summary="Our first office in Asia.",
    )


def test_propose_creates_proposed_notes():
    account = blank_account()

    notes = research_notes_propose(account=account, notes=[feed_note("https://n.example/sg")])

    note = ResearchNote.objects.get()
    assert len(notes) == 1
    assert note.status == ResearchNote.Status.PROPOSED
    assert note.kind == ResearchNote.Kind.EXPANSION
    assert note.text == "Northwind opens office in Singapore: Our first office in Asia."
    assert note.source_url == "https://n.example/sg"
    assert note.happened_on.isoformat() == "2024-06-04"
    assert note.author is None


def test_propose_skips_known_urls():
    account = blank_account()
    ResearchNote.objects.create(
        account=account,
        text="Dismissed earlier",
        status=ResearchNote.Status.DISMISSED,
        source_url="https://n.example/sg",
    )

    notes = research_notes_propose(
        account=account,
        notes=[feed_note("https://n.example/sg"), feed_note("https://n.example/sg")],
    )

    assert notes == []
    assert ResearchNote.objects.count() == 1


def test_propose_dedupes_within_batch():
    account = blank_account()

    research_notes_propose(
        account=account,
        notes=[feed_note("https://n.example/a"), feed_note("https://n.example/a")],
    )

    assert ResearchNote.objects.count() == 1


def test_propose_without_url_dedupes_by_text():
    account = blank_account()
    research_notes_propose(account=account, notes=[feed_note("")])

    research_notes_propose(account=account, notes=[feed_note("")])

    assert ResearchNote.objects.count() == 1


def test_propose_cuts_long_text():
    account = blank_account()
    long_title = "Northwind expands to " + "many new markets " * 60

    research_notes_propose(account=account, notes=[feed_note("https://n.example/x", long_title)])

    note = ResearchNote.objects.get()
    assert len(note.text) <= ResearchNote.MAX_TEXT_LENGTH
    assert note.text.endswith("…")


def test_feeds_read_from_website_observation(settings, fake_server):
    settings.ENRICHMENT_ALLOW_PRIVATE_ADDRESSES = True
    fake_server.route(
        "GET", "/feed.xml", FakeResponse(body=RSS, headers={"Content-Type": "application/rss+xml"})
    )
    account = blank_account(domain="northwind.example")
    observe(account, "feed_urls", [fake_server.url + "/feed.xml"], "website")

    notes = account_feeds_read(account=account)
    again = account_feeds_read(account=account)

    kinds = sorted(note.kind for note in ResearchNote.objects.filter(account=account))
    assert len(notes) == 2
    assert again == []
    assert kinds == ["funding", "hire"]


def test_feeds_read_skips_unreadable_feed(settings, fake_server):
    settings.ENRICHMENT_ALLOW_PRIVATE_ADDRESSES = True
    fake_server.route("GET", "/feed.xml", FakeResponse(status=404))
    account = blank_account(domain="northwind.example")

    notes = account_feeds_read(account=account, feed_urls=[fake_server.url + "/feed.xml"])

    assert notes == []
