from datetime import date
from decimal import Decimal

import pytest

from accounts.normalizers import EmployeeRange, Money
from enrichment.providers import (
    CompanyNotFound,
    ProviderAuthError,
    ProviderNotConfigured,
    ProviderUnavailable,
    get_provider,
)
from enrichment.providers.zoominfo import OUTPUT_FIELDS

from .fake_server import FakeResponse
from .payloads import ZOOMINFO_COMPANY, fake_jwt, zoominfo_response

AUTH_PATH = "/authenticate"
ENRICH_PATH = "/enrich/company"


@pytest.fixture
def zoominfo(configure_provider, fake_server):
    configure_provider("zoominfo", api_key="", username="api-user@example.com", password="secret")
    fake_server.route("POST", AUTH_PATH, FakeResponse(json={"jwt": fake_jwt()}))
    fake_server.route("POST", ENRICH_PATH, FakeResponse(json=zoominfo_response([ZOOMINFO_COMPANY])))
    return get_provider("zoominfo")


def test_zoominfo_password_authentication(zoominfo, fake_server):
    zoominfo.lookup("harborfreight-logistics.com")

    auth = fake_server.requests[0]
    assert auth.path == AUTH_PATH
    assert auth.json() == {"username": "api-user@example.com", "password": "secret"}


def test_zoominfo_enrich_request_shape(zoominfo, fake_server):
    zoominfo.lookup("harborfreight-logistics.com")

    enrich = fake_server.requests[1]
    body = enrich.json()
    assert enrich.path == ENRICH_PATH
    assert enrich.header("Authorization").startswith("Bearer ")
    assert body["matchCompanyInput"] == [
        {"companyWebsite": "http://www.harborfreight-logistics.com"}
    ]
    assert body["outputFields"] == OUTPUT_FIELDS


def test_zoominfo_maps_firmographics(zoominfo):
    facts = zoominfo.lookup("harborfreight-logistics.com")

    assert facts.name == "Harbor Freight Logistics"
    assert facts.website == "https://www.harborfreight-logistics.com"
    assert facts.industry == "Transportation"
    assert facts.employees == EmployeeRange(320, 320)
    assert facts.revenue == Money(Decimal("50000000"), "USD")
    assert facts.revenue_raw == "50000 (thousands of USD)"
    assert facts.country == "US"
    assert facts.region == "CA"
    assert facts.city == "Oakland"
    assert facts.technologies == ["Salesforce"]
    assert facts.description.startswith("Harbor Freight Logistics moves")


def test_zoominfo_maps_funding_and_links(zoominfo):
    facts = zoominfo.lookup("harborfreight-logistics.com")

    assert facts.funding is not None
    assert facts.funding.total == Money(Decimal("12000000"), "USD")
    assert facts.funding.latest_amount == Money(Decimal("8000000"), "USD")
    assert facts.funding.latest_round_date == date(2022, 6, 4)
    assert facts.social_links == {
        "linkedin": "http://www.linkedin.com/company/harbor-freight-logistics",
        "facebook": "http://www.facebook.com/harborfreightlogistics",
    }


def test_zoominfo_token_reused(zoominfo, fake_server, settings):
    settings.ENRICHMENT_CACHE_SECONDS = 0

    zoominfo.lookup("harborfreight-logistics.com")
    zoominfo.lookup("other-company.com")

    assert fake_server.count(AUTH_PATH) == 1
    assert fake_server.count(ENRICH_PATH) == 2


def test_zoominfo_expired_token_renewed(zoominfo, fake_server, settings):
    settings.ENRICHMENT_CACHE_SECONDS = 0
    # Expires within the 5-minute refresh margin, so it is never cached.
    fake_server.route("POST", AUTH_PATH, FakeResponse(json={"jwt": fake_jwt(lifetime_seconds=60)}))

    zoominfo.lookup("harborfreight-logistics.com")
    zoominfo.lookup("other-company.com")

    assert fake_server.count(AUTH_PATH) == 2


def test_zoominfo_revoked_token_renewed(zoominfo, fake_server):
    fake_server.route(
        "POST",
        ENRICH_PATH,
        [
            FakeResponse(status=401, json={"error": "token expired"}),
            FakeResponse(json=zoominfo_response([ZOOMINFO_COMPANY])),
        ],
    )

    facts = zoominfo.lookup("harborfreight-logistics.com")

    assert facts.name == "Harbor Freight Logistics"
    assert fake_server.count(AUTH_PATH) == 2
    assert fake_server.count(ENRICH_PATH) == 2


