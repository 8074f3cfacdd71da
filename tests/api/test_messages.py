"""Error messages of the API: one example each, the accepted values, and the fix."""

import pytest

from segmentation.models import Industry
from tests.factories import AccountFactory

LIST_URL = "/api/v1/accounts/"
WEBHOOKS_URL = "/api/v1/webhooks/"


def detail_url(account) -> str:
    return f"{LIST_URL}{account.pk}/"


@pytest.fixture(autouse=True)
def no_rescoring(monkeypatch):
    """Keep account writes independent of the scoring engine and its framework."""
    monkeypatch.setattr("accounts.api.views.account_resegment", lambda account_id: None)


def field_message(response, name: str) -> str:
    assert response.status_code == 400, response.json()
    return response.json()["error"]["fields"][name][0]


def test_domain_example_not_repeated(client_for, sales_ops):
    response = client_for(sales_ops).post(
        LIST_URL, {"name": "Local", "domain": "localhost"}, format="json"
    )
    assert field_message(response, "domain") == (
        '“localhost” is not a domain: "localhost" has no top-level domain. Enter a domain '
        "such as example.com."
    )


def test_website_example_not_repeated(client_for, sales_ops):
    response = client_for(sales_ops).post(
        LIST_URL, {"name": "Script", "website": "javascript:alert(1)"}, format="json"
    )
    assert field_message(response, "website") == (
        '“javascript:alert(1)” is not a website: "javascript" has no top-level domain. Enter '
        "a web address such as https://example.com."
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1/hook", "rejected because 127.0.0.1 is a loopback address."),
        ("http://0.0.0.0/hook", "rejected because 0.0.0.0 is an unspecified address."),
        ("http://localhost/hook", "localhost resolves to 127.0.0.1, and 127.0.0.1 is a loopback"),
    ],
)
def test_webhook_address_message_readable(client_for, sales_ops, settings, url, expected):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    response = client_for(sales_ops).post(
        WEBHOOKS_URL, {"name": "x", "url": url, "events": ["account.tier_changed"]}, format="json"
    )
    assert expected in field_message(response, "url")


def test_webhook_event_lists_events(client_for, sales_ops, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    response = client_for(sales_ops).post(
        WEBHOOKS_URL,
        {"name": "x", "url": "http://127.0.0.1/hook", "events": ["account.deleted"]},
        format="json",
    )
    errors = response.json()["error"]["fields"]["events"]
    assert response.status_code == 400
    assert '"account.deleted" is not an event: use one or more of account.' in str(errors)
    assert "account.tier_changed" in str(errors)


def test_import_json_body_names_multipart(client_for, sales_ops):
    response = client_for(sales_ops).post("/api/v1/imports/", {"file": "x"}, format="json")
    message = response.json()["error"]["message"]
    assert response.status_code == 415
    assert "Send the body as multipart/form-data" in message
    assert "Send the body as application/json" not in message


def test_marketing_write_names_role(token_client, marketing):
    account = AccountFactory(owner=None)
    response = token_client(marketing).patch(detail_url(account), {"city": "X"}, format="json")
    message = response.json()["error"]["message"]
    assert response.status_code == 403
    assert "your role cannot hold the write scope that this needs" in message
    assert "Use a token with the write scope" not in message


def test_read_token_of_writer_names_scope(token_client, sdr):
    account = AccountFactory(owner=sdr)
    response = token_client(sdr).patch(detail_url(account), {"city": "X"}, format="json")
    assert response.status_code == 403
    assert "Use a token with the write scope" in response.json()["error"]["message"]


@pytest.mark.parametrize("header", ["abc", "W/", '"unterminated'])
def test_malformed_if_match_is_400(client_for, sdr, header):
    account = AccountFactory(owner=sdr, city="Berlin")
    response = client_for(sdr).patch(
        detail_url(account), {"city": "Rome"}, format="json", HTTP_IF_MATCH=header
    )
    message = field_message(response, "If-Match")
    assert f"The If-Match header {header!r} is malformed" in message
    assert "in double quotes" in message
    account.refresh_from_db()
    assert account.city == "Berlin"


def test_ordering_error_lists_fields(signed_in_api):
    message = field_message(signed_in_api.get(LIST_URL, {"ordering": "colour"}), "ordering")
    assert message.startswith("“colour” is not a field to order by: use one of name, domain,")
    assert "with a leading - for descending" in message


def test_tier_error_lists_tiers(signed_in_api):
    message = field_message(signed_in_api.get(LIST_URL, {"tier": "top"}), "tier")
    assert message == "“top” is not a tier: use one of high, medium, low, none (none for " + (
        "accounts never scored)."
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "verification_status",
            "checked",
            "“checked” is not a verification status: use one of verified, unverified, conflicting.",
        ),
        (
            "missing_field",
            "revenue",
            "“revenue” is not a field that can be missing: use one of industry, size, geography.",
        ),
    ],
)
def test_data_quality_filter_errors_list_values(signed_in_api, name, value, expected):
    assert field_message(signed_in_api.get(LIST_URL, {name: value}), name) == expected


