"""PATCH and DELETE of one research note, with the account page's rules."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.api import views
from accounts.api.etags import etag_for
from accounts.models import ResearchNote, UserProfile
from accounts.workspace.notes import NoteValues, research_note_update
from audits.trail import TrailFilter, trail_page
from tests.factories import AccountFactory

NOTE_TEXT = "Raised a $40M Series B."


def note_url(note: ResearchNote) -> str:
    return f"/api/v1/accounts/{note.account_id}/notes/{note.pk}/"


@pytest.fixture
def note(sdr, manager) -> ResearchNote:
    UserProfile.objects.create(user=sdr, manager=manager)
    account = AccountFactory(owner=sdr, buying_signals=[])
    return ResearchNote.objects.create(account=account, kind="other", text=NOTE_TEXT, author=sdr)


def test_note_detail_url_name(note):
    url = reverse("account-note-detail", args=[note.account_id, note.pk])
    assert url == note_url(note)


def test_note_read(client_for, note, marketing):
    response = client_for(marketing).get(note_url(note))
    assert response.status_code == 200
    assert response.json()["text"] == NOTE_TEXT


def test_note_patch_by_author(client_for, note, sdr):
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = client_for(sdr).patch(
        note_url(note), {"kind": "funding", "happened_on": yesterday}, format="json"
    )
    body = response.json()
    note.refresh_from_db()
    note.account.refresh_from_db()
    assert response.status_code == 200, body
    assert body["kind"] == "funding"
    assert body["text"] == NOTE_TEXT
    assert body["buying_signal_added"] == "recent funding"
    assert note.kind == "funding"
    assert note.happened_on.isoformat() == yesterday
    assert note.author_id == sdr.pk
    assert note.account.buying_signals == ["recent funding"]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (roles.SDR, False),
        (roles.AE, False),
        (roles.SALES_MANAGER, False),
        (roles.SALES_OPS, True),
        (roles.MARKETING, False),
        (roles.SALES_LEADERSHIP, False),
    ],
)
def test_note_patch_by_other_role(client_for, make_user, note, role, allowed):
    """Someone other than the author, outside the author's team."""
    user = make_user(role, username=f"other-{role.lower().replace(' ', '-')}")
    response = client_for(user).patch(note_url(note), {"text": "Changed."}, format="json")
    note.refresh_from_db()
    if allowed:
        assert response.status_code == 200, response.json()
        assert note.text == "Changed."
    else:
        assert response.status_code == 403
        assert note.text == NOTE_TEXT


def test_note_patch_by_manager(client_for, note, manager):
    response = client_for(manager).patch(note_url(note), {"text": "Changed."}, format="json")
    assert response.status_code == 200, response.json()


def test_note_patch_denied_message(client_for, note, make_user):
    other = make_user(roles.SDR, username="other-sdr")
    response = client_for(other).patch(note_url(note), {"text": "Changed."}, format="json")
    message = response.json()["error"]["message"]
    assert response.status_code == 403
    assert f"You cannot change note {note.pk}" in message
    assert "only its author, their Sales Manager" in message


def test_note_patch_too_long_is_400(client_for, note, sdr):
    response = client_for(sdr).patch(note_url(note), {"text": "x" * 501}, format="json")
    error = response.json()["error"]
    note.refresh_from_db()
    assert response.status_code == 400
    assert "500 characters" in error["fields"]["text"][0]
    assert note.text == NOTE_TEXT


def test_note_patch_future_date_is_400(client_for, note, sdr):
    later = (timezone.localdate() + timedelta(days=400)).isoformat()
    response = client_for(sdr).patch(note_url(note), {"happened_on": later}, format="json")
    assert response.status_code == 400
    assert f"{later} is in the future" in response.json()["error"]["fields"]["happened_on"][0]


def test_note_patch_read_only_field_is_400(client_for, note, sdr):
    response = client_for(sdr).patch(note_url(note), {"status": "dismissed"}, format="json")
    note.refresh_from_db()
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["status"]
    assert note.status == ResearchNote.Status.PUBLISHED


def test_note_put_not_allowed(client_for, note, sdr):
    response = client_for(sdr).put(note_url(note), {"text": "Changed."}, format="json")
    assert response.status_code == 405


def test_proposed_note_patch_is_400(client_for, note, sales_ops):
    ResearchNote.objects.filter(pk=note.pk).update(status=ResearchNote.Status.PROPOSED)
    response = client_for(sales_ops).patch(note_url(note), {"text": "Changed."}, format="json")
    note.refresh_from_db()
    assert response.status_code == 400
    assert "publish or dismiss it first" in response.json()["error"]["message"]
    assert note.text == NOTE_TEXT


def test_note_delete_by_author(client_for, note, sdr, manager):
    note_id = note.pk
    response = client_for(sdr).delete(note_url(note))
    entries, _ = trail_page(
        TrailFilter(account_id=note.account_id, source_key="accounts.researchnote"),
        page=1,
        page_size=10,
    )
    deletion = next(entry for entry in entries if entry.action == "Deleted")
    changes = {change.field: change.old for change in deletion.changes}
    assert response.status_code == 204
    assert not ResearchNote.objects.filter(pk=note_id).exists()
    assert deletion.username == "sdr"
    assert deletion.channel == "API"
    assert changes["text"] == NOTE_TEXT


