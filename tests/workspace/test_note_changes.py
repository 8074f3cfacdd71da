"""Edit and delete published research notes on the account page, and their audit trail."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts import roles, workspace
from accounts.models import Account, ResearchNote
from accounts.selectors import user_label
from tests.factories import AccountFactory

from .conftest import HTMX

NOTE_TEXT = "Raised a $40M Series B led by Acme Ventures."


def edit_url(note: ResearchNote) -> str:
    return reverse("accounts:research-note-edit", args=[note.account_id, note.pk])


def delete_url(note: ResearchNote) -> str:
    return reverse("accounts:research-note-delete", args=[note.account_id, note.pk])


def days_ago(days: int) -> str:
    return (timezone.localdate() - timedelta(days=days)).isoformat()


def edit_data(note: ResearchNote, **values) -> dict[str, str]:
    """Return the edit form's data: the note's values, the given changes and its version."""
    data = {
        "kind": note.kind,
        "text": note.text,
        "source_url": note.source_url,
        "happened_on": note.happened_on.isoformat() if note.happened_on else "",
        "version": workspace.note_version(note),
    }
    data.update(values)
    return data


def page_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def account(db) -> Account:
    """An unassigned account, so that every SDR and every Sales Manager may research it."""
    return AccountFactory(name="Globex", owner=None, buying_signals=[])


@pytest.fixture
def note(account, sdr, team) -> ResearchNote:
    """A published note of the SDR, who reports to the manager."""
    return ResearchNote.objects.create(
        account=account,
        kind=ResearchNote.Kind.FUNDING,
        text=NOTE_TEXT,
        source_url="https://example.com/news/series-b",
        happened_on=timezone.localdate() - timedelta(days=10),
        author=sdr,
    )


@pytest.fixture
def users(sdr, sdr2, ae, manager, marketing, sales_ops, make_user, team) -> dict:
    return {
        "author": sdr,
        "other SDR": sdr2,
        "AE": ae,
        "author's manager": manager,
        "other manager": make_user(roles.SALES_MANAGER, username="manager2"),
        "Sales Ops": sales_ops,
        "marketing": marketing,
    }


# Who may change a note -----------------------------------------------------------------

MAY_CHANGE = {
    "author": True,
    "other SDR": False,
    "AE": False,
    "author's manager": True,
    # Any Sales Manager reviews unassigned accounts, so they may change their notes.
    "other manager": True,
    "Sales Ops": True,
    "marketing": False,
}


@pytest.mark.parametrize(("who", "allowed"), MAY_CHANGE.items())
def test_note_controls_shown_by_role(client, users, note, who, allowed):
    client.force_login(users[who])
    html = client.get(note.account.get_absolute_url()).content.decode()
    assert (f'href="{edit_url(note)}"' in html) is allowed
    assert (f'href="{delete_url(note)}"' in html) is allowed


@pytest.mark.parametrize(("who", "allowed"), MAY_CHANGE.items())
def test_note_edit_by_role(client, users, note, who, allowed):
    client.force_login(users[who])
    form = client.get(edit_url(note))
    response = client.post(edit_url(note), edit_data(note, text="Raised a $45M Series B."))
    note.refresh_from_db()
    if allowed:
        assert form.status_code == 200
        assert response.status_code == 302
        assert note.text == "Raised a $45M Series B."
    else:
        assert form.status_code == 403
        assert response.status_code == 403
        assert "only its author, their Sales Manager" in response.content.decode()
        assert note.text == NOTE_TEXT


@pytest.mark.parametrize(("who", "allowed"), MAY_CHANGE.items())
def test_note_delete_by_role(client, users, note, who, allowed):
    client.force_login(users[who])
    confirmation = client.get(delete_url(note))
    response = client.post(delete_url(note), {"version": workspace.note_version(note)})
    exists = ResearchNote.objects.filter(pk=note.pk).exists()
    if allowed:
        assert confirmation.status_code == 200
        assert response.status_code == 302
        assert not exists
    else:
        assert confirmation.status_code == 403
        assert response.status_code == 403
        assert "Ask one of them." in response.content.decode()
        assert exists


def test_note_of_other_team_denied_to_manager(client, users, note, sdr):
    Account.objects.filter(pk=note.account_id).update(owner=sdr)
    client.force_login(users["other manager"])
    response = client.post(edit_url(note), edit_data(note, text="Changed"))
    note.refresh_from_db()
    assert response.status_code == 403
    assert note.text == NOTE_TEXT


def test_author_without_note_role_denied(client, note, sdr):
    """An author who moved to a role that writes no notes no longer changes them."""
    sdr.groups.set([Group.objects.get_or_create(name=roles.MARKETING)[0]])
    client.force_login(sdr)
    response = client.post(edit_url(note), edit_data(note, text="Changed"))
    assert response.status_code == 403


def test_note_of_other_account_not_found(client, note, sdr):
    other = AccountFactory(name="Initech", owner=None)
    client.force_login(sdr)
    url = reverse("accounts:research-note-edit", args=[other.pk, note.pk])
    assert client.get(url).status_code == 404


# Editing -------------------------------------------------------------------------------


def test_note_edit_form_filled_in(client, note, sdr):
    client.force_login(sdr)
    response = client.get(edit_url(note), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="note-edit-form"' in html
    assert NOTE_TEXT in html
    assert 'value="https://example.com/news/series-b"' in html
    assert f'value="{workspace.note_version(note)}"' in html
    # The add form stays next to the edit form, with inputs of other ids.
    assert 'id="note_text"' in html
    assert f'id="note-{note.pk}_text"' in html


def test_note_edit_without_javascript(client, note, sdr):
    client.force_login(sdr)
    form = client.get(edit_url(note))
    data = edit_data(
        note, kind="expansion", text="Opens a Tokyo office.", happened_on=days_ago(3), source_url=""
    )
    response = client.post(edit_url(note), data)
    note.refresh_from_db()
    assert form.status_code == 200
    assert "<html" in form.content.decode()
    assert response.status_code == 302
    assert response["Location"] == note.account.get_absolute_url()
    assert "Note saved." in " ".join(page_messages(response))
    assert note.kind == "expansion"
    assert note.text == "Opens a Tokyo office."
    assert note.happened_on.isoformat() == days_ago(3)
    assert note.source_url == ""
    assert note.author_id == sdr.pk
    assert note.status == ResearchNote.Status.PUBLISHED


def test_note_edit_with_htmx_returns_section(client, note, sdr):
    client.force_login(sdr)
    response = client.post(edit_url(note), edit_data(note, text="Raised $45M."), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="account-notes"' in html
    assert "Note saved." in html
    assert "Raised $45M." in html
    assert 'data-testid="note-edit-form"' not in html


def test_note_edit_by_manager_keeps_author(client, note, manager, sdr):
    client.force_login(manager)
    client.post(edit_url(note), edit_data(note, text="Raised $45M."))
    note.refresh_from_db()
    assert note.text == "Raised $45M."
    assert note.author_id == sdr.pk


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"text": "x" * 501}, "Note is 501 characters long, more than the 500 allowed"),
        ({"text": "  "}, "Note is empty: write what you found."),
        ({"happened_on": "0026-03-01"}, "0026-03-01 is before 1900: check the year"),
        ({"happened_on": "2026-02-30"}, "“2026-02-30” is not a date: enter one as YYYY-MM-DD"),
        ({"source_url": "ftp://example.com/news"}, "Enter an http or https link"),
        ({"source_url": "javascript:alert(1)"}, "Enter an http or https link"),
        (
            {"kind": "rumour"},
            "“rumour” is not a kind of note: choose Funding (funding), Hire (hire), "
            "Expansion (expansion) or Other (other).",
        ),
    ],
)
def test_note_edit_invalid_values(client, note, sdr, values, message):
    client.force_login(sdr)
    response = client.post(edit_url(note), edit_data(note, **values), **HTMX)
    html = response.content.decode()
    note.refresh_from_db()
    assert response.status_code == 422
    assert message in html
    assert 'data-testid="note-edit-form"' in html
    assert 'aria-invalid="true"' in html
    assert note.text == NOTE_TEXT


def test_note_edit_future_date_rejected(client, note, sdr):
    later = (timezone.localdate() + timedelta(days=400)).isoformat()
    client.force_login(sdr)
    response = client.post(edit_url(note), edit_data(note, happened_on=later))
    note.refresh_from_db()
    assert response.status_code == 422
    assert f"{later} is in the future" in response.content.decode()
    assert note.happened_on.isoformat() == days_ago(10)


def test_note_edit_same_messages_as_add(client, note, sdr):
    """The edit form shows the add form's message for the same invalid text."""
    client.force_login(sdr)
    create_url = reverse("accounts:research-note-create", args=[note.account_id])
    added = client.post(create_url, {"kind": "other", "text": "x" * 501}, **HTMX)
    edited = client.post(edit_url(note), edit_data(note, text="x" * 501), **HTMX)
    expected = "Note is 501 characters long, more than the 500 allowed: shorten it."
    assert expected in added.content.decode()
    assert expected in edited.content.decode()


