from decimal import Decimal

import pytest

from accounts.normalizers import EmployeeRange, Money
from enrichment.providers import (
    InvalidDomain,
    LookupPending,
    ProviderQuotaExceeded,
    get_provider,
)
from enrichment.providers.clearbit import tag_display_name

from .fake_server import FakeResponse
from .payloads import CLEARBIT_COMPANY

PATH = "/v2/companies/find"


@pytest.fixture
def clearbit(configure_provider, fake_server):
    configure_provider("clearbit", api_key="sk_clearbit_test")
    fake_server.route("GET", PATH, FakeResponse(json=CLEARBIT_COMPANY))
    return get_provider("clearbit")


def test_clearbit_request_shape(clearbit, fake_server):
    clearbit.lookup("brightwave.io")

    request = fake_server.requests[0]
    assert request.query == {"domain": ["brightwave.io"]}
    assert request.header("Authorization") == "Bearer sk_clearbit_test"


def test_clearbit_maps_firmographics(clearbit):
    facts = clearbit.lookup("brightwave.io")

    assert facts.name == "Brightwave"
    assert facts.website == "https://brightwave.io"
    assert facts.industry == "Internet Software & Services"
    assert facts.employees == EmployeeRange(900, 900)
    assert facts.revenue == Money(Decimal("175000000"), "USD")
    assert facts.revenue_raw == "$100M-$250M"
    assert facts.country == "DE"
    assert facts.region == "BE"
    assert facts.city == "Berlin"
    assert facts.description.startswith("Brightwave runs")


def test_clearbit_maps_tech_tags(clearbit):
    facts = clearbit.lookup("brightwave.io")

    assert facts.technologies == ["Google Analytics", "HubSpot", "AWS Route 53", "React"]


def test_clearbit_maps_funding_and_links(clearbit):
    facts = clearbit.lookup("brightwave.io")

    assert facts.funding is not None
    assert facts.funding.total == Money(Decimal("283700000"), "USD")
    assert facts.social_links == {
        "linkedin": "https://www.linkedin.com/company/brightwave",
        "twitter": "https://twitter.com/brightwave",
    }


def test_clearbit_employee_range_fallback(clearbit, fake_server):
    company = {
        **CLEARBIT_COMPANY,
        "metrics": {**CLEARBIT_COMPANY["metrics"], "employees": None, "annualRevenue": 42000000},
    }
    fake_server.route("GET", PATH, FakeResponse(json=company))

    facts = clearbit.lookup("brightwave.io")

    assert facts.employees == EmployeeRange(251, 1000, approximate=True)
    assert facts.employees_raw == "251-1K"
    assert facts.revenue == Money(Decimal("42000000"), "USD")


def test_clearbit_open_revenue_band(clearbit, fake_server):
    company = {**CLEARBIT_COMPANY, "metrics": {"estimatedAnnualRevenue": "$10B+"}}
    fake_server.route("GET", PATH, FakeResponse(json=company))

    facts = clearbit.lookup("brightwave.io")

    assert facts.revenue == Money(Decimal("10000000000"), "USD")


@pytest.mark.parametrize(
    "metrics",
    [
        {"annualRevenue": 10**26},
        {"annualRevenue": "9" * 40},
        {"estimatedAnnualRevenue": "$9999999999999999999T+"},
        {"estimatedAnnualRevenue": "$1T-$9999999999999999999T"},
    ],
)
def test_clearbit_huge_revenue_flagged(clearbit, fake_server, metrics):
    company = {**CLEARBIT_COMPANY, "metrics": metrics}
    fake_server.route("GET", PATH, FakeResponse(json=company))

    facts = clearbit.lookup("brightwave.io")

    assert facts.revenue is None
    assert len(facts.review_flags) == 1
    assert "too large: check the unit" in facts.review_flags[0]


def test_clearbit_202_is_pending(clearbit, fake_server):
    fake_server.route("GET", PATH, FakeResponse(status=202, json={}))

    with pytest.raises(LookupPending) as raised:
        clearbit.lookup("brightwave.io")

    assert raised.value.retry_after == 180
    assert "queued" in str(raised.value)


def test_clearbit_202_not_cached(clearbit, fake_server):
    fake_server.route("GET", PATH, [FakeResponse(status=202), FakeResponse(json=CLEARBIT_COMPANY)])

    with pytest.raises(LookupPending):
        clearbit.lookup("brightwave.io")
    facts = clearbit.lookup("brightwave.io")

    assert facts.name == "Brightwave"
    assert fake_server.count(PATH) == 2


def test_clearbit_422_invalid_domain(clearbit, fake_server):
    fake_server.route(
        "GET",
        PATH,
        FakeResponse(
            status=422, json={"error": {"type": "invalid_domain", "message": "Invalid domain"}}
        ),
    )

    with pytest.raises(InvalidDomain) as raised:
        clearbit.lookup("brightwave.io")

    assert "invalid_domain: Invalid domain" in str(raised.value)


def test_clearbit_402_quota(clearbit, fake_server):
    fake_server.route("GET", PATH, FakeResponse(status=402, json={"error": {"type": "over_quota"}}))

    with pytest.raises(ProviderQuotaExceeded):
        clearbit.lookup("brightwave.io")


def test_clearbit_tag_names():
    assert tag_display_name("google_tag_manager") == "Google Tag Manager"
    assert tag_display_name("aws_route_53") == "AWS Route 53"
    assert tag_display_name("hubspot") == "HubSpot"
