"""Who may do what: one set of rules for pages, the admin and the API.

Roles are Django groups (see ``accounts.roles``). Superusers may do everything. Account
rules depend on ownership: an SDR works on the accounts they own or that nobody owns, an
AE on the accounts they own, and a Sales Manager on the accounts owned by their team
(the users whose profile names them as manager) and on unassigned ones.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from . import roles
from .models import Account, ImportRun, ResearchNote

User = AbstractBaseUser | AnonymousUser

# Roles that research accounts and so write notes.
NOTE_WRITING_ROLES = (roles.SDR, roles.AE, roles.SALES_MANAGER)


def _has(user: User, *role_names: str) -> bool:
    return bool(roles.user_roles(user).intersection(role_names))


def team_member_ids(manager: User) -> list[int]:
    """Return the ids of the manager and of the users who report to them."""
    if not manager.is_authenticated:
        return []
    cached = getattr(manager, "_icp_team_ids", None)
    if cached is None:
        from .models import UserProfile

        cached = [manager.pk]
        cached += list(
            UserProfile.objects.filter(manager=manager).values_list("user_id", flat=True)
        )
        manager._icp_team_ids = cached
    return cached


def can_view_accounts(user: User) -> bool:
    return bool(roles.user_roles(user))


def can_research_account(user: User, account: Account) -> bool:
    """Edit fields, tags and notes of one account."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    owner_id = account.owner_id
    if _has(user, roles.SDR) and owner_id in (None, user.pk):
        return True
    if _has(user, roles.AE) and owner_id == user.pk:
        return True
    return _has(user, roles.SALES_MANAGER) and (
        owner_id is None or owner_id in team_member_ids(user)
    )


def research_denied_message(user: User, account: Account) -> str:
    """Return why ``user`` may not change ``account``, by the rule of each of their roles."""
    rules = []
    if _has(user, roles.SDR):
        rules.append("SDRs change the accounts they own and unassigned ones")
    if _has(user, roles.AE):
        rules.append("AEs change the accounts they own")
    if _has(user, roles.SALES_MANAGER):
        rules.append("Sales Managers change their team's accounts and unassigned ones")
    if not rules:
        return (
            f"You cannot change account {account.pk}: your role does not change account "
            "fields. SDRs, AEs and Sales Managers research accounts: ask the account's "
            "owner or their manager."
        )
    if account.owner_id is None:
        owner = "is unassigned"
    else:
        owner = f"{account.owner.get_full_name() or account.owner.get_username()} owns"
    return (
        f"You cannot change account {account.pk}, which {owner}: "
        + ". ".join(rules)
        + ". Ask the owner or their manager."
    )


def can_add_note(user: User, account: Account) -> bool:
    return can_research_account(user, account)


def can_change_note(user: User, note: ResearchNote) -> bool:
    """Edit or delete a research note: its author, a Sales Manager, or Sales Ops.

    As with imports, the author needs a role that writes notes, and a Sales Manager
    changes the notes of their team. A Sales Manager also changes the notes of the
    accounts they review (their team's and unassigned ones), such as a note whose author
    left or one without an author.
    """
    if not user.is_authenticated:
        return False
    if user.is_superuser or _has(user, roles.SALES_OPS):
        return True
    if note.author_id == user.pk and _has(user, *NOTE_WRITING_ROLES):
        return True
    if not _has(user, roles.SALES_MANAGER):
        return False
    if note.author_id is not None and note.author_id in team_member_ids(user):
        return True
    return can_review_account(user, note.account)


def note_change_denied_message(user: User, note: ResearchNote) -> str:
    """Return why ``user`` may not edit or delete ``note``, with whom to ask."""
    author = note.author
    if author is None:
        written = "has no author"
    else:
        written = f"was written by {author.get_full_name() or author.get_username()}"
    return (
        f"You cannot change note {note.pk}, which {written}: only its author, their Sales "
        "Manager, the Sales Manager of the account's team, or Sales Ops can edit or delete "
        "it. Ask one of them."
    )


