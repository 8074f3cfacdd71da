"""Rows of one file that merge into one account and disagree on a verified field."""

import pytest

from accounts.importing.matching import file_conflict_flag, pack_file_values, unpack_file_values
from accounts.models import REVIEW_FLAG_IMPORT_KEY, REVIEW_FLAG_LINES_KEY, Account
from accounts.services import accounts_import
from enrichment.services import accounts_verify
from enrichment.verification import CONFLICTING, queue_reasons
from segmentation.models import Industry

pytestmark = pytest.mark.django_db

HEADER = ["name", "website", "industry", "employees", "country"]
DISAGREEING = [
    ["Dup Co", "https://dupco.example", "Software", "100", "US"],
    ["Dup Co Inc", "https://www.dupco.example/about", "Banking", "90000", "DE"],
]


def flags_by_field(account: Account) -> dict[str, dict]:
    return {flag["field"]: flag for flag in account.review_flags}


def test_disagreeing_rows_flag_each_field(write_csv):
    run = accounts_import(write_csv(HEADER, DISAGREEING), source="hubspot")

    account = Account.objects.get()
    flags = flags_by_field(account)
    assert (run.created, run.merged, run.flagged) == (1, 1, 1)
    assert sorted(flags) == ["employees", "industry", "location"]
    employees = flags["employees"]
    assert employees["value"] == "90000"
    assert employees[REVIEW_FLAG_LINES_KEY] == [2, 3]
    assert employees[REVIEW_FLAG_IMPORT_KEY] == run.pk
    assert 'line 3 gives employees "90000"' in employees["message"]
    assert 'line 2 of the same file gave "100"' in employees["message"]
    assert flags["industry"]["value"] == "Banking"
    assert flags["location"]["value"] == "DE"


def test_disagreeing_rows_make_fields_conflicting(write_csv):
    accounts_import(write_csv(HEADER, DISAGREEING), source="hubspot")
    account = Account.objects.get()

    accounts_verify(account_ids=[account.pk])

    account.refresh_from_db()
    assert account.verification_status == CONFLICTING
    for name in ("industry", "company_size", "country"):
        entry = account.field_status[name]
        assert entry["status"] == CONFLICTING, name
        assert entry["file_conflict"]["lines"] == [2, 3], name
    reasons = queue_reasons(account.field_status)
    assert (
        "Company size: sources disagree (HubSpot: 90,000). Lines 2 and 3 of one imported file "
        "disagree: save the right value, or mark the review flag reviewed."
    ) in reasons


def test_agreeing_rows_merge_quietly(write_csv):
    rows = [
        ["Dup Co", "https://dupco.example", "Software", "100", "US"],
        ["Dup Co", "dupco.example", "Software", "110", "United States"],
        ["Dup Co", "dupco.example", "", "", ""],
    ]

    run = accounts_import(write_csv(HEADER, rows), source="hubspot")

    account = Account.objects.get()
    assert (run.created, run.merged, run.flagged) == (1, 2, 0)
    assert account.review_flags == []
    accounts_verify(account_ids=[account.pk])
    account.refresh_from_db()
    assert account.verification_status != CONFLICTING


def test_rows_compared_across_batches(write_csv):
    rows = [
        DISAGREEING[0],
        ["Other Co", "other.example", "Software", "20", "US"],
        DISAGREEING[1],
    ]

    run = accounts_import(write_csv(HEADER, rows), source="hubspot", batch_size=1)

    account = Account.objects.get(domain="dupco.example")
    flags = flags_by_field(account)
    assert (run.created, run.merged, run.flagged) == (2, 1, 1)
    assert sorted(flags) == ["employees", "industry", "location"]
    assert flags["employees"][REVIEW_FLAG_LINES_KEY] == [2, 4]
    assert Account.objects.get(domain="other.example").review_flags == []


@pytest.mark.parametrize("batch_size", [2000, 2])
def test_many_disagreeing_rows_flag_once(write_csv, batch_size):
    rows = [
        ["Dup Co", "dupco.example", "", str(count), ""]
        for count in (100, 90_000, 50_000, 3_000, 700_000)
    ]

    run = accounts_import(write_csv(HEADER, rows), source="hubspot", batch_size=batch_size)

    account = Account.objects.get()
    assert run.flagged == 1
    assert len(account.review_flags) == 1
    assert account.review_flags[0][REVIEW_FLAG_LINES_KEY] == [2, 3]


def test_reimport_adds_no_flags(write_csv):
    path = write_csv(HEADER, DISAGREEING)
    accounts_import(path, source="hubspot")
    flags = Account.objects.get().review_flags

    second = accounts_import(path, source="hubspot")

    assert second.flagged == 0
    assert Account.objects.get().review_flags == flags


def test_other_sources_rows_not_compared(write_csv):
    """A file's rows are compared with each other, not with what other imports stored."""
    accounts_import(write_csv(HEADER, DISAGREEING[:1], name="first.csv"), source="hubspot")

    run = accounts_import(write_csv(HEADER, DISAGREEING[1:], name="second.csv"), source="apollo")

    assert run.flagged == 0
    assert Account.objects.get().review_flags == []


def test_unmapped_industries_not_compared(write_csv):
    assert not Industry.objects.filter(name__iexact="Widgetry").exists()
    rows = [
        ["Dup Co", "dupco.example", "Widgetry", "", ""],
        ["Dup Co", "dupco.example", "Gizmology", "", ""],
    ]

    run = accounts_import(write_csv(HEADER, rows), source="hubspot")

    assert run.flagged == 0
    assert Account.objects.get().review_flags == []


def test_file_values_pack_round_trip():
    values = {
        "industry": (12, '"Software"', "Software & Services"),
        "employees": (40, "250", "201-500\x1f employees"),
        "country": (12, '"DE"', "Köln, Deutschland"),
    }

    first_line, unpacked = unpack_file_values(pack_file_values(12, values))

    assert first_line == 12
    assert unpacked == values


def test_file_conflict_message_shows_tab() -> None:
    flag = file_conflict_flag("employees", (2, "100"), (3, "90\t000"))

    assert flag["value"] == "90\t000"
    assert 'gives employees "90\\t000", but line 2' in flag["message"]
    assert "\t" not in flag["message"]
