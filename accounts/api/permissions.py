"""REST API permission classes. Each one calls the rules of ``accounts.permissions``.

The rules below the imports are the API's additions: who may create or delete accounts,
save segments, manage webhooks, and which token scopes a role may hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.urls import reverse
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts import permissions as rules
from accounts import roles
from accounts.workspace.bulk import ASSIGN, may_change_account

from .authentication import request_token

if TYPE_CHECKING:
    from rest_framework.views import APIView

User = AbstractBaseUser | AnonymousUser

# Roles that change data through the API. Marketing and Sales Leadership only read,
# except that Marketing saves segments.
WRITING_ROLES = frozenset({roles.SDR, roles.AE, roles.SALES_MANAGER, roles.SALES_OPS})
# Roles that create, change and delete their own saved segments. Marketing pulls segments
# for campaigns, so it saves them without any other right to change data.
SEGMENT_SAVING_ROLES = WRITING_ROLES | {roles.MARKETING}

# Token scopes in order from the narrowest, each with the scopes it grants. A wider scope
# grants the narrower ones, so a ["read", "write"] token also saves segments.
SCOPES_GRANTED = {
    "read": frozenset({"read"}),
    "segments": frozenset({"read", "segments"}),
    "write": frozenset({"read", "segments", "write"}),
}
# The roles whose tokens may hold each scope.
SCOPE_ROLES = {
    "read": frozenset(roles.ALL_ROLES),
    "segments": SEGMENT_SAVING_ROLES,
    "write": WRITING_ROLES,
}


def can_create_account(user: User) -> bool:
    """Add accounts one at a time: the roles that may import them."""
    return rules.can_import(user)


# Deleting accounts is also an admin rule, so it lives in accounts.permissions.
can_delete_account = rules.can_delete_account


def can_manage_webhooks(user: User) -> bool:
    return can_delete_account(user)


def words_listed(words: list[str], conjunction: str = "and") -> str:
    """Return words as text, such as "SDR, AE and Sales Ops" or "segments or write"."""
    if len(words) == 1:
        return words[0]
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def roles_listed(role_names: frozenset[str]) -> str:
    """Return role names in the order of ``roles.ALL_ROLES`` as text."""
    return words_listed([role for role in roles.ALL_ROLES if role in role_names])


def writing_roles_listed() -> str:
    """Return the roles that may write through the API as text, such as "SDR, AE and Sales Ops"."""
    return roles_listed(WRITING_ROLES)


def can_write_through_api(user: User) -> bool:
    return user.is_authenticated and (
        user.is_superuser or bool(roles.user_roles(user) & WRITING_ROLES)
    )


def can_save_segments(user: User) -> bool:
    """Create saved segments, and change and delete one's own."""
    return user.is_authenticated and (
        user.is_superuser or bool(roles.user_roles(user) & SEGMENT_SAVING_ROLES)
    )


def allowed_token_scopes(user: User) -> set[str]:
    """Return the scopes a token of this user may hold.

    A user without a sales role may hold none, Sales Leadership read, Marketing read and
    segments, and the writing roles read, segments and write.
    """
    if not rules.can_view_accounts(user):
        return set()
    allowed = {"read"}
    if can_save_segments(user):
        allowed.add("segments")
    if can_write_through_api(user):
        allowed.add("write")
    return allowed


def token_scopes_granted(scopes: list[str]) -> set[str]:
    """Return the scopes that a token's stored scopes grant, narrower ones included.

    An unknown stored scope grants nothing.
    """
    granted: set[str] = set()
    for scope in scopes:
        granted |= SCOPES_GRANTED.get(scope, frozenset())
    return granted


def required_token_scope(method: str, view: APIView) -> str:
    """Return the token scope that a request with this HTTP method needs.

    GET, HEAD and OPTIONS need read. Other methods need the view's ``write_scope``, which
    is write unless the view names a narrower scope, as the saved segments name segments.
    """
    if method in SAFE_METHODS:
        return "read"
    return getattr(view, "write_scope", "write")


def scopes_granting(scope: str) -> list[str]:
    """Return the scopes that grant ``scope``, narrowest first."""
    return [name for name, granted in SCOPES_GRANTED.items() if scope in granted]


def scopes_listed(scopes: list[str] | set[str], conjunction: str = "and") -> str:
    """Return scopes as text, narrowest first, such as "the read and segments scopes"."""
    names = [scope for scope in SCOPES_GRANTED if scope in scopes]
    if not names:
        return "no known scope"
    noun = "scopes" if len(names) > 1 and conjunction == "and" else "scope"
    return f"the {words_listed(names, conjunction)} {noun}"


def can_edit_saved_segment(user: User, owner_id: int | None) -> bool:
    return user.is_authenticated and (user.is_superuser or owner_id == user.pk)


def visible_violations(user: User, queryset: QuerySet) -> QuerySet:
    """Narrow audit violations to the user's: all for Sales Ops and Leadership, the team's
    for a Sales Manager, none for other roles."""
    if rules.can_view_all_audits(user):
        return queryset
    if rules.can_view_audits(user):
        return queryset.filter(responsible_id__in=rules.team_member_ids(user))
    return queryset.none()


class HasSalesRole(BasePermission):
    """Allow users who hold a sales role, and superusers, to read."""

    message = "Your user has no sales role, so it cannot use the API. Ask Sales Ops for one."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return rules.can_view_accounts(request.user)