def test_zoominfo_bad_password_names_settings(zoominfo, fake_server):
    fake_server.route(
        "POST", AUTH_PATH, FakeResponse(status=401, json={"error": "Invalid credentials"})
    )

    with pytest.raises(ProviderAuthError) as raised:
        zoominfo.lookup("harborfreight-logistics.com")

    message = str(raised.value)
    assert 'ENRICHMENT_PROVIDERS["zoominfo"]["username"]' in message
    assert 'ENRICHMENT_PROVIDERS["zoominfo"]["password"]' in message
    assert "secret" not in message


def test_zoominfo_missing_password(configure_provider):
    configure_provider("zoominfo", username="api-user@example.com")

    with pytest.raises(ProviderNotConfigured) as raised:
        get_provider("zoominfo").lookup("harborfreight-logistics.com")

    assert 'ENRICHMENT_PROVIDERS["zoominfo"]["password"]' in str(raised.value)


def test_zoominfo_empty_result_not_found(zoominfo, fake_server):
    fake_server.route(
        "POST", ENRICH_PATH, FakeResponse(json={"success": True, "data": {"result": []}})
    )

    with pytest.raises(CompanyNotFound):
        zoominfo.lookup("harborfreight-logistics.com")


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        ("Verizon", '"data.result" is a string ("Verizon"), not an array'),
        (["Verizon"], '"data.result[0]" is a string ("Verizon"), not an object'),
        (
            [{"matchStatus": "FULL_MATCH", "data": "Verizon"}],
            '"data.result[0].data" is a string ("Verizon"), not an array',
        ),
        (
            [{"matchStatus": "FULL_MATCH", "data": ["Verizon"]}],
            '"data.result[0].data[0]" is a string ("Verizon"), not an object',
        ),
    ],
    ids=["result-string", "result-item-string", "data-string", "data-item-string"],
)
def test_zoominfo_malformed_result_is_error(zoominfo, fake_server, result, problem):
    body = {"success": True, "data": {"result": result}}
    fake_server.route("POST", ENRICH_PATH, FakeResponse(json=body))

    with pytest.raises(ProviderUnavailable) as raised:
        zoominfo.lookup("verizon.com")

    message = str(raised.value)
    assert message.startswith("zoominfo lookup for verizon.com failed")
    assert f"ZoomInfo returned a malformed response: {problem}." in message


def test_zoominfo_pki_authentication(configure_provider, fake_server):
    jwt = pytest.importorskip("jwt")
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    claims_seen = []

    def authenticate(request):
        token = request.header("Authorization").removeprefix("Bearer ")
        claims_seen.append(
            jwt.decode(token, key.public_key(), algorithms=["RS256"], audience="enterprise_api")
        )
        return FakeResponse(json={"jwt": fake_jwt()})

    configure_provider(
        "zoominfo", username="api-user@example.com", client_id="client-123", private_key=private_pem
    )
    fake_server.route("POST", AUTH_PATH, authenticate)
    fake_server.route("POST", ENRICH_PATH, FakeResponse(json=zoominfo_response([ZOOMINFO_COMPANY])))

    facts = get_provider("zoominfo").lookup("harborfreight-logistics.com")

    assert facts.name == "Harbor Freight Logistics"
    assert claims_seen[0]["client_id"] == "client-123"
    assert claims_seen[0]["username"] == "api-user@example.com"
    assert claims_seen[0]["iss"] == "api-client@zoominfo.com"
    assert fake_server.requests[0].body == b""


def test_zoominfo_invalid_private_key(configure_provider, fake_server):
    pytest.importorskip("jwt")
    configure_provider(
        "zoominfo", username="api-user@example.com", client_id="client-123", private_key="not a key"
    )

    with pytest.raises(ProviderAuthError) as raised:
        get_provider("zoominfo").lookup("harborfreight-logistics.com")

    assert 'ENRICHMENT_PROVIDERS["zoominfo"]["private_key"]' in str(raised.value)
    assert fake_server.count() == 0


def test_zoominfo_cache_skips_authentication(zoominfo, fake_server):
    zoominfo.lookup("harborfreight-logistics.com")
    zoominfo.forget_token(zoominfo.client.config)

    facts = zoominfo.lookup("harborfreight-logistics.com")

    assert facts.from_cache is True
    assert fake_server.count(AUTH_PATH) == 1
    assert fake_server.count(ENRICH_PATH) == 1