def test_note_delete_by_marketing_denied(client_for, note, marketing):
    response = client_for(marketing).delete(note_url(note))
    assert response.status_code == 403
    assert ResearchNote.objects.filter(pk=note.pk).exists()


def test_note_delete_needs_write_scope(token_client, note, sdr):
    response = token_client(sdr, scopes=("read",)).delete(note_url(note))
    assert response.status_code == 403
    assert ResearchNote.objects.filter(pk=note.pk).exists()


def test_note_of_other_account_is_404(client_for, note, sdr):
    other = AccountFactory(owner=sdr)
    response = client_for(sdr).delete(f"/api/v1/accounts/{other.pk}/notes/{note.pk}/")
    assert response.status_code == 404
    assert ResearchNote.objects.filter(pk=note.pk).exists()


# ETags and If-Match ------------------------------------------------------------------------


def test_note_read_has_etag(client_for, note, marketing):
    client = client_for(marketing)
    response = client.get(note_url(note))
    etag = response["ETag"]
    not_modified = client.get(note_url(note), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert etag.startswith('"')
    assert not_modified.status_code == 304
    assert not_modified["ETag"] == etag


def test_note_patch_with_current_if_match(client_for, note, sdr):
    client = client_for(sdr)
    etag = client.get(note_url(note))["ETag"]
    response = client.patch(note_url(note), {"text": "Changed."}, format="json", HTTP_IF_MATCH=etag)
    note.refresh_from_db()
    assert response.status_code == 200, response.json()
    assert note.text == "Changed."
    assert response["ETag"] != etag
    assert response["ETag"] == client.get(note_url(note))["ETag"]


def test_note_patch_stale_if_match_is_412(client_for, note, sdr, manager):
    sdr_client = client_for(sdr)
    stale = sdr_client.get(note_url(note))["ETag"]
    other = client_for(manager).patch(note_url(note), {"text": "Manager's."}, format="json")
    current = other["ETag"]

    response = sdr_client.patch(
        note_url(note), {"text": "Author's."}, format="json", HTTP_IF_MATCH=stale
    )

    error = response.json()["error"]
    note.refresh_from_db()
    assert other.status_code == 200
    assert response.status_code == 412
    assert error["code"] == "precondition_failed"
    assert "The research note changed since the version in If-Match" in error["message"]
    assert current in error["message"]
    assert response["ETag"] == current
    assert note.text == "Manager's."


def test_note_delete_stale_if_match_is_412(client_for, note, sdr):
    response = client_for(sdr).delete(note_url(note), HTTP_IF_MATCH='"stale"')
    assert response.status_code == 412
    assert ResearchNote.objects.filter(pk=note.pk).exists()


def test_note_delete_with_current_if_match(client_for, note, sdr):
    client = client_for(sdr)
    etag = client.get(note_url(note))["ETag"]
    response = client.delete(note_url(note), HTTP_IF_MATCH=etag)
    assert response.status_code == 204
    assert not ResearchNote.objects.filter(pk=note.pk).exists()


def test_note_weak_if_match_is_412(client_for, note, sdr):
    client = client_for(sdr)
    etag = client.get(note_url(note))["ETag"]
    response = client.patch(
        note_url(note), {"text": "Changed."}, format="json", HTTP_IF_MATCH=f"W/{etag}"
    )
    message = response.json()["error"]["message"]
    note.refresh_from_db()
    assert response.status_code == 412
    assert "The research note has not changed" in message
    assert note.text == NOTE_TEXT


def test_note_malformed_if_match_is_400(client_for, note, sdr):
    response = client_for(sdr).patch(
        note_url(note), {"text": "Changed."}, format="json", HTTP_IF_MATCH="abc"
    )
    note.refresh_from_db()
    assert response.status_code == 400
    assert "If-Match" in response.json()["error"]["fields"]
    assert note.text == NOTE_TEXT


def test_note_if_match_star_applies(client_for, note, sdr):
    response = client_for(sdr).patch(
        note_url(note), {"text": "Changed."}, format="json", HTTP_IF_MATCH="*"
    )
    assert response.status_code == 200


def test_note_changed_after_if_match_is_412(client_for, note, sdr, manager, monkeypatch):
    """A change saved between the If-Match check and the service's lock is rejected too."""
    client = client_for(sdr)
    etag = client.get(note_url(note))["ETag"]
    check = views.if_match_check

    def check_then_change(request, instance):
        check(request, instance)
        research_note_update(
            note=instance, user=manager, values=NoteValues(kind="other", text="Manager's.")
        )

    monkeypatch.setattr(views, "if_match_check", check_then_change)
    response = client.patch(
        note_url(note), {"text": "Author's."}, format="json", HTTP_IF_MATCH=etag
    )
    note.refresh_from_db()
    assert response.status_code == 412
    assert response["ETag"] == etag_for(note)
    assert note.text == "Manager's."
