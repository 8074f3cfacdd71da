"""Reading a company's news feeds from the account page."""

import pytest
from django.urls import reverse

from accounts.models import ResearchNote
from tests.enrichment.fake_server import FakeResponse

from .conftest import blank_account, observe
from .test_notes import RSS

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
FEED_HEADERS = {"Content-Type": "application/rss+xml"}


@pytest.fixture
def account(sdr):
    return blank_account(name="Northwind", domain="northwind.example", owner=sdr)


@pytest.fixture
def client_sdr(client, sdr, settings):
    settings.ENRICHMENT_ALLOW_PRIVATE_ADDRESSES = True
    client.force_login(sdr)
    return client


def feeds_url(account) -> str:
    return reverse("accounts:research-feeds-read", args=[account.pk])


def test_account_page_lists_found_feeds(client_sdr, account, fake_server):
    observe(account, "feed_urls", [fake_server.url + "/feed.xml"], "website")

    html = client_sdr.get(account.get_absolute_url()).content.decode()

    assert "Read news feeds" in html
    assert fake_server.url + "/feed.xml" in html


def test_found_feeds_propose_notes(client_sdr, account, fake_server):
    fake_server.route("GET", "/feed.xml", FakeResponse(body=RSS, headers=FEED_HEADERS))
    observe(account, "feed_urls", [fake_server.url + "/feed.xml"], "website")

    response = client_sdr.post(feeds_url(account), {"feed_url": ""}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Read 1 feed: 2 notes proposed below. Publish or dismiss each one." in html
    assert "Northwind raises $20M Series B" in html
    statuses = set(ResearchNote.objects.filter(account=account).values_list("status", flat=True))
    assert statuses == {ResearchNote.Status.PROPOSED}


def test_second_read_proposes_nothing_new(client_sdr, account, fake_server):
    fake_server.route("GET", "/feed.xml", FakeResponse(body=RSS, headers=FEED_HEADERS))
    data = {"feed_url": fake_server.url + "/feed.xml"}
    client_sdr.post(feeds_url(account), data, **HTMX)

    response = client_sdr.post(feeds_url(account), data, **HTMX)

    assert "Read 1 feed: nothing new to propose." in response.content.decode()
    assert ResearchNote.objects.filter(account=account).count() == 2


def test_no_known_feed_says_how_to_find_one(client_sdr, account):
    response = client_sdr.post(feeds_url(account), {"feed_url": ""}, **HTMX)

    assert response.status_code == 422
    assert "No news feed is known for this account." in response.content.decode()


def test_unreadable_feed_is_named(client_sdr, account, fake_server):
    fake_server.route("GET", "/feed.xml", FakeResponse(status=404))
    url = fake_server.url + "/feed.xml"

    response = client_sdr.post(feeds_url(account), {"feed_url": url}, **HTMX)

    assert response.status_code == 422
    assert f"{url} could not be read" in response.content.decode()
    assert not ResearchNote.objects.filter(account=account).exists()


def test_one_unreadable_feed_does_not_stop_the_others(client_sdr, account, fake_server):
    fake_server.route("GET", "/feed.xml", FakeResponse(body=RSS, headers=FEED_HEADERS))
    fake_server.route("GET", "/gone.xml", FakeResponse(status=404))
    gone = fake_server.url + "/gone.xml"
    observe(account, "feed_urls", [gone, fake_server.url + "/feed.xml"], "website")

    response = client_sdr.post(feeds_url(account), {"feed_url": ""}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "2 notes proposed" in html
    assert f"{gone} could not be read" in html


def test_non_web_address_rejected(client_sdr, account):
    response = client_sdr.post(feeds_url(account), {"feed_url": "ftp://x.example/feed"}, **HTMX)

    assert response.status_code == 422
    assert "http or https address" in response.content.decode()


def test_without_htmx_the_result_is_a_message(client_sdr, account, fake_server):
    fake_server.route("GET", "/feed.xml", FakeResponse(body=RSS, headers=FEED_HEADERS))

    response = client_sdr.post(
        feeds_url(account), {"feed_url": fake_server.url + "/feed.xml"}, follow=True
    )

    assert "Read 1 feed: 2 notes proposed below." in response.content.decode()


def test_marketing_may_not_read_feeds(client, marketing, account):
    client.force_login(marketing)

    response = client.post(feeds_url(account), {"feed_url": "https://x.example/feed"})

    assert response.status_code in (403, 404)
    assert not ResearchNote.objects.filter(account=account).exists()


def test_private_address_named_for_people(client, sdr, account, settings, fake_server):
    settings.ENRICHMENT_ALLOW_PRIVATE_ADDRESSES = False
    client.force_login(sdr)
    url = fake_server.url + "/feed.xml"

    response = client.post(feeds_url(account), {"feed_url": url}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 422
    assert f"{url} could not be read: it is not a public web address" in html
    assert "ENRICHMENT_ALLOW_PRIVATE_ADDRESSES" not in html
