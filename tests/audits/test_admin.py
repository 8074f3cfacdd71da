"""Admin: history and governance records are append-only; Sales Ops edit severity rules."""

import io
from datetime import date

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import Account, SegmentOverride
from audits.models import AuditRun, ReviewItem, SeverityRule, Violation
from audits.trail import trail_sources
from tests.factories import AccountFactory, UserFactory

HISTORY_SOURCES = [source for source in trail_sources() if source.is_history]


@pytest.fixture
def root(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def ops_admin(client, make_user):
    client.force_login(make_user(roles.SALES_OPS, username="ops", is_staff=True))
    return client


def admin_url(model, action: str, *args) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{action}", args=args)


@pytest.mark.parametrize("source", HISTORY_SOURCES, ids=lambda source: source.key)
def test_history_registered_read_only(source):
    model_admin = admin.site._registry[source.model]
    assert not model_admin.has_add_permission(None)
    assert not model_admin.has_delete_permission(None)


def test_history_add_rejected(root):
    history = Account.history.model
    assert root.get(admin_url(history, "add")).status_code == 403


def test_history_change_rejected(root):
    account = AccountFactory(name="Original")
    row = account.history.get()
    response = root.post(admin_url(Account.history.model, "change", row.pk), {"name": "Forged"})
    row.refresh_from_db()
    assert response.status_code == 403
    assert row.name == "Original"


def test_history_delete_rejected(root):
    account = AccountFactory()
    row = account.history.get()
    response = root.post(admin_url(Account.history.model, "delete", row.pk), {"post": "yes"})
    assert response.status_code == 403
    assert Account.history.filter(pk=row.pk).exists()


def test_history_bulk_delete_action_absent(root):
    AccountFactory()
    response = root.get(admin_url(Account.history.model, "changelist"))
    assert response.status_code == 200
    assert "delete_selected" not in response.content.decode()


def test_history_bulk_delete_post_ignored(root):
    account = AccountFactory()
    row = account.history.get()
    root.post(
        admin_url(Account.history.model, "changelist"),
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    assert Account.history.filter(pk=row.pk).exists()


def test_override_change_rejected(root, make_user, framework):
    account = AccountFactory(framework=framework, tag="A", tier="low")
    override = SegmentOverride.objects.create(
        account=account, kind="manual_tag", reason="Research", user=make_user(roles.SDR)
    )
    change = root.post(admin_url(SegmentOverride, "change", override.pk), {"reason": "Edited"})
    delete = root.post(admin_url(SegmentOverride, "delete", override.pk), {"post": "yes"})
    override.refresh_from_db()
    assert change.status_code == 403
    assert delete.status_code == 403
    assert override.reason == "Research"


def test_violation_add_rejected(root):
    assert root.get(admin_url(Violation, "add")).status_code == 403


def test_history_api_absent(root):
    assert root.get("/api/v1/history/").status_code == 404


def test_ops_edits_severity(ops_admin):
    rule = SeverityRule.objects.get(rule_code="unverified_data.not_verified")
    response = ops_admin.post(
        admin_url(SeverityRule, "change", rule.pk),
        {
            "description": rule.description,
            "severity": "severe",
            "default_consequence": "coaching",
        },
    )
    rule.refresh_from_db()
    assert response.status_code == 302
    assert rule.severity == "severe"
    assert rule.history.first().history_user.username == "ops"


def test_manager_cannot_edit_severity(client, make_user):
    client.force_login(make_user(roles.SALES_MANAGER, username="boss", is_staff=True))
    rule = SeverityRule.objects.first()
    response = client.post(admin_url(SeverityRule, "change", rule.pk), {"severity": "minor"})
    assert response.status_code == 403


def test_severity_rule_not_deletable(ops_admin):
    rule = SeverityRule.objects.first()
    response = ops_admin.post(admin_url(SeverityRule, "delete", rule.pk), {"post": "yes"})
    assert response.status_code == 403
    assert SeverityRule.objects.filter(pk=rule.pk).exists()


def test_beat_schedule_in_admin(root):
    response = root.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    assert "Monthly CRM audit" in response.content.decode()


def test_violation_page_explains_responsible(root):
    run = AuditRun.objects.create(
        month=date(2026, 1, 1), status="succeeded", started_at=timezone.now()
    )
    violation = Violation.objects.create(
        audit_run=run,
        account=AccountFactory(),
        kind="misclassification",
        rule_code="misclassification.review_correction",
        detail="Tag corrected in a review",
        severity="moderate",
    )

    html = root.get(admin_url(Violation, "change", violation.pk)).content.decode()

    assert "for a review correction whoever set the corrected tag" in html
    assert "nobody when the framework computed that tag" in html


def test_review_item_rep_help_names_setter():
    help_text = ReviewItem._meta.get_field("rep").help_text

    assert "counts for whoever set the tag" in help_text
    assert "a tag this rep set" in help_text


def test_audits_models_match_migrations(db):
    # Raises SystemExit when a model change, such as a help text, has no migration.
    call_command("makemigrations", "audits", "--check", "--dry-run", stdout=io.StringIO())