def test_unknown_industry_id_named(client_for, sales_ops):
    response = client_for(sales_ops).post(
        LIST_URL, {"name": "Mapped", "industry_id": 987654}, format="json"
    )
    message = field_message(response, "industry_id")
    assert message.startswith("No industry has the id 987654: send the id of an industry")
    assert "industry_raw" in message


def test_unknown_industry_id_lists_ids(client_for, sales_ops):
    saas = Industry.objects.get(slug="saas")
    fintech = Industry.objects.get(slug="fintech")
    response = client_for(sales_ops).post(
        LIST_URL, {"name": "Mapped", "industry_id": 99999}, format="json"
    )
    message = field_message(response, "industry_id")
    assert f"{saas.pk} for SaaS" in message
    assert f"{fintech.pk} for FinTech" in message


def test_updated_since_plus_hint(signed_in_api):
    response = signed_in_api.get(LIST_URL + "?updated_since=2026-01-31T09:00:00+01:00")
    message = field_message(response, "updated_since")
    assert message.startswith("“2026-01-31T09:00:00 01:00” is not an ISO 8601 time")
    assert "encode it as %2B, such as 2026-01-31T09:00:00%2B01:00." in message


def test_updated_since_encoded_plus_accepted(signed_in_api):
    response = signed_in_api.get(LIST_URL + "?updated_since=2026-01-31T09:00:00%2B01:00")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.001", "“0.001” has more than 2 decimal places: round it to cents"),
        ("NaN", "“NaN” is not a number: send an amount such as 12500000.00."),
        ("-1", "“-1” is negative: send an amount of 0 or more."),
        ("ten", "“ten” is not a number: send an amount such as 12500000.00."),
    ],
)
def test_amount_message_names_value(client_for, sdr, value, expected):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).patch(
        detail_url(account), {"annual_revenue_usd": value}, format="json"
    )
    assert field_message(response, "annual_revenue_usd").startswith(expected)


def test_blank_name_message(client_for, sdr):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).patch(detail_url(account), {"name": "   "}, format="json")
    assert field_message(response, "name") == "The name is empty: enter the company's name."


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.1/", "127.1"),
        ("http://0x7f000001/", "0x7f000001"),
        ("http://2130706433/", "2130706433"),
    ],
)
def test_webhook_numeric_host_message(client_for, sales_ops, settings, url, host):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    response = client_for(sales_ops).post(
        WEBHOOKS_URL, {"name": "x", "url": url, "events": ["account.tier_changed"]}, format="json"
    )
    message = field_message(response, "url")
    assert message.startswith(f"“{url}” is not a valid URL: its host {host} is a numeric")
    assert "Use the receiver's host name" in message


def test_webhook_invalid_host_message(client_for, sales_ops):
    url = "http://exa mple.com/hook"
    response = client_for(sales_ops).post(
        WEBHOOKS_URL, {"name": "x", "url": url, "events": ["account.tier_changed"]}, format="json"
    )
    assert field_message(response, "url").startswith(f"“{url}” is not a valid URL:")


def test_unknown_field_message_reads_well(client_for, sdr):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).patch(detail_url(account), {"foo": 1}, format="json")
    message = field_message(response, "foo")
    assert message.startswith(
        "foo is not a field of an account: send only the writable fields, name, domain,"
    )


def test_read_scope_message_lists_writing_roles(token_client, marketing):
    account = AccountFactory(owner=None)
    response = token_client(marketing).patch(detail_url(account), {"city": "X"}, format="json")
    message = response.json()["error"]["message"]
    assert response.status_code == 403
    assert "only SDR, AE, Sales Manager and Sales Ops get tokens with the write scope" in message


def test_ae_gets_write_token(client_for, ae):
    response = client_for(ae).post(
        "/api/v1/tokens/", {"name": "crm sync", "scopes": ["read", "write"]}, format="json"
    )
    assert response.status_code == 201, response.json()
