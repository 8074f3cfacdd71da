"""Creating, changing and deleting accounts by role, with ETags and If-Match."""

import pytest

from accounts import roles
from accounts.models import Account, SegmentOverride, Tier, UserProfile
from segmentation.models import ScoreRecord
from tests.factories import AccountFactory

LIST_URL = "/api/v1/accounts/"


def detail_url(account) -> str:
    return f"{LIST_URL}{account.pk}/"


@pytest.fixture(autouse=True)
def no_rescoring(monkeypatch):
    """Keep account writes independent of the scoring engine and its framework."""
    monkeypatch.setattr("accounts.api.views.account_resegment", lambda account_id: None)


# Create ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [roles.SDR, roles.SALES_MANAGER, roles.SALES_OPS])
def test_create_allowed(client_for, make_user, role):
    client = client_for(make_user(role, username=f"creator-{role}"))
    response = client.post(
        LIST_URL, {"name": "Acme GmbH", "domain": "www.Acme.example"}, format="json"
    )
    body = response.json()
    assert response.status_code == 201, body
    assert body["name"] == "Acme GmbH"
    assert body["domain"] == "acme.example"
    assert response["Location"] == body["url"]
    assert response.has_header("ETag")
    assert Account.objects.get(pk=body["id"]).source == "api"