def test_note_edit_without_version_rejected(client, note, sdr):
    client.force_login(sdr)
    response = client.post(edit_url(note), edit_data(note, text="Changed", version=""))
    note.refresh_from_db()
    assert response.status_code == 422
    assert "no valid version of the note" in response.content.decode()
    assert note.text == NOTE_TEXT


def test_note_edit_stale_rejected(client, note, sdr, manager):
    opened = edit_data(note, text="Raised a $45M Series B.")
    workspace.research_note_update(
        note=note,
        user=manager,
        values=workspace.NoteValues(kind="funding", text="Raised a $50M Series B."),
    )
    client.force_login(sdr)
    response = client.post(edit_url(note), opened, **HTMX)
    html = response.content.decode()
    note.refresh_from_db()
    assert response.status_code == 409
    assert "Someone changed this note after you opened the form" in html
    assert "Raised a $50M Series B." in html
    assert note.text == "Raised a $50M Series B."
    # Saving the rejected form again applies the person's change on top.
    assert f'value="{workspace.note_version(note)}"' in html
    retried = client.post(edit_url(note), {**opened, "version": workspace.note_version(note)})
    note.refresh_from_db()
    assert retried.status_code == 302
    assert note.text == "Raised a $45M Series B."


def test_note_edit_unchanged_saves_nothing(client, note, sdr):
    client.force_login(sdr)
    history_rows = note.history.count()
    response = client.post(edit_url(note), edit_data(note))
    assert response.status_code == 302
    assert "Nothing changed" in " ".join(page_messages(response))
    assert note.history.count() == history_rows


