"""The "Cancel import" button of the import page: who may use it, its confirmation, the report."""

import html
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from accounts import roles
from accounts.models import ImportCancelRequest, ImportRun, UserProfile
from accounts.permissions import can_cancel_import
from tests.import_locks import import_in_progress

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(make_user):
    return make_user(roles.SDR, username="sam", first_name="Sam", last_name="Reyes")


def make_run(user, status=ImportRun.Status.RUNNING, **fields) -> ImportRun:
    values = {
        "source": "hubspot",
        "file_name": "big-export.csv",
        "status": status,
        "total_rows": 25,
        "rows_read": 10,
        "created": 9,
        "rejected": 1,
        "created_by": user,
        **fields,
    }
    return ImportRun.objects.create(**values)


def cancel_url(run: ImportRun) -> str:
    return reverse("accounts:import-cancel", args=[run.pk])


def status_html(client, run: ImportRun) -> str:
    return html.unescape(
        client.get(reverse("accounts:import-status", args=[run.pk])).content.decode()
    )


# Permissions ---------------------------------------------------------------------------


@pytest.fixture
def sams_manager(make_user, sam):
    manager = make_user(roles.SALES_MANAGER, username="morgan", first_name="Morgan")
    UserProfile.objects.update_or_create(user=sam, defaults={"manager": manager})
    return manager


def test_permission_rule_by_role(make_user, sam, sams_manager):
    run = make_run(sam)
    other_sdr = make_user(roles.SDR, username="dana")
    other_manager = make_user(roles.SALES_MANAGER, username="riley")
    ops = make_user(roles.SALES_OPS, username="priya")
    ae = make_user(roles.AE, username="alex")
    superuser = make_user(username="root", is_superuser=True)

    assert can_cancel_import(sam, run)
    assert not can_cancel_import(other_sdr, run)
    assert can_cancel_import(sams_manager, run)
    assert not can_cancel_import(other_manager, run)
    assert can_cancel_import(ops, run)
    assert not can_cancel_import(ae, run)
    assert can_cancel_import(superuser, run)


def test_run_without_starter_left_to_sales_ops(make_user, sams_manager):
    run = make_run(None)
    ops = make_user(roles.SALES_OPS, username="priya")

    assert not can_cancel_import(sams_manager, run)
    assert can_cancel_import(ops, run)


def test_starter_without_import_role_denied(make_user):
    starter = make_user(roles.AE, username="former-sdr")
    run = make_run(starter)

    assert not can_cancel_import(starter, run)


def test_starter_cancels_own_import(client, sam):
    run = make_run(sam)
    client.force_login(sam)

    response = client.post(cancel_url(run))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:import-detail", args=[run.pk])
    assert ImportCancelRequest.objects.get(import_run=run).requested_by == sam


def test_team_manager_cancels_import(client, sam, sams_manager):
    run = make_run(sam)
    client.force_login(sams_manager)

    response = client.post(cancel_url(run))

    assert response.status_code == 302
    assert ImportCancelRequest.objects.get(import_run=run).requested_by == sams_manager


def test_sales_ops_cancels_import(client, make_user, sam):
    run = make_run(sam)
    ops = make_user(roles.SALES_OPS, username="priya")
    client.force_login(ops)

    response = client.post(cancel_url(run))

    assert response.status_code == 302
    assert ImportCancelRequest.objects.get(import_run=run).requested_by == ops


def test_other_team_manager_gets_403(client, make_user, sam):
    run = make_run(sam)
    client.force_login(make_user(roles.SALES_MANAGER, username="riley"))

    page = status_html(client, run)
    response = client.post(cancel_url(run))

    assert 'data-testid="import-cancel"' not in page
    assert response.status_code == 403
    assert not ImportCancelRequest.objects.exists()


def test_other_sdr_gets_404(client, make_user, sam):
    run = make_run(sam)
    client.force_login(make_user(roles.SDR, username="dana"))

    assert client.post(cancel_url(run)).status_code == 404
    assert not ImportCancelRequest.objects.exists()


@pytest.mark.parametrize("role", [roles.AE, roles.MARKETING, roles.SALES_LEADERSHIP])
def test_roles_without_import_get_403(client, make_user, sam, role):
    run = make_run(sam)
    client.force_login(make_user(role, username=f"user-{role}"))

    assert client.post(cancel_url(run)).status_code == 403
    assert not ImportCancelRequest.objects.exists()


def test_anonymous_redirected_to_login(client, sam):
    run = make_run(sam)

    response = client.post(cancel_url(run))

    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert not ImportCancelRequest.objects.exists()


def test_cancel_requires_post(client, sam):
    run = make_run(sam)
    client.force_login(sam)

    assert client.get(cancel_url(run)).status_code == 405
    assert not ImportCancelRequest.objects.exists()


def test_cancel_requires_csrf_token(sam):
    run = make_run(sam)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(sam)

    assert strict.post(cancel_url(run)).status_code == 403
    assert not ImportCancelRequest.objects.exists()


# Confirmation and button ---------------------------------------------------------------


def test_running_import_shows_confirmed_button(client, sam):
    run = make_run(sam)
    client.force_login(sam)

    with import_in_progress(run):
        page = status_html(client, run)

    assert 'data-testid="import-cancel"' in page
    assert f'action="{cancel_url(run)}"' in page
    assert (
        "Cancel the import of “big-export.csv”? Rows already imported stay imported, and so "
        "do the rows of the batch being written." in page
    )
    assert "counts them as not reached" in page


