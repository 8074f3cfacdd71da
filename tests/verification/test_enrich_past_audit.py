"""An enrichment run after a month leaves the findings of that month's audit unchanged."""

from __future__ import annotations

import pytest

from accounts import roles
from accounts.models import Account
from audits import rules
from audits.demo import plant_demo_violations
from audits.models import Violation
from audits.periods import previous_month
from audits.services import monthly_audit_run
from enrichment.services import accounts_enrich, enrichment_run_create
from segmentation.models import Industry
from tests.enrichment.fake_server import FakeResponse
from tests.factories import AccountFactory

from .test_enrich import PATH, organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def apollo(configure_provider, fake_server):
    """Serve an organization in France with 240 employees, unlike every demo account."""
    configure_provider("apollo")
    fake_server.route(
        "GET",
        PATH,
        lambda request: FakeResponse(
            json={"organization": organization(request.query["domain"][0])}
        ),
    )


@pytest.fixture
def imported_demo(make_user):
    """Demo accounts as an import stores them, without history rows."""
    make_user(roles.SALES_MANAGER, username="manager")
    reps = [make_user(roles.SDR, username=f"demo-sdr{n}") for n in range(3)]
    saas = Industry.objects.get(name="SaaS")
    accounts = [
        AccountFactory(source="demo", owner=reps[n % 3], industry=saas, tag="x", tier="low")
        for n in range(12)
    ]
    Account.history.all().delete()
    return accounts


def findings(run) -> set[tuple[int, str, str]]:
    return set(
        Violation.objects.filter(audit_run=run).values_list("account_id", "rule_code", "severity")
    )


def enrich_all(accounts: list[Account]) -> None:
    ids = [account.pk for account in accounts]
    run = enrichment_run_create(provider="apollo", account_ids=ids)
    accounts_enrich(provider="apollo", account_ids=ids, run=run)


def test_enrichment_keeps_past_findings(imported_demo, apollo):
    month = previous_month()
    plant_demo_violations(month=month)
    before = findings(monthly_audit_run(month=month))
    not_verified = {
        account_id for account_id, code, _ in before if code == rules.UNVERIFIED_NOT_VERIFIED
    }

    enrich_all(imported_demo)
    run = monthly_audit_run(month=month)

    # The enrichment must have turned an account of the month's findings conflicting,
    # or this test would not see a later value leak into the month.
    now_conflicting = set(
        Account.objects.filter(pk__in=not_verified, verification_status="conflicting").values_list(
            "pk", flat=True
        )
    )
    assert now_conflicting
    assert findings(run) == before
    assert run.counts["unknown_accounts"] == 0
    assert run.violations_removed == 0


def test_row_before_enrichment_has_stored_values(imported_demo, apollo):
    month = previous_month()
    plant_demo_violations(month=month)
    statuses = dict(Account.objects.values_list("pk", "verification_status"))

    enrich_all(imported_demo)

    for account_id, status in statuses.items():
        rows = list(Account.history.filter(id=account_id).order_by("history_date", "history_id"))
        reasons = [row.history_change_reason or "" for row in rows]
        enriched = next(i for i, reason in enumerate(reasons) if reason.startswith("Enrichment"))
        assert enriched > 0, account_id
        assert rows[enriched - 1].verification_status == status, account_id
