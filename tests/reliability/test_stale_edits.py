"""Two people edit the same account: the second, stale edit is rejected, not silently applied.

Pages send the account version (its updated_at) and a fingerprint of the stored value behind
each input in hidden fields. They get 409 with the form back when someone changed a value
that the form saves, and save on top of changes to other values. The API sends an ETag and
returns 412 for a stale If-Match.
"""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts import roles
from accounts.models import Account, UserProfile
from accounts.selectors import account_changes_since
from accounts.workspace import account_version, input_fingerprint
from segmentation.models import Framework
from segmentation.services import accounts_segment
from tests.factories import AccountFactory
from tests.segmentation.test_services import copy_framework

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def account(db):
    # Unowned, so both SDRs may edit it.
    return AccountFactory(name="Shared Prospect", owner=None, employee_raw="500")


@pytest.fixture
def editors(make_user):
    """Return signed-in clients of two SDRs of the same team."""
    first = make_user(roles.SDR, username="first-sdr")
    second = make_user(roles.SDR, username="second-sdr")
    manager = make_user(roles.SALES_MANAGER, username="team-manager")
    for member in (first, second):
        UserProfile.objects.create(user=member, manager=manager)
    first_client, second_client = Client(), Client()
    first_client.force_login(first)
    second_client.force_login(second)
    return first_client, second_client


def field_edit_url(account: Account, field: str = "employees") -> str:
    return reverse("accounts:account-field-edit", args=[account.pk, field])


def segment_edit_url(account: Account) -> str:
    return reverse("accounts:account-segment-edit", args=[account.pk])


def hidden_inputs(html: str) -> dict[str, str]:
    """Return the version and fingerprints that a rendered form sends back."""
    return dict(
        re.findall(r'<input type="hidden" name="(version|loaded_\w+)" value="([^"]*)"', html)
    )


def opened_form(client: Client, url: str) -> dict[str, str]:
    """Open a form as the page does and return its hidden inputs."""
    response = client.get(url, **HTMX)
    assert response.status_code == 200
    return hidden_inputs(response.content.decode())


def test_form_carries_account_version(editors, account):
    first, _ = editors
    html = first.get(field_edit_url(account), **HTMX).content.decode()
    assert f'value="{account_version(account)}"' in html


def test_stale_field_edit_rejected_with_409(editors, account):
    first, second = editors
    version = account_version(account)
    saved = first.post(field_edit_url(account), {"employees": "51-200", "version": version}, **HTMX)
    stale = second.post(field_edit_url(account), {"employees": "1000", "version": version}, **HTMX)
    account.refresh_from_db()
    assert saved.status_code == 200
    assert stale.status_code == 409
    assert account.employee_raw == "51-200"
    # The stale form keeps what the second person typed, with the new version to retry.
    assert 'value="1000"' in stale.content.decode()
    assert f'value="{account_version(account)}"' in stale.content.decode()


def test_retry_with_new_version_applies(editors, account):
    first, second = editors
    version = account_version(account)
    first.post(field_edit_url(account), {"employees": "51-200", "version": version}, **HTMX)
    account.refresh_from_db()
    retry = second.post(
        field_edit_url(account), {"employees": "1000", "version": account_version(account)}, **HTMX
    )
    account.refresh_from_db()
    assert retry.status_code == 200
    assert account.employee_raw == "1000"


def test_edit_without_version_rejected(editors, account):
    first, _ = editors
    response = first.post(field_edit_url(account), {"employees": "51-200"}, **HTMX)
    account.refresh_from_db()
    assert response.status_code in (409, 422)
    assert account.employee_raw == "500"


def test_stale_segment_edit_rejected(editors, account):
    first, second = editors
    url = reverse("accounts:account-segment-edit", args=[account.pk])
    version = account_version(account)
    data = {"tier": "low", "tag": "SaaS – SMB – US", "reason": "Too small"}
    saved = first.post(url, {**data, "version": version}, **HTMX)
    stale = second.post(url, {**data, "tier": "high", "version": version}, **HTMX)
    account.refresh_from_db()
    assert saved.status_code == 200
    assert stale.status_code == 409
    assert account.tier_override == "low"


