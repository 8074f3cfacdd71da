"""Who may do what: every role against every sensitive action, through pages, admin and API.

The account under test is owned by the SDR, who reports to the Sales Manager. Actions
without a page or endpoint of their own (bulk assignment's multi-step form, framework
editing and approval, taxonomy) are checked through accounts.permissions directly.
"""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import permissions, roles
from accounts.models import ResearchNote, UserProfile
from audits.models import AuditRun, SeverityRule, Violation

SDR, AE, MANAGER, OPS, MARKETING, LEADERSHIP = (
    roles.SDR,
    roles.AE,
    roles.SALES_MANAGER,
    roles.SALES_OPS,
    roles.MARKETING,
    roles.SALES_LEADERSHIP,
)
ROLES = (SDR, AE, MANAGER, OPS, MARKETING, LEADERSHIP)
MONTH = date(2025, 11, 1)

# Action: the roles allowed. Every other role must be denied.
MATRIX = {
    "view accounts list": {SDR, AE, MANAGER, OPS, MARKETING, LEADERSHIP},
    "edit an account field": {SDR, MANAGER},
    "tag override": {SDR, MANAGER},
    "add note": {SDR, MANAGER},
    # The SDR wrote the note: the author, their manager and Sales Ops change it.
    "edit the SDR's note": {SDR, MANAGER, OPS},
    "delete the SDR's note": {SDR, MANAGER, OPS},
    "bulk assign": {MANAGER, OPS},
    "import": {SDR, MANAGER, OPS},
    "review": {MANAGER},
    "view team audits": {MANAGER, OPS, LEADERSHIP},
    "view all audits": {OPS, LEADERSHIP},
    "resolve team violation": {MANAGER, OPS, LEADERSHIP},
    "run audit": {OPS},
    "edit severity rules in admin": {OPS},
    "edit framework in admin": {OPS},
    "approve framework": {LEADERSHIP},
    "manage taxonomy": {OPS},
    "read API": {SDR, AE, MANAGER, OPS, MARKETING, LEADERSHIP},
    "write API": {SDR, MANAGER},
}
EDIT_ACTIONS = [
    "edit an account field",
    "tag override",
    "add note",
    "edit the SDR's note",
    "delete the SDR's note",
    "bulk assign",
    "import",
    "review",
    "resolve team violation",
    "run audit",
    "edit severity rules in admin",
    "edit framework in admin",
    "approve framework",
    "manage taxonomy",
    "write API",
]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(make_user, scored):
    users = {
        role: make_user(role, username=role.lower().replace(" ", "-"), is_staff=True)
        for role in ROLES
    }
    outsider = make_user(SDR, username="outsider")
    UserProfile.objects.create(user=users[SDR], manager=users[MANAGER])
    account = scored(owner=users[SDR], scored_at=timezone.now(), name="Matrix Account")
    other = scored(owner=outsider, scored_at=timezone.now(), name="Other Team Account")
    run = AuditRun.objects.create(month=MONTH, status="succeeded", started_at=timezone.now())
    team_violation = Violation.objects.create(
        audit_run=run,
        account=account,
        kind="unverified_data",
        rule_code="unverified_data.not_verified",
        detail="Team finding",
        severity="minor",
        responsible=users[SDR],
    )
    Violation.objects.create(
        audit_run=run,
        account=other,
        kind="unverified_data",
        rule_code="unverified_data.not_verified",
        detail="Other team finding",
        severity="minor",
        responsible=outsider,
    )
    return {"users": users, "account": account, "violation": team_violation}


def status_allowed(response) -> bool:
    assert response.status_code in (200, 302, 403), response.status_code
    return response.status_code != 403


