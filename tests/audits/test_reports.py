"""Monthly report, findings' status, training rules and the quarterly review."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import Account, SegmentOverride
from accounts.research import account_segment_override
from audits.models import SeverityRule, TrainingRecord, Violation
from audits.periods import local_today, month_period, quarter_of, quarter_period
from audits.selectors import overdue_training, segment_snapshot
from audits.services import monthly_audit_run, violation_update
from segmentation.models import Framework, ScoreRecord


@pytest.fixture
def audited(scored, team, in_month, audit_month):
    """An audit with one unverified account of rep A, rep B and another team each."""
    accounts = {}
    for name in ("rep_a", "rep_b", "outsider"):
        account = scored(owner=team[name], scored_at=in_month, name=f"Account of {name}")
        Account.objects.filter(pk=account.pk).update(verification_status="unverified")
        accounts[name] = account
    run = monthly_audit_run(month=audit_month)
    return {"run": run, "accounts": accounts, "month": f"{audit_month:%Y-%m}"}


def report(client, audited, **params):
    return client.get(reverse("audits:audit-report", args=[audited["month"]]), params)


def test_report_counts_for_ops(client, make_user, audited):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    counts = report(client, audited).context["counts"]
    assert counts.total == 6
    assert counts.by_kind == {"unverified_data": 3, "skipped_step": 3}
    assert counts.by_severity == {"minor": 6}
    assert len(counts.by_rep) == 3


def test_report_says_values_are_month_end(client, make_user, audited):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    html = report(client, audited).content.decode()
    assert "values as of the month’s end" in html


def test_older_run_report_shows_read_date(client, make_user, audited):
    # Runs stored before audits read month-end values have no deleted_accounts count.
    run = audited["run"]
    run.counts.pop("deleted_accounts")
    run.save(update_fields=["counts"])
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    html = report(client, audited).content.decode()
    assert f"values read {timezone.localtime(run.started_at):%Y-%m-%d}" in html


def test_run_form_says_values_are_month_end(client, make_user, db):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    html = client.get(reverse("audits:audit-run-list")).content.decode()
    assert "values as they stood at the month’s end" in html


def test_report_manager_sees_team(client, audited, team):
    client.force_login(team["manager"])
    response = report(client, audited)
    html = response.content.decode()
    assert response.context["counts"].total == 4
    assert "Account of rep_a" in html
    assert "Account of outsider" not in html


def test_report_filters_by_kind(client, make_user, audited):
    client.force_login(make_user(roles.SALES_LEADERSHIP, username="boss"))
    response = report(client, audited, kind="skipped_step")
    kinds = {violation.kind for violation in response.context["violations"]}
    assert kinds == {"skipped_step"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"kind": "nonsense"},
            "Kind: “nonsense” is not a kind of finding: choose Incomplete data "
            "(incomplete_data), Unverified data (unverified_data), Misclassification "
            "(misclassification) or Skipped step (skipped_step).",
        ),
        (
            {"severity": "huge"},
            "Severity: “huge” is not a severity: choose Minor (minor), Moderate (moderate) or "
            "Severe (severe).",
        ),
        (
            {"status": "closed"},
            "Status: “closed” is not a finding status: choose Open (open), Acknowledged "
            "(acknowledged) or Resolved (resolved).",
        ),
        ({"rep": "99999999999999999999"}, "Rep: Rep id is too large to be a user"),
        ({"rep": "x"}, "Rep: Rep must be a user id"),
        ({"page": "abc"}, "Page: Page must be a whole number"),
        ({"page": "0", "kind": "bogus"}, "Page: Page must be 1 or higher"),
    ],
)
def test_report_invalid_filter_named(client, make_user, audited, query, message):
    client.force_login(make_user(roles.SALES_LEADERSHIP, username="boss"))
    page = report(client, audited, **query)
    export = client.get(reverse("audits:audit-report-export", args=[audited["month"]]), query)

    assert page.status_code == 400
    assert list(page.context["violations"]) == []
    assert message in page.content.decode()
    assert export.status_code == 400
    assert message in export.content.decode()


def test_report_denied_to_marketing(client, make_user, audited):
    client.force_login(make_user(roles.MARKETING, username="mkt"))
    assert report(client, audited).status_code == 403


def test_report_invalid_month_404(client, make_user, db):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    assert client.get("/governance/audits/2026-13/").status_code == 404


def test_report_without_run(client, make_user, db):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    response = client.get(reverse("audits:audit-report", args=["2020-01"]))
    assert response.status_code == 200
    assert "has not been audited yet" in response.content.decode()


def test_report_query_count(client, make_user, audited, django_assert_max_num_queries):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    report(client, audited)
    with django_assert_max_num_queries(14):
        report(client, audited)


def test_report_page_past_end_shows_last(client, audited, team):
    client.force_login(team["manager"])
    response = report(client, audited, page=99)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Account of rep_a" in page


def test_report_csv_export(client, audited, team):
    client.force_login(team["manager"])
    response = client.get(reverse("audits:audit-report-export", args=[audited["month"]]))
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("month,account_id,account,kind,rule_code")
    assert len(lines) == 1 + 4
    assert not any("Account of outsider" in line for line in lines)


def test_manager_resolves_team_finding(client, audited, team):
    violation = Violation.objects.filter(responsible=team["rep_a"]).first()
    client.force_login(team["manager"])
    prefix = f"v{violation.pk}"
    response = client.post(
        reverse("audits:violation-update", args=[violation.pk]),
        {
            f"{prefix}-status": "resolved",
            f"{prefix}-consequence": "coaching",
            f"{prefix}-consequence_notes": "1:1 on verification",
        },
        HTTP_HX_REQUEST="true",
    )
    violation.refresh_from_db()
    assert response.status_code == 200
    assert violation.status == "resolved"
    assert violation.consequence == "coaching"
    assert violation.resolved_by == team["manager"]
    assert violation.resolved_at is not None


def test_finding_update_without_htmx_redirects(client, audited, team):
    violation = Violation.objects.filter(responsible=team["rep_a"]).first()
    client.force_login(team["manager"])
    prefix = f"v{violation.pk}"
    response = client.post(
        reverse("audits:violation-update", args=[violation.pk]),
        {f"{prefix}-status": "acknowledged", f"{prefix}-consequence": "coaching"},
        follow=True,
    )
    violation.refresh_from_db()
    page = response.content.decode()
    report_url = reverse("audits:audit-report", args=[audited["month"]])
    assert response.redirect_chain == [(f"{report_url}#violation-{violation.pk}", 302)]
    assert violation.status == "acknowledged"
    assert "<html" in page
    assert f"Finding on {violation.account.name} saved." in page


def test_invalid_finding_update_without_htmx(client, audited, team):
    violation = Violation.objects.filter(responsible=team["rep_a"]).first()
    client.force_login(team["manager"])
    prefix = f"v{violation.pk}"
    response = client.post(
        reverse("audits:violation-update", args=[violation.pk]),
        {f"{prefix}-status": "closed", f"{prefix}-consequence": "coaching"},
        follow=True,
    )
    violation.refresh_from_db()
    page = response.content.decode()
    assert response.redirect_chain[0][1] == 302
    assert violation.status == "open"
    assert f"Finding on {violation.account.name} was not saved." in page
    assert (
        "Status: “closed” is not a finding status: choose Open (open), Acknowledged "
        "(acknowledged) or Resolved (resolved)." in page
    )


def test_finding_unknown_consequence_lists_choices(client, audited, team):
    violation = Violation.objects.filter(responsible=team["rep_a"]).first()
    client.force_login(team["manager"])
    prefix = f"v{violation.pk}"
    response = client.post(
        reverse("audits:violation-update", args=[violation.pk]),
        {f"{prefix}-status": "open", f"{prefix}-consequence": "fine"},
        follow=True,
    )

    violation.refresh_from_db()
    assert violation.consequence != "fine"
    assert (
        "Consequence: “fine” is not a consequence: choose None (none), Retraining "
        "(retraining), Coaching (coaching), Formal warning (formal_warning) or Escalation "
        "(escalation)." in response.content.decode()
    )


def test_invalid_finding_update_is_422(client, audited, team):
    violation = Violation.objects.filter(responsible=team["rep_a"]).first()
    client.force_login(team["manager"])
    prefix = f"v{violation.pk}"
    response = client.post(
        reverse("audits:violation-update", args=[violation.pk]),
        {f"{prefix}-status": "closed", f"{prefix}-consequence": "coaching"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert html.lstrip().startswith(f'<tr id="violation-{violation.pk}"')
    assert "“closed” is not a finding status: choose Open (open)" in html


def test_stale_form_keeps_other_resolution(client, make_user, audited, team):
    violation = Violation.objects.filter(responsible=team["rep_a"]).first()
    prefix = f"v{violation.pk}"
    url = reverse("audits:violation-update", args=[violation.pk])
    # Both pages were rendered before either change, with the finding open.
    rendered_at = violation.updated_at.isoformat()
    client.force_login(team["manager"])
    client.post(
        url,
        {
            f"{prefix}-status": "resolved",
            f"{prefix}-consequence": "coaching",
            f"{prefix}-updated_at": rendered_at,
        },
        HTTP_HX_REQUEST="true",
    )

    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    response = client.post(
        url,
        {
            f"{prefix}-status": "open",
            f"{prefix}-consequence": "retraining",
            f"{prefix}-updated_at": rendered_at,
        },
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    violation.refresh_from_db()
    assert response.status_code == 422
    assert violation.status == "resolved"
    assert violation.consequence == "coaching"
    assert violation.resolved_by == team["manager"]
    assert "changed this finding at" in html
    assert "your change was not saved" in html
    assert "It now shows Resolved · Coaching" in html
    assert "Saved" not in html


def test_current_form_saves(client, audited, team):
    violation = Violation.objects.filter(responsible=team["rep_a"]).first()
    prefix = f"v{violation.pk}"
    client.force_login(team["manager"])
    page = report(client, audited).content.decode()
    response = client.post(
        reverse("audits:violation-update", args=[violation.pk]),
        {
            f"{prefix}-status": "acknowledged",
            f"{prefix}-consequence": "none",
            f"{prefix}-updated_at": violation.updated_at.isoformat(),
        },
        HTTP_HX_REQUEST="true",
    )
    violation.refresh_from_db()
    assert f'name="{prefix}-updated_at"' in page
    assert response.status_code == 200
    assert violation.status == "acknowledged"


def test_manager_cannot_touch_other_team(client, audited, team):
    violation = Violation.objects.filter(responsible=team["outsider"]).first()
    client.force_login(team["manager"])
    prefix = f"v{violation.pk}"
    response = client.post(
        reverse("audits:violation-update", args=[violation.pk]),
        {f"{prefix}-status": "resolved", f"{prefix}-consequence": "none"},
    )
    violation.refresh_from_db()
    assert response.status_code == 403
    assert violation.status == "open"


def test_manager_cannot_resolve_own_finding(client, audited, team):
    violation = Violation.objects.filter(responsible=team["rep_a"]).first()
    Violation.objects.filter(pk=violation.pk).update(responsible=team["manager"])
    client.force_login(team["manager"])
    prefix = f"v{violation.pk}"

    response = client.post(
        reverse("audits:violation-update", args=[violation.pk]),
        {f"{prefix}-status": "resolved", f"{prefix}-consequence": "none"},
    )
    page = report(client, audited).content.decode()

    violation.refresh_from_db()
    assert response.status_code == 403
    assert violation.status == "open"
    assert "Another manager, Sales Ops or Sales Leadership acts on a finding against you." in page


def test_reopening_clears_resolution(audited, team):
    violation = Violation.objects.first()
    violation_update(
        violation=violation, user=team["manager"], status="resolved", consequence="none"
    )
    violation_update(violation=violation, user=team["manager"], status="open", consequence="none")
    assert violation.resolved_at is None
    assert violation.resolved_by is None


def test_status_change_recorded_in_history(audited, team):
    violation = Violation.objects.first()
    violation_update(
        violation=violation, user=team["manager"], status="acknowledged", consequence="retraining"
    )
    latest = violation.history.first()
    assert latest.status == "acknowledged"
    assert latest.history_user == team["manager"]


def test_run_audit_from_page(client, make_user, scored, team, in_month, audit_month):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    response = client.post(reverse("audits:audit-run-create"), {"month": f"{audit_month:%Y-%m}"})
    assert response.status_code == 302
    assert response["Location"] == reverse("audits:audit-report", args=[f"{audit_month:%Y-%m}"])


def test_run_audit_rejects_future_month(client, make_user, db):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    future = local_today() + timedelta(days=40)
    response = client.post(reverse("audits:audit-run-create"), {"month": f"{future:%Y-%m}"})
    assert response.status_code == 400
    assert "has not started yet" in response.content.decode()


def test_run_audit_rejects_current_month(client, make_user, db):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    month = f"{local_today():%Y-%m}"
    response = client.post(reverse("audits:audit-run-create"), {"month": month})
    assert response.status_code == 400
    assert f"Month {month} has not ended yet" in response.content.decode()


def test_report_labels_month_in_progress(client, make_user, db):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    month = local_today().replace(day=1)
    monthly_audit_run(month=month)
    text = client.get(reverse("audits:audit-report", args=[f"{month:%Y-%m}"])).content.decode()
    assert "month in progress when audited, values as of" in text
    assert "values as of the month’s end" not in text


def test_report_of_ended_month_reads_its_end(client, make_user, audit_month):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    monthly_audit_run(month=audit_month)
    url = reverse("audits:audit-report", args=[f"{audit_month:%Y-%m}"])
    text = client.get(url).content.decode()
    assert "values as of the month’s end" in text
    assert "month in progress" not in text


@pytest.mark.parametrize("month", ["0001-01", "0999-12"])
def test_run_audit_rejects_ancient_month(client, make_user, db, month):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    response = client.post(reverse("audits:audit-run-create"), {"month": month})
    assert response.status_code == 400
    assert f"Month {month} is before 1900-01, the first month supported" in (
        response.content.decode()
    )


def test_run_audit_denied_to_manager(client, team, db):
    client.force_login(team["manager"])
    response = client.post(reverse("audits:audit-run-create"), {"month": "2025-01"})
    assert response.status_code == 403


# Training.


def test_onboarding_overdue_after_30_days(team):
    rep = team["rep_a"]
    rep.date_joined = timezone.now() - timedelta(days=31)
    rep.save()
    overdue = {row.user_id: row.kind for row in overdue_training(None)}
    assert overdue[rep.pk] == "onboarding"


def test_onboarding_not_due_yet(team):
    rep = team["rep_a"]
    rep.date_joined = timezone.now() - timedelta(days=29)
    rep.save()
    assert rep.pk not in {row.user_id for row in overdue_training(None)}


def test_refresher_overdue_after_180_days(team):
    today = local_today()
    rep = team["rep_a"]
    TrainingRecord.objects.create(
        user=rep, kind="onboarding", completed_on=today - timedelta(days=181)
    )
    overdue = {row.user_id: row for row in overdue_training(None, today=today)}
    assert overdue[rep.pk].kind == "refresher"
    assert overdue[rep.pk].due_on == today - timedelta(days=1)


def test_recent_refresher_not_overdue(team):
    today = local_today()
    rep = team["rep_a"]
    TrainingRecord.objects.create(
        user=rep, kind="onboarding", completed_on=today - timedelta(days=400)
    )
    TrainingRecord.objects.create(
        user=rep, kind="refresher", completed_on=today - timedelta(days=10)
    )
    assert rep.pk not in {row.user_id for row in overdue_training(None, today=today)}


def test_manager_sees_team_training_only(team):
    for name in ("rep_a", "outsider"):
        user = team[name]
        user.date_joined = timezone.now() - timedelta(days=90)
        user.save()
    visible = {row.user_id for row in overdue_training([team["rep_a"].pk, team["manager"].pk])}
    assert visible == {team["rep_a"].pk}


# Quarterly review.


def test_segment_snapshot_uses_latest_record(scored, team, framework):
    account = scored(owner=team["rep_a"], scored_at=timezone.now())
    first = ScoreRecord.objects.create(account=account, framework=framework, tier="low", tag="A")
    second = ScoreRecord.objects.create(account=account, framework=framework, tier="high", tag="B")
    ScoreRecord.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=200))
    ScoreRecord.objects.filter(pk=second.pk).update(created_at=timezone.now() - timedelta(days=10))
    before = segment_snapshot(timezone.now() - timedelta(days=100), "tier")
    after = segment_snapshot(timezone.now(), "tier")
    assert before == {"low": 1}
    assert after == {"high": 1}


def test_quarterly_report_page(client, make_user, framework, team, scored):
    year, quarter = quarter_of(local_today())
    period = quarter_period(year, quarter)
    Framework.objects.filter(pk=framework.pk).update(
        approved_at=period.start + timedelta(days=1), summary="First version"
    )
    account = scored(owner=team["rep_a"], scored_at=timezone.now())
    ScoreRecord.objects.create(account=account, framework=framework, tier="high", tag="T")
    account_segment_override(
        account=account,
        user=team["manager"],
        kind=SegmentOverride.Kind.REVIEW_CONFIRMATION,
        reason="ok",
    )
    client.force_login(make_user(roles.SALES_LEADERSHIP, username="boss"))
    response = client.get(reverse("audits:quarterly-report", args=[f"{year}-Q{quarter}"]))
    html = response.content.decode()
    tier_drift = {row.value: row for row in response.context["tier_drift"]}
    assert response.status_code == 200
    assert "First version" in html
    assert tier_drift["high"].end == 1
    assert tier_drift["high"].change == 1


def test_quarterly_redirect(client, make_user, db):
    client.force_login(make_user(roles.SALES_OPS, username="ops"))
    response = client.get(reverse("audits:quarterly-report-current"))
    year, quarter = quarter_of(local_today())
    assert response["Location"] == reverse("audits:quarterly-report", args=[f"{year}-Q{quarter}"])


def test_month_period_of_report(audited, audit_month):
    assert audited["run"].month == month_period(audit_month).first_day
    assert audited["run"].month == date(audit_month.year, audit_month.month, 1)


def test_overdue_training_as_of_a_past_day(team):
    today = local_today()
    rep = team["rep_a"]
    rep.date_joined = timezone.now() - timedelta(days=100)
    rep.save()
    TrainingRecord.objects.create(
        user=rep, kind="onboarding", completed_on=today - timedelta(days=5)
    )
    past = today - timedelta(days=20)

    then = {row.user_id: row for row in overdue_training(None, today=past)}
    now = {row.user_id for row in overdue_training(None, today=today)}

    assert then[rep.pk].kind == "onboarding"
    assert then[rep.pk].days_overdue == 100 - 30 - 20
    assert rep.pk not in now


def test_user_joined_later_not_overdue_earlier(team):
    rep = team["rep_a"]
    rep.date_joined = timezone.now() - timedelta(days=40)
    rep.save()
    past = local_today() - timedelta(days=60)
    assert rep.pk not in {row.user_id for row in overdue_training(None, today=past)}


def test_stale_form_without_htmx_explained(client, audited, team):
    violation = Violation.objects.filter(responsible=team["rep_a"]).first()
    prefix = f"v{violation.pk}"
    url = reverse("audits:violation-update", args=[violation.pk])
    rendered_at = violation.updated_at.isoformat()
    client.force_login(team["manager"])
    fields = {f"{prefix}-consequence": "coaching", f"{prefix}-updated_at": rendered_at}
    client.post(url, {**fields, f"{prefix}-status": "resolved"})
    response = client.post(url, {**fields, f"{prefix}-status": "acknowledged"}, follow=True)
    html = response.content.decode()
    violation.refresh_from_db()
    assert violation.status == "resolved"
    assert f"Finding on {violation.account_label}: " in html
    assert "your change was not saved" in html


def test_finding_notes_too_long_rejected(client, audited, team):
    violation = Violation.objects.filter(responsible=team["rep_a"]).first()
    prefix = f"v{violation.pk}"
    client.force_login(team["manager"])
    response = client.post(
        reverse("audits:violation-update", args=[violation.pk]),
        {
            f"{prefix}-status": "acknowledged",
            f"{prefix}-consequence": "coaching",
            f"{prefix}-consequence_notes": "x" * 501,
        },
        HTTP_HX_REQUEST="true",
    )
    violation.refresh_from_db()
    assert response.status_code == 422
    assert (
        "The notes have 501 characters: shorten them to 500 or fewer" in response.content.decode()
    )
    assert violation.status == "open"
    assert violation.consequence_notes == ""


@pytest.mark.parametrize(
    ("notes", "stored"),
    [("🚀" * 500, "🚀" * 500), ("line\r\n" * 100, "line\n" * 99 + "line")],
)
def test_finding_notes_count_code_points(client, audited, team, notes, stored):
    violation = Violation.objects.filter(responsible=team["rep_a"]).first()
    client.force_login(team["manager"])
    prefix = f"v{violation.pk}"
    response = client.post(
        reverse("audits:violation-update", args=[violation.pk]),
        {
            f"{prefix}-status": "resolved",
            f"{prefix}-consequence": "coaching",
            f"{prefix}-consequence_notes": notes,
        },
        HTTP_HX_REQUEST="true",
    )
    violation.refresh_from_db()
    assert response.status_code == 200
    assert violation.consequence_notes == stored


def test_finding_notes_over_limit_rejected(client, audited, team):
    violation = Violation.objects.filter(responsible=team["rep_a"]).first()
    client.force_login(team["manager"])
    prefix = f"v{violation.pk}"
    response = client.post(
        reverse("audits:violation-update", args=[violation.pk]),
        {
            f"{prefix}-status": "resolved",
            f"{prefix}-consequence": "coaching",
            f"{prefix}-consequence_notes": "🚀" * 501,
        },
        HTTP_HX_REQUEST="true",
    )
    violation.refresh_from_db()
    assert response.status_code == 422
    assert "The notes have 501 characters" in response.content.decode()
    assert violation.status == "open"


def test_finding_notes_input_has_counter(client, audited, team):
    violation = Violation.objects.filter(responsible=team["rep_a"]).first()
    client.force_login(team["manager"])
    html = report(client, audited).content.decode()
    notes_id = f"id_v{violation.pk}-consequence_notes"
    start = html.index(f'name="v{violation.pk}-consequence_notes"')
    notes_input = html[html.rindex("<input", 0, start) : html.index(">", start)]
    assert "maxlength" not in notes_input
    assert 'data-max-length="500"' in notes_input
    assert f'data-counter="{notes_id}-counter"' in notes_input
    assert f'<span id="{notes_id}-counter"' in html


def test_report_shows_rule_label(client, audited, team):
    client.force_login(team["manager"])
    html = report(client, audited).content.decode()
    assert (
        'title="Rule unverified_data.not_verified" data-testid="violation-rule">'
        "Tagged account whose mandatory fields are not verified across sources.</div>"
    ) in html
    assert ">unverified_data.not_verified<" not in html


def test_report_label_follows_admin_edit(client, audited, team):
    SeverityRule.objects.filter(rule_code="unverified_data.not_verified").update(
        description="Mandatory fields not verified."
    )
    client.force_login(team["manager"])
    html = report(client, audited).content.decode()
    assert 'data-testid="violation-rule">Mandatory fields not verified.</div>' in html
