"""ZoomInfo company records in JSON files: layout detection and revenue in thousands."""

import copy
from decimal import Decimal

import pytest

from accounts.importing.layouts import ZOOMINFO_JSON, detect_layout
from accounts.models import Account, AccountIdentifier
from accounts.services import accounts_import
from tests.enrichment.payloads import ZOOMINFO_COMPANY

pytestmark = pytest.mark.django_db


def test_zoominfo_revenue_read_in_thousands(write_json):
    path = write_json([copy.deepcopy(ZOOMINFO_COMPANY)], name="zoominfo-companies.json")

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.source == "zoominfo"
    assert run.column_mapping["layout"] == "zoominfo"
    assert (run.created, run.rejected) == (1, 0)
    assert account.name == "Harbor Freight Logistics"
    assert account.domain == "harborfreight-logistics.com"
    assert account.revenue_amount == Decimal("50000000.00")
    assert account.revenue_currency == "USD"
    assert account.annual_revenue_usd == Decimal("50000000.00")
    assert account.employee_count == 320
    assert (account.city, account.country) == ("Oakland", "US")
    assert account.industry_raw == "Transportation"
    assert AccountIdentifier.objects.filter(
        account=account, kind="crm", value="zoominfo:344589814"
    ).exists()


@pytest.mark.parametrize(
    "keys",
    [
        ["name", "employeeCount", "revenueRange"],
        ["name", "primaryIndustry"],
        ["id", "name", "domainList"],
    ],
)
def test_zoominfo_record_keys_detected(keys):
    assert detect_layout(keys) is ZOOMINFO_JSON


def test_other_json_revenue_stays_whole_dollars(write_json):
    path = write_json([{"name": "Plain Co", "website": "plain.example", "revenue": 50000}])

    run = accounts_import(path)

    account = Account.objects.get()
    assert run.column_mapping["layout"] == "csv"
    assert account.annual_revenue_usd == Decimal("50000.00")
