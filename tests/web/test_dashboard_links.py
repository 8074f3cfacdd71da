"""Each dashboard chart link opens an account list with exactly the chart's count."""

import json
import random
import re

import pytest
from django.urls import reverse

from accounts.models import Account, Tier, VerificationStatus
from accounts.roles import SALES_OPS
from accounts.services import accounts_import
from segmentation.models import Industry
from segmentation.services import accounts_segment
from tests.datasets import require_datasets_dir
from tests.factories import AccountFactory

LIST_URL = reverse("accounts:account-list")
CHART_DATA_START = '<script id="chart-data" type="application/json">'
COUNT_PATTERN = re.compile(r'data-testid="account-count">([\d,]+)<')
# Charts whose bars link to the account list, every bar included.
ACCOUNT_CHARTS = ("tier", "tag", "geography", "completeness", "verification", "backlog")


def chart_data(client) -> dict:
    html = client.get(reverse("audits:dashboard")).content.decode()
    start = html.index(CHART_DATA_START) + len(CHART_DATA_START)
    return json.loads(html[start : html.index("</script>", start)])


def list_count(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    assert "Some filter values are invalid" not in html, url
    match = COUNT_PATTERN.search(html)
    assert match is not None, f"{url} shows no account count"
    return int(match.group(1).replace(",", ""))


def chart_links(data: dict) -> list[tuple[str, str, int, str]]:
    """Return (chart, label, value, url) for every linked bar of the account charts."""
    links = []
    for key in ACCOUNT_CHARTS:
        chart = data[key]
        for dataset, urls in zip(chart["datasets"], chart["urls"], strict=True):
            for label, value, url in zip(chart["labels"], dataset["data"], urls, strict=True):
                if url:
                    links.append((key, label, value, url))
    return links


def check_every_link(client) -> list[tuple[str, str, int, str]]:
    links = chart_links(chart_data(client))
    mismatches = [
        (key, label, value, url, shown)
        for key, label, value, url in links
        if (shown := list_count(client, url)) != value
    ]
    assert mismatches == []
    return links


@pytest.fixture
def ops_client(client, make_user):
    client.force_login(make_user(SALES_OPS, username="ops"))
    return client


@pytest.fixture
def generated_accounts(db):
    """Create 120 scored accounts with every kind of gap, seeded for a repeatable mix."""
    rng = random.Random(20240611)
    industries = [None, *Industry.objects.order_by("id")[:4]]
    for number in range(120):
        head_count = rng.choice([None, None, 12, 180, 900, 4000, 25000])
        revenue = rng.choice([None, None, 5_000_000, 900_000_000]) if head_count is None else None
        AccountFactory(
            name=f"Generated {number:03d}",
            industry=rng.choice(industries),
            employee_count=head_count,
            employee_min=head_count,
            employee_max=head_count,
            annual_revenue_usd=revenue,
            country=rng.choice(["", "US", "US", "DE", "GB", "BR", "JP", "AU"]),
            verification_status=rng.choice(VerificationStatus.values),
        )
    accounts_segment()
    # A few accounts that were never scored, as after an import without a framework.
    unscored = Account.objects.order_by("id")[:5]
    Account.objects.filter(pk__in=unscored.values("pk")).update(tier="", score=None, tag="")
    return Account.objects.count()


def test_generated_data_covers_every_gap(generated_accounts):
    assert Account.objects.filter(tier="").exists()
    assert Account.objects.filter(industry__isnull=True, needs_enrichment=True).exists()
    assert Account.objects.filter(country="", needs_enrichment=True).exists()
    assert Account.objects.filter(
        employee_count__isnull=True, annual_revenue_usd__isnull=True, needs_enrichment=True
    ).exists()
    for status in VerificationStatus.values:
        assert Account.objects.filter(verification_status=status).exists(), status


def test_chart_links_match_list_counts(ops_client, generated_accounts):
    links = check_every_link(ops_client)
    linked_charts = {key for key, _label, _value, _url in links}
    assert linked_charts == set(ACCOUNT_CHARTS)
    linked_labels = {(key, label) for key, label, _value, _url in links}
    assert ("tier", "Not scored") in linked_labels
    assert ("completeness", "Missing company size") in linked_labels
    assert ("backlog", "Geography") in linked_labels
    assert ("geography", "No geography") in linked_labels
    chart = chart_data(ops_client)["geography"]
    assert all(chart["urls"][0])
    assert sum(value for key, _l, value, _u in links if key == "verification") == (
        generated_accounts
    )


@pytest.mark.shared_data
def test_chart_links_match_on_public_datasets(ops_client, db):
    datasets = require_datasets_dir()
    accounts_import(datasets / "sp500-companies" / "constituents.csv")
    accounts_import(datasets / "fortune500-2019" / "fortune500.csv")
    links = check_every_link(ops_client)
    assert Account.objects.count() > 700
    assert {key for key, _label, _value, _url in links} == set(ACCOUNT_CHARTS)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tier": "none"}, ["Unscored"]),
        ({"missing_field": "industry"}, ["No industry"]),
        ({"missing_field": "size"}, ["No size"]),
        ({"missing_field": "geography"}, ["No country"]),
        ({"complete": "true"}, ["Complete", "Unscored"]),
        ({"complete": "false"}, ["No country", "No industry", "No size"]),
        ({"verification_status": "conflicting"}, ["No size"]),
        ({"verification_status": "verified"}, ["Complete"]),
    ],
)
def test_data_quality_filters(signed_in, params, expected):
    saas = Industry.objects.order_by("id").first()
    AccountFactory(
        name="Complete", industry=saas, tier=Tier.HIGH, score=90, verification_status="verified"
    )
    AccountFactory(name="Unscored", industry=saas, tier="", score=None)
    AccountFactory(name="No industry", industry=None, tier=Tier.LOW, score=10)
    AccountFactory(
        name="No size",
        industry=saas,
        employee_count=None,
        employee_min=None,
        employee_max=None,
        tier=Tier.LOW,
        verification_status="conflicting",
    )
    AccountFactory(name="No country", industry=saas, country="", tier=Tier.LOW)
    response = signed_in.get(LIST_URL, params)
    assert [account.name for account in response.context["accounts"]] == expected


