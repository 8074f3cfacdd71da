"""Imports verify the accounts they touch before segmenting them."""

import pytest

from accounts.models import Account
from accounts.services import accounts_import

pytestmark = pytest.mark.django_db

HEADER = ["Company", "Website", "# Employees", "Industry", "Company Country"]


def test_import_verifies_touched_accounts(tmp_path):
    first = tmp_path / "apollo.csv"
    first.write_text(
        ",".join(HEADER) + "\nAnvil Peak,anvilpeak.com,240,Computer Software,Germany\n",
        encoding="utf-8",
    )
    second = tmp_path / "hubspot.csv"
    second.write_text(
        ",".join(HEADER) + "\nAnvil Peak,anvilpeak.com,250,Computer Software,Germany\n",
        encoding="utf-8",
    )

    accounts_import(first, source="apollo")
    after_first = Account.objects.get()
    accounts_import(second, source="hubspot")
    after_second = Account.objects.get()

    assert after_first.verification_status == "unverified"
    assert after_first.field_status["country"]["status"] == "single_source"
    assert after_second.verification_status == "verified"
    assert after_second.field_status["company_size"]["sources"] == ["apollo", "hubspot"]
    assert after_second.employee_count == 250


def test_dry_run_import_not_verified(tmp_path):
    path = tmp_path / "apollo.csv"
    path.write_text(",".join(HEADER) + "\nAnvil Peak,anvilpeak.com,240,,\n", encoding="utf-8")

    run = accounts_import(path, dry_run=True)

    assert run.status == "succeeded"
    assert not Account.objects.exists()