def test_note_edit_adds_buying_signal(client, account, sdr, team):
    note = ResearchNote.objects.create(account=account, kind="other", text="Hiring", author=sdr)
    client.force_login(sdr)
    response = client.post(edit_url(note), edit_data(note, kind="hire"), **HTMX)
    account.refresh_from_db()
    assert response.status_code == 200
    assert account.buying_signals == ["hiring"]
    assert "Buying signal \u201chiring\u201d added" in response.content.decode()


def test_note_edit_removes_added_signal(client, note, sdr):
    workspace.edits._note_signal_add(note, sdr)
    client.force_login(sdr)
    response = client.post(edit_url(note), edit_data(note, kind="other"))
    note.account.refresh_from_db()
    assert response.status_code == 302
    assert note.account.buying_signals == []
    expected = "Note saved. Buying signal \u201crecent funding\u201d removed from the account"
    assert expected in " ".join(page_messages(response))


# Deleting ------------------------------------------------------------------------------


def test_note_delete_asks_first(client, note, sdr):
    client.force_login(sdr)
    response = client.get(delete_url(note))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="note-delete-confirm"' in html
    assert "Delete this funding note?" in html
    assert NOTE_TEXT in html
    assert f'action="{delete_url(note)}"' in html
    assert ResearchNote.objects.filter(pk=note.pk).exists()


