"""Bulk actions on selected accounts: assign an owner, enrich, override the tag, export.

Each action checks every account: accounts the user may not change are skipped and
returned with the reason, so the page can report them. Nothing is skipped silently.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from accounts import roles
from accounts.exports import ACCOUNT_CSV_LOOKUPS, account_csv_chunks
from accounts.importing.errors import WriterAlreadyRunning
from accounts.importing.serial import running_writer_check
from accounts.models import Account, SegmentOverride
from accounts.permissions import (
    can_assign_owner,
    can_enrich,
    can_export,
    can_research_account,
)
from accounts.research import account_segment_override
from audits.baseline import record_account_baselines
from audits.history import current_channel
from segmentation.tags import active_tag_checker

logger = logging.getLogger(__name__)

ASSIGN = "assign"
TAKE = "take"
ENRICH = "enrich"
TAG = "tag"
EXPORT = "export"
ACTIONS = (ASSIGN, TAKE, ENRICH, TAG, EXPORT)

# Accounts one bulk request may select: the largest list page has 100 rows.
MAX_BULK_ACCOUNTS = 500

# Roles that research accounts, and so may override tags in bulk.
RESEARCH_ROLES = frozenset({roles.SDR, roles.AE, roles.SALES_MANAGER})
# Roles that own the accounts they research, and so may take unowned ones.
TAKING_ROLES = frozenset({roles.SDR, roles.AE})
# Roles that assign owners and start enrichment for any account.
OPERATIONS_ROLES = frozenset({roles.SALES_OPS})


class EnrichmentUnavailable(Exception):
    """Enrichment cannot start: the enrichment app or the chosen provider is not set up,
    or another long write runs on a database that writes one at a time (SQLite).
    """


def may_use_action(user: AbstractBaseUser, action: str) -> bool:
    """Return True when the user may run the bulk action on at least some accounts."""
    if action == ASSIGN:
        return can_assign_owner(user)
    if action == TAKE:
        return bool(roles.user_roles(user) & TAKING_ROLES)
    if action == ENRICH:
        return can_enrich(user)
    if action == TAG:
        return user.is_superuser or bool(roles.user_roles(user) & RESEARCH_ROLES)
    if action == EXPORT:
        return can_export(user)
    return False


def may_change_account(user: AbstractBaseUser, action: str, account: Account) -> bool:
    """Return True when the bulk action may change this account.

    Sales Ops assign owners and enrich every account, everyone else only the accounts
    they may research. Export reads, so every account the user sees is allowed.
    """
    if action == EXPORT:
        return can_export(user)
    if action == TAKE:
        # Taking someone else's account stays a manager's reassignment.
        return may_use_action(user, action) and account.owner_id in (None, user.pk)
    if action in (ASSIGN, ENRICH) and (
        user.is_superuser or roles.user_roles(user) & OPERATIONS_ROLES
    ):
        return may_use_action(user, action)
    return may_use_action(user, action) and can_research_account(user, account)


@dataclass
class BulkSelection:
    """The selected accounts split into those the action may change and those it skips."""

    allowed: list[Account] = field(default_factory=list)
    skipped: list[Account] = field(default_factory=list)
    missing_ids: list[int] = field(default_factory=list)

    @property
    def allowed_ids(self) -> list[int]:
        return [account.pk for account in self.allowed]


def bulk_selection(
    *, user: AbstractBaseUser, action: str, account_ids: Iterable[int]
) -> BulkSelection:
    """Load the selected accounts with one query and check the action on each.

    Raises ValidationError for an unknown action, an empty selection or more than
    MAX_BULK_ACCOUNTS accounts, and PermissionDenied when the user may not use the action.
    """
    if action not in ACTIONS:
        raise ValidationError(
            {"action": f"Action {action!r} is unknown: choose one from the list."}
        )
    ids = list(dict.fromkeys(account_ids))
    if not ids:
        raise ValidationError({"account_ids": "No account is selected: tick at least one row."})
    if len(ids) > MAX_BULK_ACCOUNTS:
        raise ValidationError(
            {
                "account_ids": f"{len(ids)} accounts are selected, more than the "
                f"{MAX_BULK_ACCOUNTS} one action may change: select fewer rows."
            }
        )
    if not may_use_action(user, action):
        raise PermissionDenied(f"{user} may not use the bulk action {action}.")
    accounts = Account.objects.select_related("owner", "industry").in_bulk(ids)
    selection = BulkSelection()
    for account_id in ids:
        account = accounts.get(account_id)
        if account is None:
            selection.missing_ids.append(account_id)
        elif may_change_account(user, action, account):
            selection.allowed.append(account)
        else:
            selection.skipped.append(account)
    return selection


def accounts_owner_assign(
    *, selection: BulkSelection, owner: AbstractBaseUser | None, user: AbstractBaseUser
) -> int:
    """Give the allowed accounts a new owner (None unassigns them); return how many changed.

    The change is written with one history row per account, attributed to ``user``.
    """
    now = timezone.now()
    changed = [
        account
        for account in selection.allowed
        if account.owner_id != (owner.pk if owner is not None else None)
    ]
    for account in changed:
        account.owner = owner
        account.updated_at = now
    with transaction.atomic():
        record_account_baselines(account.pk for account in changed)
        bulk_update_with_history(
            changed,
            Account,
            ["owner", "updated_at"],
            default_user=user,
            default_change_reason="Owner assigned in bulk",
            custom_historical_attrs={"history_channel": current_channel()},
        )
    logger.info(
        "user %s assigned %s accounts to owner %s",
        user.pk,
        len(changed),
        owner.pk if owner is not None else None,
    )
    return len(changed)


def accounts_take(*, selection: BulkSelection, user: AbstractBaseUser) -> int:
    """Make ``user`` the owner of the allowed accounts that are still unowned; return how many.

    The rows are locked and read again, so an account that someone else took after the
    selection was checked keeps that owner. One history row per account names ``user``.
    """
    now = timezone.now()
    with transaction.atomic():
        still_unowned = list(
            Account.objects.select_for_update(of=("self",)).filter(
                pk__in=selection.allowed_ids, owner__isnull=True
            )
        )
        for account in still_unowned:
            account.owner = user
            account.updated_at = now
        record_account_baselines(account.pk for account in still_unowned)
        bulk_update_with_history(
            still_unowned,
            Account,
            ["owner", "updated_at"],
            default_user=user,
            default_change_reason="Taken by its new owner",
            custom_historical_attrs={"history_channel": current_channel()},
        )
    logger.info("user %s took %s unowned accounts", user.pk, len(still_unowned))
    return len(still_unowned)


def account_take(*, account: Account, user: AbstractBaseUser) -> Account:
    """Make ``user`` the owner of one unowned account, from the account page.

    Raises PermissionDenied for a role that does not own accounts, and ValidationError
    when the account has an owner, who only a Sales Manager or Sales Ops may replace.
    """
    if not may_use_action(user, TAKE):
        raise PermissionDenied(f"{user} may not take accounts: only SDRs and AEs own them.")
    with transaction.atomic():
        locked = Account.objects.select_for_update(of=("self",)).get(pk=account.pk)
        if locked.owner_id is not None:
            raise ValidationError(
                f"Account {locked.pk} already has an owner, so it cannot be assigned to you: "
                "ask a Sales Manager to reassign it."
            )
        locked.owner = user
        locked._history_user = user
        locked._change_reason = "Taken by its new owner"
        locked.save(update_fields=["owner", "updated_at"])
    logger.info("user %s took account %s", user.pk, locked.pk)
    return locked


def accounts_tag_override(
    *,
    selection: BulkSelection,
    user: AbstractBaseUser,
    reason: str,
    tag: str | None = None,
    tier: str | None = None,
) -> int:
    """Set the tag and/or tier of every allowed account with a reason; return the count.

    Each account gets its own manual_tag override and score record, as on the account page.
    Raises ValidationError before changing anything when the reason, tag or tier is invalid.
    """
    if tag is None and tier is None:
        raise ValidationError({"tag": "Enter a tag or choose a tier to set."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Reason is empty: say why these tags change."})
    # One check for all the accounts, before any of them changes.
    tags = active_tag_checker() if tag is not None else None
    if tags is not None:
        tag = tags.clean(tag, tier=tier)
    with transaction.atomic():
        for account in selection.allowed:
            try:
                account_segment_override(
                    account=account,
                    user=user,
                    kind=SegmentOverride.Kind.MANUAL_TAG,
                    reason=reason,
                    tag=tag,
                    tier=tier,
                    tags=tags,
                )
            except ValidationError as error:
                # A tag that names a tier can disagree with one account's own tier.
                messages = [f"{account.name}: {message}" for message in error.messages]
                raise ValidationError({"tag": messages}) from error
    logger.info("user %s overrode the segment of %s accounts", user.pk, len(selection.allowed))
    return len(selection.allowed)


# Enrichment ----------------------------------------------------------------------------


def enrichment_providers() -> list[str]:
    """Return the enrichment providers that can run: the configured ones and the website."""
    try:
        from enrichment.providers import PROVIDER_CLASSES
        from enrichment.services import provider_check_configured
    except ImportError:
        return []
    usable = []
    for name in PROVIDER_CLASSES:
        try:
            provider_check_configured(name)
        except Exception:  # noqa: BLE001 - ProviderNotConfigured or an import problem
            continue
        usable.append(name)
    return usable


def accounts_enrichment_start(
    *, selection: BulkSelection, provider: str, user: AbstractBaseUser
) -> Any:
    """Create an enrichment run for the allowed accounts and queue it after the commit.

    Returns the EnrichmentRun. Raises EnrichmentUnavailable with the reason when the
    enrichment app is missing, the provider is not configured, or an import or another
    long write is running on a database that writes one at a time (SQLite).
    """
    try:
        from enrichment.services import enrichment_run_create, provider_check_configured
        from enrichment.tasks import enrichment_run_queue
    except ImportError as error:
        raise EnrichmentUnavailable(
            "Enrichment isn't available: the enrichment tasks are not installed on this "
            "portal. Ask Sales Ops to set them up."
        ) from error
    try:
        provider_check_configured(provider)
    except KeyError as error:
        raise EnrichmentUnavailable(
            f"Enrichment isn't available with {provider!r}: it is not a known provider."
        ) from error
    except Exception as error:  # noqa: BLE001 - ProviderNotConfigured and its kin
        raise EnrichmentUnavailable(
            f"Enrichment isn't available with {provider}: {error}"
        ) from error

    try:
        # Without a broker the run would wait in this request for the running job.
        running_writer_check("this enrichment run")
    except WriterAlreadyRunning as error:
        raise EnrichmentUnavailable(str(error)) from error

    with transaction.atomic():
        run = enrichment_run_create(
            provider=provider, account_ids=selection.allowed_ids, triggered_by=user
        )
        transaction.on_commit(lambda: enrichment_run_queue(run.pk))
    return run


# CSV export ----------------------------------------------------------------------------

# A cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER_RE = re.compile(r"[+-]?\d+(?:[.,]\d+)?")
# Rows fetched per round trip while the selected accounts are exported.
EXPORT_FETCH_ROWS = 2000


def csv_safe_cell(value: Any) -> str:
    """Return a cell as text that spreadsheet programs will not run as a formula.

    Text starting with =, +, -, @, a tab or a carriage return gets a leading single
    quote. Plain numbers such as -8 or +1.5 stay as they are.
    """
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER_RE.fullmatch(text):
        return "'" + text
    return text


def accounts_csv_lines(accounts: QuerySet[Account]) -> Iterator[bytes]:
    """Yield the export as CSV, a header line first, in the API's columns and formatting.

    The columns, headers and cell formats are those of ``accounts.exports``, so a selection
    exported from the list page reads the same as the API's CSV of the same accounts.
    """
    rows = accounts.values_list(*ACCOUNT_CSV_LOOKUPS).iterator(chunk_size=EXPORT_FETCH_ROWS)
    return account_csv_chunks(rows)


def csv_neutralize_lines(lines: Iterable[list[str]]) -> Iterator[str]:
    """Yield CSV text of rows of cells, each cell passed through csv_safe_cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for cells in lines:
        writer.writerow([csv_safe_cell(cell) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        yield text
