from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AccountIdentifier, Tier
from enrichment.models import Observation
from segmentation.models import Framework, ScoreRecord
from tests.factories import AccountFactory

EXPLANATION = [
    {
        "dimension": "industry",
        "label": "Core industries",
        "outcome": "match",
        "points": 30,
        "max_points": 30,
        "reason": "Industry Web Test SaaS is one of the target industries.",
    },
    {
        "dimension": "geography",
        "label": "",
        "outcome": "no_match",
        "points": 0,
        "max_points": 20,
        "reason": "Geography EMEA is not a target geography.",
    },
]


@pytest.fixture
def scored_account(industry, framework, sdr):
    older_framework = Framework(version=98, name="Older web test framework", status="retired")
    older_framework.save()
    account = AccountFactory(
        name="Globex",
        industry=industry,
        industry_raw="Computer Software",
        employee_count=350,
        employee_min=201,
        employee_max=500,
        employee_raw="201-500",
        employee_approximate=True,
        annual_revenue_usd=Decimal("10800000.00"),
        revenue_amount=Decimal("10000000.00"),
        revenue_currency="EUR",
        country="DE",
        region="Berlin",
        city="Berlin",
        technologies=["Salesforce", "Snowflake"],
        buying_signals=["Hiring SDRs", {"kind": "funding", "detail": "Series B"}],
        description="Makes analytics software.",
        review_flags=[{"field": "revenue", "raw": "10M-ish", "reason": "not a number"}],
        size_band="Mid-Market",
        geography="EMEA",
        tag="SaaS – Mid-Market – EMEA",
        tier=Tier.MEDIUM,
        score=60,
        route="",
        needs_enrichment=True,
        missing_fields=["technologies", "annual_revenue_usd"],
        framework=framework,
        owner=sdr,
    )
    AccountIdentifier.objects.create(account=account, kind="ticker", value="GLBX")
    ScoreRecord.objects.create(
        account=account,
        framework=older_framework,
        score=35,
        tier=Tier.LOW,
        tag="SaaS – Mid-Market – EMEA (old)",
        route="Nurture",
    )
    ScoreRecord.objects.create(
        account=account,
        framework=framework,
        score=60,
        tier=Tier.MEDIUM,
        tag="SaaS – Mid-Market – EMEA",
        explanation=EXPLANATION,
    )
    observed = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    Observation.objects.create(
        account=account,
        field="employee_count",
        value=350,
        raw_value="201-500",
        source="apollo",
        observed_at=observed,
    )
    Observation.objects.create(
        account=account,
        field="employee_count",
        value=410,
        raw_value="410 employees",
        source="linkedin",
        observed_at=observed + timedelta(days=1),
    )
    Observation.objects.create(
        account=account,
        field="city",
        value="Berlin",
        raw_value="berlin",
        source="hubspot",
        observed_at=observed,
    )
    return account


