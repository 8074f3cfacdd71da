"""Enrichment runs and import runs (read) and audit violations (read, by team)."""

import datetime

import pytest
from django.utils import timezone

from accounts import roles
from accounts.models import ImportRun, UserProfile
from audits.models import AuditRun, Violation
from enrichment.models import EnrichmentRun
from tests.factories import AccountFactory

RUNS_URL = "/api/v1/enrichment-runs/"
IMPORT_RUNS_URL = "/api/v1/import-runs/"
VIOLATIONS_URL = "/api/v1/audit-violations/"


def test_enrichment_runs_listed_for_starter(client_for, sdr):
    run = EnrichmentRun.objects.create(provider="apollo", scope="all", total=5, triggered_by=sdr)
    response = client_for(sdr).get(RUNS_URL)
    rows = response.json()["results"]
    assert response.status_code == 200
    assert [row["id"] for row in rows] == [run.pk]
    assert rows[0]["triggered_by"] == "sdr"


def test_enrichment_run_shows_waiting_state(client_for, sdr):
    idle_since = timezone.now() - datetime.timedelta(hours=1)
    waiting = EnrichmentRun.objects.create(
        provider="apollo", scope="all", total=5, triggered_by=sdr, queued_tasks=2
    )
    stalled = EnrichmentRun.objects.create(
        provider="apollo", scope="all", total=5, triggered_by=sdr
    )
    EnrichmentRun.objects.update(status=EnrichmentRun.Status.RUNNING, heartbeat_at=idle_since)

    rows = {row["id"]: row for row in client_for(sdr).get(RUNS_URL).json()["results"]}

    assert rows[waiting.pk]["waiting_for_worker"] is True
    assert rows[waiting.pk]["stalled"] is False
    assert rows[waiting.pk]["queued_tasks"] == 2
    assert rows[stalled.pk]["waiting_for_worker"] is False
    assert rows[stalled.pk]["stalled"] is True
    last_progress = datetime.datetime.fromisoformat(rows[stalled.pk]["last_progress_at"])
    assert last_progress == idle_since


@pytest.mark.parametrize("role", ["marketing", "leadership", "other_sdr"])
def test_others_enrichment_runs_hidden(client_for, make_user, sdr, role):
    run = EnrichmentRun.objects.create(provider="apollo", scope="all", total=5, triggered_by=sdr)
    groups = {"marketing": roles.MARKETING, "leadership": roles.SALES_LEADERSHIP}
    reader = make_user(groups.get(role, roles.SDR), username=f"reader-{role}")

    listing = client_for(reader).get(RUNS_URL)
    detail = client_for(reader).get(f"{RUNS_URL}{run.pk}/")

    assert listing.json()["results"] == []
    assert detail.status_code == 404


def test_sales_ops_sees_every_enrichment_run(client_for, sales_ops, sdr):
    run = EnrichmentRun.objects.create(provider="apollo", scope="all", total=5, triggered_by=sdr)

    rows = client_for(sales_ops).get(RUNS_URL).json()["results"]

    assert [row["id"] for row in rows] == [run.pk]


def test_enrichment_run_filter(client_for, sales_ops):
    EnrichmentRun.objects.create(provider="apollo", scope="all", status="failed")
    done = EnrichmentRun.objects.create(provider="clearbit", scope="all", status="succeeded")
    rows = client_for(sales_ops).get(RUNS_URL, {"status": "succeeded"}).json()["results"]
    assert [row["id"] for row in rows] == [done.pk]


def test_enrichment_runs_read_only(client_for, sales_ops):
    response = client_for(sales_ops).post(RUNS_URL, {"provider": "apollo"}, format="json")
    assert response.status_code == 405


@pytest.fixture
def import_run(sdr) -> ImportRun:
    return ImportRun.objects.create(
        source="hubspot",
        file_name="q3-accounts.csv",
        status=ImportRun.Status.SUCCEEDED,
        total_rows=12,
        rows_read=12,
        created=9,
        updated=1,
        unchanged=1,
        rejected=1,
        error="Row 4 was rejected.",
        created_by=sdr,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )


def test_marketing_lists_import_runs(client_for, marketing, import_run):
    response = client_for(marketing).get(IMPORT_RUNS_URL)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [import_run.pk]
    assert rows[0]["source"] == "hubspot"
    assert rows[0]["file_name"] == "q3-accounts.csv"
    assert rows[0]["status"] == "succeeded"
    assert rows[0]["created"] == 9
    assert rows[0]["updated"] == 1
    assert rows[0]["unchanged"] == 1
    assert rows[0]["rejected"] == 1
    assert rows[0]["started_at"] is not None
    assert rows[0]["finished_at"] is not None


def test_import_status_gives_unchanged_count(client_for, sdr, import_run):
    row = client_for(sdr).get(f"/api/v1/imports/{import_run.pk}/").json()

    assert row["updated"] == 1
    assert row["unchanged"] == 1


def test_import_run_summary_leaves_out_details(client_for, marketing, import_run):
    row = client_for(marketing).get(f"{IMPORT_RUNS_URL}{import_run.pk}/").json()

    assert row["total_rows"] == 12
    for hidden in ("error", "created_by", "report_url", "file_sha256"):
        assert hidden not in row


def test_marketing_read_token_lists_import_runs(token_client, marketing, import_run):
    response = token_client(marketing).get(IMPORT_RUNS_URL)

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [import_run.pk]


@pytest.mark.parametrize("fixture", ["sdr", "ae", "manager", "sales_ops", "leadership"])
def test_sales_roles_list_every_import_run(request, client_for, make_user, fixture):
    other = make_user(roles.SDR, username="other-sdr")
    run = ImportRun.objects.create(source="csv", file_name="other.csv", created_by=other)

    response = client_for(request.getfixturevalue(fixture)).get(IMPORT_RUNS_URL)

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [run.pk]


def test_import_runs_need_sales_role(client_for, make_user, import_run):
    response = client_for(make_user(None, username="no-role")).get(IMPORT_RUNS_URL)

    assert response.status_code == 403


def test_import_runs_need_sign_in(api_client, import_run):
    assert api_client.get(IMPORT_RUNS_URL).status_code == 401


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_import_runs_read_only(client_for, sales_ops, import_run, method):
    url = IMPORT_RUNS_URL if method == "post" else f"{IMPORT_RUNS_URL}{import_run.pk}/"

    response = getattr(client_for(sales_ops), method)(url, {}, format="json")

    assert response.status_code == 405
    assert ImportRun.objects.filter(pk=import_run.pk, status="succeeded").exists()


def test_import_run_status_filter(client_for, marketing, import_run):
    ImportRun.objects.create(source="csv", file_name="b.csv", status=ImportRun.Status.FAILED)

    rows = client_for(marketing).get(IMPORT_RUNS_URL, {"status": "succeeded"}).json()["results"]

    assert [row["id"] for row in rows] == [import_run.pk]


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


def test_violations_month_filter(client_for, sales_ops, sdr, audit):
    january = violation(audit, sdr)
    february = AuditRun.objects.create(month=datetime.date(2026, 2, 1), started_at=timezone.now())
    violation(february, sdr)

    response = client_for(sales_ops).get(VIOLATIONS_URL, {"month": "2026-01"})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [january.pk]


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "Nov 2026", "2026-11-01"])
def test_violations_invalid_month(client_for, sales_ops, audit, month):
    response = client_for(sales_ops).get(VIOLATIONS_URL, {"month": month})

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["month"][0]
    assert f"“{month}” is not a month" in message
    assert "YYYY-MM" in message


@pytest.mark.parametrize(
    ("parameter", "filter_name"), [("staus", "status"), ("kinds", "kind"), ("Month", "month")]
)
def test_violations_misspelt_filter(client_for, sales_ops, sdr, audit, parameter, filter_name):
    violation(audit, sdr)

    response = client_for(sales_ops).get(VIOLATIONS_URL, {parameter: "open"})

    assert response.status_code == 400
    message = response.json()["error"]["fields"][parameter][0]
    assert f"did you mean {filter_name!r}" in message


def test_violations_unknown_kind_lists_kinds(client_for, sales_ops, audit):
    response = client_for(sales_ops).get(VIOLATIONS_URL, {"kind": "bogus"})

    assert response.status_code == 400
    message = response.json()["error"]["fields"]["kind"][0]
    assert message == (
        "“bogus” is not a violation kind: use one of incomplete_data, unverified_data, "
        "misclassification, skipped_step."
    )
