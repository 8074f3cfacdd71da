"""Behaviour every provider adapter shares, run against each of them on the fake server."""

from dataclasses import dataclass, field

import pytest

from enrichment.providers import (
    CompanyNotFound,
    ProviderAuthError,
    ProviderNotConfigured,
    ProviderRateLimited,
    ProviderUnavailable,
    get_provider,
)

from .fake_server import FakeResponse
from .payloads import (
    APOLLO_RESPONSE,
    CLEARBIT_COMPANY,
    ZOOMINFO_COMPANY,
    fake_jwt,
    zoominfo_response,
)


@dataclass
class Case:
    provider: str
    method: str
    path: str
    success: dict
    not_found: FakeResponse
    domain: str
    key_setting: str
    options: dict = field(default_factory=dict)


CASES = [
    Case(
        provider="apollo",
        method="GET",
        path="/api/v1/organizations/enrich",
        success=APOLLO_RESPONSE,
        not_found=FakeResponse(json={}),
        domain="northwind-analytics.com",
        key_setting='ENRICHMENT_PROVIDERS["apollo"]["api_key"]',
    ),
    Case(
        provider="clearbit",
        method="GET",
        path="/v2/companies/find",
        success=CLEARBIT_COMPANY,
        not_found=FakeResponse(
            status=404, json={"error": {"type": "unknown_record", "message": "Unknown domain"}}
        ),
        domain="brightwave.io",
        key_setting='ENRICHMENT_PROVIDERS["clearbit"]["api_key"]',
    ),
    Case(
        provider="zoominfo",
        method="POST",
        path="/enrich/company",
        success=zoominfo_response([ZOOMINFO_COMPANY]),
        not_found=FakeResponse(json=zoominfo_response([], match_status="NO_MATCH")),
        domain="harborfreight-logistics.com",
        key_setting='ENRICHMENT_PROVIDERS["zoominfo"]["password"]',
        options={"username": "api-user@example.com", "password": "secret"},
    ),
]


@pytest.fixture(params=CASES, ids=[case.provider for case in CASES])
def case(request, configure_provider, fake_server):
    case = request.param
    configure_provider(case.provider, **case.options)
    if case.provider == "zoominfo":
        fake_server.route("POST", "/authenticate", FakeResponse(json={"jwt": fake_jwt()}))
    return case


def lookup_count(fake_server, case):
    return fake_server.count(case.path)


def test_lookup_success_returns_facts(case, fake_server):
    fake_server.route(case.method, case.path, FakeResponse(json=case.success))

    facts = get_provider(case.provider).lookup(case.domain)

    assert facts.source == case.provider
    assert facts.domain == case.domain
    assert facts.name
    assert facts.from_cache is False


def test_lookup_normalizes_domain_input(case, fake_server):
    fake_server.route(case.method, case.path, FakeResponse(json=case.success))

    facts = get_provider(case.provider).lookup(f"https://www.{case.domain}/about?utm_source=x")

    assert facts.domain == case.domain


def test_bad_key_names_setting(case, fake_server):
    unauthorized = FakeResponse(status=401, json={"error": "Invalid access credentials."})
    fake_server.route(case.method, case.path, unauthorized)
    fake_server.route("POST", "/authenticate", unauthorized)

    with pytest.raises(ProviderAuthError) as raised:
        get_provider(case.provider).lookup(case.domain)

    message = str(raised.value)
    assert case.key_setting in message
    assert case.provider in message
    assert case.domain in message
    assert "secret" not in message
    assert "test-key" not in message


def test_missing_configuration_names_setting(case, settings):
    settings.ENRICHMENT_PROVIDERS = {}

    with pytest.raises(ProviderNotConfigured) as raised:
        get_provider(case.provider).lookup(case.domain)

    assert "ENRICHMENT_PROVIDERS" in str(raised.value)
    assert f'"{case.provider}"' in str(raised.value)


def test_unknown_company_raises_not_found(case, fake_server):
    fake_server.route(case.method, case.path, case.not_found)

    with pytest.raises(CompanyNotFound) as raised:
        get_provider(case.provider).lookup(case.domain)

    assert case.domain in str(raised.value)


def test_429_retried_after_retry_after(case, fake_server):
    fake_server.route(
        case.method,
        case.path,
        [
            FakeResponse(status=429, json={"error": "rate limited"}, headers={"Retry-After": "1"}),
            FakeResponse(json=case.success),
        ],
    )

    facts = get_provider(case.provider).lookup(case.domain)

    first, second = fake_server.timestamps(case.path)
    assert facts.name
    assert lookup_count(fake_server, case) == 2
    assert second - first >= 1.0
    assert second - first < 2.0


