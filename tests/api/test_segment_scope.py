"""The segments token scope: Marketing saves its own segments and changes nothing else."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts import roles
from accounts.models import Account, ImportRun, ResearchNote, Tier
from integrations.models import ApiToken, SavedSegment, WebhookSubscription
from integrations.services.tokens import api_token_create
from segmentation.models import Framework
from tests.factories import AccountFactory

SAVED_URL = "/api/v1/segments/saved/"
TOKENS_URL = "/api/v1/tokens/"
ACCOUNTS_URL = "/api/v1/accounts/"
TOKEN_PAGE = "/integrations/tokens/"


def segment_body(name: str = "EMEA high") -> dict:
    return {"name": name, "filters": {"tier": "high", "geography": "EMEA"}, "is_shared": True}


@pytest.fixture
def marketing_client(token_client, marketing):
    return token_client(marketing, scopes=["segments"])


def test_marketing_token_creates_segment(marketing_client, marketing):
    response = marketing_client.post(SAVED_URL, segment_body(), format="json")

    assert response.status_code == 201, response.json()
    segment = SavedSegment.objects.get()
    assert segment.owner == marketing
    assert segment.filters == {"tier": "high", "geography": "EMEA"}
    assert segment.is_shared is True


def test_marketing_token_updates_own_segment(marketing_client, marketing):
    segment = SavedSegment.objects.create(name="Old", owner=marketing, filters={"tier": "low"})

    patched = marketing_client.patch(
        f"{SAVED_URL}{segment.pk}/", {"name": "Renamed"}, format="json"
    )
    replaced = marketing_client.put(
        f"{SAVED_URL}{segment.pk}/", segment_body("Replaced"), format="json"
    )

    segment.refresh_from_db()
    assert patched.status_code == 200, patched.json()
    assert replaced.status_code == 200, replaced.json()
    assert segment.name == "Replaced"
    assert segment.filters == {"tier": "high", "geography": "EMEA"}


def test_marketing_token_deletes_own_segment(marketing_client, marketing):
    segment = SavedSegment.objects.create(name="Mine", owner=marketing)

    response = marketing_client.delete(f"{SAVED_URL}{segment.pk}/")

    assert response.status_code == 204
    assert not SavedSegment.objects.filter(pk=segment.pk).exists()


def test_marketing_token_cannot_change_others_segment(marketing_client, sdr):
    segment = SavedSegment.objects.create(
        name="Shared by SDR", owner=sdr, is_shared=True, filters={"tier": "high"}
    )

    patched = marketing_client.patch(f"{SAVED_URL}{segment.pk}/", {"name": "Taken"}, format="json")
    deleted = marketing_client.delete(f"{SAVED_URL}{segment.pk}/")

    segment.refresh_from_db()
    assert patched.status_code == 403
    assert deleted.status_code == 403
    assert "belongs to another user" in patched.json()["error"]["message"]
    assert segment.name == "Shared by SDR"


def _account_patch(client, account):
    return client.patch(f"{ACCOUNTS_URL}{account.pk}/", {"city": "Oslo"}, format="json")


def _account_create(client, account):
    return client.post(ACCOUNTS_URL, {"name": "New Co", "website": "new.example"}, format="json")


def _account_delete(client, account):
    return client.delete(f"{ACCOUNTS_URL}{account.pk}/")


def _tag_change(client, account):
    body = {"tag": "SaaS – SMB – US", "tier": "high", "reason": "Campaign list"}
    return client.post(f"{ACCOUNTS_URL}{account.pk}/segment/", body, format="json")


def _note_add(client, account):
    return client.post(f"{ACCOUNTS_URL}{account.pk}/notes/", {"text": "Raised"}, format="json")


def _import_upload(client, account):
    upload = SimpleUploadedFile("companies.csv", b"Company,Website\nAcme,acme.example\n")
    return client.post("/api/v1/imports/", {"file": upload}, format="multipart")


def _webhook_create(client, account):
    body = {"name": "CRM", "url": "https://crm.example.com/hook", "events": []}
    return client.post("/api/v1/webhooks/", body, format="json")


def _framework_draft(client, account):
    return client.post("/api/v1/frameworks/", {}, format="json")


@pytest.mark.parametrize(
    ("write", "method"),
    [
        (_account_patch, "PATCH"),
        (_account_create, "POST"),
        (_account_delete, "DELETE"),
        (_tag_change, "POST"),
        (_note_add, "POST"),
        (_import_upload, "POST"),
        (_webhook_create, "POST"),
        (_framework_draft, "POST"),
    ],
)
def test_segments_token_writes_nothing_else(marketing_client, write, method):
    account = AccountFactory(city="Berlin", tier=Tier.LOW, tag="")

    response = write(marketing_client, account)

    message = response.json()["error"]["message"]
    account.refresh_from_db()
    assert response.status_code == 403
    assert "has the read and segments scopes only" in message
    assert f"cannot {method} here" in message
    assert "cannot hold the write scope" in message
    assert "only SDR, AE, Sales Manager and Sales Ops get tokens with the write scope" in message
    assert account.city == "Berlin"
    assert account.tier_override == ""
    assert account.tag == ""
    assert Account.objects.count() == 1
    assert not ResearchNote.objects.exists()
    assert not ImportRun.objects.exists()
    assert not WebhookSubscription.objects.exists()
    assert not Framework.objects.filter(status="draft").exists()


def test_marketing_read_token_names_segments_scope(token_client, marketing):
    response = token_client(marketing, scopes=["read"]).post(
        SAVED_URL, segment_body(), format="json"
    )

    message = response.json()["error"]["message"]
    assert response.status_code == 403
    assert "has the read scope only, so it cannot POST here" in message
    assert "Use a token with the segments scope" in message
    assert f"API tokens page ({TOKEN_PAGE})" in message
    assert not SavedSegment.objects.exists()


def test_writer_read_token_names_both_scopes(token_client, sdr):
    segment = SavedSegment.objects.create(name="Mine", owner=sdr)

    response = token_client(sdr, scopes=["read"]).delete(f"{SAVED_URL}{segment.pk}/")

    assert response.status_code == 403
    assert "Use a token with the segments or write scope" in response.json()["error"]["message"]
    assert SavedSegment.objects.filter(pk=segment.pk).exists()


def test_write_token_saves_segments(token_client, sdr):
    client = token_client(sdr, scopes=["read", "write"])

    created = client.post(SAVED_URL, segment_body(), format="json")
    segment_id = created.json()["id"]
    renamed = client.patch(f"{SAVED_URL}{segment_id}/", {"name": "Renamed"}, format="json")
    deleted = client.delete(f"{SAVED_URL}{segment_id}/")

    assert ApiToken.objects.get().scopes == ["read", "write"]
    assert created.status_code == 201, created.json()
    assert renamed.status_code == 200, renamed.json()
    assert deleted.status_code == 204
    assert not SavedSegment.objects.exists()


def test_leadership_read_token_cannot_save(token_client, leadership):
    response = token_client(leadership, scopes=["read"]).post(
        SAVED_URL, segment_body(), format="json"
    )

    message = response.json()["error"]["message"]
    assert response.status_code == 403
    assert "cannot hold the segments scope" in message
    assert (
        "only SDR, AE, Sales Manager, Sales Ops and Marketing get tokens with the segments scope"
        in message
    )
    assert not SavedSegment.objects.exists()


def test_segments_token_lost_with_role(token_client, marketing):
    client = token_client(marketing, scopes=["segments"])
    marketing.groups.set([Group.objects.get_or_create(name=roles.SALES_LEADERSHIP)[0]])

    response = client.post(SAVED_URL, segment_body(), format="json")

    assert response.status_code == 403
    assert "no longer allows the segments scope" in response.json()["error"]["message"]
    assert not SavedSegment.objects.exists()


def test_marketing_creates_segments_token(client_for, marketing):
    response = client_for(marketing).post(
        TOKENS_URL, {"name": "Campaigns", "scopes": ["segments"]}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["scopes"] == ["read", "segments"]
    assert ApiToken.objects.get().scopes == ["read", "segments"]


def test_leadership_segments_token_refused(client_for, leadership):
    response = client_for(leadership).post(
        TOKENS_URL, {"name": "Campaigns", "scopes": ["read", "segments"]}, format="json"
    )

    message = response.json()["error"]["fields"]["scopes"][0]
    assert response.status_code == 400
    assert "Your role allows read scopes only" in message
    assert "with segments cannot be created" in message
    assert not ApiToken.objects.exists()


def test_service_segments_scope_adds_read(marketing):
    token, _ = api_token_create(user=marketing, name="Campaigns", scopes=["segments"])

    assert token.scopes == ["read", "segments"]


# Sessions: the browser, including the interactive API documentation ---------------------


def test_marketing_session_saves_own_segment(client_for, marketing):
    client = client_for(marketing)

    created = client.post(SAVED_URL, segment_body(), format="json")
    segment_id = created.json()["id"]
    renamed = client.patch(f"{SAVED_URL}{segment_id}/", {"name": "Renamed"}, format="json")
    deleted = client.delete(f"{SAVED_URL}{segment_id}/")

    assert created.status_code == 201, created.json()
    assert created.json()["owner"] == marketing.username
    assert renamed.status_code == 200, renamed.json()
    assert renamed.json()["name"] == "Renamed"
    assert deleted.status_code == 204
    assert not SavedSegment.objects.exists()


def test_marketing_session_cannot_change_others(client_for, marketing, sdr):
    segment = SavedSegment.objects.create(name="Shared by SDR", owner=sdr, is_shared=True)
    client = client_for(marketing)

    patched = client.patch(f"{SAVED_URL}{segment.pk}/", {"name": "Taken"}, format="json")
    deleted = client.delete(f"{SAVED_URL}{segment.pk}/")

    assert patched.status_code == 403
    assert deleted.status_code == 403
    assert SavedSegment.objects.get(pk=segment.pk).name == "Shared by SDR"


def test_marketing_session_cannot_patch_account(client_for, marketing):
    account = AccountFactory(city="Berlin")

    response = client_for(marketing).patch(
        f"{ACCOUNTS_URL}{account.pk}/", {"city": "Oslo"}, format="json"
    )

    account.refresh_from_db()
    assert response.status_code == 403
    assert account.city == "Berlin"


def test_leadership_session_cannot_save(client_for, leadership):
    response = client_for(leadership).post(SAVED_URL, segment_body(), format="json")

    message = response.json()["error"]["message"]
    assert response.status_code == 403
    assert "Your role only reads, so it cannot save segments" in message
    assert "SDR, AE, Sales Manager, Sales Ops and Marketing can" in message
    assert not SavedSegment.objects.exists()
