"""SDRs and AEs take unowned accounts: in bulk, on the account page and through the API."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Account
from audits.baseline import BASELINE_NOTE
from tests.factories import AccountFactory

from .conftest import HTMX

BULK_URL = reverse("accounts:account-bulk")


@pytest.fixture
def accounts(sdr, sdr2):
    return {
        "unowned": AccountFactory(name="Charlie", owner=None),
        "other": AccountFactory(name="Delta", owner=sdr2),
        "own": AccountFactory(name="Echo", owner=sdr),
    }


def take_url(account: Account) -> str:
    return reverse("accounts:account-take", args=[account.pk])


def owner_of(account: Account):
    account.refresh_from_db()
    return account.owner


def test_bulk_take_assigns_unowned_only(client, sdr, sdr2, accounts):
    client.force_login(sdr)
    selected = [str(account.pk) for account in accounts.values()]
    confirm = client.post(BULK_URL, {"action": "take", "account_ids": selected}, **HTMX)
    result = client.post(
        BULK_URL, {"action": "take", "account_ids": selected, "confirmed": "true"}, **HTMX
    )
    assert "Assign 2 accounts to you?" in confirm.content.decode()
    assert "1 selected account will be skipped" in confirm.content.decode()
    assert "Assigned 1 account to you. 1 account already had an owner." in result.content.decode()
    assert owner_of(accounts["unowned"]) == sdr
    assert owner_of(accounts["other"]) == sdr2


def test_bulk_take_recorded_in_history(client, sdr, accounts):
    client.force_login(sdr)
    client.post(
        BULK_URL,
        {"action": "take", "account_ids": [accounts["unowned"].pk], "confirmed": "true"},
        **HTMX,
    )
    record = accounts["unowned"].history.order_by("-history_date", "-history_id").first()
    assert record.history_user == sdr
    assert record.history_change_reason == "Taken by its new owner"


def test_bulk_take_records_baseline(client, sdr, accounts):
    # An import stores accounts without history rows.
    unowned = accounts["unowned"]
    unowned.history.all().delete()
    client.force_login(sdr)
    client.post(
        BULK_URL,
        {"action": "take", "account_ids": [unowned.pk], "confirmed": "true"},
        **HTMX,
    )
    baseline, change = unowned.history.order_by("history_date", "history_id")
    assert baseline.history_change_reason == BASELINE_NOTE
    assert baseline.owner_id is None
    assert change.history_change_reason == "Taken by its new owner"
    assert change.owner_id == sdr.pk


def test_bulk_take_denied_to_marketing(client, marketing, accounts):
    client.force_login(marketing)
    response = client.post(
        BULK_URL,
        {"action": "take", "account_ids": [accounts["unowned"].pk], "confirmed": "true"},
        **HTMX,
    )
    assert response.status_code == 403
    assert owner_of(accounts["unowned"]) is None


def test_page_button_takes_unowned(client, ae, accounts):
    client.force_login(ae)
    page = client.get(accounts["unowned"].get_absolute_url()).content.decode()
    response = client.post(take_url(accounts["unowned"]), **HTMX)
    assert 'data-testid="take-account"' in page
    assert response.status_code == 200
    assert "accountChanged" in response["HX-Trigger"]
    assert owner_of(accounts["unowned"]) == ae


def test_page_button_hidden_on_owned(client, sdr, accounts):
    client.force_login(sdr)
    page = client.get(accounts["other"].get_absolute_url()).content.decode()
    assert 'data-testid="take-account"' not in page


def test_take_owned_account_rejected(client, sdr, sdr2, accounts):
    client.force_login(sdr)
    response = client.post(take_url(accounts["other"]))
    assert response.status_code == 403
    assert "is owned by Dana Okafor: ask their manager to reassign it." in (
        response.content.decode()
    )
    assert owner_of(accounts["other"]) == sdr2


def test_take_denied_to_manager(client, manager, accounts):
    client.force_login(manager)
    response = client.post(take_url(accounts["unowned"]))
    assert response.status_code == 403
    assert owner_of(accounts["unowned"]) is None


def test_api_owner_id_self_on_unowned(sdr, sdr2, accounts):
    api = APIClient()
    api.force_login(sdr)
    taken = api.patch(
        f"/api/v1/accounts/{accounts['unowned'].pk}/", {"owner_id": sdr.pk}, format="json"
    )
    refused = api.patch(
        f"/api/v1/accounts/{accounts['other'].pk}/", {"owner_id": sdr.pk}, format="json"
    )
    assert taken.status_code == 200, taken.json()
    assert owner_of(accounts["unowned"]) == sdr
    # Another SDR's account is not the caller's to change at all.
    assert refused.status_code == 403
    assert owner_of(accounts["other"]) == sdr2
