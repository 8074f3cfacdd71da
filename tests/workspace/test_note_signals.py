"""Funding, hire and expansion notes add their buying signal to the account."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import workspace
from accounts.models import Account, ResearchNote
from accounts.selectors import user_label
from audits.trail import TrailFilter, trail_page
from enrichment.models import Observation
from segmentation.models import ScoreRecord
from tests.factories import AccountFactory

from .conftest import HTMX


@pytest.fixture
def account(sdr, saas, approved_framework):
    """A scored account with every mandatory field and no buying signal."""
    account = AccountFactory(
        name="Globex",
        owner=sdr,
        industry=saas,
        employee_count=450,
        employee_raw="450",
        country="US",
        buying_signals=[],
    )
    workspace.edits._segment(account)
    account.refresh_from_db()
    return account


@pytest.fixture
def client_sdr(client, sdr):
    client.force_login(sdr)
    return client


def note_url(account: Account) -> str:
    return reverse("accounts:research-note-create", args=[account.pk])


def days_ago(days: int) -> str:
    return (timezone.localdate() - timedelta(days=days)).isoformat()


def test_funding_note_adds_signal_and_scores_again(client_sdr, account, sdr):
    score_before = account.score
    data = {"kind": "funding", "text": "Raised a $40M Series B.", "happened_on": days_ago(10)}
    response = client_sdr.post(note_url(account), data, **HTMX)
    account.refresh_from_db()
    observation = Observation.objects.get(account=account, field="buying_signals")
    html = response.content.decode()
    assert response.status_code == 200
    assert account.buying_signals == ["recent funding"]
    assert account.score > score_before
    assert ScoreRecord.objects.filter(account=account).latest("id").score == account.score
    assert observation.value == ["recent funding"]
    assert observation.raw_value == "Raised a $40M Series B."
    assert observation.source_detail == "research note"
    assert observation.entered_by == sdr
    assert account.history.latest().history_user == sdr
    assert "Buying signal “recent funding” added" in html
    # The signals, score and history sections reload.
    assert json.loads(response["HX-Trigger"])["accountChanged"] == {"account": account.pk}


@pytest.mark.parametrize(("kind", "signal"), [("hire", "hiring"), ("expansion", "expansion")])
def test_hire_and_expansion_notes_add_their_signals(client_sdr, account, kind, signal):
    client_sdr.post(note_url(account), {"kind": kind, "text": "News."}, **HTMX)
    account.refresh_from_db()
    assert account.buying_signals == [signal]


def test_other_note_adds_no_signal(client_sdr, account):
    response = client_sdr.post(
        note_url(account), {"kind": "other", "text": "Met at a fair."}, **HTMX
    )
    account.refresh_from_db()
    assert account.buying_signals == []
    assert "HX-Trigger" not in response
    assert "Buying signal" not in response.content.decode()


def test_note_unknown_kind_lists_kinds(client_sdr, account):
    response = client_sdr.post(note_url(account), {"kind": "rumour", "text": "News."}, **HTMX)

    assert response.status_code == 422
    assert (
        "“rumour” is not a kind of note: choose Funding (funding), Hire (hire), Expansion "
        "(expansion) or Other (other)." in response.content.decode()
    )
    assert not account.notes.exists()


def test_year_old_note_adds_no_signal(client_sdr, account):
    data = {"kind": "funding", "text": "Seed round.", "happened_on": days_ago(366)}
    client_sdr.post(note_url(account), data, **HTMX)
    account.refresh_from_db()
    assert ResearchNote.objects.filter(account=account).count() == 1
    assert account.buying_signals == []


def test_note_a_year_ago_still_adds_signal(client_sdr, account):
    data = {"kind": "funding", "text": "Series A.", "happened_on": days_ago(365)}
    client_sdr.post(note_url(account), data, **HTMX)
    account.refresh_from_db()
    assert account.buying_signals == ["recent funding"]


def test_signal_already_recorded_is_not_repeated(client_sdr, account):
    Account.objects.filter(pk=account.pk).update(buying_signals=["Funding", "hiring"])
    updated_at = Account.objects.get(pk=account.pk).updated_at
    response = client_sdr.post(note_url(account), {"kind": "funding", "text": "Series C."}, **HTMX)
    account.refresh_from_db()
    assert account.buying_signals == ["Funding", "hiring"]
    assert account.updated_at == updated_at
    assert not Observation.objects.filter(account=account, field="buying_signals").exists()
    assert "Buying signal" not in response.content.decode()


def test_full_page_post_says_which_signal_was_added(client_sdr, account):
    response = client_sdr.post(
        note_url(account), {"kind": "hire", "text": "Hired a VP of Sales."}, follow=True
    )
    html = response.content.decode()
    assert "Note added. Buying signal “hiring” added to the account" in html
    assert 'data-testid="buying-signals"' in html


def test_published_proposal_adds_signal(client_sdr, account):
    recent = timezone.localdate() - timedelta(days=3)
    hire = ResearchNote.objects.create(
        account=account,
        kind="hire",
        text="Hires a CRO.",
        status=ResearchNote.Status.PROPOSED,
        happened_on=recent,
    )
    funding = ResearchNote.objects.create(
        account=account,
        kind="funding",
        text="Raises.",
        status=ResearchNote.Status.PROPOSED,
        happened_on=recent,
    )
    for note, status in ((funding, "dismissed"), (hire, "published")):
        url = reverse("accounts:research-note-review", args=[account.pk, note.pk])
        response = client_sdr.post(url, {"status": status}, **HTMX)
        assert response.status_code == 200
    account.refresh_from_db()
    assert account.buying_signals == ["hiring"]


def test_undated_proposal_adds_no_signal(client_sdr, account):
    hire = ResearchNote.objects.create(
        account=account, kind="hire", text="Hires a CRO.", status=ResearchNote.Status.PROPOSED
    )

    url = reverse("accounts:research-note-review", args=[account.pk, hire.pk])
    response = client_sdr.post(url, {"status": "published"}, **HTMX)

    account.refresh_from_db()
    assert response.status_code == 200
    assert account.buying_signals == []


def test_api_note_adds_signal(client, sdr, account):
    client.force_login(sdr)
    response = client.post(
        f"/api/v1/accounts/{account.pk}/notes/",
        {"kind": "expansion", "text": "Opens a Tokyo office."},
        content_type="application/json",
    )
    account.refresh_from_db()
    assert response.status_code == 201, response.content
    assert response.json()["text"] == "Opens a Tokyo office."
    assert account.buying_signals == ["expansion"]


def test_signals_section_reloads(client_sdr, account):
    Account.objects.filter(pk=account.pk).update(buying_signals=["intent surge"])
    url = reverse("accounts:account-section", args=[account.pk, "signals"])
    html = client_sdr.get(url, **HTMX).content.decode()
    assert 'id="account-signals"' in html
    assert "<li>Intent surge</li>" in html


# Edits and deletions that take the signal off --------------------------------------------


def edit_url(note: ResearchNote) -> str:
    return reverse("accounts:research-note-edit", args=[note.account_id, note.pk])


def delete_url(note: ResearchNote) -> str:
    return reverse("accounts:research-note-delete", args=[note.account_id, note.pk])


def edit_data(note: ResearchNote, **values) -> dict[str, str]:
    data = {
        "kind": note.kind,
        "text": note.text,
        "source_url": note.source_url,
        "happened_on": note.happened_on.isoformat() if note.happened_on else "",
        "version": workspace.note_version(note),
    }
    data.update(values)
    return data


def funding_note_add(client, account: Account) -> ResearchNote:
    """Add a recent funding note on the page, which adds the signal "recent funding"."""
    data = {"kind": "funding", "text": "Raised a $40M Series B.", "happened_on": days_ago(10)}
    response = client.post(note_url(account), data, **HTMX)
    assert response.status_code == 200
    return ResearchNote.objects.filter(account=account).latest("id")


def account_signal_rows(account: Account) -> list:
    """Return the account's trail entries that changed its buying signals, oldest first."""
    entries, _ = trail_page(
        TrailFilter(account_id=account.pk, source_key="accounts.account"), page=1, page_size=50
    )
    rows = [
        entry
        for entry in entries
        if any(change.field == "buying signals" for change in entry.changes)
    ]
    return list(reversed(rows))