def detail_html(client, account) -> str:
    response = client.get(account.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_detail_redirects_anonymous_to_login(client):
    account = AccountFactory()
    response = client.get(account.get_absolute_url())
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_detail_forbidden_without_role(client, make_user):
    account = AccountFactory()
    client.force_login(make_user(None, username="no-role"))
    assert client.get(account.get_absolute_url()).status_code == 403


def test_detail_missing_account_is_404(signed_in):
    assert signed_in.get("/accounts/999999/").status_code == 404


def test_detail_shows_result_summary(signed_in, scored_account):
    html = detail_html(signed_in, scored_account)
    assert '<span class="badge tier-badge tier-medium">Medium</span>' in html
    assert 'data-testid="account-score">60<' in html
    assert 'data-testid="account-tag">SaaS – Mid-Market – EMEA<' in html


def test_detail_shows_firmographics(signed_in, scored_account):
    html = detail_html(signed_in, scored_account)
    assert "Web Test SaaS" in html
    assert "Source label: <em>Computer Software</em>" in html
    assert "201–500" in html
    assert "(approximate)" in html
    assert "$10,800,000" in html
    assert "Original: 10,000,000 EUR" in html
    assert "Berlin, Berlin, DE" in html


def industry_row(html: str) -> str:
    start = html.index('id="field-industry"')
    return html[start : html.index('<div class="field-actions">', start)]


def test_detail_shows_unmapped_label_with_badge(signed_in):
    account = AccountFactory(industry=None, industry_raw="Widgets & Gadgets")
    row = industry_row(detail_html(signed_in, account))
    badge = '<span class="badge badge-unmapped">unmapped</span>'
    assert f"<em>Widgets &amp; Gadgets</em> {badge}" in row
    assert "Source label" not in row


def test_detail_shows_unknown_without_industry_label(signed_in):
    account = AccountFactory(industry=None, industry_raw="")
    row = industry_row(detail_html(signed_in, account))
    assert '<span class="text-body-secondary">Unknown</span>' in row
    assert "badge-unmapped" not in row


def test_detail_shows_lists_and_identifiers(signed_in, scored_account):
    html = detail_html(signed_in, scored_account)
    assert "Snowflake" in html
    assert "Hiring SDRs" in html
    assert "Series B" in html
    assert "Makes analytics software." in html
    assert "Stock ticker" in html
    assert "GLBX" in html


def test_detail_lists_review_flags(signed_in, scored_account):
    html = detail_html(signed_in, scored_account)
    assert "need review" in html
    assert "10M-ish" in html
    assert "not a number" in html


def test_detail_names_missing_fields(signed_in, scored_account):
    html = detail_html(signed_in, scored_account)
    assert "Needs enrichment" in html
    assert "Technologies" in html
    assert "Annual revenue usd" in html


def test_detail_shows_explanation(signed_in, scored_account):
    html = detail_html(signed_in, scored_account)
    assert "Core industries" in html
    assert "Industry Web Test SaaS is one of the target industries." in html
    assert "30 / 30" in html
    assert "0 / 20" in html
    assert "No match" in html
    assert "30 / 50" in html


def test_detail_explanation_falls_back_to_dimension(signed_in, scored_account):
    html = detail_html(signed_in, scored_account)
    assert "<td>\n                    Geography\n" in html


def test_detail_shows_history(signed_in, scored_account):
    html = detail_html(signed_in, scored_account)
    assert "v99" in html
    assert "v98" in html
    assert "SaaS – Mid-Market – EMEA (old)" in html
    assert "Nurture" in html
    assert html.index("v99 <span") < html.index("v98 <span")


def test_detail_shows_observations_by_field(signed_in, scored_account):
    html = detail_html(signed_in, scored_account)
    assert "Apollo" in html
    assert "Linkedin" in html
    assert "410 employees" in html
    assert "HubSpot" in html
    assert html.index("410 employees") < html.index("201-500</td>")


def verification_badge(html: str) -> str:
    start = html.index('data-testid="verification-summary"')
    return html[html.index(">", start) + 1 : html.index("</span>", start)]


@pytest.mark.parametrize(
    ("status", "field_status", "expected"),
    [
        (
            "unverified",
            {
                "industry": {"status": "verified"},
                "company_size": {"status": "single_source"},
                "country": {"status": "verified"},
            },
            "Partly verified (2 of 3 fields)",
        ),
        ("unverified", {"country": {"status": "accepted"}}, "Partly verified (1 of 3 fields)"),
        ("unverified", {}, "Not yet verified (0 of 3 fields)"),
        ("verified", {}, "Verified"),
        ("conflicting", {"country": {"status": "verified"}}, "Conflicting sources"),
    ],
)
def test_detail_verification_counts_fields(signed_in, status, field_status, expected):
    account = AccountFactory(verification_status=status, field_status=field_status)
    html = detail_html(signed_in, account)
    assert verification_badge(html) == expected


def test_detail_verification_names_fields(signed_in):
    account = AccountFactory(
        field_status={"industry": {"status": "verified"}, "country": {"status": "verified"}}
    )
    html = detail_html(signed_in, account)
    assert 'title="Verified: industry, country. Not verified: company size."' in html


def test_detail_unscored_account(signed_in):
    account = AccountFactory(name="Fresh Co")
    html = detail_html(signed_in, account)
    assert "This account has not been scored yet." in html
    assert "No score history." in html


def test_detail_does_not_link_script_urls(signed_in):
    account = AccountFactory(website="javascript:alert(1)")
    html = detail_html(signed_in, account)
    assert 'href="javascript:' not in html
    assert "javascript:alert(1)" in html


def test_detail_links_http_website(signed_in):
    account = AccountFactory(website="https://globex.example/")
    html = detail_html(signed_in, account)
    assert 'href="https://globex.example/"' in html


def test_detail_query_count_is_pinned(signed_in, scored_account, django_assert_max_num_queries):
    # Session, user, roles, account with joins, identifiers, score records, three for the
    # newest observation per source, notes, overrides, field history and the account's
    # edit permissions.
    with django_assert_max_num_queries(13):
        signed_in.get(scored_account.get_absolute_url())


def test_detail_query_count_does_not_grow(signed_in, scored_account, framework):
    with CaptureQueriesContext(connection) as before:
        signed_in.get(scored_account.get_absolute_url())
    for score in range(10):
        ScoreRecord.objects.create(account=scored_account, framework=framework, score=score)
        Observation.objects.create(
            account=scored_account,
            field=f"field_{score}",
            value=score,
            source="apollo",
            observed_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
    with CaptureQueriesContext(connection) as after:
        signed_in.get(scored_account.get_absolute_url())
    assert len(after.captured_queries) == len(before.captured_queries)


def signals_section(html: str) -> str:
    start = html.index('id="account-signals"')
    return html[start : html.index("</section>", start)]


def test_detail_signals_show_labels(signed_in):
    account = AccountFactory(buying_signals=["recent_funding", "Hiring SDRs"])
    section = signals_section(detail_html(signed_in, account))
    assert "<li>Recent funding</li>" in section
    assert "<li>Hiring SDRs</li>" in section
    assert "recent_funding" not in section


def test_history_signals_show_labels(signed_in):
    account = AccountFactory(buying_signals=[])
    account.buying_signals = ["recent_funding"]
    account.save()
    html = detail_html(signed_in, account)
    start = html.index('id="account-history"')
    history = html[start : html.index("</section>", start)]
    assert "Recent funding" in history
    assert "recent_funding" not in history
