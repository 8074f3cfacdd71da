"""Next and Previous links of the account list start at a row instead of skipping rows."""

import re
from html import unescape
from urllib.parse import parse_qs

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.api.pagination import account_sort_keys, cursor_encode
from accounts.models import Tier
from tests.factories import AccountFactory

LIST_URL = reverse("accounts:account-list")
PAGE_SIZE = 25


def link(html: str, rel: str) -> str | None:
    """Return the query string of the page link with ``rel`` (next or prev), or None."""
    match = re.search(rf'href="\?([^"]*)" rel="{rel}"', html)
    return unescape(match.group(1)) if match else None


def names(response) -> list[str]:
    return [account.name for account in response.context["accounts"]]


@pytest.fixture
def accounts_60():
    """60 accounts with repeated scores and tiers, so ties are broken by the id."""
    for index in range(60):
        AccountFactory(
            name=f"Company {index % 45:02d}",
            score=None if index % 7 == 0 else index % 5,
            tier=[Tier.HIGH, Tier.MEDIUM, Tier.LOW][index % 3],
        )


@pytest.mark.parametrize("ordering", ["", "name", "-score", "tier", "-id"])
def test_next_links_match_numbered_pages(signed_in, accounts_60, ordering):
    params = {"page_size": PAGE_SIZE, "ordering": ordering}
    numbered = [names(signed_in.get(LIST_URL, {**params, "page": page})) for page in (1, 2, 3)]

    followed = []
    response = signed_in.get(LIST_URL, params)
    while True:
        followed.append(names(response))
        query = link(response.content.decode(), "next")
        if query is None:
            break
        assert "after=" in query
        response = signed_in.get(f"{LIST_URL}?{query}")

    assert followed == numbered
    assert len(followed) == 3


def test_previous_links_match_numbered_pages(signed_in, accounts_60):
    params = {"page_size": PAGE_SIZE, "ordering": "-score"}
    numbered = [names(signed_in.get(LIST_URL, {**params, "page": page})) for page in (1, 2, 3)]
    response = signed_in.get(LIST_URL, params)
    for _ in range(2):
        response = signed_in.get(f"{LIST_URL}?{link(response.content.decode(), 'next')}")

    followed = [names(response)]
    while True:
        query = link(response.content.decode(), "prev")
        if query is None:
            break
        response = signed_in.get(f"{LIST_URL}?{query}")
        followed.append(names(response))

    assert followed == numbered[::-1]


def test_previous_link_to_first_page_is_numbered(signed_in, accounts_60):
    response = signed_in.get(LIST_URL, {"page_size": PAGE_SIZE, "page": 2})
    query = parse_qs(link(response.content.decode(), "prev"))

    assert query["page"] == ["1"]
    assert "before" not in query
    assert "after" not in query


def test_cursor_page_keeps_filters_and_number(signed_in, accounts_60):
    params = {"page_size": PAGE_SIZE, "q": "company", "ordering": "name"}
    first = signed_in.get(LIST_URL, params)
    query = parse_qs(link(first.content.decode(), "next"))

    second = signed_in.get(LIST_URL, {key: values[0] for key, values in query.items()})

    assert query["q"] == ["company"]
    assert query["page"] == ["2"]
    assert second.context["page_obj"].number == 2
    assert names(second) == names(signed_in.get(LIST_URL, {**params, "page": 2}))


def test_cursor_page_query_has_no_offset(signed_in, accounts_60):
    first = signed_in.get(LIST_URL, {"page_size": PAGE_SIZE})
    query = link(first.content.decode(), "next")

    with CaptureQueriesContext(connection) as captured:
        signed_in.get(f"{LIST_URL}?{query}")
    id_queries = [
        query["sql"] for query in captured if f"LIMIT {PAGE_SIZE}" in query["sql"].upper()
    ]

    assert len(id_queries) == 1
    assert "OFFSET" not in id_queries[0].upper()


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJvIjoibmFtZSxpZCJ9", ""])
def test_invalid_cursor_shows_numbered_page(signed_in, accounts_60, cursor):
    params = {"page_size": PAGE_SIZE, "page": 2}

    response = signed_in.get(LIST_URL, {**params, "after": cursor})

    assert response.status_code == 200
    assert names(response) == names(signed_in.get(LIST_URL, params))


def test_cursor_of_other_ordering_shows_numbered_page(signed_in, accounts_60):
    by_name = signed_in.get(LIST_URL, {"page_size": PAGE_SIZE, "ordering": "name"})
    after = parse_qs(link(by_name.content.decode(), "next"))["after"][0]
    params = {"page_size": PAGE_SIZE, "ordering": "-score", "page": 2}

    response = signed_in.get(LIST_URL, {**params, "after": after})

    assert names(response) == names(signed_in.get(LIST_URL, params))


def test_ordering_without_row_form_uses_numbered_links(signed_in, accounts_60):
    # Descending text has no ascending form for a row comparison.
    params = {"page_size": PAGE_SIZE, "ordering": "-name"}

    html = signed_in.get(LIST_URL, {**params, "page": 2}).content.decode()
    next_query = parse_qs(link(html, "next"))

    assert next_query["page"] == ["3"]
    assert "after" not in next_query


def test_sort_and_size_links_drop_cursor(signed_in, accounts_60):
    first = signed_in.get(LIST_URL, {"page_size": PAGE_SIZE})
    query = link(first.content.decode(), "next")

    html = signed_in.get(f"{LIST_URL}?{query}").content.decode()
    sort_links = re.findall(r'class="sort-link[^"]*"\s+href="\?([^"]*)"', html)
    size_links = re.findall(r'<a class="px-1" href="\?([^"]*)"', html)

    assert sort_links
    assert size_links
    for href in sort_links + size_links:
        assert "after=" not in unescape(href)
        assert "page=" not in unescape(href)


def test_cursor_past_last_row_shows_numbered_page(signed_in, accounts_60):
    last = signed_in.get(LIST_URL, {"page_size": PAGE_SIZE, "ordering": "name", "page": 3})
    last_names = names(last)
    # A cursor after the last row, as when the rows after it were deleted since.
    account = last.context["accounts"][-1]
    after = cursor_encode(account_sort_keys("name"), [account.name, account.pk])
    params = {"page_size": PAGE_SIZE, "ordering": "name", "page": 2}

    response = signed_in.get(LIST_URL, {**params, "after": after})

    assert last_names
    assert response.status_code == 200
    assert names(response) == names(signed_in.get(LIST_URL, params))