@pytest.mark.django_db
def test_geography_none_lists_accounts_without_one(signed_in):
    AccountFactory(name="Mapped", country="US", geography="North America", tier=Tier.HIGH)
    AccountFactory(name="No country", country="", geography="", tier=Tier.LOW)
    AccountFactory(name="Never scored", country="DE", geography="", tier="", score=None)
    response = signed_in.get(LIST_URL, {"geography": "none"})
    html = response.content.decode()
    assert "Some filter values are invalid" not in html
    names = sorted(account.name for account in response.context["accounts"])
    assert names == ["Never scored", "No country"]
    assert '<option value="none" selected>No geography</option>' in html


@pytest.mark.django_db
def test_missing_field_rejects_unknown_value(signed_in):
    response = signed_in.get(LIST_URL, {"missing_field": "company_size"})
    html = response.content.decode()
    assert list(response.context["accounts"]) == []
    assert (
        "“company_size” is not a field that can be missing: use one of industry, size, "
        "geography." in html
    )


@pytest.mark.django_db
def test_data_quality_group_opens_when_used(signed_in):
    closed = signed_in.get(LIST_URL).content.decode()
    opened = signed_in.get(LIST_URL, {"missing_field": "size"}).content.decode()
    assert '<details class="mt-2" data-testid="data-quality-filters">' in closed
    assert '<details class="mt-2" data-testid="data-quality-filters" open>' in opened
    assert '<option value="size" selected>' in opened
    assert "Industry, size and country known" in opened
