"""Record earlier tag template rewrites as the system's steps, not the approver's.

Before the template_rewrite kind, approving a framework version with a new tag template
stored each rewrite as a manual_tag change by the approver, and the account's history row
named the approver too. The monthly audit then held the approver responsible for the
tag. The rewrites are found by the reason that the approval wrote, so a manual tag that a
person typed is never changed.
"""

from django.db import migrations

# The start of the reason that approvals wrote on a rewrite's SegmentOverride row.
OLD_REASON_START = "Tag template changed to "
OLD_REASON_PART = " by the approval of framework v"
# The start of the history reason of a rewritten account (segmentation.overrides).
HISTORY_REASON_START = "Tag override rewritten in the tag template of framework v"


def _setter(overrides, rewrite):
    """Return the person's change that set the tag the rewrite replaced, or None."""
    earlier = (
        overrides.filter(
            account_id=rewrite.account_id,
            new_tag=rewrite.old_tag,
            created_at__lte=rewrite.created_at,
        )
        .exclude(pk=rewrite.pk)
        .exclude(old_tag=rewrite.old_tag)
        .order_by("-created_at", "-id")
        .first()
    )
    if earlier is not None and earlier.kind == "template_rewrite":
        return earlier.rewrite_of
    return earlier


def forwards(apps, schema_editor):
    SegmentOverride = apps.get_model("accounts", "SegmentOverride")
    rewrites = SegmentOverride.objects.filter(
        kind="manual_tag",
        reason__startswith=OLD_REASON_START,
        reason__contains=OLD_REASON_PART,
    ).order_by("created_at", "id")
    for rewrite in rewrites:
        rewrite.rewrite_of = _setter(SegmentOverride.objects, rewrite)
        rewrite.kind = "template_rewrite"
        rewrite.user = None
        rewrite.save(update_fields=["kind", "user", "rewrite_of"])
    HistoricalAccount = apps.get_model("accounts", "HistoricalAccount")
    HistoricalAccount.objects.filter(
        history_change_reason__startswith=HISTORY_REASON_START
    ).update(history_user=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0027_segmentoverride_template_rewrite"),
    ]

    operations = [
        # Backwards keeps the rows as they are, because the old reason does not name the
        # approver. NOTE: so migrating back past 0026 fails while a rewrite has no user.
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
