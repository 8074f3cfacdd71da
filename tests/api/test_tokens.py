"""Personal API tokens: creation rules, scopes and authentication."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import roles
from integrations.models import ApiToken
from integrations.services.tokens import api_token_create, token_key_hash
from tests.factories import AccountFactory

TOKENS_URL = "/api/v1/tokens/"
ACCOUNTS_URL = "/api/v1/accounts/"


def test_token_created_once_with_key(client_for, sdr):
    response = client_for(sdr).post(
        TOKENS_URL, {"name": "HubSpot", "scopes": ["write"]}, format="json"
    )
    body = response.json()
    token = ApiToken.objects.get(pk=body["id"])
    assert response.status_code == 201, body
    assert body["key"].startswith("icp_")
    assert body["scopes"] == ["read", "write"]
    assert token.key_hash == token_key_hash(body["key"])
    assert body["key"] not in str(ApiToken.objects.values_list())
    listed = client_for(sdr).get(TOKENS_URL).json()["results"][0]
    assert "key" not in listed
    assert listed["key_prefix"] == body["key"][:12]


def test_marketing_write_token_refused(client_for, marketing):
    response = client_for(marketing).post(
        TOKENS_URL, {"name": "Sync", "scopes": ["read", "write"]}, format="json"
    )
    error = response.json()["error"]
    assert response.status_code == 400
    assert "scopes" in error["fields"]
    assert not ApiToken.objects.exists()


def test_marketing_read_token_allowed(client_for, marketing):
    response = client_for(marketing).post(
        TOKENS_URL, {"name": "Sync", "scopes": ["read"]}, format="json"
    )
    assert response.status_code == 201


def test_service_refuses_scope_beyond_role(marketing):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        api_token_create(user=marketing, name="x", scopes=["write"])


def test_marketing_token_write_is_403(token_client, marketing):
    account = AccountFactory(city="Berlin")
    client = token_client(marketing)
    response = client.patch(f"{ACCOUNTS_URL}{account.pk}/", {"city": "X"}, format="json")
    error = response.json()["error"]
    assert response.status_code == 403
    assert "read scope only" in error["message"]
    assert client.post(ACCOUNTS_URL, {"name": "New"}, format="json").status_code == 403
    assert (
        client.post(f"{ACCOUNTS_URL}{account.pk}/notes/", {"text": "x"}, format="json").status_code
        == 403
    )


def test_read_token_of_writer_cannot_write(token_client, sdr):
    account = AccountFactory(owner=sdr, city="Berlin")
    response = token_client(sdr, scopes=["read"]).patch(
        f"{ACCOUNTS_URL}{account.pk}/", {"city": "X"}, format="json"
    )
    assert response.status_code == 403


def test_write_token_writes(token_client, sdr, monkeypatch):
    monkeypatch.setattr("accounts.api.views.account_resegment", lambda account_id: None)
    account = AccountFactory(owner=sdr, city="Berlin")
    response = token_client(sdr, scopes=["read", "write"]).patch(
        f"{ACCOUNTS_URL}{account.pk}/", {"city": "Oslo"}, format="json"
    )
    assert response.status_code == 200


def test_token_loses_write_with_role(token_client, make_user, monkeypatch):
    from django.contrib.auth.models import Group

    user = make_user(roles.SDR, username="demoted")
    client = token_client(user, scopes=["read", "write"])
    user.groups.set([Group.objects.get(name=roles.MARKETING)])
    response = client.post(ACCOUNTS_URL, {"name": "New"}, format="json")
    assert response.status_code == 403
    assert "no longer allows" in response.json()["error"]["message"]


def test_revoked_token_is_401(client_for, token_client, sdr):
    client = token_client(sdr)
    token = ApiToken.objects.get()
    assert client_for(sdr).delete(f"{TOKENS_URL}{token.pk}/").status_code == 204
    response = client.get(ACCOUNTS_URL)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    assert ApiToken.objects.get().revoked_at is not None


def test_expired_token_is_401(api_client, sdr):
    token, key = api_token_create(user=sdr, name="x", scopes=["read"])
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = api_client.get(ACCOUNTS_URL)
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_inactive_user_token_is_401(api_client, sdr):
    _, key = api_token_create(user=sdr, name="x", scopes=["read"])
    sdr.is_active = False
    sdr.save()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api_client.get(ACCOUNTS_URL).status_code == 401


def test_token_records_last_use(api_client, sdr):
    token, key = api_token_create(user=sdr, name="x", scopes=["read"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    api_client.get(ACCOUNTS_URL)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_tokens_not_managed_with_token(token_client, sdr):
    client = token_client(sdr, scopes=["read", "write"])
    response = client.post(TOKENS_URL, {"name": "more", "scopes": ["read"]}, format="json")
    assert response.status_code == 403
    assert client.get(TOKENS_URL).status_code == 403


def test_tokens_listed_only_for_owner(client_for, sdr, marketing):
    api_token_create(user=sdr, name="mine", scopes=["read"])
    api_token_create(user=marketing, name="theirs", scopes=["read"])
    names = [row["name"] for row in client_for(sdr).get(TOKENS_URL).json()["results"]]
    assert names == ["mine"]


def test_user_without_role_gets_no_token(client_for, make_user):
    response = client_for(make_user(None, username="norole")).post(
        TOKENS_URL, {"name": "x", "scopes": ["read"]}, format="json"
    )
    assert response.status_code == 403


def test_malformed_authorization_is_401(api_client, sdr):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer two parts")
    response = api_client.get(ACCOUNTS_URL)
    assert response.status_code == 401
    assert "malformed" in response.json()["error"]["message"]


def test_unknown_scope_named_in_list(client_for, sdr):
    response = client_for(sdr).post(
        TOKENS_URL, {"name": "Sync", "scopes": ["read", "admin"]}, format="json"
    )
    error = response.json()["error"]
    expected = '"admin" is not a scope: use ["read"], ["read", "segments"] or ["read", "write"].'
    assert response.status_code == 400
    assert error["fields"]["scopes"] == [expected]
    assert expected in error["message"]
    assert not ApiToken.objects.exists()


def test_token_scheme_named(sdr, client):
    _, key = api_token_create(user=sdr, name="x", scopes=["read"])
    response = client.get(ACCOUNTS_URL, HTTP_AUTHORIZATION=f"Token {key}")
    message = response.json()["error"]["message"]
    assert response.status_code == 401
    assert '"Token"' in message
    assert '"Authorization: Bearer <key>"' in message


@pytest.mark.parametrize("field", ["user", "key", "key_hash"])
def test_token_unknown_field_rejected(client_for, sdr, marketing, field):
    value = marketing.pk if field == "user" else "icp_chosen-by-client"
    body = {"name": "Sync", "scopes": ["read"], field: value}

    response = client_for(sdr).post(TOKENS_URL, body, format="json")

    assert response.status_code == 400
    message = response.json()["error"]["fields"][field][0]
    assert message.startswith(f"{field} is not a field of an API token")
    assert "name, scopes, expires_at" in message
    assert not ApiToken.objects.exists()


def test_token_empty_scopes_message(client_for, sdr):
    response = client_for(sdr).post(TOKENS_URL, {"name": "Sync", "scopes": []}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["scopes"] == [
        "A token needs at least one scope: "
        'send ["read"], ["read", "segments"] or ["read", "write"].'
    ]
    assert not ApiToken.objects.exists()


def test_service_empty_scopes_message(sdr):
    with pytest.raises(ValidationError) as raised:
        api_token_create(user=sdr, name="Sync", scopes=[])

    assert "at least one scope" in str(raised.value.message_dict["scopes"])
    assert "as a list" not in str(raised.value.message_dict["scopes"])
