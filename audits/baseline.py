"""A history row of an account's values before its first recorded change.

Imports and other bulk writes store accounts without history rows, so the trail could
not show what the first change by a person replaced. Before an account without history
is saved, its stored values are recorded as a baseline row, which the change then
compares with.
"""

from __future__ import annotations

from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import Account

from .history import Channel

BASELINE_NOTE = "Values before the first recorded change, as an import or bulk update stored them."
# Sources of accounts that were not imported, such as the API's.
NOT_IMPORTED_SOURCES = ("", "api", "manual")


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
    values = {
        field.attname: getattr(stored, field.attname)
        for field in history_model._meta.concrete_fields
        if not field.name.startswith("history_") and hasattr(stored, field.attname)
    }
    history_model.objects.create(
        **values,
        history_date=stored.updated_at or timezone.now(),
        history_type="+",
        history_user=None,
        history_change_reason=BASELINE_NOTE,
        history_channel=(
            Channel.SHELL if stored.source in NOT_IMPORTED_SOURCES else Channel.IMPORT
        ),
    )