def can_validate_fit(user: User, account: Account) -> bool:
    """Confirm or refine the fit of an account after discovery."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if _has(user, roles.AE) and account.owner_id == user.pk:
        return True
    return _has(user, roles.SALES_MANAGER) and account.owner_id in team_member_ids(user)


def can_review_accounts(user: User) -> bool:
    return user.is_superuser or _has(user, roles.SALES_MANAGER)


def can_review_account(user: User, account: Account) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return _has(user, roles.SALES_MANAGER) and (
        account.owner_id is None or account.owner_id in team_member_ids(user)
    )


def can_assign_owner(user: User) -> bool:
    return user.is_superuser or _has(user, roles.SALES_MANAGER, roles.SALES_OPS)


def can_import(user: User) -> bool:
    return user.is_superuser or _has(user, roles.SALES_OPS, roles.SDR, roles.SALES_MANAGER)


def can_cancel_import(user: User, run: ImportRun) -> bool:
    """Stop a pending or running import: its starter, their Sales Manager, or Sales Ops.

    Sales Managers see every import (selectors.may_see_all_imports) but stop only those of
    their team, as with accounts. An import without a starter, such as one started with
    manage.py import_accounts, is left to Sales Ops. The starter needs an importing role.
    """
    if not can_import(user):
        return False
    if user.is_superuser or _has(user, roles.SALES_OPS):
        return True
    starter_id = run.created_by_id
    if starter_id is None:
        return False
    if starter_id == user.pk:
        return True
    return _has(user, roles.SALES_MANAGER) and starter_id in team_member_ids(user)


def can_finish_import_scoring(user: User) -> bool:
    """Score again the accounts of an import whose scoring did not finish: Sales Ops."""
    return user.is_superuser or _has(user, roles.SALES_OPS)


def can_enrich(user: User) -> bool:
    return user.is_superuser or _has(
        user, roles.SDR, roles.AE, roles.SALES_MANAGER, roles.SALES_OPS
    )


def can_export(user: User) -> bool:
    return can_view_accounts(user)


def can_edit_framework(user: User) -> bool:
    return user.is_superuser or _has(user, roles.SALES_OPS)


def can_approve_framework(user: User) -> bool:
    return user.is_superuser or _has(user, roles.SALES_LEADERSHIP)


def can_follow_framework(user: User) -> bool:
    """Follow framework work (previews, runs, the revision register): Sales Ops, Leadership."""
    return can_edit_framework(user) or can_approve_framework(user)


def can_manage_taxonomy(user: User) -> bool:
    return user.is_superuser or _has(user, roles.SALES_OPS)


def can_delete_account(user: User) -> bool:
    return user.is_authenticated and (user.is_superuser or _has(user, roles.SALES_OPS))


def can_manage_audit_rules(user: User) -> bool:
    """Edit severity rules and training records, and run audits: Sales Ops and superusers."""
    return user.is_superuser or _has(user, roles.SALES_OPS)


def can_view_dashboards(user: User) -> bool:
    return can_view_accounts(user)


def can_view_trail(user: User) -> bool:
    return can_view_audits(user)


def can_view_audits(user: User) -> bool:
    return user.is_superuser or _has(
        user, roles.SALES_MANAGER, roles.SALES_OPS, roles.SALES_LEADERSHIP
    )


def can_view_all_audits(user: User) -> bool:
    """See every team's audit findings rather than only the manager's own team."""
    return user.is_superuser or _has(user, roles.SALES_OPS, roles.SALES_LEADERSHIP)


def visible_user_ids(user: User) -> list[int] | None:
    """Return the ids of the users whose findings ``user`` may view, or None for everyone."""
    if can_view_all_audits(user):
        return None
    if can_view_audits(user):
        return team_member_ids(user)
    return []


def researchable_accounts(user: User, queryset: QuerySet[Account]) -> QuerySet[Account]:
    """Narrow ``queryset`` to the accounts ``user`` may edit, mirroring can_research_account."""
    if not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    condition = Q(pk__in=[])
    if _has(user, roles.SDR):
        condition |= Q(owner__isnull=True) | Q(owner=user)
    if _has(user, roles.AE):
        condition |= Q(owner=user)
    if _has(user, roles.SALES_MANAGER):
        condition |= Q(owner__isnull=True) | Q(owner_id__in=team_member_ids(user))
    return queryset.filter(condition)
