"""Segments: tags, routes and saved filters, each with its members."""

import importlib
from urllib.parse import quote

import pytest

from accounts.models import Tier
from integrations.models import SavedSegment
from tests.factories import AccountFactory

SAVED_URL = "/api/v1/segments/saved/"
TAG = "SaaS – Mid-Market – APAC"


def member_ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


def test_tags_listed_with_counts(client_for, marketing):
    AccountFactory.create_batch(2, tag=TAG)
    AccountFactory(tag="FinTech – Enterprise – US")
    AccountFactory(tag="")
    response = client_for(marketing).get("/api/v1/segments/tags/")
    rows = response.json()
    assert response.status_code == 200
    assert [row["name"] for row in rows] == ["FinTech – Enterprise – US", TAG]
    assert rows[1]["account_count"] == 2
    assert rows[1]["members_url"].endswith(f"/api/v1/segments/tags/{quote(TAG)}/members/")


def test_tag_members(client_for, marketing):
    tagged = AccountFactory.create_batch(2, tag=TAG)
    AccountFactory(tag="Other")
    client = client_for(marketing)
    url = client.get("/api/v1/segments/tags/").json()[1]["members_url"]
    assert member_ids(client.get(url)) == {account.pk for account in tagged}


def test_tag_with_slash_members(signed_in_api):
    tagged = AccountFactory(tag="E-commerce/Retail – SMB – EMEA")
    response = signed_in_api.get(f"/api/v1/segments/tags/{quote(tagged.tag, safe='')}/members/")
    assert response.status_code == 200
    assert member_ids(response) == {tagged.pk}


def test_unknown_tag_lists_none(signed_in_api):
    response = signed_in_api.get("/api/v1/segments/tags/Nothing/members/")
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    ("url", "field", "value"),
    [
        ("/api/v1/segments/tags/%00/members/", "tag", "'\\x00'"),
        ("/api/v1/segments/tags/SaaS%00/members/?format=csv", "tag", "'SaaS\\x00'"),
        ("/api/v1/segments/routes/%00/members/", "route", "'\\x00'"),
        ("/api/v1/segments/routes/Out%00bound/members/?format=csv", "route", "'Out\\x00bound'"),
    ],
)
def test_segment_path_nul_rejected(signed_in_api, url, field, value):
    response = signed_in_api.get(url)
    messages = response.json()["error"]["fields"][field]
    assert response.status_code == 400
    assert messages == [
        f"The {field} {value} contains a NUL character (%00): remove it from the URL."
    ]


def test_routes_listed(client_for, marketing):
    AccountFactory.create_batch(3, route="Outbound")
    AccountFactory(route="Nurture")
    rows = client_for(marketing).get("/api/v1/segments/routes/").json()
    counts = {row["name"]: row["account_count"] for row in rows}
    assert counts["Outbound"] == 3
    assert counts["Nurture"] == 1


def test_nurture_members(client_for, marketing):
    nurture = AccountFactory(route="Nurture", tier=Tier.LOW)
    AccountFactory(route="Outbound", tier=Tier.HIGH)
    response = client_for(marketing).get("/api/v1/segments/routes/Nurture/members/")
    assert member_ids(response) == {nurture.pk}


def test_members_take_filters(signed_in_api):
    us = AccountFactory(route="Outbound", country="US")
    AccountFactory(route="Outbound", country="DE")
    response = signed_in_api.get("/api/v1/segments/routes/Outbound/members/", {"country": "us"})
    assert member_ids(response) == {us.pk}


def test_segments_need_role(client_for, make_user):
    client = client_for(make_user(None, username="norole"))
    assert client.get("/api/v1/segments/tags/").status_code == 403
    assert client.get("/api/v1/segments/routes/Outbound/members/").status_code == 403


def test_saved_segment_created(client_for, sdr):
    response = client_for(sdr).post(
        SAVED_URL,
        {"name": "APAC high", "filters": {"tier": "high", "geography": "APAC"}, "is_shared": True},
        format="json",
    )
    body = response.json()
    assert response.status_code == 201, body
    assert body["owner"] == "sdr"
    assert body["filters"] == {"tier": "high", "geography": "APAC"}
    assert body["members_url"].endswith(f"/segments/saved/{body['id']}/members/")


