"""The dashboards page: aggregates, links to the account list and query counts."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import Account
from audits.selectors import account_counts
from tests.factories import AccountFactory


@pytest.fixture
def accounts(scored, team):
    now = timezone.now()
    high = scored(owner=team["rep_a"], scored_at=now)
    scored(owner=team["rep_a"], scored_at=now)
    low = scored(owner=team["rep_b"], scored_at=now, country="BR", employee_count=20)
    Account.objects.filter(pk=low.pk).update(verification_status="conflicting")
    bare = AccountFactory(industry=None, country="", needs_enrichment=True)
    return {"high": high, "low": low, "bare": bare}


def chart_data(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="chart-data" type="application/json">') + len(
        '<script id="chart-data" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_tier_counts(accounts):
    counts = account_counts().tiers
    assert counts["high"] == 2
    assert counts[""] == 1


def test_top_tags_skip_empty(accounts):
    tags = dict(account_counts().top_tags(15))
    assert tags["SaaS – Mid-Market – US"] == 2
    assert "" not in tags


def test_top_tags_limited_largest_first(accounts):
    assert [tag for tag, _total in account_counts().top_tags(1)] == ["SaaS – Mid-Market – US"]


def test_geographies_largest_first(accounts):
    rows = account_counts().geographies_by_size()
    assert sum(total for _geography, total in rows) == 4
    assert [total for _geography, total in rows] == sorted(
        (total for _geography, total in rows), reverse=True
    )


def test_quality_counts(accounts):
    quality = account_counts().quality
    assert quality["total"] == 4
    assert quality["complete"] == 3
    assert quality["missing_industry"] == 1
    assert quality["missing_geography"] == 1
    assert quality["backlog"] == 1
    assert quality["backlog_industry"] == 1


def test_verification_counts(accounts):
    counts = account_counts().verification
    assert counts["verified"] == 2
    assert counts["conflicting"] == 1
    assert counts["unverified"] == 1


@pytest.fixture
def partly_verified(db):
    """Accounts verified on all, two, one and none of the three mandatory fields."""
    verified = {"status": "verified"}
    single = {"status": "single_source"}
    AccountFactory(
        verification_status="verified",
        field_status={"industry": verified, "company_size": verified, "country": verified},
    )
    AccountFactory(field_status={"industry": verified, "company_size": single, "country": verified})
    AccountFactory(field_status={"industry": single, "country": {"status": "accepted"}})
    AccountFactory(field_status={})
    AccountFactory(
        verification_status="conflicting",
        field_status={"industry": {"status": "conflicting"}, "country": verified},
    )


def test_field_verification_counts(partly_verified):
    quality = account_counts().quality

    assert quality["verified_industry"] == 2
    assert quality["verified_company_size"] == 1
    assert quality["verified_country"] == 4
    assert quality["partly_verified"] == 2


def test_verification_description_counts_fields(client, make_user, partly_verified):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    response = client.get(reverse("audits:dashboard"))
    html = response.content.decode()
    start = html.index("Fully verified accounts:")
    description = html[start : html.index("</p>", start)]

    assert description.startswith("Fully verified accounts: 1 of 5 (20")
    assert "Partly verified: 2." in description
    assert "industry 2, company size 1, country 4." in description
    assert "Verification rate" not in html
    assert chart_data(response)["verification"]["labels"][1] == "Not fully verified"


@pytest.mark.parametrize(
    "role",
    [
        roles.SDR,
        roles.AE,
        roles.SALES_MANAGER,
        roles.SALES_OPS,
        roles.MARKETING,
        roles.SALES_LEADERSHIP,
    ],
)
def test_dashboard_for_every_role(client, make_user, accounts, role):
    client.force_login(make_user(role, username=f"viewer-{role}"))
    response = client.get(reverse("audits:dashboard"))
    assert response.status_code == 200


def test_dashboard_denied_without_role(client, make_user):
    client.force_login(make_user(None, username="norole"))
    assert client.get(reverse("audits:dashboard")).status_code == 403


def test_chart_links_to_account_list(client, make_user, accounts):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    data = chart_data(client.get(reverse("audits:dashboard")))
    tier = data["tier"]
    high = tier["labels"].index("High")
    tag = data["tag"]
    assert tier["urls"][0][high] == "/accounts/?tier=high"
    assert tag["urls"][0][0] == "/accounts/?tag=SaaS+%E2%80%93+Mid-Market+%E2%80%93+US"
    backlog_industry = data["backlog"]["urls"][0][0]
    assert backlog_industry == "/accounts/?needs_enrichment=true&missing_field=industry"
    assert tier["urls"][0][tier["labels"].index("Not scored")] == "/accounts/?tier=none"


def test_backlog_total_links_to_list(client, make_user, accounts):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    html = client.get(reverse("audits:dashboard")).content.decode()
    assert '<a href="/accounts/?needs_enrichment=true">1 account needs enrichment.</a>' in html


def test_chart_data_is_escaped(client, make_user, accounts):
    Account.objects.filter(pk=accounts["high"].pk).update(tag="</script><b>x")
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    html = client.get(reverse("audits:dashboard")).content.decode()
    assert "</script><b>x" not in html


def test_dashboard_query_count(client, make_user, accounts, django_assert_max_num_queries):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    client.get(reverse("audits:dashboard"))
    with django_assert_max_num_queries(14):
        client.get(reverse("audits:dashboard"))


@pytest.fixture
def conflicting_backlog(accounts):
    """Add an account with every mandatory field whose industry sources conflict."""
    conflicted = AccountFactory(
        name="Conflicted Industry",
        industry=accounts["high"].industry,
        needs_enrichment=True,
        missing_fields=["industry"],
    )
    Account.objects.filter(pk=conflicted.pk).update(verification_status="conflicting")
    return {**accounts, "conflicted": conflicted}


def test_backlog_counts_conflicting_apart(conflicting_backlog):
    quality = account_counts().quality
    assert quality["complete"] == 4
    assert quality["backlog"] == 2
    assert quality["backlog_incomplete"] == 1
    assert quality["backlog_conflicting"] == 1


def test_backlog_shows_conflicting_bar(client, make_user, conflicting_backlog):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    response = client.get(reverse("audits:dashboard"))
    backlog = chart_data(response)["backlog"]
    index = backlog["labels"].index("Conflicting sources")
    url = backlog["urls"][0][index]
    listed = client.get(url).context["page_obj"].object_list
    assert backlog["datasets"][0]["data"][index] == 1
    assert url == "/accounts/?needs_enrichment=true&verification_status=conflicting"
    assert [account.name for account in listed] == ["Conflicted Industry"]


def test_backlog_total_adds_up(client, make_user, conflicting_backlog):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    html = client.get(reverse("audits:dashboard")).content.decode()
    assert "4 of 5 accounts have industry, company size and geography." in html
    assert (
        "2 accounts need enrichment: 1 lacks industry, company size or geography, and 1 has "
        "all three but with conflicting sources."
    ) in html
