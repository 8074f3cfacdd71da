"""Governance rules built on accounts.permissions: who runs audits and acts on findings.

The rules that depend only on roles, such as who reviews or views audits, live in
``accounts.permissions``. The ones here add governance objects: a review session's
manager, a finding's responsible user.
"""

from accounts import roles
from accounts.permissions import (
    User,
    can_review_accounts,
    can_view_accounts,
    can_view_all_audits,
    can_view_audits,
    team_member_ids,
)

from .models import ReviewSession, Violation

__all__ = [
    "can_decide_review",
    "can_manage_audit_rules",
    "can_manage_violation",
    "can_run_audit",
    "can_view_dashboards",
    "can_view_trail",
    "can_view_user_findings",
    "visible_user_ids",
]


def can_view_dashboards(user: User) -> bool:
    return can_view_accounts(user)


def can_view_trail(user: User) -> bool:
    return can_view_audits(user)


def can_manage_audit_rules(user: User) -> bool:
    """Edit severity rules and training records in the admin: Sales Ops and superusers."""
    return user.is_superuser or roles.SALES_OPS in roles.user_roles(user)


def can_run_audit(user: User) -> bool:
    return can_manage_audit_rules(user)


def visible_user_ids(user: User) -> list[int] | None:
    """Return the ids of the users whose findings ``user`` may view, or None for everyone."""
    if can_view_all_audits(user):
        return None
    if can_view_audits(user):
        return team_member_ids(user)
    return []


def can_view_user_findings(user: User, subject_id: int | None) -> bool:
    visible = visible_user_ids(user)
    return visible is None or subject_id in visible


def can_manage_violation(user: User, violation: Violation) -> bool:
    """Acknowledge, resolve or set the consequence of a finding.

    Sales Ops and Sales Leadership act on every finding, a Sales Manager on those of
    their team.
    """
    if not can_view_audits(user):
        return False
    return can_view_user_findings(user, violation.responsible_id)


def can_decide_review(user: User, session: ReviewSession) -> bool:
    """Confirm or correct items of a session: its manager, or a superuser."""
    if not can_review_accounts(user):
        return False
    return user.is_superuser or session.manager_id == user.pk
