"""field_conflict_resolve: who may resolve, what is recorded and what wins afterwards."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import workspace
from accounts.models import Account
from audits.baseline import BASELINE_NOTE
from enrichment.models import FieldResolution
from enrichment.services import accounts_verify, field_conflict_resolve
from segmentation.models import Industry

from .conftest import blank_account, employees_value, industry_value, location_value, observe

pytestmark = pytest.mark.django_db


@pytest.fixture
def conflicted():
    """Create an account whose industry conflicts: SaaS from Apollo, FinTech from Clearbit."""
    account = blank_account()
    observe(account, "industry", industry_value("SaaS", "Software"), "apollo")
    observe(account, "industry", industry_value("FinTech", "Payments"), "clearbit")
    observe(account, "employees", employees_value(300), "apollo")
    observe(account, "employees", employees_value(320), "clearbit")
    observe(account, "location", location_value("DE"), "apollo")
    observe(account, "location", location_value("DE"), "clearbit")
    accounts_verify(account_ids=[account.pk])
    account.refresh_from_db()
    return account


def test_conflict_before_resolution(conflicted):
    assert conflicted.verification_status == "conflicting"
    assert conflicted.industry.name == "SaaS"


def test_resolve_by_observation(conflicted, manager):
    chosen = conflicted.observations.get(field="industry", source="clearbit")

    resolution = field_conflict_resolve(
        account=conflicted,
        field="industry",
        observation_id=chosen.pk,
        user=manager,
        reason="Their site sells card issuing",
    )

    conflicted.refresh_from_db()
    entry = conflicted.field_status["industry"]
    assert resolution.observation == chosen
    assert resolution.previous_status == "conflicting"
    assert resolution.resolved_by == manager
    assert conflicted.industry.name == "FinTech"
    assert conflicted.industry_raw == "Payments"
    assert entry["status"] == "accepted"
    assert entry["resolution"]["by"] == "manager"
    assert entry["resolution"]["reason"] == "Their site sells card issuing"
    assert conflicted.verification_status == "verified"


def test_resolve_records_baseline(conflicted, manager):
    Account.history.filter(id=conflicted.pk).delete()

    field_conflict_resolve(
        account=conflicted, field="industry", value="FinTech", user=manager, reason="Call notes"
    )

    rows = list(Account.history.filter(id=conflicted.pk).order_by("history_date", "history_id"))
    assert rows[0].history_change_reason == BASELINE_NOTE
    assert rows[0].industry_id == Industry.objects.get(name="SaaS").pk
    assert rows[-1].industry_id == Industry.objects.get(name="FinTech").pk
    assert rows[-1].history_user == manager


def test_resolve_by_typed_value(conflicted, manager):
    field_conflict_resolve(
        account=conflicted, field="industry", value="FinTech", user=manager, reason="Call notes"
    )

    conflicted.refresh_from_db()
    assert conflicted.industry == Industry.objects.get(name="FinTech")


def test_resolve_history_names_reason(conflicted, manager):
    field_conflict_resolve(
        account=conflicted,
        field="industry",
        value="FinTech",
        user=manager,
        reason="Their site sells card issuing",
    )

    row = conflicted.history.order_by("-history_date", "-history_id").first()
    name = manager.get_full_name() or manager.get_username()
    assert row.history_change_reason == (
        f"Industry resolved by {name}: Their site sells card issuing"
    )
    assert row.history_user == manager


def test_resolve_history_reason_fits_column(conflicted, manager):
    field_conflict_resolve(
        account=conflicted, field="industry", value="FinTech", user=manager, reason="x" * 500
    )

    row = conflicted.history.order_by("-history_date", "-history_id").first()
    assert len(row.history_change_reason) == 100
    assert row.history_change_reason.endswith("…")


def test_resolution_wins_over_newer_observations(conflicted, manager):
    field_conflict_resolve(
        account=conflicted, field="industry", value="FinTech", user=manager, reason="Call notes"
    )
    observe(conflicted, "industry", industry_value("SaaS"), "zoominfo", minutes=90)
    observe(conflicted, "industry", industry_value("SaaS"), "hubspot", minutes=90)

    accounts_verify(account_ids=[conflicted.pk])

    conflicted.refresh_from_db()
    assert conflicted.industry.name == "FinTech"
    assert conflicted.field_status["industry"]["status"] == "accepted"
    assert conflicted.field_status["industry"]["values"]["hubspot"] == "SaaS"


def test_page_edit_after_resolution_wins(conflicted, manager):
    field_conflict_resolve(
        account=conflicted, field="company_size", value="300", user=manager, reason="Checked"
    )
    conflicted.refresh_from_db()

    workspace.account_field_update(
        account=conflicted,
        field_name="employees",
        data={"employees": "450"},
        user=manager,
        version=conflicted.updated_at,
    )

    conflicted.refresh_from_db()
    assert conflicted.employee_count == 450
    assert conflicted.field_status["company_size"]["status"] == "accepted"
    assert "resolution" not in conflicted.field_status["company_size"]


def test_newest_resolution_wins(conflicted, manager):
    for value in ("FinTech", "SaaS"):
        field_conflict_resolve(
            account=conflicted, field="industry", value=value, user=manager, reason="Checked"
        )

    conflicted.refresh_from_db()
    assert conflicted.industry.name == "SaaS"
    assert FieldResolution.objects.filter(account=conflicted).count() == 2


def test_resolve_country_keeps_city_of_same_country(manager):
    account = blank_account(country="DE", region="BE", city="Berlin")
    observe(account, "location", location_value("DE", "BE", "Berlin"), "apollo")

    field_conflict_resolve(
        account=account, field="country", value="Germany", user=manager, reason="Confirmed"
    )

    account.refresh_from_db()
    assert (account.country, account.region, account.city) == ("DE", "BE", "Berlin")


def test_resolve_size_and_revenue(manager):
    account = blank_account()

    field_conflict_resolve(
        account=account, field="company_size", value="51-200", user=manager, reason="LinkedIn"
    )
    field_conflict_resolve(
        account=account, field="revenue", value="$12.5M", user=manager, reason="Annual report"
    )

    account.refresh_from_db()
    assert (account.employee_min, account.employee_max, account.employee_count) == (51, 200, 125)
    assert str(account.annual_revenue_usd) == "12500000.00"
    assert account.field_status["revenue"]["status"] == "accepted"


def test_resolve_rescored(conflicted, manager):
    field_conflict_resolve(
        account=conflicted, field="industry", value="FinTech", user=manager, reason="Checked"
    )

    conflicted.refresh_from_db()
    assert conflicted.scored_at is not None
    assert "FinTech" in conflicted.tag


def test_resolve_needs_reason(conflicted, manager):
    with pytest.raises(ValidationError, match="reason is missing"):
        field_conflict_resolve(
            account=conflicted, field="industry", value="FinTech", user=manager, reason="  "
        )


def test_resolve_denied_for_sdr(conflicted, sdr):
    with pytest.raises(PermissionDenied, match="Sales Manager"):
        field_conflict_resolve(
            account=conflicted, field="industry", value="FinTech", user=sdr, reason="Sure"
        )


def test_resolve_unknown_field(conflicted, manager):
    with pytest.raises(ValidationError, match="cannot be resolved"):
        field_conflict_resolve(
            account=conflicted, field="city", value="Berlin", user=manager, reason="Sure"
        )


def test_resolve_unknown_industry(conflicted, manager):
    with pytest.raises(ValidationError) as raised:
        field_conflict_resolve(
            account=conflicted, field="industry", value="😀", user=manager, reason="Sure"
        )
    text = raised.value.messages[0]
    assert text.startswith("Industry '😀' matches no industry or synonym.")
    assert "Pick one of the listed values" in text
    assert text.endswith("ask Sales Ops to add it as a synonym of an industry.")
    assert "admin" not in text


def test_resolve_unknown_industry_for_staff(conflicted, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="unused-password")
    with pytest.raises(ValidationError) as raised:
        field_conflict_resolve(
            account=conflicted, field="industry", value="Widgets", user=admin, reason="Sure"
        )
    text = raised.value.messages[0]
    assert text.startswith("Industry 'Widgets' matches no industry or synonym.")
    assert text.endswith("in the admin under Segmentation > Industries.")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("revenue", "$1e400", "Revenue '$1e400' is invalid: expected one amount such as"),
        ("company_size", "lots", "Company size 'lots' is invalid: expected a count"),
        ("revenue", "$9999999999999999999T", "Revenue '$9999999999999999999T' is too large"),
        ("revenue", "1" + "0" * 26, f"Revenue '1{'0' * 26}' is too large: check the unit"),
        ("revenue", "1" + "0" * 15, f"Revenue '1{'0' * 15}' is too large: check the unit"),
    ],
)
def test_resolve_invalid_value_message(conflicted, manager, field, value, message):
    with pytest.raises(ValidationError) as raised:
        field_conflict_resolve(
            account=conflicted, field=field, value=value, user=manager, reason="Sure"
        )
    text = raised.value.messages[0]
    assert text.startswith(message)
    assert text.endswith(".")
    assert not text.endswith("..")


def test_resolve_observation_of_other_field(conflicted, manager):
    location = conflicted.observations.filter(field="location").first()

    with pytest.raises(ValidationError, match="does not report industry"):
        field_conflict_resolve(
            account=conflicted,
            field="industry",
            observation_id=location.pk,
            user=manager,
            reason="Sure",
        )


def test_resolve_needs_one_choice(conflicted, manager):
    with pytest.raises(ValidationError, match="either value or observation_id"):
        field_conflict_resolve(account=conflicted, field="industry", user=manager, reason="Sure")
