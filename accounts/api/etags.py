"""ETags of accounts and research notes, and the If-Match check that rejects stale changes.

The ETag is derived from the row's id, ``updated_at``, which every save changes, and for
an account ``scored_at``, which changes when a re-segmentation records a new framework
version without changing the result.
If-Match is optional: a request without it overwrites whatever is current.
"""

from __future__ import annotations

import hashlib
import re

from django.db.models import Model
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from .errors import PreconditionFailed

IF_MATCH_HEADER = "HTTP_IF_MATCH"
# An entity tag of RFC 9110 section 8.8.3: optional W/, then characters in double quotes.
ENTITY_TAG = re.compile(r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"')
IF_NONE_MATCH_HEADER = "HTTP_IF_NONE_MATCH"


def etag_for(instance: Model) -> str:
    """Return the quoted strong ETag of a row with ``updated_at`` and maybe ``scored_at``."""
    stamp = instance.updated_at.isoformat() if instance.updated_at else ""
    scored_at = getattr(instance, "scored_at", None)
    if scored_at is not None:
        stamp += f"/{scored_at.isoformat()}"
    digest = hashlib.sha256(f"{instance._meta.label}:{instance.pk}:{stamp}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def _listed_tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def precondition_failed(instance: Model) -> PreconditionFailed:
    """Return the 412 error for a change based on a version of ``instance`` that is not current."""
    current = etag_for(instance)
    return PreconditionFailed(
        f"The {instance._meta.verbose_name} changed since the version in If-Match was read "
        f"(current ETag {current}): fetch it again, reapply your change and send the new ETag.",
        etag=current,
    )


def if_match_version_given(request: Request) -> bool:
    """Return whether If-Match names versions, so that a change must apply to one of them.

    An absent If-Match and ``*`` accept whatever version is current.
    """
    header = request.META.get(IF_MATCH_HEADER)
    return header is not None and "*" not in _listed_tags(header)


def if_match_check(request: Request, instance: Model) -> None:
    """Raise PreconditionFailed (412) unless If-Match is absent, ``*`` or lists the current ETag.

    Weak ETags (``W/"…"``) never match, as RFC 9110 requires for If-Match. The 412 message
    for the weak form of the current ETag states that the row has not changed.
    """
    header = request.META.get(IF_MATCH_HEADER)
    if header is None:
        return
    tags = _listed_tags(header)
    current = etag_for(instance)
    if "*" in tags or current in tags:
        return
    malformed = [tag for tag in tags if tag != "*" and not ENTITY_TAG.fullmatch(tag)]
    if malformed or not tags:
        raise ValidationError(
            {
                "If-Match": [
                    f"The If-Match header {header!r} is malformed: send the ETag exactly as "
                    f"the ETag response header gives it, in double quotes, such as {current}, "
                    "or * for any version."
                ]
            }
        )
    if f"W/{current}" in tags:
        # The API sends strong ETags, so a W/ copy comes from a proxy or client that
        # weakened it. The row did not change, so the message gives the fix instead.
        raise PreconditionFailed(
            f"The If-Match ETag W/{current} is the weak form of the current ETag, and "
            "If-Match compares ETags strongly (RFC 9110, section 13.1.1), so it never "
            f"matches. The {instance._meta.verbose_name} has not changed: send {current} "
            "without W/, exactly as the ETag response header gives it.",
            etag=current,
        )
    raise precondition_failed(instance)


def if_none_match_hit(request: Request, instance: Model) -> bool:
    """Return True when If-None-Match lists the current ETag, so a GET can return 304."""
    header = request.META.get(IF_NONE_MATCH_HEADER)
    if header is None:
        return False
    tags = [tag.removeprefix("W/") for tag in _listed_tags(header)]
    return "*" in tags or etag_for(instance) in tags