def test_note_edited_away_removes_signal(client_sdr, account, sdr):
    score_before = account.score
    note = funding_note_add(client_sdr, account)
    account.refresh_from_db()
    score_with_signal = account.score
    records = ScoreRecord.objects.filter(account=account).count()

    response = client_sdr.post(edit_url(note), edit_data(note, kind="other"), **HTMX)

    account.refresh_from_db()
    html = response.content.decode()
    assert response.status_code == 200
    assert score_with_signal > score_before
    assert account.buying_signals == []
    assert account.score == score_before
    assert ScoreRecord.objects.filter(account=account).count() == records + 1
    assert "Note saved." in html
    assert "Buying signal \u201crecent funding\u201d removed from the account" in html
    assert json.loads(response["HX-Trigger"])["accountChanged"] == {"account": account.pk}
    removal = account_signal_rows(account)[-1]
    assert removal.user == user_label(sdr)
    assert removal.channel == "Page"
    assert removal.note == f"Research note {note.pk} edited"


def test_note_dated_back_removes_signal(client_sdr, account):
    note = funding_note_add(client_sdr, account)
    client_sdr.post(edit_url(note), edit_data(note, happened_on=days_ago(400)), **HTMX)
    account.refresh_from_db()
    assert account.buying_signals == []


def test_note_kind_change_swaps_signal(client_sdr, account):
    note = funding_note_add(client_sdr, account)
    response = client_sdr.post(edit_url(note), edit_data(note, kind="hire"), **HTMX)
    account.refresh_from_db()
    html = response.content.decode()
    assert account.buying_signals == ["hiring"]
    assert (
        "Buying signal \u201chiring\u201d added to the account and buying signal "
        "\u201crecent funding\u201d removed from the account" in html
    )