def test_api_stale_if_match_rejected_with_412(editors, account):
    first, second = editors
    url = f"/api/v1/accounts/{account.pk}/"
    etag = first.get(url)["ETag"]
    saved = first.patch(
        url, {"city": "Berlin"}, content_type="application/json", HTTP_IF_MATCH=etag
    )
    stale = second.patch(
        url, {"city": "Paris"}, content_type="application/json", HTTP_IF_MATCH=etag
    )
    account.refresh_from_db()
    assert saved.status_code == 200
    assert saved["ETag"] != etag
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"
    assert account.city == "Berlin"


def test_api_retry_with_new_etag_applies(editors, account):
    first, second = editors
    url = f"/api/v1/accounts/{account.pk}/"
    etag = first.get(url)["ETag"]
    new_etag = first.patch(
        url, {"city": "Berlin"}, content_type="application/json", HTTP_IF_MATCH=etag
    )["ETag"]
    retry = second.patch(
        url, {"city": "Paris"}, content_type="application/json", HTTP_IF_MATCH=new_etag
    )
    account.refresh_from_db()
    assert retry.status_code == 200
    assert account.city == "Paris"


def test_api_stale_segment_change_rejected(editors, account):
    first, second = editors
    etag = first.get(f"/api/v1/accounts/{account.pk}/")["ETag"]
    url = f"/api/v1/accounts/{account.pk}/segment/"
    body = {"kind": "manual_tag", "tier": "low", "reason": "Too small"}
    saved = first.post(url, body, content_type="application/json", HTTP_IF_MATCH=etag)
    stale = second.post(
        url, {**body, "tier": "high"}, content_type="application/json", HTTP_IF_MATCH=etag
    )
    account.refresh_from_db()
    assert saved.status_code == 200
    assert stale.status_code == 412
    assert account.tier_override == "low"


def test_api_change_without_if_match_overwrites(editors, account):
    # If-Match is optional in the API (docs/api.md), so a client that leaves it out
    # overwrites the other person's change. Clients that edit must send it.
    first, second = editors
    url = f"/api/v1/accounts/{account.pk}/"
    first.patch(url, {"city": "Berlin"}, content_type="application/json")
    second.patch(url, {"city": "Paris"}, content_type="application/json")
    account.refresh_from_db()
    assert account.city == "Paris"


def test_rescoring_changes_credited_to_rescoring(make_user, account):
    editor = make_user(roles.SDR, username="late-editor")
    account.refresh_from_db()
    since = account.updated_at
    # Re-scoring writes the result without a history row.
    Account.objects.filter(pk=account.pk).update(tag="SaaS – SMB – US", score=71)
    account.refresh_from_db()
    account.city = "Austin"
    account._history_user = editor
    account.save()

    entries = account_changes_since(account, since)

    assert [(entry.actor, entry.title) for entry in entries] == [
        ("Re-scoring", "Scored again: tag, score"),
        ("late-editor", "Changed city"),
    ]


def test_override_tag_credited_to_editor(make_user, account):
    editor = make_user(roles.SDR, username="tagging-editor")
    account.refresh_from_db()
    since = account.updated_at
    account.tag = account.tag_override = "Fintech – SMB – US"
    account._history_user = editor
    account.save()

    entries = account_changes_since(account, since)

    assert [(entry.actor, entry.title) for entry in entries] == [("tagging-editor", "Changed tag")]


def test_head_count_estimate_not_repeated(make_user, account):
    editor = make_user(roles.SDR, username="count-editor")
    Account.objects.filter(pk=account.pk).update(employee_raw="350", employee_count=350)
    account.refresh_from_db()
    account._history_user = editor
    account.save()
    since = account.updated_at
    account.employee_raw, account.employee_count = "450", 450
    account.save()

    entries = account_changes_since(account, since)

    assert [change.label for change in entries[-1].changes] == ["Employees"]


def test_revenue_change_named_once(make_user, account):
    editor = make_user(roles.SDR, username="revenue-editor")
    account.refresh_from_db()
    since = account.updated_at
    account.revenue_raw, account.annual_revenue_usd = "$15M", Decimal("15000000")
    account._history_user = editor
    account.save()

    [entry] = account_changes_since(account, since)

    assert entry.title == "Changed revenue"
    assert [change.label for change in entry.changes] == ["Revenue", "Revenue in USD"]


