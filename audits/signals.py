"""Keep the governance records of a deleted account with its name.

Review decisions, audit findings and tag corrections stay when their account is deleted,
because past accuracy figures and audit reports must not change. Their account link
becomes empty, so the account's name is copied onto them first.
"""

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from accounts.models import Account, SegmentOverride

from .models import ReviewItem, Violation

KEPT_RECORDS = (ReviewItem, Violation, SegmentOverride)


@receiver(pre_delete, sender=Account, dispatch_uid="audits_keep_deleted_account_name")
def keep_deleted_account_name(sender, instance: Account, **kwargs) -> None:
    for model in KEPT_RECORDS:
        model.objects.filter(account=instance).update(deleted_account_name=instance.name)
