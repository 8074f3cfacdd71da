"""Research notes and score history of one account."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ResearchNote
from segmentation.models import ScoreRecord
from tests.factories import AccountFactory


def notes_url(account) -> str:
    return f"/api/v1/accounts/{account.pk}/notes/"


def scores_url(account) -> str:
    return f"/api/v1/accounts/{account.pk}/scores/"


def test_note_created_by_owner(client_for, sdr):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).post(
        notes_url(account), {"kind": "funding", "text": "Raised a Series B."}, format="json"
    )
    body = response.json()
    assert response.status_code == 201, body
    assert body["author"] == "sdr"
    assert body["status"] == "published"
    assert ResearchNote.objects.get(pk=body["id"]).account_id == account.pk


def test_note_over_500_characters_is_400(client_for, sdr):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).post(notes_url(account), {"text": "x" * 501}, format="json")
    error = response.json()["error"]
    assert response.status_code == 400
    assert "500 characters" in error["fields"]["text"][0]
    assert not ResearchNote.objects.exists()


def test_note_of_500_emoji_sequences_is_kept(client_for, sdr):
    account = AccountFactory(owner=sdr)
    text = "👨🏽‍👩🏽‍👧🏽‍👦🏽" * 250 + "🇩🇪" * 250

    response = client_for(sdr).post(notes_url(account), {"text": text}, format="json")

    assert response.status_code == 201, response.json()
    assert ResearchNote.objects.get().text == text


def test_note_of_501_flags_is_400(client_for, sdr):
    account = AccountFactory(owner=sdr)

    response = client_for(sdr).post(notes_url(account), {"text": "🇩🇪" * 501}, format="json")

    assert response.status_code == 400
    assert "500 characters" in response.json()["error"]["fields"]["text"][0]
    assert not ResearchNote.objects.exists()


def test_note_of_500_characters_is_kept(client_for, sdr):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).post(notes_url(account), {"text": "x" * 500}, format="json")
    assert response.status_code == 201


def test_note_on_others_account_denied(client_for, sdr, ae):
    account = AccountFactory(owner=ae)
    response = client_for(sdr).post(notes_url(account), {"text": "Hello"}, format="json")
    assert response.status_code == 403
    assert not ResearchNote.objects.exists()


def test_note_by_marketing_denied(client_for, marketing):
    account = AccountFactory(owner=None)
    response = client_for(marketing).post(notes_url(account), {"text": "Hello"}, format="json")
    assert response.status_code == 403


def test_notes_listed_newest_first(client_for, marketing, sdr):
    account = AccountFactory()
    first = ResearchNote.objects.create(account=account, text="first", author=sdr)
    second = ResearchNote.objects.create(account=account, text="second", author=sdr)
    ResearchNote.objects.create(account=AccountFactory(), text="elsewhere")
    response = client_for(marketing).get(notes_url(account))
    ids = [row["id"] for row in response.json()["results"]]
    assert response.status_code == 200
    assert ids == [second.pk, first.pk]


def test_notes_of_missing_account_404(signed_in_api):
    response = signed_in_api.get("/api/v1/accounts/999999/notes/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_scores_history(client_for, marketing, framework):
    account = AccountFactory()
    older = ScoreRecord.objects.create(
        account=account, framework=framework, score=40, tier="medium"
    )
    newer = ScoreRecord.objects.create(account=account, framework=framework, score=80, tier="high")
    ScoreRecord.objects.create(account=AccountFactory(), framework=framework, score=1, tier="low")
    response = client_for(marketing).get(scores_url(account))
    rows = response.json()["results"]
    assert response.status_code == 200
    assert [row["id"] for row in rows] == [newer.pk, older.pk]
    assert rows[0]["framework_version"] == 900
    assert rows[0]["tier"] == "high"


def test_scores_query_count_is_pinned(signed_in_api, framework, django_assert_max_num_queries):
    account = AccountFactory()
    for score in range(20):
        ScoreRecord.objects.create(account=account, framework=framework, score=score)
    # Session, user, roles, account, records with their framework.
    with django_assert_max_num_queries(5):
        response = signed_in_api.get(scores_url(account))
    assert len(response.json()["results"]) == 20


@pytest.mark.django_db
def test_scores_anonymous_401(api_client):
    account = AccountFactory()
    assert api_client.get(scores_url(account)).status_code == 401


def test_note_dated_in_future_is_400(client_for, sdr):
    account = AccountFactory(owner=sdr)
    later = (timezone.localdate() + timedelta(days=30)).isoformat()
    response = client_for(sdr).post(
        notes_url(account), {"text": "Opens a Tokyo office.", "happened_on": later}, format="json"
    )
    error = response.json()["error"]
    assert response.status_code == 400
    assert "is in the future" in error["fields"]["happened_on"][0]
    assert not ResearchNote.objects.exists()


def test_note_dated_tomorrow_is_kept(client_for, sdr):
    account = AccountFactory(owner=sdr)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client_for(sdr).post(
        notes_url(account), {"text": "Series C announced.", "happened_on": tomorrow}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("foo", 1, "foo is not a field of a research note:"),
        ("status", "proposed", "status is read-only: a note added through the API is always"),
        ("author", 5, "author is read-only: the author is the user who added the note"),
        ("buying_signal_added", "hiring", "buying_signal_added is read-only:"),
    ],
)
def test_note_extra_field_is_400(client_for, sdr, field, value, expected):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).post(
        notes_url(account), {"kind": "hire", "text": "ok", field: value}, format="json"
    )
    error = response.json()["error"]
    assert response.status_code == 400
    assert list(error["fields"]) == [field]
    assert error["fields"][field][0].startswith(expected)
    assert not ResearchNote.objects.exists()


def test_note_unknown_kind_lists_kinds(client_for, sdr):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).post(
        notes_url(account), {"kind": "Funding", "text": "Raised."}, format="json"
    )
    error = response.json()["error"]
    assert response.status_code == 400
    assert error["fields"]["kind"] == [
        "“Funding” is not a kind of note: did you mean funding? Use one of funding, hire, "
        "expansion, other."
    ]


def test_note_reports_added_signal(client_for, sdr):
    account = AccountFactory(owner=sdr, buying_signals=[])
    response = client_for(sdr).post(
        notes_url(account), {"kind": "funding", "text": "Raised a Series B."}, format="json"
    )
    body = response.json()
    assert response.status_code == 201, body
    assert body["buying_signal_added"] == "recent funding"


def test_note_reports_no_signal(client_for, sdr):
    account = AccountFactory(owner=sdr, buying_signals=["recent funding"])
    client = client_for(sdr)
    other = client.post(notes_url(account), {"kind": "other", "text": "Met them."}, format="json")
    again = client.post(
        notes_url(account), {"kind": "funding", "text": "Raised again."}, format="json"
    )
    assert other.status_code == 201, other.json()
    assert other.json()["buying_signal_added"] is None
    assert again.status_code == 201, again.json()
    assert again.json()["buying_signal_added"] is None


def test_note_dated_before_1900_is_400(client_for, sdr):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).post(
        notes_url(account),
        {"text": "Raised a Series A.", "happened_on": "0026-03-01"},
        format="json",
    )
    error = response.json()["error"]
    assert response.status_code == 400
    assert "0026-03-01 is before 1900" in error["fields"]["happened_on"][0]
    assert not ResearchNote.objects.exists()
