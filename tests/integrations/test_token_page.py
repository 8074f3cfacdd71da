"""The API tokens page: create a token, use it once, revoke it."""

import pytest

from integrations.models import ApiToken

URL = "/integrations/tokens/"


@pytest.fixture
def signed_in(client, marketing):
    client.force_login(marketing)
    return client


def create(client, **data):
    return client.post(URL, {"name": "HubSpot sync", "access": "read", **data})


def test_created_key_shown_once_and_works(signed_in, marketing):
    response = create(signed_in)
    key = response.context["new_key"]
    assert response.status_code == 200
    assert key in response.content.decode()
    assert ApiToken.objects.get(user=marketing).scopes == ["read"]
    page = signed_in.get(URL).content.decode()
    assert key not in page
    assert "HubSpot sync" in page
    signed_in.logout()
    pulled = signed_in.get("/api/v1/accounts/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert pulled.status_code == 200


def test_form_sent_twice_creates_one_token(signed_in, marketing):
    form_id = signed_in.get(URL).context["form"]["form_id"].value()
    first = create(signed_in, form_id=form_id)
    # The browser sends the same form again: a reload, the back button or a double click.
    again = create(signed_in, form_id=form_id)
    page = signed_in.get(again["Location"]).content.decode()
    token = ApiToken.objects.get(user=marketing)
    assert first.status_code == 200
    assert again.status_code == 302
    assert ApiToken.objects.filter(user=marketing).count() == 1
    assert f"This form was already sent and created “HubSpot sync” ({token.key_prefix}…)" in page
    assert "revoke that token and create a new one" in page
    assert first.context["new_key"] not in page


def test_each_rendered_form_creates_a_token(signed_in, marketing):
    first_id = signed_in.get(URL).context["form"]["form_id"].value()
    response = create(signed_in, form_id=first_id)
    second_id = response.context["form"]["form_id"].value()
    create(signed_in, form_id=second_id, name="Second sync")
    assert second_id != first_id
    assert ApiToken.objects.filter(user=marketing).count() == 2


def test_page_with_key_not_cached(signed_in):
    response = create(signed_in)
    assert "no-store" in response["Cache-Control"]


def test_marketing_cannot_choose_write(signed_in):
    assert "Read and write" not in signed_in.get(URL).content.decode()
    response = create(signed_in, access="write")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_sdr_may_choose_write(client, sdr):
    client.force_login(sdr)
    response = create(client, access="write")
    assert response.status_code == 200
    assert ApiToken.objects.get(user=sdr).scopes == ["read", "write"]


def test_past_expiry_rejected_with_message(signed_in):
    response = create(signed_in, expires_at="2001-01-01 10:00")
    assert response.status_code == 400
    assert "is in the past: use a later time" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_own_token(signed_in, marketing):
    create(signed_in)
    token = ApiToken.objects.get(user=marketing)
    response = signed_in.post(f"{URL}{token.pk}/revoke/", follow=True)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "is revoked" in response.content.decode()


def test_cannot_revoke_another_users_token(client, signed_in, marketing, sdr):
    create(signed_in)
    token = ApiToken.objects.get(user=marketing)
    client.force_login(sdr)
    assert client.post(f"{URL}{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_user_without_role_refused(client, make_user):
    client.force_login(make_user())
    assert client.get(URL).status_code == 403
