"""Every error uses one JSON shape: {"error": {"code", "message", "fields"}}."""

import pytest
from rest_framework.settings import api_settings

from tests.factories import AccountFactory

ACCOUNTS_URL = "/api/v1/accounts/"


def assert_error_shape(response, status: int, code: str) -> dict:
    body = response.json()
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"].endswith(".")
    return body["error"]


@pytest.mark.django_db
def test_401_shape(api_client):
    assert_error_shape(api_client.get(ACCOUNTS_URL), 401, "not_authenticated")


def test_403_shape(client_for, marketing):
    response = client_for(marketing).post(ACCOUNTS_URL, {"name": "x"}, format="json")
    assert_error_shape(response, 403, "permission_denied")


def test_404_shape(signed_in_api):
    assert_error_shape(signed_in_api.get(f"{ACCOUNTS_URL}999999/"), 404, "not_found")


def test_unknown_path_404_shape(signed_in_api):
    error = assert_error_shape(signed_in_api.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert "/api/v1/no-such-thing/" in error["message"]


def test_newline_path_404_shape(signed_in_api):
    response = signed_in_api.get(f"{ACCOUNTS_URL}%0A0/notes/")
    assert_error_shape(response, 404, "not_found")


def test_405_shape(signed_in_api):
    response = signed_in_api.delete("/api/v1/segments/tags/")
    assert_error_shape(response, 405, "method_not_allowed")


def test_415_shape(client_for, sales_ops):
    response = client_for(sales_ops).post(ACCOUNTS_URL, "name=x", content_type="text/plain")
    error = assert_error_shape(response, 415, "unsupported_media_type")
    assert "application/json" in error["message"]


def test_400_parse_error_shape(client_for, sales_ops):
    response = client_for(sales_ops).post(
        ACCOUNTS_URL, "{not json", content_type="application/json"
    )
    error = assert_error_shape(response, 400, "parse_error")
    assert error["message"].startswith("The request body is not valid JSON (Expecting ")
    assert "JSON parse error -" not in error["message"]
    assert "Content-Type: application/json" in error["message"]


def test_400_fields_shape(signed_in_api):
    error = assert_error_shape(signed_in_api.get(ACCOUNTS_URL, {"tier": "top"}), 400, "invalid")
    assert list(error["fields"]) == ["tier"]


def test_500_shape(signed_in_api, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("accounts.api.views.AccountViewSet.get_queryset", fail)
    response = signed_in_api.get(ACCOUNTS_URL)
    error = assert_error_shape(response, 500, "server_error")
    assert "boom" not in error["message"]


def test_429_shape(token_client, marketing, monkeypatch):
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "user", "3/minute")
    AccountFactory()
    client = token_client(marketing)
    statuses = [client.get(ACCOUNTS_URL).status_code for _ in range(3)]
    response = client.get(ACCOUNTS_URL)
    error = assert_error_shape(response, 429, "throttled")
    assert statuses == [200, 200, 200]
    assert int(response["Retry-After"]) > 0
    assert "retry in" in error["message"]


def test_throttle_counts_per_user(token_client, marketing, sdr, monkeypatch):
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "user", "2/minute")
    first, second = token_client(marketing), token_client(sdr)
    for _ in range(2):
        first.get(ACCOUNTS_URL)
    assert first.get(ACCOUNTS_URL).status_code == 429
    assert second.get(ACCOUNTS_URL).status_code == 200


def test_write_throttle(client_for, sdr, monkeypatch):
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "write", "1/minute")
    monkeypatch.setattr("accounts.api.views.account_resegment", lambda account_id: None)
    account = AccountFactory(owner=sdr)
    client = client_for(sdr)
    url = f"{ACCOUNTS_URL}{account.pk}/"
    assert client.patch(url, {"city": "A"}, format="json").status_code == 200
    assert client.patch(url, {"city": "B"}, format="json").status_code == 429
    assert client.get(url).status_code == 200


def test_csv_throttle(signed_in_api, monkeypatch):
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "csv_export", "1/minute")
    assert signed_in_api.get(ACCOUNTS_URL, {"format": "csv"}).status_code == 200
    response = signed_in_api.get(ACCOUNTS_URL, {"format": "csv"})
    assert_error_shape(response, 429, "throttled")
    assert signed_in_api.get(ACCOUNTS_URL).status_code == 200
