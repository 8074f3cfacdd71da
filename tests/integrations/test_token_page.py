"""The API tokens page: create a token, use it once, revoke it."""

import pytest

from integrations.models import ApiToken
from tests.factories import AccountFactory

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


@pytest.mark.parametrize("value", ["tomorrow", "2027-13-01 10:00"])
def test_invalid_expiry_names_value_and_format(signed_in, value):
    response = create(signed_in, expires_at=value)

    html = response.content.decode()
    assert response.status_code == 400
    assert f"“{value}” is not a date and time" in html
    assert "YYYY-MM-DD HH:MM in UTC" in html
    assert not ApiToken.objects.exists()


def test_expiry_listed_with_time_zone(signed_in):
    create(signed_in, expires_at="2030-01-31 18:00")

    assert "2030-01-31 18:00 UTC" in signed_in.get(URL).content.decode()


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


def test_marketing_offered_segments_access(signed_in):
    response = signed_in.get(URL)
    page = response.content.decode()
    choices = dict(response.context["form"].fields["access"].choices)
    assert set(choices) == {"read", "segments"}
    assert "Read and save segments" in page
    assert "Saving segments needs “Read and save segments”." in page
    assert "Your role cannot change accounts, tags, notes or imports" in page
    # Without the class, a label too long for one line drops below its radio button.
    assert 'type="radio" name="access" value="segments" class="form-check-input"' in page


def test_segments_token_from_page_saves_segment(signed_in, marketing):
    account = AccountFactory(city="Berlin")
    response = create(signed_in, access="segments")
    key = response.context["new_key"]
    signed_in.logout()
    saved = signed_in.post(
        "/api/v1/segments/saved/",
        {"name": "Campaign", "filters": {"tier": "high"}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    patched = signed_in.patch(
        f"/api/v1/accounts/{account.pk}/",
        {"city": "Oslo"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200
    assert ApiToken.objects.get(user=marketing).scopes == ["read", "segments"]
    assert saved.status_code == 201, saved.content
    assert patched.status_code == 403
    account.refresh_from_db()
    assert account.city == "Berlin"


def test_sdr_offered_every_access(client, sdr):
    client.force_login(sdr)
    response = client.get(URL)
    choices = dict(response.context["form"].fields["access"].choices)
    assert set(choices) == {"read", "segments", "write"}
    assert "Saving segments needs “Read and save segments” or “Read and write”." in (
        response.content.decode()
    )


def test_leadership_offered_read_only(client, leadership):
    client.force_login(leadership)
    page = client.get(URL)
    response = create(client, access="segments")
    choices = dict(page.context["form"].fields["access"].choices)
    assert set(choices) == {"read"}
    assert "Your role only reads, so its tokens only read." in page.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not ApiToken.objects.exists()