# The name the existing API used.
CanViewAccounts = HasSalesRole


class TokenScopePermission(BasePermission):
    """Limit token requests to the token's scopes and to what the user's role still allows.

    The scope that a request needs comes from ``required_token_scope``. A session request
    passes: its rights come from the role alone.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = request_token(request)
        if token is None:
            return True
        needed = required_token_scope(request.method, view)
        granted = token_scopes_granted(token.scopes)
        allowed = allowed_token_scopes(request.user)
        if needed in granted and needed in allowed:
            return True
        token_scopes_text = scopes_listed(token.scopes)
        if needed not in granted and needed not in allowed:
            self.message = (
                f"The API token {token.key_prefix}… has {token_scopes_text} only, so it cannot "
                f"{request.method} here, and your role cannot hold the {needed} scope that "
                f"this needs: only {roles_listed(SCOPE_ROLES[needed])} get tokens with the "
                f"{needed} scope."
            )
        elif needed not in granted:
            # Only the scopes that the role may hold are suggested.
            suggested = scopes_listed(set(scopes_granting(needed)) & allowed, conjunction="or")
            self.message = (
                f"The API token {token.key_prefix}… has {token_scopes_text} only, so it cannot "
                f"{request.method} here. Use a token with {suggested}, created on the API "
                f"tokens page ({reverse('integrations:token-list')})."
            )
        else:
            self.message = (
                f"Your role no longer allows the {needed} scope of token {token.key_prefix}…. "
                "Ask Sales Ops for a role that allows it."
            )
        return False


class SessionOnly(BasePermission):
    """Allow only signed-in sessions, so a leaked token cannot create more tokens."""

    message = "API tokens are managed from a signed-in session, not with a token."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request_token(request) is None


class AccountPermission(BasePermission):
    """Read for every sales role; create, update and delete as ``accounts.permissions`` allows."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not rules.can_view_accounts(user):
            self.message = HasSalesRole.message
            return False
        if request.method in SAFE_METHODS:
            return True
        if request.method == "POST" and getattr(view, "action", None) == "create":
            self.message = (
                "Your role cannot create accounts: SDRs, Sales Managers and Sales Ops can."
            )
            return can_create_account(user)
        if request.method == "DELETE":
            self.message = "Only Sales Ops can delete accounts."
            return can_delete_account(user)
        self.message = "Your role cannot change accounts."
        return can_write_through_api(user)

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if request.method == "DELETE":
            return can_delete_account(request.user)
        allowed = rules.can_research_account(request.user, obj)
        if not allowed and _changes_only_owner(request, view, obj):
            # Sales Ops assign owners without researching accounts, as the list's bulk
            # "Assign owner" does. The serializer checks the new owner_id itself.
            allowed = may_change_account(request.user, ASSIGN, obj)
        if not allowed:
            self.message = rules.research_denied_message(request.user, obj)
        return allowed


def _changes_only_owner(request: Request, view: APIView, account: Any) -> bool:
    """Return True when a PUT or PATCH body changes ``owner_id`` and no other field.

    Other fields may be sent with their current value, as in the body of a GET.
    """
    if request.method not in ("PUT", "PATCH"):
        return False
    data = request.data
    if not isinstance(data, Mapping) or "owner_id" not in data:
        return False
    current = view.get_serializer(account).data
    return all(
        name in current and current[name] == value
        for name, value in data.items()
        if name != "owner_id"
    )


class FrameworkPermission(BasePermission):
    """Read for every sales role; creating a draft copy for Sales Ops."""

    message = "Only Sales Ops can create framework drafts."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not rules.can_view_accounts(request.user):
            self.message = HasSalesRole.message
            return False
        return request.method in SAFE_METHODS or rules.can_edit_framework(request.user)


class ImportPermission(BasePermission):
    """Imports and their details for the roles that import; a read names the summaries."""

    message = "Your role cannot import accounts: SDRs, Sales Managers and Sales Ops can."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if rules.can_import(request.user):
            return True
        if request.method in SAFE_METHODS:
            self.message = (
                "Your role cannot read import details here: SDRs, Sales Managers and Sales "
                "Ops can. Every sales role can read import summaries at /api/v1/import-runs/."
            )
        return False


class AuditPermission(BasePermission):
    message = "Only Sales Managers, Sales Ops and Sales Leadership can read audit findings."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return rules.can_view_audits(request.user)


class WebhookPermission(BasePermission):
    message = "Only Sales Ops can manage webhook subscriptions."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return can_manage_webhooks(request.user)


class SavedSegmentPermission(BasePermission):
    """Let every sales role read its own and the shared saved segments.

    The writing roles and Marketing create segments. Only the owner, or a superuser,
    changes or deletes one.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not rules.can_view_accounts(request.user):
            self.message = HasSalesRole.message
            return False
        if request.method in SAFE_METHODS:
            return True
        self.message = (
            "Your role only reads, so it cannot save segments: only "
            f"{roles_listed(SEGMENT_SAVING_ROLES)} can."
        )
        return can_save_segments(request.user)

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        self.message = f"Saved segment {obj.pk} belongs to another user: only its owner changes it."
        return can_edit_saved_segment(request.user, obj.owner_id)
