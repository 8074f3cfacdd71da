"""Review flags: clearing a flag when its value is corrected, and marking one reviewed.

An import writes a flag ``{"field", "value", "message"}`` (see accounts.importing.rows)
for a value it could not interpret. ``field`` names the import field, such as
``employees`` or ``location``, which may cover several Account fields. A flag is cleared
when a person saves a new value of one of those Account fields, or when a person who may
edit the account marks it reviewed. Either change is a save of the account, so the
account's history shows who cleared which flag and when.

A flag marked reviewed moves to ``Account.reviewed_flags`` with the reviewer's id and
the time, and imports do not raise a flag of the same field and value on that account
again. A flag of the same field with another value is raised as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import REVIEW_FLAG_LINES_KEY, Account
from accounts.permissions import can_research_account
from segmentation.signals import auto_resegmentation_paused

logger = logging.getLogger(__name__)

# Import fields of flags and the Account fields whose new value corrects them. A flag
# of another field (an identifier, a lead's e-mail, market cap …) has no Account field
# that a person edits, so only "Mark reviewed" clears it.
FLAG_ACCOUNT_FIELDS: dict[str, frozenset[str]] = {
    "name": frozenset({"name"}),
    "website": frozenset({"website", "domain"}),
    "domain": frozenset({"website", "domain"}),
    "industry": frozenset({"industry_id", "industry_raw"}),
    "employees": frozenset({"employee_count", "employee_min", "employee_max", "employee_raw"}),
    "revenue": frozenset({"revenue_amount", "annual_revenue_usd", "revenue_raw"}),
    "location": frozenset({"country", "region", "city"}),
    "technologies": frozenset({"technologies"}),
    "description": frozenset({"description"}),
}

# history_change_reason is a CharField of 100 characters.
MAX_REASON_LENGTH = 100


def flag_field(flag: Any) -> str:
    """Return the import field a flag is about, "" for a flag without one."""
    if isinstance(flag, dict):
        return str(flag.get("field") or "")
    return ""


def flags_unresolved(flags: Iterable[Any], changed_fields: Iterable[str]) -> list[Any]:
    """Return the flags that none of the changed Account fields corrects."""
    changed = set(changed_fields)
    return [
        flag for flag in flags if not FLAG_ACCOUNT_FIELDS.get(flag_field(flag), set()) & changed
    ]


def cleared_flags_reason(before: list[Any], after: list[Any]) -> str:
    """Return the history reason for flags that an edit cleared, "" when it cleared none."""
    fields = sorted({flag_field(flag) for flag in before if flag not in after})
    if not fields:
        return ""
    return _shorten(f"New value cleared the review flag of {', '.join(fields)}")


def _shorten(text: str) -> str:
    if len(text) <= MAX_REASON_LENGTH:
        return text
    return text[: MAX_REASON_LENGTH - 1] + "…"


def _flag_matches(flag: Any, field: str, value: str) -> bool:
    if isinstance(flag, dict):
        return flag_field(flag) == field and str(flag.get("value") or "") == value
    # A flag stored as plain text has no field, so its text names it.
    return not field and str(flag) == value


def reviewed_flag_record(flag: Any, *, user: AbstractBaseUser, reviewed_at: str) -> dict[str, Any]:
    """Build the Account.reviewed_flags entry of a flag that ``user`` reviewed.

    A flag stored as plain text becomes a flag without a field whose value is its text,
    which is how _flag_matches names it.
    """
    if isinstance(flag, dict):
        record = dict(flag)
    else:
        record = {"field": "", "value": str(flag), "message": str(flag)}
    record["reviewed_by"] = user.pk
    record["reviewed_at"] = reviewed_at
    return record


def review_flag_mark_reviewed(
    *, account: Account, user: AbstractBaseUser, field: str, value: str
) -> Account:
    """Move the account's flag of ``field`` and ``value`` to its reviewed flags.

    The import adds at most one flag per field and value, so the pair names one flag.
    The reviewed flag stores ``user``'s id and the time, and imports do not raise it for
    the same value again. The save is attributed to ``user`` with a reason, so the
    history shows who reviewed which flag and when. Raises PermissionDenied for a user
    who may not edit the account and ValidationError when the account has no such flag
    (someone cleared it already).
    """
    if not can_research_account(user, account):
        raise PermissionDenied(f"{user} may not edit account {account.pk}.")
    with transaction.atomic():
        locked = Account.objects.select_for_update(of=("self",)).get(pk=account.pk)
        flags = list(locked.review_flags or [])
        remaining = [flag for flag in flags if not _flag_matches(flag, field, value)]
        reviewed = [flag for flag in flags if _flag_matches(flag, field, value)]
        if not reviewed:
            raise ValidationError(
                f"Account {locked.pk} has no review flag of {field or 'no field'} with the "
                f"value “{value}”: someone cleared it already. Reload the page."
            )
        reviewed_at = timezone.now().isoformat()
        records = [
            reviewed_flag_record(flag, user=user, reviewed_at=reviewed_at) for flag in reviewed
        ]
        locked.review_flags = remaining
        locked.reviewed_flags = [
            record
            for record in locked.reviewed_flags or []
            if not _flag_matches(record, field, value)
        ] + records
        locked._history_user = user
        locked._change_reason = _shorten(f"Review flag of {field or 'no field'} marked reviewed")
        # Flags do not change the score, so the save queues no re-scoring.
        with auto_resegmentation_paused():
            locked.save(update_fields=["review_flags", "reviewed_flags", "updated_at"])
    logger.info(
        "account %s: user %s marked the review flag of %s reviewed", locked.pk, user.pk, field
    )
    if any(isinstance(flag, dict) and REVIEW_FLAG_LINES_KEY in flag for flag in reviewed):
        # A flag of two disagreeing rows of one file keeps its field conflicting, so the
        # field is verified again, and the account scored again if its status changed.
        from enrichment.services import accounts_resegment, accounts_verify

        result = accounts_verify(account_ids=[locked.pk], user=user)
        accounts_resegment(result.resegment_ids)
        locked.refresh_from_db()
    return locked
