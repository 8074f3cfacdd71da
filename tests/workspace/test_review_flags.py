"""Review flags: cleared by a new value of their field, or marked reviewed by a person."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import workspace
from accounts.models import REVIEW_FLAG_LINES_KEY, Account
from accounts.selectors import account_field_history, user_label
from accounts.services import accounts_import
from accounts.workspace.flags import review_flag_mark_reviewed
from accounts.workspace.imports import WizardMapping, file_inspect, import_preview
from audits.trail import TrailFilter, trail_page
from enrichment.models import Observation
from enrichment.services import accounts_verify
from tests.factories import AccountFactory

from .conftest import HTMX

EMPLOYEES_FLAG = {
    "field": "employees",
    "value": "2.000",
    "message": "“2.000” could be 2 or 2000: write 2000.",
}
NAME_FLAG = {
    "field": "name",
    "value": "",
    "message": "the row has no company name, so the domain blankname-example.com is used as "
    "the name. Enter the company name.",
}
DOMAIN_FLAG = {
    "field": "domain",
    "value": "walmart.com",
    "message": 'domain walmart.com already belongs to account "Walmart", so this account was '
    "saved without it. Check whether the two are one company.",
}


def edit_url(account: Account, field: str) -> str:
    return reverse("accounts:account-field-edit", args=[account.pk, field])


def review_url(account: Account) -> str:
    return reverse("accounts:account-flag-review", args=[account.pk])


def version_of(account: Account) -> str:
    account.refresh_from_db()
    return workspace.account_version(account)


@pytest.fixture
def flagged(sdr, approved_framework):
    return AccountFactory(
        name="blankname-example.com",
        domain="blankname-example.com",
        owner=sdr,
        employee_count=None,
        employee_min=None,
        employee_max=None,
        employee_raw="2.000",
        framework=approved_framework,
        review_flags=[EMPLOYEES_FLAG, NAME_FLAG, DOMAIN_FLAG],
    )


@pytest.fixture
def client_sdr(client, sdr):
    client.force_login(sdr)
    return client


# A new value clears the flags of its field ---------------------------------------------


def test_employee_edit_clears_employee_flag(client_sdr, flagged):
    response = client_sdr.post(
        edit_url(flagged, "employees"),
        {"employees": "2000", "version": version_of(flagged)},
        **HTMX,
    )
    flagged.refresh_from_db()
    assert response.status_code == 200
    assert flagged.employee_count == 2000
    assert flagged.review_flags == [NAME_FLAG, DOMAIN_FLAG]


def test_cleared_flag_recorded_in_history(client_sdr, flagged, sdr):
    client_sdr.post(
        edit_url(flagged, "employees"),
        {"employees": "2000", "version": version_of(flagged)},
        **HTMX,
    )
    latest = account_field_history(flagged)[0]
    assert latest.actor == user_label(sdr)
    assert latest.reason == "New value cleared the review flag of employees"
    assert "Review flags" in [change.label for change in latest.changes]


def test_flagged_filter_drops_corrected_account(client_sdr, flagged):
    for field, data in (
        ("employees", {"employees": "2000"}),
        ("name", {"name": "Blank Name Inc"}),
        ("website", {"website": "https://blankname-inc.example"}),
    ):
        client_sdr.post(edit_url(flagged, field), {**data, "version": version_of(flagged)}, **HTMX)
    flagged.refresh_from_db()
    assert flagged.review_flags == []
    listed = client_sdr.get(reverse("accounts:account-list"), {"flagged": "true"})
    assert "Blank Name Inc" not in listed.content.decode()


def test_other_field_edit_keeps_flags(client_sdr, flagged):
    client_sdr.post(
        edit_url(flagged, "technologies"),
        {"technologies": "Salesforce", "version": version_of(flagged)},
        **HTMX,
    )
    flagged.refresh_from_db()
    assert flagged.review_flags == [EMPLOYEES_FLAG, NAME_FLAG, DOMAIN_FLAG]


# The name is editable on the page ------------------------------------------------------


def test_name_edit_saves_name_and_key(client_sdr, flagged):
    response = client_sdr.post(
        edit_url(flagged, "name"),
        {"name": " Blank Name Inc ", "version": version_of(flagged)},
        **HTMX,
    )
    flagged.refresh_from_db()
    assert response.status_code == 200
    assert flagged.name == "Blank Name Inc"
    assert flagged.name_key == "blank name"
    assert NAME_FLAG not in flagged.review_flags


def test_empty_name_rejected(client_sdr, flagged):
    response = client_sdr.post(
        edit_url(flagged, "name"), {"name": "  ", "version": version_of(flagged)}, **HTMX
    )
    flagged.refresh_from_db()
    assert response.status_code == 422
    assert "Name is empty: enter a value such as Acme Corp." in response.content.decode()
    assert flagged.name == "blankname-example.com"
    assert NAME_FLAG in flagged.review_flags


def test_long_name_rejected(client_sdr, flagged):
    response = client_sdr.post(
        edit_url(flagged, "name"), {"name": "A" * 256, "version": version_of(flagged)}, **HTMX
    )
    flagged.refresh_from_db()
    assert response.status_code == 422
    assert "Name is 256 characters long, more than the 255 allowed." in response.content.decode()
    assert flagged.name == "blankname-example.com"


def test_name_edit_denied_to_other_sdr(client, sdr2, flagged):
    client.force_login(sdr2)
    response = client.post(
        edit_url(flagged, "name"), {"name": "Taken Over", "version": version_of(flagged)}, **HTMX
    )
    flagged.refresh_from_db()
    assert response.status_code == 403
    assert flagged.name == "blankname-example.com"


def test_page_shows_name_edit(client_sdr, flagged):
    html = client_sdr.get(flagged.get_absolute_url()).content.decode()
    assert 'data-testid="edit-name"' in html


# Mark reviewed -------------------------------------------------------------------------


def test_mark_reviewed_removes_flag(client_sdr, flagged, sdr):
    response = client_sdr.post(
        review_url(flagged), {"field": "domain", "value": "walmart.com"}, **HTMX
    )
    flagged.refresh_from_db()
    assert response.status_code == 200
    assert flagged.review_flags == [EMPLOYEES_FLAG, NAME_FLAG]
    assert "accountChanged" in response["HX-Trigger"]
    record = flagged.history.order_by("-history_date", "-history_id").first()
    assert record.history_user == sdr
    assert record.history_change_reason == "Review flag of domain marked reviewed"


def test_mark_reviewed_file_conflict_verifies_again(client_sdr, sdr, approved_framework):
    account = AccountFactory(
        owner=sdr,
        framework=approved_framework,
        employee_count=90000,
        employee_min=90000,
        employee_max=90000,
        review_flags=[],
    )
    Observation.objects.create(
        account=account,
        field="employees",
        value={"count": 90000, "min": 90000, "max": 90000, "approximate": False},
        raw_value="90000",
        source="hubspot",
        observed_at=timezone.now(),
    )
    conflict = {
        "field": "employees",
        "value": "90000",
        "message": 'line 3 gives employees "90000", but line 2 of the same file gave "100".',
        REVIEW_FLAG_LINES_KEY: [2, 3],
    }
    Account.objects.filter(pk=account.pk).update(review_flags=[conflict])
    accounts_verify(account_ids=[account.pk])
    account.refresh_from_db()
    assert account.field_status["company_size"]["status"] == "conflicting"

    client_sdr.post(review_url(account), {"field": "employees", "value": "90000"}, **HTMX)

    account.refresh_from_db()
    assert account.review_flags == []
    assert account.field_status["company_size"]["status"] == "single_source"
    assert "file_conflict" not in account.field_status["company_size"]


def test_mark_reviewed_blank_value(client_sdr, flagged):
    client_sdr.post(review_url(flagged), {"field": "name", "value": ""}, **HTMX)
    flagged.refresh_from_db()
    assert flagged.review_flags == [EMPLOYEES_FLAG, DOMAIN_FLAG]


def test_mark_reviewed_unknown_flag(client_sdr, flagged):
    response = client_sdr.post(
        review_url(flagged), {"field": "domain", "value": "other.com"}, **HTMX
    )
    flagged.refresh_from_db()
    assert response.status_code == 422
    assert "has no review flag of domain with the value “other.com”" in response.content.decode()
    assert len(flagged.review_flags) == 3


def test_mark_reviewed_denied_to_other_sdr(client, sdr2, flagged):
    client.force_login(sdr2)
    response = client.post(review_url(flagged), {"field": "domain", "value": "walmart.com"})
    flagged.refresh_from_db()
    assert response.status_code == 403
    assert len(flagged.review_flags) == 3


def test_mark_reviewed_without_htmx_redirects(client_sdr, flagged):
    response = client_sdr.post(review_url(flagged), {"field": "employees", "value": "2.000"})
    flagged.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == flagged.get_absolute_url()
    assert EMPLOYEES_FLAG not in flagged.review_flags


def test_flag_controls_shown_by_permission(client, sdr, sdr2, flagged):
    client.force_login(sdr)
    own = client.get(flagged.get_absolute_url()).content.decode()
    client.force_login(sdr2)
    other = client.get(flagged.get_absolute_url()).content.decode()
    assert own.count(">Mark reviewed</button>") == 3
    assert "hx-confirm=" in own
    assert ">Mark reviewed</button>" not in other


# A reviewed flag is kept, and an import does not raise it again ------------------------

FLAGGED_CSV = "name,website,employees\nAcme,acme.example,{employees}\n"


def employee_flags(account: Account) -> list[dict]:
    account.refresh_from_db()
    return [flag for flag in account.review_flags if flag["field"] == "employees"]


def import_employees(tmp_path, employees: str) -> None:
    path = tmp_path / f"acme-{employees}.csv"
    path.write_text(FLAGGED_CSV.format(employees=employees), encoding="utf-8")
    accounts_import(path, source="crm")


def test_mark_reviewed_keeps_record(client_sdr, flagged, sdr):
    before = timezone.now()
    client_sdr.post(review_url(flagged), {"field": "domain", "value": "walmart.com"}, **HTMX)

    flagged.refresh_from_db()
    assert len(flagged.reviewed_flags) == 1
    record = flagged.reviewed_flags[0]
    assert record["field"] == "domain"
    assert record["value"] == "walmart.com"
    assert record["message"] == DOMAIN_FLAG["message"]
    assert record["reviewed_by"] == sdr.pk
    assert timezone.datetime.fromisoformat(record["reviewed_at"]) >= before


def test_mark_reviewed_shown_in_history(client_sdr, flagged, sdr):
    client_sdr.post(review_url(flagged), {"field": "domain", "value": "walmart.com"}, **HTMX)

    latest = account_field_history(flagged)[0]
    labels = [change.label for change in latest.changes]
    assert latest.actor == user_label(sdr)
    assert latest.reason == "Review flag of domain marked reviewed"
    assert "Review flags" in labels
    assert "Reviewed flags" in labels


def test_mark_reviewed_shown_in_audit_trail(client_sdr, flagged, sdr):
    client_sdr.post(review_url(flagged), {"field": "domain", "value": "walmart.com"}, **HTMX)

    entries, _ = trail_page(TrailFilter(account_id=flagged.pk), page=1, page_size=10)
    latest = entries[0]
    changes = {change.field: change for change in latest.changes}
    assert latest.username == sdr.username
    assert latest.note == "Review flag of domain marked reviewed"
    assert "reviewed flags" in changes
    assert "walmart.com" in changes["reviewed flags"].new
    assert "walmart.com" not in changes["review flags"].new


def test_reviewed_flag_not_raised_again(tmp_path, sdr):
    import_employees(tmp_path, "2.000")
    account = Account.objects.get(domain="acme.example")
    assert [flag["value"] for flag in employee_flags(account)] == ["2.000"]

    review_flag_mark_reviewed(account=account, user=sdr, field="employees", value="2.000")
    import_employees(tmp_path, "2.000")

    assert employee_flags(account) == []
    assert [record["value"] for record in account.reviewed_flags] == ["2.000"]


def test_reviewed_flag_raised_for_new_value(tmp_path, sdr):
    import_employees(tmp_path, "2.000")
    account = Account.objects.get(domain="acme.example")
    review_flag_mark_reviewed(account=account, user=sdr, field="employees", value="2.000")

    import_employees(tmp_path, "3.000")

    assert [flag["value"] for flag in employee_flags(account)] == ["3.000"]


def preview_employees(tmp_path, employees: str) -> list:
    path = tmp_path / f"preview-{employees}.csv"
    path.write_text(FLAGGED_CSV.format(employees=employees), encoding="utf-8")
    inspection = file_inspect(path, file_name=path.name)
    return import_preview(path, inspection, WizardMapping.detected(inspection))


def test_preview_skips_reviewed_flag(tmp_path, sdr):
    import_employees(tmp_path, "2.000")
    account = Account.objects.get(domain="acme.example")
    review_flag_mark_reviewed(account=account, user=sdr, field="employees", value="2.000")

    [row] = preview_employees(tmp_path, "2.000")
    path = tmp_path / "preview-2.000.csv"
    run = accounts_import(path, dry_run=True, allow_same_file=True)

    assert row.updates == "Acme"
    assert row.status == "ok"
    assert row.problems == []
    assert run.flagged == 0


def test_preview_flags_new_value_after_review(tmp_path, sdr):
    import_employees(tmp_path, "2.000")
    account = Account.objects.get(domain="acme.example")
    review_flag_mark_reviewed(account=account, user=sdr, field="employees", value="2.000")

    [row] = preview_employees(tmp_path, "3.000")

    assert row.status == "flagged"
    assert [problem.split(":")[0] for problem in row.problems] == ["employees"]
