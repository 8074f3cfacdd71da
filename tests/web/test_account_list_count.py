"""The account list counts matching accounts only up to a cap, and its pages end there."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import selectors
from accounts.models import Tier
from tests.factories import AccountFactory

LIST_URL = reverse("accounts:account-list")


@pytest.fixture
def count_cap_of_five(monkeypatch):
    monkeypatch.setattr(selectors.CappedCountPaginator, "count_cap", 5)


def test_count_exact_below_cap(signed_in, count_cap_of_five):
    AccountFactory.create_batch(4)

    html = signed_in.get(LIST_URL).content.decode()

    assert 'data-testid="account-count">4<' in html
    assert 'data-testid="count-capped"' not in html


def test_count_exact_at_cap(signed_in, count_cap_of_five):
    AccountFactory.create_batch(5)

    html = signed_in.get(LIST_URL).content.decode()

    assert 'data-testid="account-count">5<' in html
    assert 'data-testid="count-capped"' not in html


def test_count_above_cap_shows_plus(signed_in, count_cap_of_five):
    AccountFactory.create_batch(8)

    response = signed_in.get(LIST_URL, {"page_size": 25})
    html = response.content.decode()

    assert 'data-testid="account-count">5+<' in html
    assert 'data-testid="count-capped"' in html
    assert len(response.context["accounts"]) == 5


def test_pages_end_at_cap(signed_in, count_cap_of_five):
    for index in range(12):
        AccountFactory(name=f"Company {index:02d}")

    response = signed_in.get(LIST_URL, {"page_size": 25, "page": 3})

    assert response.context["paginator"].num_pages == 1
    assert response.context["page_obj"].number == 1
    assert [account.name for account in response.context["accounts"]] == [
        f"Company {index:02d}" for index in range(5)
    ]


def test_count_query_is_limited(signed_in):
    AccountFactory.create_batch(3, tier=Tier.HIGH)

    with CaptureQueriesContext(connection) as captured:
        signed_in.get(LIST_URL, {"tier": "high"})
    counts = [query["sql"] for query in captured if "COUNT(" in query["sql"].upper()]

    assert len(counts) == 1
    assert f"LIMIT {selectors.LIST_COUNT_CAP + 1}" in counts[0]
