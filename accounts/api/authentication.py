"""Authentication of API requests with personal API tokens (``Authorization: Bearer <key>``)."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from integrations.models import ApiToken
from integrations.services.tokens import api_token_find, api_token_touch

KEYWORD = "Bearer"


class ApiTokenAuthentication(BaseAuthentication):
    """Authenticate with an ApiToken; ``request.auth`` is then the token and its scopes apply.

    Requests without an ``Authorization: Bearer`` header are left to the next class, such
    as session authentication.
    """

    def authenticate(self, request: Request) -> tuple | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
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
        token = api_token_find(key)
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