def test_429_persisting_raises_rate_limited(case, fake_server):
    fake_server.route(
        case.method,
        case.path,
        FakeResponse(status=429, json={"error": "rate limited"}, headers={"Retry-After": "0"}),
    )

    with pytest.raises(ProviderRateLimited) as raised:
        get_provider(case.provider).lookup(case.domain)

    assert lookup_count(fake_server, case) == 3
    assert raised.value.retry_after == 0


def test_long_retry_after_raises_without_waiting(case, fake_server):
    fake_server.route(
        case.method,
        case.path,
        FakeResponse(status=429, json={}, headers={"Retry-After": "3600"}),
    )

    with pytest.raises(ProviderRateLimited) as raised:
        get_provider(case.provider).lookup(case.domain)

    assert raised.value.retry_after == 3600
    assert lookup_count(fake_server, case) == 1


def test_repeated_500_raises_unavailable(case, fake_server):
    fake_server.route(case.method, case.path, FakeResponse(status=500, body="Internal error"))

    with pytest.raises(ProviderUnavailable) as raised:
        get_provider(case.provider).lookup(case.domain)

    assert lookup_count(fake_server, case) == 3
    assert "HTTP 500" in str(raised.value)
    assert "3 attempts" in str(raised.value)


def test_500_then_success_recovers(case, fake_server):
    fake_server.route(
        case.method,
        case.path,
        [FakeResponse(status=503, body="busy"), FakeResponse(json=case.success)],
    )

    facts = get_provider(case.provider).lookup(case.domain)

    assert facts.name
    assert lookup_count(fake_server, case) == 2


def test_timeout_raises_unavailable(case, fake_server, configure_provider):
    configure_provider(case.provider, timeout=[1, 0.2], max_attempts=2, **case.options)
    fake_server.route(case.method, case.path, FakeResponse(json=case.success, delay=0.6))

    with pytest.raises(ProviderUnavailable) as raised:
        get_provider(case.provider).lookup(case.domain)

    assert "timed out" in str(raised.value)
    assert lookup_count(fake_server, case) == 2


def test_malformed_json_raises_unavailable(case, fake_server):
    fake_server.route(
        case.method,
        case.path,
        FakeResponse(body="{not json", headers={"Content-Type": "application/json"}),
    )

    with pytest.raises(ProviderUnavailable) as raised:
        get_provider(case.provider).lookup(case.domain)

    assert "not valid JSON" in str(raised.value)
    assert lookup_count(fake_server, case) == 1


def test_non_object_body_raises_unavailable(case, fake_server):
    fake_server.route(case.method, case.path, FakeResponse(json="Verizon Communications Inc."))

    with pytest.raises(ProviderUnavailable) as raised:
        get_provider(case.provider).lookup(case.domain)

    assert case.domain in str(raised.value)
    assert "Verizon Communications Inc." in str(raised.value)


def test_cache_hit_skips_request(case, fake_server):
    fake_server.route(case.method, case.path, FakeResponse(json=case.success))
    provider = get_provider(case.provider)

    first = provider.lookup(case.domain)
    second = provider.lookup(case.domain)

    assert lookup_count(fake_server, case) == 1
    assert first.from_cache is False
    assert second.from_cache is True
    assert second.fetched_at == first.fetched_at
    assert second.age.total_seconds() >= 0
    assert second.name == first.name


def test_cache_off_repeats_request(case, fake_server, settings):
    settings.ENRICHMENT_CACHE_SECONDS = 0
    fake_server.route(case.method, case.path, FakeResponse(json=case.success))
    provider = get_provider(case.provider)

    provider.lookup(case.domain)
    second = provider.lookup(case.domain)

    assert lookup_count(fake_server, case) == 2
    assert second.from_cache is False


def test_errors_are_not_cached(case, fake_server):
    fake_server.route(case.method, case.path, [case.not_found, FakeResponse(json=case.success)])
    provider = get_provider(case.provider)

    with pytest.raises(CompanyNotFound):
        provider.lookup(case.domain)
    facts = provider.lookup(case.domain)

    assert facts.name
    assert lookup_count(fake_server, case) == 2


def test_local_rate_limit_stops_extra_request(case, fake_server, configure_provider):
    configure_provider(
        case.provider, rate_limit_per_minute=2, max_rate_limit_wait_seconds=0, **case.options
    )
    fake_server.route(case.method, case.path, FakeResponse(json=case.success))
    provider = get_provider(case.provider)
    other_domains = ["one-example.com", "two-example.com", "three-example.com"]

    if case.provider == "zoominfo":
        # ZoomInfo spends one slot on /authenticate.
        other_domains = other_domains[1:]
    for domain in other_domains[:-1]:
        provider.lookup(domain)
    with pytest.raises(ProviderRateLimited) as raised:
        provider.lookup(other_domains[-1])

    assert fake_server.count() == 2
    assert raised.value.retry_after > 0
    assert "2 requests per minute" in str(raised.value)
