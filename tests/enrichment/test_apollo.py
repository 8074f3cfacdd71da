from datetime import date
from decimal import Decimal

import pytest

from accounts.normalizers import EmployeeRange, Money
from enrichment.providers import (
    CompanyNotFound,
    ProviderAuthError,
    ProviderUnavailable,
    get_provider,
)

from .fake_server import FakeResponse
from .payloads import APOLLO_ORGANIZATION, APOLLO_RESPONSE

PATH = "/api/v1/organizations/enrich"


@pytest.fixture
def apollo(configure_provider, fake_server):
    configure_provider("apollo", api_key="apollo-test-key")
    fake_server.route("GET", PATH, FakeResponse(json=APOLLO_RESPONSE))
    return get_provider("apollo")


def test_apollo_request_shape(apollo, fake_server):
    apollo.lookup("northwind-analytics.com")

    request = fake_server.requests[0]
    assert request.method == "GET"
    assert request.query == {"domain": ["northwind-analytics.com"]}
    assert request.header("X-Api-Key") == "apollo-test-key"


def test_apollo_maps_firmographics(apollo):
    facts = apollo.lookup("northwind-analytics.com")

    assert facts.name == "Northwind Analytics"
    assert facts.website == "http://www.northwind-analytics.com"
    assert facts.industry == "information technology & services"
    assert facts.employees == EmployeeRange(240, 240)
    assert facts.employee_count == 240
    assert facts.revenue == Money(Decimal("12500000"), "USD")
    assert facts.revenue_raw == "12.5M"
    assert facts.country == "FR"
    assert facts.region == "Auvergne-Rhône-Alpes"
    assert facts.city == "Lyon"
    assert facts.description.startswith("Northwind Analytics builds")
    assert facts.review_flags == []


def test_apollo_maps_technologies(apollo):
    facts = apollo.lookup("northwind-analytics.com")

    assert facts.technologies == ["Salesforce", "HubSpot", "Google Tag Manager", "React"]


def test_apollo_maps_funding_and_links(apollo):
    facts = apollo.lookup("northwind-analytics.com")

    assert facts.funding is not None
    assert facts.funding.total == Money(Decimal("1803855"), "USD")
    assert facts.funding.latest_stage == "Series A"
    assert facts.funding.latest_round_date == date(2023, 3, 1)
    assert facts.funding.latest_amount == Money(Decimal("1800000"), "USD")
    assert facts.social_links == {
        "linkedin": "http://www.linkedin.com/company/northwind-analytics",
        "twitter": "https://twitter.com/northwindhq",
    }


def test_apollo_current_technologies_fallback(apollo, fake_server):
    organization = {**APOLLO_ORGANIZATION, "technology_names": []}
    fake_server.route("GET", PATH, FakeResponse(json={"organization": organization}))

    facts = apollo.lookup("northwind-analytics.com")

    assert facts.technologies == ["Salesforce", "HubSpot"]


def test_apollo_flags_long_technology(apollo, fake_server):
    long_name = "Northwind Customer Data Platform for Enterprise Analytics Teams Edition"
    organization = {**APOLLO_ORGANIZATION, "technology_names": ["React", long_name]}
    fake_server.route("GET", PATH, FakeResponse(json={"organization": organization}))

    facts = apollo.lookup("northwind-analytics.com")

    assert len(long_name) == 71
    assert facts.technologies == [
        "React",
        "Northwind Customer Data Platform for Enterprise Analytics Teams",
    ]
    assert len(facts.account_flags) == 1
    assert facts.account_flags[0]["field"] == "technologies"
    assert facts.account_flags[0]["value"] == long_name
    assert "is 71 characters long, over the limit of 64" in facts.account_flags[0]["message"]


def test_apollo_flags_unknown_country(apollo, fake_server):
    organization = {**APOLLO_ORGANIZATION, "country": "Atlantis"}
    fake_server.route("GET", PATH, FakeResponse(json={"organization": organization}))

    facts = apollo.lookup("northwind-analytics.com")

    assert facts.country == ""
    assert len(facts.review_flags) == 1
    assert "Atlantis" in facts.review_flags[0]


def test_apollo_403_explains_plan(apollo, fake_server):
    fake_server.route(
        "GET",
        PATH,
        FakeResponse(status=403, json={"error": "api/v1/organizations/enrich is not accessible"}),
    )

    with pytest.raises(ProviderAuthError) as raised:
        apollo.lookup("northwind-analytics.com")

    assert "HTTP 403" in str(raised.value)
    assert 'ENRICHMENT_PROVIDERS["apollo"]["api_key"]' in str(raised.value)
    assert "not accessible" in str(raised.value)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            {"organization": "Verizon Communications Inc."},
            '"organization" is a string ("Verizon Communications Inc."), not an object',
        ),
        ({"organization": ["Verizon"]}, '"organization" is an array (["Verizon"]), not an object'),
        ([{"name": "Verizon"}], 'the body is an array ([{"name": "Verizon"}]), not a JSON object'),
    ],
    ids=["organization-string", "organization-array", "body-array"],
)
def test_apollo_malformed_body_is_error(apollo, fake_server, body, problem):
    fake_server.route("GET", PATH, FakeResponse(json=body))

    with pytest.raises(ProviderUnavailable) as raised:
        apollo.lookup("verizon.com")

    message = str(raised.value)
    assert message.startswith("apollo lookup for verizon.com failed")
    assert f"Apollo returned a malformed response: {problem}." in message
    assert apollo.client.cached_response("GET", PATH, domain="verizon.com") is None


@pytest.mark.parametrize("body", [{}, {"organization": None}, {"organization": {}}])
def test_apollo_missing_organization_not_found(apollo, fake_server, body):
    fake_server.route("GET", PATH, FakeResponse(json=body))

    with pytest.raises(CompanyNotFound):
        apollo.lookup("verizon.com")
