"""Authentication of API requests with personal API tokens (``Authorization: Bearer <key>``)."""

from __future__ import annotations

import functools

from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import OuterRef, QuerySet
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts import roles
from integrations.models import ApiToken
from integrations.services.tokens import KEY_PREFIX, api_token_touch, token_key_hash

KEYWORD = "Bearer"


@functools.cache
def _token_queryset() -> QuerySet[ApiToken]:
    """Return the tokens with their users, and on PostgreSQL each user's sales roles.

    The queryset is built once per process because resolving the roles subquery costs
    more than the query itself, and every lookup filters a copy of it.
    """
    queryset = ApiToken.objects.select_related("user")
    if connection.vendor == "postgresql":
        # Imported here: the module loads psycopg, which other databases do not need.
        from django.contrib.postgres.expressions import ArraySubquery

        role_names = Group.objects.filter(
            user=OuterRef("user_id"), name__in=roles.ALL_ROLES
        ).values("name")
        queryset = queryset.annotate(role_names=ArraySubquery(role_names))
    return queryset


def token_with_roles_find(key: str) -> ApiToken | None:
    """Return the token with this key and its user, as api_token_find does, or None.

    On PostgreSQL the same query reads the user's sales roles and stores them where
    ``accounts.roles.user_roles`` caches them, so the permission checks of the request
    need no query of their own. Other databases read the roles on first use.
    """
    if not key.startswith(KEY_PREFIX):
        return None
    token = _token_queryset().filter(key_hash=token_key_hash(key)).first()
    role_names = getattr(token, "role_names", None)
    if role_names is not None:
        token.user._icp_roles = frozenset(role_names)
    return token


def wrong_scheme_check(parts: list[bytes]) -> None:
    """Reject an API token sent with another scheme, such as ``Token icp_…``.

    Other schemes without an API token, such as a proxy's Basic credentials, are left to
    the next authentication class, so session requests behind such a proxy still work.
    """
    scheme = parts[0].decode("latin-1")
    credentials = parts[1] if len(parts) > 1 else b""
    if scheme.lower() == "token" or credentials.startswith(KEY_PREFIX.encode()):
        raise exceptions.AuthenticationFailed(
            f'The Authorization header uses the scheme "{scheme}", but the API expects '
            '"Bearer": send the API token as "Authorization: Bearer <key>".'
        )


class ApiTokenAuthentication(BaseAuthentication):
    """Authenticate with an ApiToken; ``request.auth`` is then the token and its scopes apply.

    Requests without an ``Authorization: Bearer`` header are left to the next class, such
    as session authentication.
    """

    def authenticate(self, request: Request) -> tuple | None:
        parts = get_authorization_header(request).split()
        if not parts:
            return None
        if parts[0].lower() != KEYWORD.lower().encode():
            wrong_scheme_check(parts)
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                'The Authorization header is malformed: send "Bearer <key>" with the key '
                "and no spaces in it."
            )
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(
                "The API token contains characters that are not ASCII: copy the key again."
            ) from error
        return self.authenticate_key(key)

    def authenticate_key(self, key: str) -> tuple:
        token = token_with_roles_find(key)
        if token is None:
            raise exceptions.AuthenticationFailed(
                "The API token is invalid: check the key, or create a new token."
            )
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                f"The API token {token.key_prefix}… was revoked: create a new token."
            )
        if token.is_expired(now):
            raise exceptions.AuthenticationFailed(
                f"The API token {token.key_prefix}… expired at {token.expires_at.isoformat()}: "
                "create a new token."
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(
                "The user of this API token is deactivated: ask Sales Ops to reactivate it."
            )
        api_token_touch(token, now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="api"'


def request_token(request: Request) -> ApiToken | None:
    """Return the API token that authenticated the request, or None for a session."""
    return request.auth if isinstance(request.auth, ApiToken) else None
