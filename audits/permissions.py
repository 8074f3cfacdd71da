"""Governance rules built on accounts.permissions: who acts on findings and reviews.

The rules that depend only on roles, such as who views dashboards, the trail or audits,
live in ``accounts.permissions`` and are imported here for the governance views. The
ones defined here add governance objects: a review session's manager, a finding's
responsible user.
"""

from accounts.permissions import (
    User,
    can_manage_audit_rules,
    can_review_accounts,
    can_view_audits,
    can_view_dashboards,
    can_view_trail,
    visible_user_ids,
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


def can_run_audit(user: User) -> bool:
    return can_manage_audit_rules(user)


def can_view_user_findings(user: User, subject_id: int | None) -> bool:
    visible = visible_user_ids(user)
    return visible is None or subject_id in visible


def can_manage_violation(user: User, violation: Violation) -> bool:
    """Acknowledge, resolve or set the consequence of a finding.

    Sales Ops and Sales Leadership act on every finding, a Sales Manager on those of
    their team, and nobody on a finding against themselves.
    """
    if not can_view_audits(user) or violation.responsible_id == user.pk:
        return False
    return can_view_user_findings(user, violation.responsible_id)


def can_decide_review(user: User, session: ReviewSession) -> bool:
    """Confirm or correct items of a session: its manager, or a superuser."""
    if not can_review_accounts(user):
        return False
    return user.is_superuser or session.manager_id == user.pk