def test_note_delete_confirmed_without_javascript(client, note, sdr):
    client.force_login(sdr)
    response = client.post(delete_url(note), {"version": workspace.note_version(note)})
    assert response.status_code == 302
    assert response["Location"] == note.account.get_absolute_url()
    assert "Note deleted." in page_messages(response)
    assert not ResearchNote.objects.filter(pk=note.pk).exists()


def test_note_delete_with_htmx_returns_section(client, note, sdr):
    client.force_login(sdr)
    client.get(delete_url(note), **HTMX)
    response = client.post(delete_url(note), {"version": workspace.note_version(note)}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Note deleted." in html
    assert NOTE_TEXT not in html


def test_note_delete_without_confirmation_rejected(client, note, sdr):
    client.force_login(sdr)
    response = client.post(delete_url(note), {}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 422
    assert "no valid version of the note" in html
    assert 'data-testid="note-delete-confirm"' in html
    assert ResearchNote.objects.filter(pk=note.pk).exists()


def test_note_delete_stale_rejected(client, note, sdr, manager):
    version = workspace.note_version(note)
    workspace.research_note_update(
        note=note,
        user=manager,
        values=workspace.NoteValues(kind="funding", text="Raised a $50M Series B."),
    )
    client.force_login(sdr)
    response = client.post(delete_url(note), {"version": version}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 409
    assert "it was not deleted" in html
    assert "Raised a $50M Series B." in html
    assert ResearchNote.objects.filter(pk=note.pk).exists()


def test_note_delete_removes_added_signal(client, note, sdr):
    workspace.edits._note_signal_add(note, sdr)
    client.force_login(sdr)
    confirmation = client.get(delete_url(note)).content.decode()
    response = client.post(delete_url(note), {"version": workspace.note_version(note)})
    note.account.refresh_from_db()
    assert "also removes its buying signal \u201crecent funding\u201d" in confirmation
    assert note.account.buying_signals == []
    expected = "Note deleted. Buying signal \u201crecent funding\u201d removed from the account"
    assert expected in " ".join(page_messages(response))


def test_note_delete_warns_signal_kept(client, note, sdr):
    """A signal that the account had before the note was added is not the note's."""
    Account.objects.filter(pk=note.account_id).update(buying_signals=["Funding"])
    client.force_login(sdr)
    confirmation = client.get(delete_url(note)).content.decode()
    response = client.post(delete_url(note), {"version": workspace.note_version(note)})
    note.account.refresh_from_db()
    kept = "keeps its buying signal \u201cFunding\u201d, because no research note added it"
    assert kept in confirmation
    assert kept in " ".join(page_messages(response))
    assert note.account.buying_signals == ["Funding"]


def test_edit_of_deleted_note_not_found(client, note, sdr):
    data = edit_data(note, text="Changed")
    client.force_login(sdr)
    get_page = client.get(edit_url(note))
    ResearchNote.objects.filter(pk=note.pk).delete()
    response = client.post(edit_url(note), data)
    assert get_page.status_code == 200
    assert response.status_code == 404


# Proposed notes ------------------------------------------------------------------------


@pytest.fixture
def proposed(account) -> ResearchNote:
    return ResearchNote.objects.create(
        account=account,
        kind="funding",
        text="Globex raises a Series C",
        status=ResearchNote.Status.PROPOSED,
        happened_on=timezone.localdate(),
    )


def test_proposed_note_has_no_edit_controls(client, proposed, sdr):
    client.force_login(sdr)
    html = client.get(proposed.account.get_absolute_url()).content.decode()
    assert "Publish" in html
    assert f'href="{edit_url(proposed)}"' not in html
    assert f'href="{delete_url(proposed)}"' not in html


def test_proposed_note_edit_rejected(client, proposed, sales_ops):
    client.force_login(sales_ops)
    form = client.get(edit_url(proposed), **HTMX)
    response = client.post(edit_url(proposed), edit_data(proposed, text="Changed"), **HTMX)
    deletion = client.post(delete_url(proposed), {"version": workspace.note_version(proposed)})
    proposed.refresh_from_db()
    expected = "is proposed by enrichment, so it cannot be edited: publish or dismiss it first."
    assert form.status_code == 422
    assert expected in form.content.decode()
    assert response.status_code == 422
    assert expected in response.content.decode()
    assert deletion.status_code == 302
    assert "cannot be deleted: publish or dismiss it first" in " ".join(page_messages(deletion))
    assert proposed.text == "Globex raises a Series C"
    assert proposed.status == ResearchNote.Status.PROPOSED


def test_published_proposal_editable_by_publisher(client, proposed, sdr):
    client.force_login(sdr)
    review_url = reverse("accounts:research-note-review", args=[proposed.account_id, proposed.pk])
    client.post(review_url, {"status": "published"})
    proposed.refresh_from_db()
    html = client.get(proposed.account.get_absolute_url()).content.decode()
    assert proposed.status == ResearchNote.Status.PUBLISHED
    assert proposed.author_id == sdr.pk
    assert f'href="{edit_url(proposed)}"' in html


def test_dismissed_note_cannot_be_deleted(client, proposed, sales_ops):
    ResearchNote.objects.filter(pk=proposed.pk).update(status=ResearchNote.Status.DISMISSED)
    proposed.refresh_from_db()
    client.force_login(sales_ops)
    response = client.post(delete_url(proposed), {"version": workspace.note_version(proposed)})
    assert response.status_code == 302
    assert "is dismissed, so it cannot be deleted" in " ".join(page_messages(response))
    assert ResearchNote.objects.filter(pk=proposed.pk).exists()


# Audit trail ---------------------------------------------------------------------------


def trail_entries(client, account_id: int) -> list:
    response = client.get(reverse("audits:trail"), {"account": account_id})
    assert response.status_code == 200
    return [entry for entry in response.context["entries"] if entry.model_label == "Research note"]


def test_note_edit_in_audit_trail(client, note, sdr, manager):
    client.force_login(sdr)
    client.post(edit_url(note), edit_data(note, text="Raised a $45M Series B."))
    client.force_login(manager)
    entries = trail_entries(client, note.account_id)
    edit = next(entry for entry in entries if entry.action == "Changed")
    changes = {change.field: (change.old, change.new) for change in edit.changes}
    assert edit.user == user_label(sdr)
    assert edit.channel == "Page"
    assert changes == {"text": (NOTE_TEXT, "Raised a $45M Series B.")}


def test_note_deletion_in_audit_trail(client, note, manager):
    long_text = "Long note. " * 45
    ResearchNote.objects.filter(pk=note.pk).update(text=long_text)
    note.refresh_from_db()
    before = timezone.now()
    client.force_login(manager)
    client.post(delete_url(note), {"version": workspace.note_version(note)})
    entries = trail_entries(client, note.account_id)
    deletion = next(entry for entry in entries if entry.action == "Deleted")
    changes = {change.field: (change.old, change.new) for change in deletion.changes}
    assert deletion.user == user_label(manager)
    assert deletion.at >= before
    assert deletion.channel == "Page"
    assert changes["text"] == (long_text, "—")
    assert changes["kind"] == ("funding", "—")
    assert changes["source url"] == ("https://example.com/news/series-b", "—")

    csv_text = b"".join(
        client.get(reverse("audits:trail-export"), {"account": note.account_id}).streaming_content
    ).decode()
    assert long_text.strip() in csv_text
