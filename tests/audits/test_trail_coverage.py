"""Every change a user makes through pages or the API shows on the trail page and its CSV.

Each test makes one kind of change the way a person does, with a form post or an API
call. It then reads the trail as Sales Ops. The page's entries and the CSV export must
both name the user, the channel and the old and new value.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from rest_framework.test import APIClient

from accounts import roles, workspace
from accounts.models import Account, SegmentOverride, UserProfile
from audits.exports import neutralize
from audits.periods import Period, local_today
from audits.services import review_session_create
from enrichment.models import Observation
from integrations.services.tokens import api_token_create
from segmentation.models import Framework, Industry
from tests.factories import AccountFactory

HTMX = {"HTTP_HX_REQUEST": "true"}
API_ACCOUNTS = "/api/v1/accounts/"


@dataclass(frozen=True)
class Expected:
    """One change the trail must show. ``old`` is "" for a created record.

    ``user`` is the name the trail shows: the full name, or the login name of a user
    without one.
    """

    record: str
    user: str
    channel: str
    field: str = ""
    old: str = ""
    new: str = ""
    action: str = "Changed"


@pytest.fixture
def ops(make_user):
    return make_user(roles.SALES_OPS, username="ops", first_name="Olu", last_name="Ops")


@pytest.fixture
def trail_client(ops):
    """Return a second client signed in as Sales Ops, who may view every change."""
    from django.test import Client

    client = Client()
    client.force_login(ops)
    return client


def api_client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def page_shows(trail_client, expected: Expected, **query) -> None:
    response = trail_client.get(reverse("audits:trail"), query)
    assert response.status_code == 200
    page_rows = []
    for entry in response.context["entries"]:
        base = (entry.model_label, entry.action, entry.user, entry.channel)
        if not entry.changes:
            page_rows.append((*base, "", "", ""))
        for change in entry.changes:
            page_rows.append((*base, change.field, change.old, change.new))
    expected_row = (
        expected.record,
        expected.action,
        expected.user,
        expected.channel,
        expected.field,
        expected.old,
        expected.new,
    )
    assert expected_row in page_rows, f"the trail page does not show {expected}: {page_rows}"
    html = response.content.decode()
    assert f"<td>{escape(expected.user)}</td>" in html
    assert f"<td>{escape(expected.channel)}</td>" in html
    if expected.old:
        assert f"<del>{escape(expected.old)}</del>" in html
    if expected.new:
        assert escape(expected.new) in html


def login_name(shown_name: str) -> str:
    """Return the login name of the one user whom the trail shows as ``shown_name``."""
    logins = [
        user.get_username()
        for user in get_user_model().objects.all()
        if (user.get_full_name() or user.get_username()) == shown_name
    ]
    assert len(logins) == 1, f"{len(logins)} users are named {shown_name!r}: {logins}"
    return logins[0]


def csv_shows(trail_client, expected: Expected, **query) -> None:
    """Check the CSV row, whose user column is the login name next to the full name."""
    response = trail_client.get(reverse("audits:trail-export"), query)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    rows = [
        (
            row["record"],
            row["action"],
            row["user"],
            row["user_full_name"],
            row["channel"],
            row["field"],
            row["old_value"],
            row["new_value"],
        )
        for row in csv.DictReader(io.StringIO(text))
    ]
    expected_row = (
        expected.record,
        expected.action,
        login_name(expected.user),
        expected.user,
        expected.channel,
        expected.field,
        neutralize(expected.old),
        neutralize(expected.new),
    )
    assert expected_row in rows, f"the trail CSV does not show {expected}: {rows}"


def trail_shows(
    trail_client, expected: Expected, account: Account | None = None, model: str = ""
) -> None:
    """Check the page and the CSV, narrowed to one account or one record type."""
    query = {}
    if account is not None:
        query["account"] = account.pk
    if model:
        query["model"] = model
    page_shows(trail_client, expected, **query)
    csv_shows(trail_client, expected, **query)


@pytest.fixture
def ae(make_user, team):
    user = make_user(roles.AE, username="alex", first_name="Alex")
    UserProfile.objects.create(user=user, manager=team["manager"])
    return user


@pytest.fixture
def rep_account(scored, team):
    return scored(owner=team["rep_a"], scored_at=timezone.now(), name="Acme")


# Pages ----------------------------------------------------------------------------------


def test_inline_field_edit(client, team, rep_account, trail_client):
    client.force_login(team["rep_a"])
    response = client.post(
        reverse("accounts:account-field-edit", args=[rep_account.pk, "employees"]),
        {"employees": "1200", "version": workspace.account_version(rep_account)},
        **HTMX,
    )
    assert response.status_code == 200
    expected = Expected("Account", "Ana", "Page", "employee count", "500", "1200")
    trail_shows(trail_client, expected, rep_account)


def test_tag_override(client, team, rep_account, trail_client):
    old_tag = rep_account.tag
    client.force_login(team["rep_a"])
    response = client.post(
        reverse("accounts:account-segment-edit", args=[rep_account.pk]),
        {
            "tag": "Insurance – SMB – EMEA",
            "tier": rep_account.tier,
            "reason": "Told us on the call",
            "version": workspace.account_version(rep_account),
        },
        **HTMX,
    )
    assert response.status_code == 200
    trail_shows(
        trail_client,
        Expected("Account", "Ana", "Page", "tag override", "—", "Insurance – SMB – EMEA"),
        rep_account,
    )
    # The override keeps the old tag, the reason and the channel of the change.
    trail_shows(
        trail_client,
        Expected("Manual tag", "Ana", "Page", "tag", old_tag, "Insurance – SMB – EMEA"),
        rep_account,
    )
    override = SegmentOverride.objects.get(account=rep_account)
    assert override.channel == "page"


def test_research_note(client, team, rep_account, trail_client):
    client.force_login(team["rep_a"])
    response = client.post(
        reverse("accounts:research-note-create", args=[rep_account.pk]),
        {"kind": "funding", "text": "Raised a Series C"},
        **HTMX,
    )
    assert response.status_code == 200
    expected = Expected("Research note", "Ana", "Page", "text", "", "Raised a Series C", "Created")
    trail_shows(trail_client, expected, rep_account)


def test_bulk_owner_assign(client, ops, team, scored, trail_client):
    now = timezone.now()
    accounts = [scored(owner=team["rep_a"], scored_at=now) for _ in range(3)]
    client.force_login(ops)
    response = client.post(
        reverse("accounts:account-bulk"),
        {
            "action": "assign",
            "owner": str(team["rep_b"].pk),
            "account_ids": [str(account.pk) for account in accounts],
            "confirmed": "1",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert "Assigned 3 accounts" in response.content.decode()
    for account in accounts:
        trail_shows(
            trail_client, Expected("Account", "Olu Ops", "Page", "owner", "Ana", "Ben"), account
        )


def test_bulk_tag_override(client, team, scored, trail_client):
    now = timezone.now()
    accounts = [scored(owner=team["rep_a"], scored_at=now) for _ in range(2)]
    old_tags = [account.tag for account in accounts]
    client.force_login(team["rep_a"])
    response = client.post(
        reverse("accounts:account-bulk"),
        {
            "action": "tag",
            "tag": "Automotive – Enterprise – APAC",
            "reason": "Campaign list",
            "account_ids": [str(account.pk) for account in accounts],
            "confirmed": "1",
        },
        **HTMX,
    )
    assert response.status_code == 200
    for account, old_tag in zip(accounts, old_tags, strict=True):
        override = Expected(
            "Account", "Ana", "Page", "tag override", "—", "Automotive – Enterprise – APAC"
        )
        trail_shows(trail_client, override, account)
        reason = Expected(
            "Manual tag", "Ana", "Page", "tag", old_tag, "Automotive – Enterprise – APAC"
        )
        trail_shows(trail_client, reason, account)
        override = SegmentOverride.objects.get(account=account)
        assert override.channel == "page"


def test_fit_validation(client, ae, scored, trail_client):
    account = scored(owner=ae, scored_at=timezone.now())
    Account.objects.filter(pk=account.pk).update(tier="medium")
    client.force_login(ae)
    response = client.post(
        reverse("accounts:account-fit-validate", args=[account.pk]),
        {
            "version": workspace.account_version(account),
            "decision": "refine",
            "tier": "high",
            "tag": "",
            "reason": "Three teams want it",
        },
        **HTMX,
    )
    assert response.status_code == 200
    trail_shows(
        trail_client, Expected("Account", "Alex", "Page", "tier override", "—", "high"), account
    )
    trail_shows(
        trail_client,
        Expected("Fit validated in discovery", "Alex", "Page", "tier", "medium", "high"),
        account,
    )


def test_review_correction(client, team, scored, trail_client):
    now = timezone.now()
    accounts = [scored(owner=team["rep_a"], scored_at=now) for _ in range(2)]
    session = review_session_create(
        manager=team["manager"],
        rep_ids=[team["rep_a"].pk],
        period=Period(local_today() - timedelta(days=7), local_today()),
        sample_size=2,
        seed=3,
    )
    item = session.items.get(position=1)
    old_tier = item.account.tier
    assert old_tier != "low"

    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:review-item-correct", args=[session.pk, item.pk]),
        {"view": "table", "tier": "low", "reason": "Too small"},
        **HTMX,
    )
    assert response.status_code == 200
    assert item.account_id in {account.pk for account in accounts}

    trail_shows(
        trail_client,
        Expected("Account", "Morgan", "Page", "tier override", "—", "low"),
        item.account,
    )
    trail_shows(
        trail_client,
        Expected("Corrected in manager review", "Morgan", "Page", "tier", old_tier, "low"),
        item.account,
    )
    assert SegmentOverride.objects.filter(
        account=item.account, kind=SegmentOverride.Kind.REVIEW_CORRECTION
    ).exists()


def test_conflict_resolution(client, team, framework, trail_client):
    account = AccountFactory(
        name="Initech",
        owner=team["rep_a"],
        framework=framework,
        verification_status="conflicting",
        field_status={
            "company_size": {
                "status": "conflicting",
                "sources": ["apollo"],
                "values": {"apollo": "500", "zoominfo": "5,000"},
            }
        },
    )
    chosen = None
    for source, count in (("apollo", 500), ("zoominfo", 5000)):
        chosen = Observation.objects.create(
            account=account,
            field="employees",
            value={"count": count, "min": count, "max": count, "approximate": False},
            raw_value=str(count),
            source=source,
            observed_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    client.force_login(team["manager"])
    response = client.post(
        reverse("accounts:account-conflict-resolve", args=[account.pk, "employees"]),
        {"choice": str(chosen.pk), "reason": "Annual report"},
        **HTMX,
    )
    assert response.status_code == 200
    expected = Expected("Account", "Morgan", "Page", "employee count", "500", "5000")
    trail_shows(trail_client, expected, account)
    resolution = Expected(
        "Conflict resolution",
        "Morgan",
        "Page",
        "company size",
        "conflicting",
        "5,000",
        action="Resolved",
    )
    trail_shows(trail_client, resolution, account)
    page = trail_client.get(reverse("audits:trail"), {"account": account.pk}).content.decode()
    assert "Annual report (chose the ZoomInfo value)" in page


def test_taxonomy_mapping(client, ops, trail_client):
    fintech = Industry.objects.get(name="FinTech")
    accounts = [
        AccountFactory(industry=None, industry_raw=raw) for raw in ("Neobank", "NEOBANK", "Other")
    ]
    client.force_login(ops)
    response = client.post(
        reverse("segmentation:taxonomy-map"), {"raw_value": "Neobank", "industry": fintech.pk}
    )
    assert response.status_code == 302
    for account in accounts[:2]:
        expected = Expected("Account", "Olu Ops", "Page", "industry", "—", "FinTech")
        trail_shows(trail_client, expected, account)
    untouched = Account.objects.get(pk=accounts[2].pk)
    assert untouched.industry_id is None
    synonym = Expected("Industry synonym", "Olu Ops", "Page", "value", "", "Neobank", "Created")
    trail_shows(trail_client, synonym, model="segmentation.industrysynonym")


def test_framework_draft_from_page(client, ops, framework, trail_client):
    client.force_login(ops)
    response = client.post(reverse("segmentation:framework-draft-create", args=[framework.version]))
    assert response.status_code == 302
    draft = Framework.objects.get(based_on=framework)
    criterion = draft.criteria.order_by("pk").first()
    trail_shows(
        trail_client,
        Expected("Framework", "Olu Ops", "Page", "version", "", str(draft.version), "Created"),
        model="segmentation.framework",
    )
    trail_shows(
        trail_client,
        Expected("Criterion", "Olu Ops", "Page", "label", "", criterion.label, "Created"),
        model="segmentation.criterion",
    )


# API ------------------------------------------------------------------------------------


def test_api_account_patch(team, rep_account, trail_client):
    response = api_client_for(team["rep_a"]).patch(
        f"{API_ACCOUNTS}{rep_account.pk}/", {"name": "Acme Holdings"}, format="json"
    )
    assert response.status_code == 200, response.json()
    trail_shows(
        trail_client,
        Expected("Account", "Ana", "API", "name", "Acme", "Acme Holdings"),
        rep_account,
    )


def test_api_account_patch_with_token(team, rep_account, trail_client):
    _, key = api_token_create(user=team["rep_b"], name="crm sync", scopes=["read", "write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    Account.objects.filter(pk=rep_account.pk).update(owner=team["rep_b"])
    response = client.patch(f"{API_ACCOUNTS}{rep_account.pk}/", {"city": "Lisbon"}, format="json")
    assert response.status_code == 200, response.json()
    trail_shows(trail_client, Expected("Account", "Ben", "API", "city", "—", "Lisbon"), rep_account)


def test_api_account_create_and_delete(ops, trail_client):
    client = api_client_for(ops)
    created = client.post(API_ACCOUNTS, {"name": "Api Created Co"}, format="json")
    assert created.status_code == 201, created.json()
    account = Account.objects.get(pk=created.json()["id"])
    trail_shows(
        trail_client,
        Expected("Account", "Olu Ops", "API", "name", "", "Api Created Co", "Created"),
        account,
    )
    deleted = client.delete(f"{API_ACCOUNTS}{account.pk}/")
    assert deleted.status_code == 204
    # The account is gone, so the trail is narrowed by record type instead.
    deletion = Expected("Account", "Olu Ops", "API", action="Deleted")
    trail_shows(trail_client, deletion, model="accounts.account")


def test_deleted_account_trail(ops, team, trail_client):
    client = api_client_for(ops)
    created = client.post(API_ACCOUNTS, {"name": "Api Created Co"}, format="json")
    assert created.status_code == 201, created.json()
    account_id = created.json()["id"]
    # Sales Ops may delete but not edit accounts, so the rep who owns it renames it.
    Account.objects.filter(pk=account_id).update(owner=team["rep_a"])
    renamed = api_client_for(team["rep_a"]).patch(
        f"{API_ACCOUNTS}{account_id}/", {"name": "Renamed Co"}, format="json"
    )
    assert renamed.status_code == 200, renamed.json()
    deleted = client.delete(f"{API_ACCOUNTS}{account_id}/")
    assert deleted.status_code == 204
    assert not Account.objects.filter(pk=account_id).exists()

    # The trail link of a deleted account shows its whole history, deletion included.
    for expected in (
        Expected("Account", "Olu Ops", "API", action="Deleted"),
        Expected("Account", "Ana", "API", "name", "Api Created Co", "Renamed Co"),
        Expected("Account", "Olu Ops", "API", "name", "", "Api Created Co", "Created"),
    ):
        page_shows(trail_client, expected, account=account_id)
        csv_shows(trail_client, expected, account=account_id)

    response = trail_client.get(reverse("audits:trail"), {"account": account_id})
    assert response.context["account"].name == "Renamed Co"
    assert response.context["account_deleted"] is True
    html = response.content.decode()
    assert "Renamed Co (deleted)" in html
    assert reverse("accounts:account-detail", args=[account_id]) not in html

    # The unfiltered trail names the deleted account and links only to its trail.
    response = trail_client.get(reverse("audits:trail"), {"model": "accounts.account"})
    deletion = next(
        entry
        for entry in response.context["entries"]
        if entry.account_id == account_id and entry.action == "Deleted"
    )
    assert deletion.account_name == "Renamed Co"
    assert deletion.account_deleted is True
    assert deletion.account_url == ""


def test_api_segment_change(team, rep_account, trail_client):
    old_tag = rep_account.tag
    response = api_client_for(team["rep_a"]).post(
        f"{API_ACCOUNTS}{rep_account.pk}/segment/",
        {"kind": "manual_tag", "tag": "Education – Mid-Market – LATAM", "reason": "From the CRM"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    trail_shows(
        trail_client,
        Expected("Account", "Ana", "API", "tag override", "—", "Education – Mid-Market – LATAM"),
        rep_account,
    )
    trail_shows(
        trail_client,
        Expected("Manual tag", "Ana", "API", "tag", old_tag, "Education – Mid-Market – LATAM"),
        rep_account,
    )
    override = SegmentOverride.objects.get(account=rep_account)
    assert override.channel == "api"


def test_api_research_note(team, rep_account, trail_client):
    response = api_client_for(team["rep_a"]).post(
        f"{API_ACCOUNTS}{rep_account.pk}/notes/",
        {"kind": "hire", "text": "Hired a VP of Sales"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    expected = Expected("Research note", "Ana", "API", "text", "", "Hired a VP of Sales", "Created")
    trail_shows(trail_client, expected, rep_account)


def test_api_framework_draft(ops, framework, trail_client):
    response = api_client_for(ops).post("/api/v1/frameworks/", {"name": "Next year"}, format="json")
    assert response.status_code == 201, response.json()
    draft = Framework.objects.get(pk=response.json()["id"])
    criterion = draft.criteria.order_by("pk").first()
    band = draft.size_bands.order_by("pk").first()
    trail_shows(
        trail_client,
        Expected("Framework", "Olu Ops", "API", "name", "", "Next year", "Created"),
        model="segmentation.framework",
    )
    trail_shows(
        trail_client,
        Expected("Criterion", "Olu Ops", "API", "label", "", criterion.label, "Created"),
        model="segmentation.criterion",
    )
    trail_shows(
        trail_client,
        Expected("Size band", "Olu Ops", "API", "name", "", band.name, "Created"),
        model="segmentation.sizeband",
    )
