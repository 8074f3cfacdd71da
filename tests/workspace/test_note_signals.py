"""Funding, hire and expansion notes add their buying signal to the account."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import workspace
from accounts.models import Account, ResearchNote
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
