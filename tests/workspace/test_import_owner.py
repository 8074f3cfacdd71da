"""The owner of the accounts that an import creates: the importer or nobody."""

import pytest
from django.urls import reverse

from accounts.models import Account, ImportRun
from audits.baseline import BASELINE_NOTE
from tests.factories import AccountFactory

from .test_import_wizard import GERMAN_CSV, preview

MAPPING = {"column_0": "name", "column_1": "website", "currency": "USD", "revenue_multiplier": "1"}


@pytest.fixture
def sdr_client(client, sdr):
    client.force_login(sdr)
    return client


def start(client, token: str, capture, **data) -> ImportRun:
    with capture(execute=True):
        response = client.post(reverse("accounts:import-start", args=[token]), data)
    assert response.status_code == 302
    return ImportRun.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))


def test_preview_defaults_to_me_for_sdr(sdr_client):
    _token, response = preview(sdr_client, GERMAN_CSV, MAPPING)
    html = response.content.decode()
    assert 'value="me" id="new-accounts-owner-me" checked' in html
    assert 'value="none" id="new-accounts-owner-none">' in html


def test_preview_defaults_to_none_for_ops(client, sales_ops):
    client.force_login(sales_ops)
    _token, response = preview(client, GERMAN_CSV, MAPPING)
    assert 'value="none" id="new-accounts-owner-none" checked' in response.content.decode()


def test_sdr_import_owns_new_accounts(sdr_client, sdr, django_capture_on_commit_callbacks):
    token, _ = preview(sdr_client, GERMAN_CSV, MAPPING)
    run = start(sdr_client, token, django_capture_on_commit_callbacks, new_accounts_owner="me")
    acme = Account.objects.get(domain="acme.de")
    record = acme.history.order_by("-history_date", "-history_id").first()
    assert run.new_accounts_owner == sdr
    assert set(Account.objects.values_list("owner", flat=True)) == {sdr.pk}
    assert record.history_user == sdr
    assert record.history_change_reason == f"Owner of the new accounts of import {run.pk}"


def test_import_owner_change_has_baseline(sdr_client, sdr, django_capture_on_commit_callbacks):
    token, _ = preview(sdr_client, GERMAN_CSV, MAPPING)
    run = start(sdr_client, token, django_capture_on_commit_callbacks, new_accounts_owner="me")
    acme = Account.objects.get(domain="acme.de")
    rows = list(acme.history.order_by("history_date", "history_id"))
    reasons = [row.history_change_reason for row in rows]
    owner_row = reasons.index(f"Owner of the new accounts of import {run.pk}")
    assert reasons[0] == BASELINE_NOTE
    assert rows[0].owner_id is None
    assert owner_row > 0
    assert rows[owner_row].owner_id == sdr.pk


def test_sdr_import_unassigned_on_request(sdr_client, django_capture_on_commit_callbacks):
    token, _ = preview(sdr_client, GERMAN_CSV, MAPPING)
    run = start(sdr_client, token, django_capture_on_commit_callbacks, new_accounts_owner="none")
    assert run.new_accounts_owner is None
    assert set(Account.objects.values_list("owner", flat=True)) == {None}


def test_updated_accounts_keep_owner(sdr_client, sdr2, django_capture_on_commit_callbacks):
    AccountFactory(name="Acme GmbH", domain="acme.de", website="https://acme.de", owner=None)
    AccountFactory(name="Beta AG", domain="beta.de", website="https://beta.de", owner=sdr2)
    token, _ = preview(sdr_client, GERMAN_CSV, MAPPING)
    start(sdr_client, token, django_capture_on_commit_callbacks, new_accounts_owner="me")
    assert Account.objects.get(domain="acme.de").owner is None
    assert Account.objects.get(domain="beta.de").owner == sdr2