def test_saved_segment_invalid_filter_value(client_for, sdr):
    response = client_for(sdr).post(
        SAVED_URL, {"name": "Bad", "filters": {"tier": "top"}}, format="json"
    )
    assert response.status_code == 400
    assert "tier" in response.json()["error"]["fields"]["filters"][0]
    assert not SavedSegment.objects.exists()


def test_saved_segment_unknown_filter(client_for, sdr):
    response = client_for(sdr).post(
        SAVED_URL, {"name": "Bad", "filters": {"password": "x"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["filters"][0].startswith(
        "password is not a filter of the account list: use "
    )


def test_saved_segment_ordering_explained(client_for, sdr):
    response = client_for(sdr).post(
        SAVED_URL,
        {"name": "Ordered", "filters": {"tier": "high", "ordering": "name"}},
        format="json",
    )
    message = response.json()["error"]["fields"]["filters"][0]
    assert response.status_code == 400
    assert message.startswith("ordering is not a filter, so a saved segment does not store it")
    assert "pass it to the segment's members_url, such as ?ordering=name." in message
    assert not SavedSegment.objects.exists()


def test_saved_segment_unknown_field_rejected(client_for, sdr):
    response = client_for(sdr).post(
        SAVED_URL, {"name": "Shared", "filters": {}, "shared": True}, format="json"
    )
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["shared"][0]
    assert message.startswith("shared is not a field of a saved segment: did you mean is_shared?")
    assert not SavedSegment.objects.exists()


def test_saved_segment_patch_unknown_field(client_for, sdr):
    segment = SavedSegment.objects.create(name="Mine", owner=sdr)
    response = client_for(sdr).patch(f"{SAVED_URL}{segment.pk}/", {"shared": True}, format="json")
    assert response.status_code == 400
    assert "shared" in response.json()["error"]["fields"]
    assert SavedSegment.objects.get(pk=segment.pk).updated_at == segment.updated_at


def test_saved_segment_duplicate_name(client_for, sdr):
    SavedSegment.objects.create(name="Mine", owner=sdr)
    response = client_for(sdr).post(SAVED_URL, {"name": "Mine", "filters": {}}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["fields"]


def test_saved_segment_by_leadership_denied(client_for, leadership):
    response = client_for(leadership).post(SAVED_URL, {"name": "L", "filters": {}}, format="json")
    assert response.status_code == 403
    assert not SavedSegment.objects.exists()


def test_saved_segment_members(client_for, sdr, marketing):
    segment = SavedSegment.objects.create(
        name="US high", owner=sdr, is_shared=True, filters={"tier": "high", "country": "US"}
    )
    match = AccountFactory(tier=Tier.HIGH, country="US")
    AccountFactory(tier=Tier.LOW, country="US")
    AccountFactory(tier=Tier.HIGH, country="DE")
    response = client_for(marketing).get(f"{SAVED_URL}{segment.pk}/members/")
    assert response.status_code == 200
    assert member_ids(response) == {match.pk}


def test_private_segment_hidden_from_others(client_for, sdr, marketing):
    segment = SavedSegment.objects.create(name="Private", owner=sdr, is_shared=False)
    client = client_for(marketing)
    assert client.get(f"{SAVED_URL}{segment.pk}/").status_code == 404
    assert client.get(f"{SAVED_URL}{segment.pk}/members/").status_code == 404
    assert client.get(SAVED_URL).json()["results"] == []


def test_shared_segment_changed_only_by_owner(client_for, sdr, ae):
    segment = SavedSegment.objects.create(name="Shared", owner=sdr, is_shared=True)
    response = client_for(ae).patch(
        f"{SAVED_URL}{segment.pk}/", {"name": "Mine now"}, format="json"
    )
    assert response.status_code == 403
    assert SavedSegment.objects.get(pk=segment.pk).name == "Shared"
    assert client_for(ae).delete(f"{SAVED_URL}{segment.pk}/").status_code == 403
    assert client_for(sdr).delete(f"{SAVED_URL}{segment.pk}/").status_code == 204


def test_saved_segment_csv(client_for, sdr):
    segment = SavedSegment.objects.create(name="All US", owner=sdr, filters={"country": "US"})
    AccountFactory(country="US")
    response = client_for(sdr).get(f"{SAVED_URL}{segment.pk}/members/", {"format": "csv"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert response.status_code == 200
    assert 'filename="segment-all-us.csv"' in response["Content-Disposition"]
    assert len(lines) == 2


@pytest.mark.parametrize("spelling", ["SaaS - SMB - US", "saas – smb – us", "SAAS—SMB—US"])
def test_tag_members_use_framework_spelling(signed_in_api, spelling):
    tagged = AccountFactory(tag="SaaS – SMB – US")
    AccountFactory(tag="SaaS – Enterprise – US")
    response = signed_in_api.get(f"/api/v1/segments/tags/{quote(spelling, safe='')}/members/")
    assert response.status_code == 200
    assert member_ids(response) == {tagged.pk}


def test_tag_members_csv_framework_spelling(signed_in_api):
    AccountFactory(name="Tagged Co", tag="SaaS – SMB – US")
    response = signed_in_api.get(
        f"/api/v1/segments/tags/{quote('saas - smb - us', safe='')}/members/",
        {"format": "csv"},
    )
    body = b"".join(response.streaming_content).decode()
    assert response.status_code == 200
    assert "Tagged Co" in body


def test_owner_me_stored_as_owner_id(client_for, sdr):
    response = client_for(sdr).post(
        SAVED_URL,
        {"name": "My accounts", "filters": {"owner": "me"}, "is_shared": True},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["filters"] == {"owner": str(sdr.pk)}
    assert SavedSegment.objects.get().filters == {"owner": str(sdr.pk)}


def test_owner_me_patched_by_owner(client_for, sdr):
    segment = SavedSegment.objects.create(name="Mine", owner=sdr, filters={"tier": "high"})

    response = client_for(sdr).patch(
        f"{SAVED_URL}{segment.pk}/", {"filters": {"owner": "me"}}, format="json"
    )

    assert response.status_code == 200, response.content
    segment.refresh_from_db()
    assert segment.filters == {"owner": str(sdr.pk)}


def test_shared_owner_me_same_for_viewers(client_for, sdr, ae, marketing):
    client_for(sdr).post(
        SAVED_URL,
        {"name": "Sam's accounts", "filters": {"owner": "me"}, "is_shared": True},
        format="json",
    )
    segment = SavedSegment.objects.get()
    owned = AccountFactory(owner=sdr)
    AccountFactory(owner=ae)
    AccountFactory(owner=marketing)

    for viewer in (sdr, ae, marketing):
        response = client_for(viewer).get(f"{SAVED_URL}{segment.pk}/members/")
        assert response.status_code == 200
        assert member_ids(response) == {owned.pk}, viewer.username


def test_stored_owner_me_means_segment_owner(client_for, sdr, ae):
    # A row written before owner=me was stored as an id, or in the admin.
    segment = SavedSegment.objects.create(
        name="Old row", owner=sdr, is_shared=True, filters={"owner": "me"}
    )
    owned = AccountFactory(owner=sdr)
    AccountFactory(owner=ae)

    response = client_for(ae).get(f"{SAVED_URL}{segment.pk}/members/")

    assert member_ids(response) == {owned.pk}


def test_migration_rewrites_owner_me(sdr):
    from django.apps import apps

    migration = importlib.import_module("integrations.migrations.0003_saved_segment_owner_me")
    mine = SavedSegment.objects.create(
        name="Mine", owner=sdr, filters={"owner": "me", "tier": "high"}
    )
    other = SavedSegment.objects.create(name="Unassigned", owner=sdr, filters={"owner": "none"})

    migration.owner_me_to_id(apps, None)

    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.filters == {"owner": str(sdr.pk), "tier": "high"}
    assert other.filters == {"owner": "none"}


@pytest.mark.parametrize("narrowing", [{"route": "outbound"}, {"needs_enrichment": "false"}])
def test_high_tier_includes_needs_enrichment(client_for, sdr, narrowing):
    complete = AccountFactory(tier=Tier.HIGH, route="Outbound", needs_enrichment=False)
    incomplete = AccountFactory(tier=Tier.HIGH, route="", tag="", needs_enrichment=True)
    client = client_for(sdr)
    high = client.post(
        SAVED_URL, {"name": "High", "filters": {"tier": "high"}}, format="json"
    ).json()
    narrowed = client.post(
        SAVED_URL,
        {"name": "High, complete", "filters": {"tier": "high", **narrowing}},
        format="json",
    ).json()

    assert member_ids(client.get(high["members_url"])) == {complete.pk, incomplete.pk}
    assert member_ids(client.get(narrowed["members_url"])) == {complete.pk}