def test_revenue_in_usd_alone_keeps_acronym(account):
    account.refresh_from_db()
    since = account.updated_at
    account.annual_revenue_usd = Decimal("16000000")
    account.save()

    [entry] = account_changes_since(account, since)

    assert entry.title == "Changed revenue in USD"


@pytest.mark.parametrize(
    "version", ["", "garbage", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+01:00"]
)
def test_invalid_version_is_not_a_stale_edit(editors, account, version):
    first, _ = editors
    response = first.post(
        field_edit_url(account), {"employees": "51-200", "version": version}, **HTMX
    )
    account.refresh_from_db()
    assert response.status_code == 422
    assert "The form has no valid version of the account" in response.content.decode()
    assert account.employee_raw == "500"


def test_new_version_change_named(account):
    # A run writes results without history rows, so the score records tell what changed.
    accounts_segment(account_ids=[account.pk])
    account.refresh_from_db()
    since, tier_before = account.updated_at, account.tier
    second = copy_framework(Framework.objects.get(status="approved"), version=2)
    cutoffs = (101, 100) if tier_before == "high" else (0, 0)
    Framework.objects.filter(pk=second.pk).update(
        high_tier_min_score=cutoffs[0], medium_tier_min_score=cutoffs[1]
    )

    accounts_segment()

    account.refresh_from_db()
    assert account.tier != tier_before
    [entry] = account_changes_since(account, since)
    assert entry.actor == "Re-scoring"
    assert entry.title.startswith("Scored again with framework v2: tier")
    assert entry.changes[0].field == "tier"


# Per-field checks ----------------------------------------------------------------------


def test_field_form_carries_fingerprints(editors, account):
    first, _ = editors
    fields = opened_form(first, field_edit_url(account))
    assert fields["version"] == account_version(account)
    assert fields["loaded_employees"] == input_fingerprint(account, "employees")


def test_other_field_change_merged(editors, account):
    first, second = editors
    employees_form = opened_form(second, field_edit_url(account))
    name_form = opened_form(first, field_edit_url(account, "name"))
    saved = first.post(
        field_edit_url(account, "name"), {**name_form, "name": "Shared Prospect Inc"}, **HTMX
    )

    merged = second.post(field_edit_url(account), {**employees_form, "employees": "1000"}, **HTMX)

    account.refresh_from_db()
    assert saved.status_code == 200
    assert merged.status_code == 200
    assert account.employee_raw == "1000"
    assert account.name == "Shared Prospect Inc"


def test_same_field_change_rejected(editors, account):
    first, second = editors
    stale_form = opened_form(second, field_edit_url(account))
    fresh_form = opened_form(first, field_edit_url(account))
    first.post(field_edit_url(account), {**fresh_form, "employees": "51-200"}, **HTMX)

    stale = second.post(field_edit_url(account), {**stale_form, "employees": "1000"}, **HTMX)

    account.refresh_from_db()
    html = stale.content.decode()
    assert stale.status_code == 409
    assert account.employee_raw == "51-200"
    assert "Someone changed the employees after you opened the form" in html
    assert "first-sdr" in html
    assert "Employees: 500 → <strong>51-200</strong>" in html
    changed_at = account.history.latest("history_date").history_date
    assert f'datetime="{changed_at.isoformat()}"' in html
    assert 'value="1000"' in html


def test_rejection_lists_only_conflicting_change(editors, account):
    first, second = editors
    stale_form = opened_form(second, field_edit_url(account))
    name_form = opened_form(first, field_edit_url(account, "name"))
    first.post(
        field_edit_url(account, "name"), {**name_form, "name": "Shared Prospect Inc"}, **HTMX
    )
    employees_form = opened_form(first, field_edit_url(account))
    first.post(field_edit_url(account), {**employees_form, "employees": "51-200"}, **HTMX)

    html = second.post(
        field_edit_url(account), {**stale_form, "employees": "1000"}, **HTMX
    ).content.decode()

    assert "Employees: 500 → <strong>51-200</strong>" in html
    assert "Shared Prospect Inc" not in html


def test_rejected_field_form_saved_when_sent_again(editors, account):
    first, second = editors
    stale_form = opened_form(second, field_edit_url(account))
    fresh_form = opened_form(first, field_edit_url(account))
    first.post(field_edit_url(account), {**fresh_form, "employees": "51-200"}, **HTMX)
    stale = second.post(field_edit_url(account), {**stale_form, "employees": "1000"}, **HTMX)

    retry_form = hidden_inputs(stale.content.decode())
    account.refresh_from_db()
    assert retry_form["loaded_employees"] == input_fingerprint(account, "employees")
    retry = second.post(field_edit_url(account), {**retry_form, "employees": "1000"}, **HTMX)

    account.refresh_from_db()
    assert retry.status_code == 200
    assert account.employee_raw == "1000"


def test_location_rejection_names_changed_input(editors, account):
    first, second = editors
    Account.objects.filter(pk=account.pk).update(country="US", region="CA", city="San Jose")
    account.refresh_from_db()
    location = {"city": "San Jose", "region": "CA", "country": "US"}
    stale_form = opened_form(second, field_edit_url(account, "location"))
    fresh_form = opened_form(first, field_edit_url(account, "location"))
    first.post(
        field_edit_url(account, "location"),
        {**fresh_form, **location, "city": "San Francisco"},
        **HTMX,
    )

    stale = second.post(
        field_edit_url(account, "location"), {**stale_form, **location, "region": "NV"}, **HTMX
    )

    account.refresh_from_db()
    assert stale.status_code == 409
    assert "Someone changed the city after you opened the form" in stale.content.decode()
    assert account.city == "San Francisco"
    assert account.region == "CA"


def test_tag_edit_merged_after_other_field_change(editors, account):
    first, second = editors
    tag_form = opened_form(second, segment_edit_url(account))
    name_form = opened_form(first, field_edit_url(account, "name"))
    first.post(
        field_edit_url(account, "name"), {**name_form, "name": "Shared Prospect Inc"}, **HTMX
    )

    response = second.post(
        segment_edit_url(account),
        {**tag_form, "tag": "SaaS – SMB – US", "tier": "", "reason": "Small team"},
        **HTMX,
    )

    account.refresh_from_db()
    assert response.status_code == 200
    assert account.tag_override == "SaaS – SMB – US"
    assert account.name == "Shared Prospect Inc"


def test_tag_edit_rejected_after_other_tier_change(editors, account):
    first, second = editors
    Account.objects.filter(pk=account.pk).update(tier="medium")
    stale_form = opened_form(second, segment_edit_url(account))
    fresh_form = opened_form(first, segment_edit_url(account))
    first.post(
        segment_edit_url(account), {**fresh_form, "tier": "low", "reason": "Too small"}, **HTMX
    )

    # The tier select still shows the tier that the form opened with, so saving would
    # set it back.
    stale = second.post(
        segment_edit_url(account),
        {**stale_form, "tag": "SaaS – SMB – US", "tier": "medium", "reason": "Small"},
        **HTMX,
    )

    account.refresh_from_db()
    html = stale.content.decode()
    assert stale.status_code == 409
    assert "Someone changed the tier after you opened the form" in html
    assert "first-sdr" in html
    assert account.tier_override == "low"
    assert account.tag_override == ""


def test_tag_edit_keeping_tier_merged_after_tier_change(editors, account):
    first, second = editors
    stale_form = opened_form(second, segment_edit_url(account))
    fresh_form = opened_form(first, segment_edit_url(account))
    first.post(
        segment_edit_url(account), {**fresh_form, "tier": "low", "reason": "Too small"}, **HTMX
    )

    response = second.post(
        segment_edit_url(account),
        {**stale_form, "tag": "SaaS – SMB – US", "tier": "", "reason": "Small"},
        **HTMX,
    )

    account.refresh_from_db()
    assert response.status_code == 200
    assert account.tier_override == "low"
    assert account.tag_override == "SaaS – SMB – US"


def test_malformed_fingerprint_checks_whole_account(editors, account):
    first, second = editors
    stale_form = opened_form(second, field_edit_url(account))
    name_form = opened_form(first, field_edit_url(account, "name"))
    first.post(
        field_edit_url(account, "name"), {**name_form, "name": "Shared Prospect Inc"}, **HTMX
    )

    stale = second.post(
        field_edit_url(account),
        {**stale_form, "loaded_employees": "not-a-fingerprint", "employees": "1000"},
        **HTMX,
    )

    account.refresh_from_db()
    assert stale.status_code == 409
    assert "Someone changed this account after you opened the form" in stale.content.decode()
    assert account.employee_raw == "500"
