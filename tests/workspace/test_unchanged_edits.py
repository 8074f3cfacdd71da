"""Saving an inline edit without changing the value records nothing, as the API does."""

import pytest
from django.urls import reverse

from accounts import workspace
from accounts.models import Account
from enrichment.models import Observation
from enrichment.services import accounts_verify
from tests.verification.conftest import (
    blank_account,
    employees_value,
    industry_value,
    location_value,
    observe,
)

from .conftest import HTMX

STATUS_KEYS = {"industry": "industry", "employees": "company_size", "location": "country"}


def edit_url(account: Account, field: str) -> str:
    return reverse("accounts:account-field-edit", args=[account.pk, field])


@pytest.fixture
def single_source(sdr, approved_framework):
    """An account whose industry, size and country each come from one source only."""
    account = blank_account(name="Initech", owner=sdr, framework=approved_framework)
    observe(account, "industry", industry_value("SaaS", "Computer Software"), "apollo")
    observe(account, "employees", employees_value(150, 101, 200), "apollo", raw="101-200")
    observe(account, "location", location_value("US", "CA", "San Francisco"), "apollo")
    accounts_verify(account_ids=[account.pk])
    account.refresh_from_db()
    return account


@pytest.fixture
def client_sdr(client, sdr):
    client.force_login(sdr)
    return client


def save_as_opened(client, account: Account, field_name: str, **options):
    """Post the field's form with the values it opens with."""
    account.refresh_from_db()
    data = {
        **workspace.field_initial(account, field_name),
        "version": workspace.account_version(account),
    }
    return client.post(edit_url(account, field_name), data, **options)


def test_fixture_fields_single_source(single_source):
    assert single_source.verification_status == "unverified"
    for status_key in STATUS_KEYS.values():
        assert single_source.field_status[status_key]["status"] == "single_source"


@pytest.mark.parametrize("field_name", list(STATUS_KEYS))
def test_unchanged_save_records_nothing(client_sdr, single_source, field_name):
    history_rows = single_source.history.count()
    updated_at = single_source.updated_at

    response = save_as_opened(client_sdr, single_source, field_name, **HTMX)

    html = response.content.decode()
    single_source.refresh_from_db()
    assert response.status_code == 200
    assert 'data-testid="field-unchanged"' in html
    assert "Nothing changed" in html
    assert 'data-testid="field-saved"' not in html
    assert "HX-Trigger" not in response
    assert not Observation.objects.filter(account=single_source, source="manual").exists()
    assert single_source.field_status[STATUS_KEYS[field_name]]["status"] == "single_source"
    assert single_source.verification_status == "unverified"
    assert single_source.history.count() == history_rows
    assert single_source.updated_at == updated_at


def test_unchanged_saves_leave_account_unverified(client_sdr, single_source):
    history_rows = single_source.history.count()

    for field_name in STATUS_KEYS:
        save_as_opened(client_sdr, single_source, field_name, **HTMX)

    single_source.refresh_from_db()
    assert single_source.verification_status == "unverified"
    assert single_source.history.count() == history_rows


def test_unchanged_save_without_htmx_says_so(client_sdr, single_source):
    response = save_as_opened(client_sdr, single_source, "industry", follow=True)

    assert response.status_code == 200
    messages = [str(message) for message in response.context["messages"]]
    assert messages == ["Nothing changed: Industry is the same as before, so nothing was saved."]


def test_changed_save_still_accepted(client_sdr, single_source):
    response = client_sdr.post(
        edit_url(single_source, "employees"),
        {"employees": "450", "version": workspace.account_version(single_source)},
        **HTMX,
    )

    single_source.refresh_from_db()
    assert response.status_code == 200
    assert single_source.employee_count == 450
    assert single_source.field_status["company_size"]["status"] == "accepted"
    assert Observation.objects.filter(account=single_source, source="manual").count() == 1


def test_same_value_retyped_unchanged(sdr, single_source):
    """A country typed by name normalizes to the stored code, so nothing changes."""
    result = workspace.account_field_update(
        account=single_source,
        field_name="location",
        data={"city": "San Francisco", "region": "CA", "country": "United States"},
        user=sdr,
        version=single_source.updated_at,
    )

    assert result.changed is False
    assert not Observation.objects.filter(account=single_source, source="manual").exists()


def test_range_shown_as_count_unchanged(sdr, single_source):
    """The form shows a range without a source value as its count: saving that count
    must not narrow the range."""
    Account.objects.filter(pk=single_source.pk).update(employee_raw="")
    single_source.refresh_from_db()

    result = workspace.account_field_update(
        account=single_source,
        field_name="employees",
        data={"employees": "150"},
        user=sdr,
        version=single_source.updated_at,
    )

    single_source.refresh_from_db()
    assert result.changed is False
    assert single_source.employee_min == 101
    assert single_source.employee_max == 200
