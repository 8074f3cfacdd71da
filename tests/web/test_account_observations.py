"""The account page's "Sources by field" section and the paged list of a field's observations."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import selectors
from enrichment.models import Observation
from tests.factories import AccountFactory

START = datetime(2025, 1, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def add_observations(account, field, source, count, *, start=START, same_time=False):
    """Write ``count`` observations of one field and source, with the values
    ``<source>-site-0.example.com`` to ``<source>-site-<count - 1>.example.com``, oldest first.
    """
    Observation.objects.bulk_create(
        Observation(
            account=account,
            field=field,
            value=f"{source}-site-{index}.example.com",
            raw_value=f"https://{source}-site-{index}.example.com",
            source=source,
            observed_at=start if same_time else start + timedelta(minutes=index),
        )
        for index in range(count)
    )


def section_html(client, account) -> str:
    url = reverse("accounts:account-section", args=[account.pk, "observations"])
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_section_shows_newest_per_source(signed_in):
    account = AccountFactory()
    add_observations(account, "website", "csv", 120)
    add_observations(account, "website", "apollo", 3)

    html = section_html(signed_in, account)

    assert "csv-site-119.example.com" in html
    assert "apollo-site-2.example.com" in html
    assert "csv-site-118.example.com" not in html
    assert "apollo-site-1.example.com" not in html
    assert "121 older observations" in html
    older_url = reverse("accounts:account-field-observations", args=[account.pk, "website"])
    assert older_url in html


def test_section_breaks_ties_by_newest_id(signed_in):
    # One import batch writes its observations with one observed_at.
    account = AccountFactory()
    add_observations(account, "website", "csv", 30, same_time=True)

    html = section_html(signed_in, account)

    assert "csv-site-29.example.com" in html
    assert "csv-site-28.example.com" not in html
    assert "29 older observations" in html


def test_detail_page_shows_summary_only(signed_in):
    account = AccountFactory()
    add_observations(account, "website", "csv", 200)

    response = signed_in.get(account.get_absolute_url())

    html = response.content.decode()
    assert "csv-site-199.example.com" in html
    assert "csv-site-198.example.com" not in html
    assert "199 older observations" in html


def test_section_query_count_does_not_grow(signed_in):
    account = AccountFactory()
    add_observations(account, "website", "csv", 2)
    add_observations(account, "employees", "apollo", 2)
    with CaptureQueriesContext(connection) as before:
        section_html(signed_in, account)

    add_observations(account, "website", "csv", 500, start=START + timedelta(days=30))
    add_observations(account, "employees", "apollo", 500, start=START + timedelta(days=30))
    with CaptureQueriesContext(connection) as after:
        html = section_html(signed_in, account)

    assert len(after.captured_queries) == len(before.captured_queries)
    assert html.count("<tr>") == 1 + 2


def test_summary_returns_one_row_per_source():
    account = AccountFactory()
    add_observations(account, "website", "csv", 40)
    add_observations(account, "website", "apollo", 5)
    add_observations(account, "industry", "apollo", 2)

    summary = selectors.observation_summary(account)

    assert [group.field for group in summary] == ["industry", "website"]
    website = summary[1]
    assert [row.source for row in website.latest] == ["csv", "apollo"]
    assert website.latest[0].value == "csv-site-39.example.com"
    assert website.latest[1].value == "apollo-site-4.example.com"
    assert website.older_count == 43
    assert summary[0].older_count == 1


def test_older_observations_are_paged(signed_in):
    account = AccountFactory()
    add_observations(account, "website", "csv", 120)
    url = reverse("accounts:account-field-observations", args=[account.pk, "website"])

    first = signed_in.get(url)
    last = signed_in.get(url, {"page": 3})

    assert first.status_code == 200
    first_html = first.content.decode()
    assert first_html.count("csv-site-") // 2 == 50
    assert "csv-site-119.example.com" in first_html
    assert "csv-site-69.example.com" not in first_html
    assert "Page 1 of 3" in first_html
    assert last.status_code == 200
    last_html = last.content.decode()
    assert last_html.count("csv-site-") // 2 == 20
    assert "csv-site-0.example.com" in last_html


def test_older_observations_page_links(signed_in):
    account = AccountFactory()
    add_observations(account, "website", "csv", 120)
    url = reverse("accounts:account-field-observations", args=[account.pk, "website"])

    first = signed_in.get(url).content.decode()
    middle = signed_in.get(url, {"page": 2}).content.decode()
    last = signed_in.get(url, {"page": 3}).content.decode()

    assert '<nav aria-label="Observation pages">' in first
    assert '<li class="page-item disabled"><span class="page-link">Previous</span></li>' in first
    assert 'href="?page=2" rel="next">Next</a>' in first
    assert 'href="?page=1" rel="prev">Previous</a>' in middle
    assert '<span class="page-link">Page 2 of 3</span>' in middle
    assert 'href="?page=3" rel="next">Next</a>' in middle
    assert 'href="?page=2" rel="prev">Previous</a>' in last
    assert '<li class="page-item disabled"><span class="page-link">Next</span></li>' in last


def test_older_observations_one_page_no_links(signed_in):
    account = AccountFactory()
    add_observations(account, "website", "csv", 3)
    url = reverse("accounts:account-field-observations", args=[account.pk, "website"])

    page = signed_in.get(url).content.decode()

    assert "Observation pages" not in page
    assert "pagination" not in page


def test_older_observations_reject_bad_page(signed_in):
    account = AccountFactory()
    add_observations(account, "website", "csv", 3)
    url = reverse("accounts:account-field-observations", args=[account.pk, "website"])

    assert signed_in.get(url, {"page": 9}).status_code == 404
    assert signed_in.get(url, {"page": "x"}).status_code == 404


def test_older_observations_unknown_field_is_404(signed_in):
    account = AccountFactory()
    url = reverse("accounts:account-field-observations", args=[account.pk, "website"])

    assert signed_in.get(url).status_code == 404


def test_older_observations_need_a_role(client, make_user):
    account = AccountFactory()
    add_observations(account, "website", "csv", 3)
    client.force_login(make_user())
    url = reverse("accounts:account-field-observations", args=[account.pk, "website"])

    assert client.get(url).status_code == 403


def test_section_reads_structured_values(signed_in, industry):
    account = AccountFactory(industry=industry)
    values = {
        "employees": {"approximate": True, "count": 27, "max": 27, "min": 27},
        "revenue": {"amount": "7000000.00", "currency": "EUR", "usd": "8190000.00"},
        "industry": {"industry_id": industry.pk},
        "location": {"city": "Berlin", "country": "DE", "region": "BE"},
        "buying_signals": ["recent_funding"],
    }
    for field, value in values.items():
        Observation.objects.create(
            account=account, field=field, value=value, source="apollo", observed_at=START
        )

    html = section_html(signed_in, account)

    assert "about 27 employees" in html
    assert "€7,000,000 (about $8,190,000)" in html
    assert "<td>Web Test SaaS</td>" in html
    assert "Berlin, BE, DE" in html
    assert "Recent funding" in html
    assert "Approximate:" not in html
    assert "Industry id" not in html
    assert "Usd:" not in html


def test_older_observations_read_industry_name(signed_in, industry):
    account = AccountFactory()
    for minute in range(3):
        Observation.objects.create(
            account=account,
            field="industry",
            value={"industry_id": industry.pk, "label": "Software"},
            source="apollo",
            observed_at=START + timedelta(minutes=minute),
        )
    url = reverse("accounts:account-field-observations", args=[account.pk, "industry"])

    html = signed_in.get(url).content.decode()

    assert html.count("<td>Web Test SaaS</td>") == 3
    assert "Industry id" not in html


def test_sources_shown_by_display_name(signed_in):
    account = AccountFactory()
    for source in ("sp500", "fortune500"):
        Observation.objects.create(
            account=account, field="industry", value="Retailing", source=source, observed_at=START
        )

    html = section_html(signed_in, account)

    assert "S&amp;P 500" in html
    assert "Fortune 500" in html
    assert "sp500" not in html
    assert "fortune500" not in html