def test_pending_import_confirmation_says_nothing_imported(client, sam):
    run = make_run(sam, status=ImportRun.Status.PENDING, rows_read=0, created=0, rejected=0)
    client.force_login(sam)

    page = status_html(client, run)

    assert "It has not started, so no row will be imported." in page


def test_button_hidden_from_manager_view_of_finished(client, make_user, sam):
    run = make_run(sam, status=ImportRun.Status.SUCCEEDED, rows_read=25)
    client.force_login(make_user(roles.SALES_MANAGER, username="morgan"))

    assert 'data-testid="import-cancel"' not in status_html(client, run)


@pytest.mark.parametrize("status", [ImportRun.Status.SUCCEEDED, ImportRun.Status.FAILED])
def test_finished_import_has_no_button(client, sam, status):
    run = make_run(sam, status=status)
    client.force_login(sam)

    assert 'data-testid="import-cancel"' not in status_html(client, run)


def test_requested_cancel_replaces_button(client, sam):
    run = make_run(sam)
    ImportCancelRequest.objects.create(
        import_run=run, requested_by=sam, requested_at=datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    )
    client.force_login(sam)

    with import_in_progress(run):
        page = status_html(client, run)

    assert 'data-testid="import-cancel"' not in page
    assert "Cancelling…" in page
    assert "Sam Reyes asked to cancel this import at 09:15 UTC." in page
    assert 'hx-trigger="every 1s"' in page


# Refusals and repeats ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (ImportRun.Status.SUCCEEDED, "has already finished, so it can no longer be cancelled"),
        (ImportRun.Status.FAILED, "has already failed, so there is nothing to cancel"),
    ],
)
def test_finished_import_refused_with_message(client, sam, status, message):
    run = make_run(sam, status=status)
    client.force_login(sam)

    response = client.post(cancel_url(run), follow=True)

    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert not ImportCancelRequest.objects.exists()
    run.refresh_from_db()
    assert run.status == status


def test_second_cancel_keeps_first(client, sam, sams_manager):
    run = make_run(sam)
    client.force_login(sam)
    client.post(cancel_url(run))
    client.force_login(sams_manager)

    response = client.post(cancel_url(run), follow=True)

    assert response.status_code == 200
    assert "Sam Reyes already asked to cancel import" in html.unescape(response.content.decode())
    assert ImportCancelRequest.objects.get(import_run=run).requested_by == sam


def test_pending_import_cancelled_at_once(client, sam):
    run = make_run(sam, status=ImportRun.Status.PENDING, rows_read=0, created=0, rejected=0)
    client.force_login(sam)

    response = client.post(cancel_url(run), follow=True)

    run.refresh_from_db()
    assert f"Import {run.pk} is cancelled." in response.content.decode()
    assert run.status == ImportRun.Status.CANCELLED
    assert run.rows_not_reached == 25


# The cancelled import's report ---------------------------------------------------------


@pytest.fixture
def cancelled_run(sam, media_root):
    report = media_root / "import-reports" / "run-1-big-export-rejected.csv"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("Company,line,reason\n,4,no company name\n", encoding="utf-8")
    run = make_run(
        sam,
        status=ImportRun.Status.CANCELLED,
        rows_read=10,
        created=7,
        updated=2,
        rejected=1,
        rows_not_reached=15,
        report_path=str(report),
    )
    ImportCancelRequest.objects.create(
        import_run=run, requested_by=sam, requested_at=datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    )
    return run


def test_cancelled_report_names_row_user_time(client, sam, cancelled_run):
    client.force_login(sam)

    page = status_html(client, cancelled_run)

    assert "Import cancelled" in page
    assert "Cancelled at row 10 by Sam Reyes at 2 Mar 2026, 09:15 UTC." in page
    assert "9 rows imported, 1 rejected," in page
    assert "15 rows not reached and not imported." in page
    assert 'hx-trigger="every 1s"' not in page
    assert 'data-testid="import-cancel"' not in page


def test_cancel_before_first_row_reported(client, sam):
    run = make_run(
        sam,
        status=ImportRun.Status.CANCELLED,
        rows_read=0,
        created=0,
        rejected=0,
        rows_not_reached=25,
    )
    client.force_login(sam)

    page = status_html(client, run)

    assert "Cancelled before its first row." in page
    assert "No row was imported: import the file again to import it." in page
    assert "To import the rest" not in page


def test_cancelled_report_stays_downloadable(client, sam, cancelled_run):
    client.force_login(sam)

    page = status_html(client, cancelled_run)
    response = client.get(reverse("accounts:import-report", args=[cancelled_run.pk]))

    assert reverse("accounts:import-report", args=[cancelled_run.pk]) in page
    assert response.status_code == 200
    assert b"no company name" in b"".join(response.streaming_content)


def test_import_list_shows_cancelled(client, sam, cancelled_run):
    client.force_login(sam)

    page = client.get(reverse("accounts:import-list")).content.decode()

    assert "import-cancelled" in page
    assert "Cancelled" in page
    assert "15 not reached" in page


def test_cancelled_csv_total_from_not_reached(client, sam):
    run = make_run(
        sam,
        status=ImportRun.Status.CANCELLED,
        total_rows=None,
        rows_read=10,
        rows_not_reached=30,
    )
    client.force_login(sam)

    page = status_html(client, run)

    assert "10 of 40 rows read." in page
    assert 'aria-valuenow="25"' in page
