"""A history row of an account's values before its first recorded change.

Imports and other bulk writes store accounts without history rows, so the trail could
not show what the first change by a person replaced. Before an account without history
is saved, its stored values are recorded as a baseline row, which the change then
compares with, and which an audit of an earlier month reads as the values at its end.
Bulk writes with history rows send no pre_save, so they call record_account_baselines
before writing, whether a person or an unattended run such as enrichment makes them.

A baseline row is not the account's creation. Its values may come from the import that
created the account and from any bulk write after it, such as re-scoring, and not every
bulk write sets ``updated_at``. So the row is dated when the values were read, just
before the change, and records no channel. Pages and the trail show it by its note.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import Account

BASELINE_NOTE = "Values before the first recorded change, as an import or bulk update stored them."
# Names of a baseline row on the account page and in the trail.
BASELINE_TITLE = "Values before the first recorded change"
BASELINE_ACTION = "Baseline"
# Channel of a baseline row: none, because its values may come from several earlier writes.
BASELINE_CHANNEL = ""
# Baseline rows per INSERT statement of record_account_baselines.
BASELINE_BATCH_SIZE = 1000


def baseline_rows() -> Q:
    """Return the filter that selects baseline rows of the Account history table."""
    return Q(history_type="+", history_change_reason=BASELINE_NOTE)


def is_baseline(row: Any) -> bool:
    """Return True when a history row is a baseline, not a recorded change."""
    return (
        row.instance_type is Account
        and row.history_type == "+"
        and row.history_change_reason == BASELINE_NOTE
    )


@receiver(pre_save, sender=Account, dispatch_uid="audits_record_account_baseline")
def record_account_baseline(sender, instance: Account, raw: bool = False, **kwargs) -> None:
    """Record the stored values of an account that has no history row yet."""
    if raw or instance._state.adding or instance.pk is None:
        return
    history_model = Account.history.model
    if history_model.objects.filter(id=instance.pk).exists():
        return
    stored = Account.objects.filter(pk=instance.pk).first()
    if stored is None:
        return
    history_model.objects.create(**_baseline_values(stored, timezone.now()))


def record_account_baselines(account_ids: Iterable[int]) -> int:
    """Record the stored values of each of the accounts that has no history row yet.

    bulk_update_with_history sends no pre_save, so a bulk write of Account history rows
    calls this before it writes. One query reads the accounts without history, and INSERT
    statements of BASELINE_BATCH_SIZE rows store theirs. Returns how many were recorded.
    """
    ids = sorted(set(account_ids))
    if not ids:
        return 0
    history_model = Account.history.model
    with_history = history_model.objects.filter(id=OuterRef("pk"))
    stored = Account.objects.filter(pk__in=ids).exclude(Exists(with_history))
    now = timezone.now()
    rows = [history_model(**_baseline_values(account, now)) for account in stored]
    history_model.objects.bulk_create(rows, batch_size=BASELINE_BATCH_SIZE)
    return len(rows)


def _baseline_values(stored: Account, history_date: datetime) -> dict[str, Any]:
    history_model = Account.history.model
    values = {
        field.attname: getattr(stored, field.attname)
        for field in history_model._meta.concrete_fields
        if not field.name.startswith("history_") and hasattr(stored, field.attname)
    }
    return {
        **values,
        "history_date": history_date,
        "history_type": "+",
        "history_user": None,
        "history_change_reason": BASELINE_NOTE,
        "history_channel": BASELINE_CHANNEL,
    }
