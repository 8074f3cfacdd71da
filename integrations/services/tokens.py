"""Create, look up and revoke personal API tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from integrations.models import ApiToken

logger = logging.getLogger(__name__)

KEY_PREFIX = "icp_"
# Characters of the key kept in clear text to tell tokens apart, including "icp_".
DISPLAYED_PREFIX_LENGTH = 12
# last_used_at is written at most this often per token, so reads cost no write each.
LAST_USED_PRECISION = timedelta(minutes=1)
# The scope lists that a client may send, as error messages name them.
SCOPE_FORMS = '["read"], ["read", "segments"] or ["read", "write"]'
EMPTY_SCOPES_MESSAGE = f"A token needs at least one scope: send {SCOPE_FORMS}."


def token_key_hash(key: str) -> str:
    """Return the hex SHA-256 digest under which a key is stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def token_scopes_clean(user: AbstractBaseUser, scopes: list[str]) -> list[str]:
    """Return the scopes sorted and with ``read`` added to ``segments`` and ``write``.

    ``write`` is stored without ``segments``, as tokens were before that scope existed,
    because it grants ``segments`` anyway (``accounts.api.permissions.SCOPES_GRANTED``).
    Raises ValidationError when a scope is unknown or more than the user's role allows,
    so a Marketing user, whose role only reads and saves segments, cannot hold a write token.
    """
    # Imported here: the API permission rules import the accounts app, which is loaded later.
    from accounts.api.permissions import allowed_token_scopes

    if not isinstance(scopes, list):
        raise ValidationError({"scopes": f"Give the scopes as a list: {SCOPE_FORMS}."})
    if not scopes:
        raise ValidationError({"scopes": EMPTY_SCOPES_MESSAGE})
    known = set(ApiToken.Scope.values)
    unknown = sorted({str(scope) for scope in scopes} - known)
    if unknown:
        raise ValidationError({"scopes": f"Unknown scopes {unknown}: use {SCOPE_FORMS}."})
    requested = set(scopes)
    if requested & {ApiToken.Scope.SEGMENTS, ApiToken.Scope.WRITE}:
        requested.add(ApiToken.Scope.READ)
    allowed = allowed_token_scopes(user)
    excess = sorted(requested - allowed)
    if excess:
        allowed_text = " and ".join(sorted(allowed)) or "no"
        raise ValidationError(
            {
                "scopes": f"Your role allows {allowed_text} scopes only, so a token with "
                f"{', '.join(excess)} cannot be created. Ask Sales Ops if you need more."
            }
        )
    return sorted(requested)


def api_token_create(
    *,
    user: AbstractBaseUser,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its key, which is not stored and cannot be shown again.

    Raises ValidationError for scopes beyond the user's role or an expiry in the past.
    """
    clean_scopes = token_scopes_clean(user, scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(
            {"expires_at": f"The expiry {expires_at.isoformat()} is in the past: use a later time."}
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_prefix=key[:DISPLAYED_PREFIX_LENGTH],
        key_hash=token_key_hash(key),
        scopes=clean_scopes,
        expires_at=expires_at,
    )
    logger.info("API token %s (%s) created for user %s", token.pk, clean_scopes, user.pk)
    return token, key


def api_token_find(key: str) -> ApiToken | None:
    """Return the token with this key, with its user loaded, or None."""
    if not key.startswith(KEY_PREFIX):
        return None
    return ApiToken.objects.select_related("user").filter(key_hash=token_key_hash(key)).first()


def api_token_touch(token: ApiToken, now: datetime | None = None) -> None:
    """Record that the token was used, at most once per LAST_USED_PRECISION."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_PRECISION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def api_token_revoke(token: ApiToken) -> ApiToken:
    """Revoke the token now; a revoked token stays listed but no longer authenticates."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        logger.info("API token %s of user %s revoked", token.pk, token.user_id)
    return token
