"""Enrichment runs (read) and audit violations (read, by team)."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import UserProfile
from audits.models import AuditRun, Violation
from enrichment.models import EnrichmentRun
from tests.factories import AccountFactory

RUNS_URL = "/api/v1/enrichment-runs/"
VIOLATIONS_URL = "/api/v1/audit-violations/"


def test_enrichment_runs_listed(client_for, marketing, sdr):
    run = EnrichmentRun.objects.create(provider="apollo", scope="all", total=5, triggered_by=sdr)
    response = client_for(marketing).get(RUNS_URL)
    rows = response.json()["results"]
    assert response.status_code == 200
    assert [row["id"] for row in rows] == [run.pk]
    assert rows[0]["triggered_by"] == "sdr"


def test_enrichment_run_filter(client_for, sdr):
    EnrichmentRun.objects.create(provider="apollo", scope="all", status="failed")
    done = EnrichmentRun.objects.create(provider="clearbit", scope="all", status="succeeded")
    rows = client_for(sdr).get(RUNS_URL, {"status": "succeeded"}).json()["results"]
    assert [row["id"] for row in rows] == [done.pk]


def test_enrichment_runs_read_only(client_for, sales_ops):
    response = client_for(sales_ops).post(RUNS_URL, {"provider": "apollo"}, format="json")
    assert response.status_code == 405


@pytest.fixture
def audit(db) -> AuditRun:
    return AuditRun.objects.create(month=datetime.date(2026, 1, 1), started_at=timezone.now())


def violation(audit, responsible, rule="missing_industry") -> Violation:
    return Violation.objects.create(
        audit_run=audit,
        account=AccountFactory(),
        kind="incomplete_data",
        rule_code=rule,
        detail="Industry is empty.",
        severity="minor",
        responsible=responsible,
    )


def test_manager_sees_team_violations(client_for, manager, sdr, ae, audit):
    UserProfile.objects.create(user=sdr, manager=manager)
    team = violation(audit, sdr)
    violation(audit, ae)
    response = client_for(manager).get(VIOLATIONS_URL)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [team.pk]


@pytest.mark.parametrize("fixture", ["sales_ops", "leadership"])
def test_ops_and_leadership_see_all(request, client_for, sdr, ae, audit, fixture):
    violation(audit, sdr)
    violation(audit, ae)
    response = client_for(request.getfixturevalue(fixture)).get(VIOLATIONS_URL)
    assert len(response.json()["results"]) == 2


@pytest.mark.parametrize("fixture", ["sdr", "ae", "marketing"])
def test_reps_and_marketing_denied(request, client_for, audit, fixture):
    violation(audit, None)
    response = client_for(request.getfixturevalue(fixture)).get(VIOLATIONS_URL)
    assert response.status_code == 403


def test_manager_cannot_read_other_team_violation(client_for, manager, ae, audit):
    other = violation(audit, ae)
    response = client_for(manager).get(f"{VIOLATIONS_URL}{other.pk}/")
    assert response.status_code == 404


def test_violations_query_count_is_pinned(
    client_for, sales_ops, sdr, audit, django_assert_max_num_queries
):
    for index in range(10):
        violation(audit, sdr, rule=f"rule_{index}")
    client = client_for(sales_ops)
    # Session, user, roles, rows with their run, account and user.
    with django_assert_max_num_queries(4):
        response = client.get(VIOLATIONS_URL)
    assert len(response.json()["results"]) == 10