def test_note_text_edit_keeps_signal(client_sdr, account):
    note = funding_note_add(client_sdr, account)
    response = client_sdr.post(edit_url(note), edit_data(note, text="Raised $45M."), **HTMX)
    account.refresh_from_db()
    assert account.buying_signals == ["recent funding"]
    assert "removed" not in response.content.decode()


def test_note_deletion_removes_signal(client_sdr, account, sdr):
    score_before = account.score
    note = funding_note_add(client_sdr, account)

    confirmation = client_sdr.get(delete_url(note), **HTMX).content.decode()
    response = client_sdr.post(
        delete_url(note), {"version": workspace.note_version(note)}, follow=True
    )

    account.refresh_from_db()
    html = response.content.decode()
    assert "also removes its buying signal \u201crecent funding\u201d" in confirmation
    assert account.buying_signals == []
    assert account.score == score_before
    assert "Note deleted. Buying signal \u201crecent funding\u201d removed" in html
    removal = account_signal_rows(account)[-1]
    changes = {change.field: (change.old, change.new) for change in removal.changes}
    assert removal.user == user_label(sdr)
    assert removal.note == f"Research note {note.pk} deleted"
    assert "recent funding" in changes["buying signals"][0]
    assert "recent funding" not in changes["buying signals"][1]


def test_second_note_keeps_signal(client_sdr, account):
    first = funding_note_add(client_sdr, account)
    second = funding_note_add(client_sdr, account)
    account.refresh_from_db()
    updated_at = account.updated_at

    confirmation = client_sdr.get(delete_url(first), **HTMX).content.decode()
    deleted = client_sdr.post(delete_url(first), {"version": workspace.note_version(first)}, **HTMX)

    account.refresh_from_db()
    kept = f"keeps its buying signal \u201crecent funding\u201d, because research note {second.pk}"
    assert kept in confirmation
    assert kept in deleted.content.decode()
    assert account.buying_signals == ["recent funding"]
    assert account.updated_at == updated_at

    # Without the second note, nothing keeps the signal.
    client_sdr.post(edit_url(second), edit_data(second, kind="other"), **HTMX)
    account.refresh_from_db()
    assert account.buying_signals == []


def test_old_second_note_does_not_keep_signal(client_sdr, account, sdr):
    note = funding_note_add(client_sdr, account)
    ResearchNote.objects.create(
        account=account,
        kind="funding",
        text="Seed round.",
        happened_on=timezone.localdate() - timedelta(days=400),
        author=sdr,
    )
    client_sdr.post(delete_url(note), {"version": workspace.note_version(note)}, **HTMX)
    account.refresh_from_db()
    assert account.buying_signals == []


def test_import_source_keeps_signal(client_sdr, account):
    Observation.objects.create(
        account=account,
        field="buying_signals",
        value=["Funding"],
        raw_value="yes",
        source="crunchbase",
        source_detail="funding.csv",
        observed_at=timezone.now(),
    )
    note = funding_note_add(client_sdr, account)

    response = client_sdr.post(delete_url(note), {"version": workspace.note_version(note)}, **HTMX)

    account.refresh_from_db()
    assert account.buying_signals == ["recent funding"]
    assert "because the source crunchbase reports it" in response.content.decode()


def test_signal_from_before_notes_kept(client_sdr, account):
    Account.objects.filter(pk=account.pk).update(buying_signals=["Recent funding"])
    note = funding_note_add(client_sdr, account)

    response = client_sdr.post(delete_url(note), {"version": workspace.note_version(note)}, **HTMX)

    account.refresh_from_db()
    assert account.buying_signals == ["Recent funding"]
    assert "because no research note added it" in response.content.decode()


def test_api_note_changes_remove_signal(client, sdr, account):
    client.force_login(sdr)
    notes_url = f"/api/v1/accounts/{account.pk}/notes/"
    first = client.post(notes_url, {"kind": "hire", "text": "Hires."}, "application/json").json()
    second = client.post(notes_url, {"kind": "hire", "text": "More."}, "application/json").json()

    kept = client.patch(
        f"{notes_url}{first['id']}/", {"kind": "other"}, content_type="application/json"
    )
    account.refresh_from_db()
    assert kept.status_code == 200, kept.content
    assert kept.json()["buying_signal_removed"] is None
    assert account.buying_signals == ["hiring"]

    removed = client.patch(
        f"{notes_url}{second['id']}/", {"kind": "expansion"}, content_type="application/json"
    )
    account.refresh_from_db()
    assert removed.status_code == 200, removed.content
    assert removed.json()["buying_signal_removed"] == "hiring"
    assert removed.json()["buying_signal_added"] == "expansion"
    assert account.buying_signals == ["expansion"]


def test_api_note_deletion_removes_signal(client, sdr, account):
    client.force_login(sdr)
    notes_url = f"/api/v1/accounts/{account.pk}/notes/"
    note = client.post(notes_url, {"kind": "hire", "text": "Hires."}, "application/json").json()

    response = client.delete(f"{notes_url}{note['id']}/")

    account.refresh_from_db()
    assert response.status_code == 204
    assert account.buying_signals == []
