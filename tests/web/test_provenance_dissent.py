"""A verified field whose sources do not all agree names the source that disagrees."""

import pytest
from rest_framework.test import APIClient

from enrichment.services import accounts_verify
from tests.verification.conftest import blank_account, employees_value, observe


@pytest.fixture
def outvoted(sdr):
    """Employees verified by Apollo and Clearbit against the Fortune 500 file."""
    account = blank_account(name="Northwind", owner=sdr)
    observe(account, "employees", employees_value(150), "apollo")
    observe(account, "employees", employees_value(150), "clearbit")
    observe(account, "employees", employees_value(132000), "fortune500")
    accounts_verify(account_ids=[account.pk])
    account.refresh_from_db()
    return account


def test_fixture_size_verified(outvoted):
    assert outvoted.field_status["company_size"]["status"] == "verified"


def test_page_names_outvoted_source(signed_in, outvoted):
    html = signed_in.get(outvoted.get_absolute_url()).content.decode()

    assert "Verified · Apollo + Clearbit" in html
    assert 'data-testid="dissent-employees"' in html
    assert "Fortune 500 reports 132,000" in html


def test_page_agreeing_sources_no_dissent(signed_in, sdr):
    account = blank_account(name="Initech", owner=sdr)
    observe(account, "employees", employees_value(150), "apollo")
    observe(account, "employees", employees_value(150), "clearbit")
    accounts_verify(account_ids=[account.pk])

    html = signed_in.get(account.get_absolute_url()).content.decode()

    assert "Verified · Apollo + Clearbit" in html
    assert "dissent-employees" not in html


def test_api_field_status_names_disagreeing(sdr, outvoted):
    api = APIClient()
    api.force_login(sdr)

    body = api.get(f"/api/v1/accounts/{outvoted.pk}/").json()

    size = body["field_status"]["company_size"]
    assert size["status"] == "verified"
    assert size["disagreeing"] == ["fortune500"]
    assert size["values"]["fortune500"] == "132,000"