@pytest.mark.parametrize("role", [roles.AE, roles.MARKETING, roles.SALES_LEADERSHIP])
def test_create_denied(client_for, make_user, role):
    client = client_for(make_user(role, username=f"reader-{role}"))
    response = client.post(LIST_URL, {"name": "Acme"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not Account.objects.filter(name="Acme").exists()


def test_create_duplicate_domain_is_400(client_for, sales_ops):
    existing = AccountFactory(name="Taken Inc", domain="taken.example")
    response = client_for(sales_ops).post(
        LIST_URL, {"name": "Other", "domain": "taken.example"}, format="json"
    )
    error = response.json()["error"]
    assert response.status_code == 400
    assert error["fields"]["domain"] == [
        f"Account “Taken Inc” (id {existing.pk}) already has the domain taken.example: update "
        "that account instead of creating another one."
    ]


def test_create_missing_name_is_400(client_for, sales_ops):
    response = client_for(sales_ops).post(LIST_URL, {"domain": "x.example"}, format="json")
    error = response.json()["error"]
    assert response.status_code == 400
    assert list(error["fields"]) == ["name"]
    assert "name" in error["message"]


def test_create_owner_needs_assign_right(client_for, sdr):
    response = client_for(sdr).post(LIST_URL, {"name": "Owned", "owner_id": sdr.pk}, format="json")
    assert response.status_code == 400
    assert "owner_id" in response.json()["error"]["fields"]


def test_create_owner_by_manager(client_for, manager, sdr):
    response = client_for(manager).post(
        LIST_URL, {"name": "Owned", "owner_id": sdr.pk}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["owner"] == "sdr"


def test_create_employee_range_checked(client_for, sales_ops):
    response = client_for(sales_ops).post(
        LIST_URL, {"name": "Range", "employee_min": 500, "employee_max": 10}, format="json"
    )
    assert response.status_code == 400
    assert "employee_max" in response.json()["error"]["fields"]


# Update ----------------------------------------------------------------------------------


def test_update_by_owner(client_for, sdr):
    account = AccountFactory(owner=sdr, city="Berlin")
    response = client_for(sdr).patch(detail_url(account), {"city": "Hamburg"}, format="json")
    assert response.status_code == 200
    assert response.json()["city"] == "Hamburg"
    assert Account.objects.get(pk=account.pk).city == "Hamburg"


def test_update_of_others_account_denied(client_for, sdr, ae):
    account = AccountFactory(owner=ae, city="Berlin")
    response = client_for(sdr).patch(detail_url(account), {"city": "Hamburg"}, format="json")
    assert response.status_code == 403
    assert Account.objects.get(pk=account.pk).city == "Berlin"


def test_update_by_marketing_denied(client_for, marketing):
    account = AccountFactory(owner=None, city="Berlin")
    response = client_for(marketing).patch(detail_url(account), {"city": "X"}, format="json")
    assert response.status_code == 403
    assert Account.objects.get(pk=account.pk).city == "Berlin"


def test_update_read_only_fields_rejected(client_for, sdr):
    account = AccountFactory(owner=sdr, tier=Tier.LOW, score=10, city="Berlin")
    response = client_for(sdr).patch(
        detail_url(account),
        {"tier": "high", "tag": "Retail – SMB – US", "score": 99, "city": "Rome"},
        format="json",
    )
    fields = response.json()["error"]["fields"]
    assert response.status_code == 400
    assert sorted(fields) == ["score", "tag", "tier"]
    assert f"POST /api/v1/accounts/{account.pk}/segment/" in fields["tier"][0]
    assert f"POST /api/v1/accounts/{account.pk}/segment/" in fields["tag"][0]
    assert "scoring sets it" in fields["score"][0]
    account.refresh_from_db()
    assert account.tier == Tier.LOW
    assert account.score == 10
    assert account.city == "Berlin"


def test_update_unchanged_read_only_accepted(client_for, sdr):
    account = AccountFactory(owner=sdr, tier=Tier.LOW, score=10, city="Berlin")
    client = client_for(sdr)
    body = client.get(detail_url(account)).json()
    response = client.patch(
        detail_url(account),
        {"tier": body["tier"], "score": body["score"], "url": body["url"], "city": "Rome"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert Account.objects.get(pk=account.pk).city == "Rome"


def test_create_read_only_fields_rejected(client_for, sales_ops):
    response = client_for(sales_ops).post(
        LIST_URL, {"name": "Scored", "tier": "high", "score": 90}, format="json"
    )
    fields = response.json()["error"]["fields"]
    assert response.status_code == 400
    assert sorted(fields) == ["score", "tier"]
    assert "POST /api/v1/accounts/{id}/segment/" in fields["tier"][0]
    assert not Account.objects.filter(name="Scored").exists()


def test_unknown_fields_rejected(client_for, sales_ops):
    response = client_for(sales_ops).post(
        LIST_URL, {"name": "Typo", "citty": "Rome", "colour": "red"}, format="json"
    )
    fields = response.json()["error"]["fields"]
    assert response.status_code == 400
    assert sorted(fields) == ["citty", "colour"]
    assert "did you mean city?" in fields["citty"][0]
    assert "The writable fields are name, domain, website" in fields["colour"][0]
    assert not Account.objects.filter(name="Typo").exists()


def test_amount_without_currency_is_usd(client_for, sales_ops):
    response = client_for(sales_ops).post(
        LIST_URL, {"name": "Dollars", "revenue_amount": "5"}, format="json"
    )
    body = response.json()
    assert response.status_code == 201, body
    assert body["revenue_currency"] == "USD"
    assert body["annual_revenue_usd"] == "5.00"


def test_put_replaces_fields(client_for, sdr):
    account = AccountFactory(owner=sdr, city="Berlin", region="BE")
    response = client_for(sdr).put(detail_url(account), {"name": "Renamed"}, format="json")
    account.refresh_from_db()
    assert response.status_code == 200
    assert account.name == "Renamed"
    assert account.name_key == "renamed"


def test_sales_ops_change_denied_names_rule(client_for, make_user):
    account = AccountFactory(owner=None)
    client = client_for(make_user(roles.SALES_OPS, username="ops-editor"))

    response = client.patch(detail_url(account), {"city": "Berlin"}, format="json")

    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert f"You cannot change account {account.pk}: your role does not change" in message
    assert "SDRs, AEs and Sales Managers research accounts" in message


def test_ae_change_denied_names_owner(client_for, make_user):
    owner = make_user(roles.SDR, username="owner-sdr", first_name="Dana", last_name="Okafor")
    account = AccountFactory(owner=owner)
    client = client_for(make_user(roles.AE, username="other-ae"))

    response = client.patch(detail_url(account), {"city": "Berlin"}, format="json")

    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert f"You cannot change account {account.pk}, which Dana Okafor owns: " in message
    assert "AEs change the accounts they own. Ask the owner" in message


# ETags -----------------------------------------------------------------------------------


def test_get_returns_etag(signed_in_api):
    account = AccountFactory()
    response = signed_in_api.get(detail_url(account))
    assert response.status_code == 200
    assert response["ETag"].startswith('"')


def test_etag_changes_after_update(client_for, sdr):
    account = AccountFactory(owner=sdr)
    client = client_for(sdr)
    before = client.get(detail_url(account))["ETag"]
    after = client.patch(detail_url(account), {"city": "Oslo"}, format="json")["ETag"]
    assert before != after
    assert client.get(detail_url(account))["ETag"] == after


def test_etag_changes_when_rescored(signed_in_api):
    # A new framework version can leave updated_at alone while the body's scored_at and
    # framework_version change, so a cached copy must not be confirmed.
    account = AccountFactory()
    before = signed_in_api.get(detail_url(account))["ETag"]
    Account.objects.filter(pk=account.pk).update(scored_at=account.updated_at)

    response = signed_in_api.get(detail_url(account), HTTP_IF_NONE_MATCH=before)

    assert response.status_code == 200
    assert response["ETag"] != before


def test_if_none_match_gives_304(signed_in_api):
    account = AccountFactory()
    etag = signed_in_api.get(detail_url(account))["ETag"]
    response = signed_in_api.get(detail_url(account), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response["ETag"] == etag


def test_matching_if_match_applies(client_for, sdr):
    account = AccountFactory(owner=sdr)
    client = client_for(sdr)
    etag = client.get(detail_url(account))["ETag"]
    response = client.patch(
        detail_url(account), {"city": "Oslo"}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200
    assert Account.objects.get(pk=account.pk).city == "Oslo"


def test_stale_if_match_is_412(client_for, sdr, superuser):
    account = AccountFactory(owner=sdr, city="Berlin")
    sdr_client = client_for(sdr)
    stale = sdr_client.get(detail_url(account))["ETag"]
    other = client_for(superuser).patch(detail_url(account), {"city": "Paris"}, format="json")
    assert other.status_code == 200
    current = other["ETag"]

    response = sdr_client.patch(
        detail_url(account), {"city": "Madrid"}, format="json", HTTP_IF_MATCH=stale
    )
    error = response.json()["error"]
    assert response.status_code == 412
    assert error["code"] == "precondition_failed"
    assert current in error["message"]
    assert response["ETag"] == current
    assert Account.objects.get(pk=account.pk).city == "Paris"


def test_stale_if_match_on_put_is_412(client_for, sdr):
    account = AccountFactory(owner=sdr, name="Kept")
    client = client_for(sdr)
    response = client.put(
        detail_url(account), {"name": "Lost"}, format="json", HTTP_IF_MATCH='"0000"'
    )
    assert response.status_code == 412
    assert Account.objects.get(pk=account.pk).name == "Kept"


def test_weak_if_match_never_matches(client_for, sdr):
    account = AccountFactory(owner=sdr, city="Berlin")
    client = client_for(sdr)
    etag = client.get(detail_url(account))["ETag"]
    response = client.patch(
        detail_url(account), {"city": "Oslo"}, format="json", HTTP_IF_MATCH=f"W/{etag}"
    )
    assert response.status_code == 412
    assert Account.objects.get(pk=account.pk).city == "Berlin"
    message = response.json()["error"]["message"]
    assert "The account has not changed" in message
    assert f"send {etag} without W/" in message
    assert "changed since" not in message
    assert response["ETag"] == etag


def test_if_match_star_applies(client_for, sdr):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).patch(
        detail_url(account), {"city": "Oslo"}, format="json", HTTP_IF_MATCH="*"
    )
    assert response.status_code == 200


# Delete ----------------------------------------------------------------------------------


def test_delete_by_sales_ops(client_for, sales_ops):
    account = AccountFactory()
    response = client_for(sales_ops).delete(detail_url(account))
    assert response.status_code == 204
    assert not Account.objects.filter(pk=account.pk).exists()


def test_delete_by_superuser(client_for, superuser):
    account = AccountFactory()
    assert client_for(superuser).delete(detail_url(account)).status_code == 204


@pytest.mark.parametrize(
    "role", [roles.SDR, roles.AE, roles.SALES_MANAGER, roles.MARKETING, roles.SALES_LEADERSHIP]
)
def test_delete_denied(client_for, make_user, role):
    user = make_user(role, username=f"deleter-{role}")
    account = AccountFactory(owner=user)
    response = client_for(user).delete(detail_url(account))
    assert response.status_code == 403
    assert Account.objects.filter(pk=account.pk).exists()


def test_delete_with_stale_if_match_is_412(client_for, sales_ops):
    account = AccountFactory()
    response = client_for(sales_ops).delete(detail_url(account), HTTP_IF_MATCH='"stale"')
    assert response.status_code == 412
    assert Account.objects.filter(pk=account.pk).exists()


# Segment changes -------------------------------------------------------------------------


def segment_url(account) -> str:
    return f"{detail_url(account)}segment/"


def test_segment_change_records_override(client_for, sdr, framework):
    account = AccountFactory(owner=sdr, tag="Old", tier=Tier.LOW, framework=framework)
    response = client_for(sdr).post(
        segment_url(account),
        {"tag": "SaaS – Mid-Market – APAC", "tier": "high", "reason": "Met the buyer"},
        format="json",
    )
    account.refresh_from_db()
    record = ScoreRecord.objects.get(account=account)
    assert response.status_code == 200, response.json()
    assert response.json()["tier"] == "high"
    assert account.tier_override == "high"
    assert record.tag == "SaaS – Mid-Market – APAC"
    assert SegmentOverride.objects.get(account=account).reason == "Met the buyer"


@pytest.mark.parametrize(
    ("reason", "stored"),
    [
        ("🚀" * 500, "🚀" * 500),
        ("🇩🇪" * 500, "🇩🇪" * 500),
        ("👨‍👩‍👧‍👦" * 500, "👨‍👩‍👧‍👦" * 500),
        ("line\r\n" * 100, "line\n" * 99 + "line"),
    ],
)
def test_segment_reason_counts_characters(client_for, sdr, framework, reason, stored):
    account = AccountFactory(owner=sdr, tag="Old", tier=Tier.LOW, framework=framework)
    response = client_for(sdr).post(
        segment_url(account), {"tier": "high", "reason": reason}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert SegmentOverride.objects.get(account=account).reason == stored


@pytest.mark.parametrize("cluster", ["🚀", "👍🏽", "e\u0301"])
def test_segment_reason_over_limit_rejected(client_for, sdr, framework, cluster):
    account = AccountFactory(owner=sdr, tag="Old", tier=Tier.LOW, framework=framework)
    response = client_for(sdr).post(
        segment_url(account), {"tier": "high", "reason": cluster * 501}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]
    assert not SegmentOverride.objects.exists()


@pytest.mark.parametrize(("name", "close"), [("tags", "tag"), ("teir", "tier")])
def test_segment_unknown_field_rejected(client_for, sdr, framework, name, close):
    account = AccountFactory(owner=sdr, tag="Old", tier=Tier.LOW, framework=framework)

    response = client_for(sdr).post(
        segment_url(account), {name: "high", "reason": "Met the buyer"}, format="json"
    )

    messages = response.json()["error"]["fields"][name]
    assert response.status_code == 400
    assert messages[0].startswith(
        f"{name} is not a field of a segment change: did you mean {close}?"
    )
    assert "kind, tag, tier, reason" in messages[0]
    assert not SegmentOverride.objects.exists()


def test_unchanged_manual_segment_rejected(client_for, sdr, framework):
    account = AccountFactory(owner=sdr, tag="Old", tier=Tier.LOW, framework=framework)

    response = client_for(sdr).post(
        segment_url(account), {"tier": "low", "reason": "Still low"}, format="json"
    )

    assert response.status_code == 400
    assert "unchanged" in response.json()["error"]["fields"]["tag"][0]
    assert not SegmentOverride.objects.exists()


def test_segment_change_needs_reason(client_for, sdr):
    account = AccountFactory(owner=sdr)
    response = client_for(sdr).post(segment_url(account), {"tier": "high"}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"tier": "HIGH"}, "tier", "“HIGH” is not a tier: did you mean high? Use one of high,"),
        ({"tier": "top"}, "tier", "“top” is not a tier: use one of high, medium, low."),
        (
            {"kind": "Manual_Tag", "tier": "high"},
            "kind",
            "“Manual_Tag” is not a kind of segment change: did you mean manual_tag?",
        ),
    ],
)
def test_segment_change_choice_named(client_for, sdr, framework, data, field, message):
    account = AccountFactory(owner=sdr, tag="Old", tier=Tier.LOW, framework=framework)

    response = client_for(sdr).post(
        segment_url(account), {**data, "reason": "Met the buyer"}, format="json"
    )

    assert response.status_code == 400
    assert message in response.json()["error"]["fields"][field][0]
    assert not SegmentOverride.objects.exists()


def test_segment_change_off_template_tag(client_for, sdr, framework):
    account = AccountFactory(owner=sdr, tag="Old", framework=framework)
    response = client_for(sdr).post(
        segment_url(account), {"tag": "Strategic", "reason": "Big logo"}, format="json"
    )
    account.refresh_from_db()
    assert response.status_code == 400
    assert "does not follow the tag template" in response.json()["error"]["fields"]["tag"][0]
    assert account.tag == "Old"
    assert not SegmentOverride.objects.exists()


def test_segment_change_by_marketing_denied(client_for, marketing):
    account = AccountFactory(owner=None, tier=Tier.LOW)
    response = client_for(marketing).post(
        segment_url(account), {"tier": "high", "reason": "x"}, format="json"
    )
    assert response.status_code == 403
    assert Account.objects.get(pk=account.pk).tier == Tier.LOW


def test_segment_change_denied_names_owner(client_for, make_user, sdr):
    sdr2 = make_user(roles.SDR, username="sdr2", first_name="Dana", last_name="Okafor")
    account = AccountFactory(owner=sdr2, tier=Tier.LOW)
    response = client_for(sdr).post(
        segment_url(account), {"tier": "high", "reason": "Met the buyer"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        f"You cannot change account {account.pk}, which Dana Okafor owns: SDRs change the "
        "accounts they own and unassigned ones. Ask the owner or their manager."
    )
    assert Account.objects.get(pk=account.pk).tier == Tier.LOW


def test_fit_validation_denied_names_owner(client_for, ae, sdr):
    account = AccountFactory(owner=sdr, tag="SaaS – SMB – US", tier=Tier.LOW)
    response = client_for(ae).post(
        segment_url(account), {"kind": "fit_validation", "reason": "Budget"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        f"You cannot make a fit_validation change on account {account.pk}, which sdr owns: "
        "the AE who owns an account and their Sales Manager validate its fit. Ask the owner "
        "or their manager."
    )


def test_segment_review_kind_needs_manager(client_for, sdr):
    account = AccountFactory(owner=sdr, tier=Tier.LOW)
    response = client_for(sdr).post(
        segment_url(account),
        {"kind": "review_correction", "tier": "high", "reason": "x"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        f"You cannot make a review_correction change on account {account.pk}, which you own: "
        "Sales Managers review their team's accounts and unassigned ones, with the review "
        "kinds. Ask your manager."
    )


def test_fit_confirmation_without_tag_rejected(client_for, ae, framework):
    account = AccountFactory(
        owner=ae, tag="", tier=Tier.HIGH, framework=framework, missing_fields=["company_size"]
    )
    response = client_for(ae).post(
        segment_url(account),
        {"kind": "fit_validation", "reason": "Budget confirmed"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["tag"] == [
        f"Account {account.pk} has no tag, so there is no segment to confirm: its mandatory "
        "field company size is missing. Enter it on the account page so that it is tagged, "
        "then confirm the fit, or refine the fit with a tag."
    ]
    assert not SegmentOverride.objects.exists()


def test_segment_change_stale_if_match_is_412(client_for, sdr):
    account = AccountFactory(owner=sdr, tier=Tier.LOW)
    response = client_for(sdr).post(
        segment_url(account),
        {"tier": "high", "reason": "x"},
        format="json",
        HTTP_IF_MATCH='"stale"',
    )
    assert response.status_code == 412
    assert Account.objects.get(pk=account.pk).tier == Tier.LOW
    assert not SegmentOverride.objects.filter(account=account).exists()


def test_review_confirmation_of_untagged_rejected(client_for, manager, make_user, framework):
    rep = make_user(roles.SDR, username="rep")
    UserProfile.objects.create(user=rep, manager=manager)
    account = AccountFactory(owner=rep, tag="", tier="", framework=framework)

    response = client_for(manager).post(
        segment_url(account),
        {"kind": "review_confirmation", "reason": "Looks right"},
        format="json",
    )

    assert response.status_code == 400
    assert (
        f"{account.name} has no tag, so it cannot be confirmed as correct"
        in response.json()["error"]["fields"]["tag"][0]
    )
    assert not SegmentOverride.objects.exists()


def test_review_confirmation_of_tagged_applies(client_for, manager, make_user, framework):
    rep = make_user(roles.SDR, username="rep")
    UserProfile.objects.create(user=rep, manager=manager)
    account = AccountFactory(owner=rep, tag="Old", tier=Tier.LOW, framework=framework)

    response = client_for(manager).post(
        segment_url(account),
        {"kind": "review_confirmation", "reason": "Looks right"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert SegmentOverride.objects.get().kind == "review_confirmation"


# Owner assignment by Sales Ops -----------------------------------------------------------


def test_sales_ops_patch_owner_only(client_for, sales_ops, sdr, ae):
    account = AccountFactory(owner=sdr)

    response = client_for(sales_ops).patch(detail_url(account), {"owner_id": ae.pk}, format="json")

    assert response.status_code == 200, response.content
    account.refresh_from_db()
    assert account.owner_id == ae.pk
    assert account.history.first().history_user == sales_ops


def test_sales_ops_put_get_body_new_owner(client_for, sales_ops, sdr, ae):
    account = AccountFactory(owner=sdr)
    client = client_for(sales_ops)
    body = client.get(detail_url(account)).json()
    body["owner_id"] = ae.pk

    response = client.put(detail_url(account), body, format="json")

    assert response.status_code == 200, response.content
    account.refresh_from_db()
    assert account.owner_id == ae.pk


@pytest.mark.parametrize(
    "body",
    [{"city": "Austin"}, {"owner_id": "OWNER", "city": "Austin"}],
    ids=["other_field", "owner_and_other_field"],
)
def test_sales_ops_other_fields_denied(client_for, sales_ops, sdr, ae, body):
    account = AccountFactory(owner=sdr, city="Boston")
    body = {name: ae.pk if value == "OWNER" else value for name, value in body.items()}

    response = client_for(sales_ops).patch(detail_url(account), body, format="json")

    assert response.status_code == 403
    assert "does not change account fields" in response.json()["error"]["message"]
    account.refresh_from_db()
    assert account.owner_id == sdr.pk
    assert account.city == "Boston"


def test_ae_patch_other_owner_denied(client_for, ae, sdr, make_user):
    account = AccountFactory(owner=sdr)
    other = make_user(roles.SDR, username="other-sdr")

    response = client_for(ae).patch(detail_url(account), {"owner_id": other.pk}, format="json")

    assert response.status_code == 403
    account.refresh_from_db()
    assert account.owner_id == sdr.pk