def probe(client, world, action: str, user) -> bool:
    """Try the action as ``user``; return True when it was allowed."""
    account = world["account"]
    if action == "view accounts list":
        return status_allowed(client.get(reverse("accounts:account-list")))
    if action == "edit an account field":
        url = reverse("accounts:account-field-edit", args=[account.pk, "website"])
        return status_allowed(client.get(url))
    if action == "tag override":
        return status_allowed(
            client.get(reverse("accounts:account-segment-edit", args=[account.pk]))
        )
    if action == "add note":
        client.post(
            reverse("accounts:research-note-create", args=[account.pk]),
            {"kind": "other", "text": f"Matrix note by {user.username}"},
        )
        return ResearchNote.objects.filter(text=f"Matrix note by {user.username}").exists()
    if action in ("edit the SDR's note", "delete the SDR's note"):
        note = ResearchNote.objects.create(
            account=account, text="Raised a Series A", author=world["users"][SDR]
        )
        version = note.updated_at.isoformat()
        if action == "edit the SDR's note":
            url = reverse("accounts:research-note-edit", args=[account.pk, note.pk])
            data = {"kind": "other", "text": "Raised a Series B", "version": version}
            status_allowed(client.post(url, data))
            note.refresh_from_db()
            return note.text == "Raised a Series B"
        url = reverse("accounts:research-note-delete", args=[account.pk, note.pk])
        status_allowed(client.post(url, {"version": version}))
        return not ResearchNote.objects.filter(pk=note.pk).exists()
    if action == "bulk assign":
        return permissions.can_assign_owner(user)
    if action == "import":
        return status_allowed(client.get(reverse("accounts:import-upload")))
    if action == "review":
        return status_allowed(client.get(reverse("audits:review-session-list")))
    if action in ("view team audits", "view all audits"):
        response = client.get(reverse("audits:audit-report", args=[f"{MONTH:%Y-%m}"]))
        if not status_allowed(response):
            return False
        wanted = "Team finding" if action == "view team audits" else "Other team finding"
        return wanted in response.content.decode()
    if action == "resolve team violation":
        violation = world["violation"]
        prefix = f"v{violation.pk}"
        client.post(
            reverse("audits:violation-update", args=[violation.pk]),
            {f"{prefix}-status": "resolved", f"{prefix}-consequence": "none"},
        )
        violation.refresh_from_db()
        return violation.status == "resolved"
    if action == "run audit":
        return status_allowed(client.post(reverse("audits:audit-run-create"), {"month": "2025-10"}))
    if action == "edit severity rules in admin":
        rule = SeverityRule.objects.get(rule_code="unverified_data.not_verified")
        client.post(
            reverse("admin:audits_severityrule_change", args=[rule.pk]),
            {"description": rule.description, "severity": "severe", "default_consequence": "none"},
        )
        rule.refresh_from_db()
        return rule.severity == "severe"
    if action == "edit framework in admin":
        return permissions.can_edit_framework(user)
    if action == "approve framework":
        return permissions.can_approve_framework(user)
    if action == "manage taxonomy":
        return permissions.can_manage_taxonomy(user)
    if action == "read API":
        return status_allowed(client.get("/api/v1/accounts/"))
    if action == "write API":
        response = client.post(
            f"/api/v1/accounts/{account.pk}/segment/",
            {"kind": "manual_tag", "tier": "low", "reason": "Matrix"},
            content_type="application/json",
        )
        assert response.status_code in (200, 403), response.status_code
        return response.status_code == 200
    raise AssertionError(f"No probe for action {action!r}")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(MATRIX))
def test_permission_matrix(client, world, action, role):
    user = world["users"][role]
    client.force_login(user)
    expected = role in MATRIX[action]
    assert probe(client, world, action, user) is expected


@pytest.mark.parametrize("action", EDIT_ACTIONS)
def test_marketing_denied_every_edit(client, world, action):
    user = world["users"][MARKETING]
    client.force_login(user)
    assert probe(client, world, action, user) is False


def test_anonymous_redirected_from_governance(client, db):
    for name in ("audits:dashboard", "audits:review-session-list", "audits:trail"):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith("/login/"), name
