"""Date each stored account baseline at the change it was recorded for, without a channel.

Baseline rows used to be dated at the account's ``updated_at`` and to carry the import
channel for imported accounts, so the account page and the trail read them as the
account's creation at the wrong time and through the wrong channel. A baseline is
recorded just before the first change that goes through the ORM, in the same save, so
that change is the account's next history row. The row takes that change's date and
sorts before it by its lower history_id.
"""

from django.db import migrations
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce

# The note of audits.baseline.BASELINE_NOTE when this migration was written.
BASELINE_NOTE = "Values before the first recorded change, as an import or bulk update stored them."


def date_baselines_at_first_change(apps, schema_editor):
    history = apps.get_model("accounts", "HistoricalAccount")
    first_change_date = (
        history.objects.filter(id=OuterRef("id"), history_id__gt=OuterRef("history_id"))
        .order_by("history_id")
        .values("history_date")[:1]
    )
    history.objects.filter(history_type="+", history_change_reason=BASELINE_NOTE).update(
        history_date=Coalesce(Subquery(first_change_date), "history_date"),
        history_channel="",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0018_research_note_date_not_before_1900"),
        ("audits", "0004_keep_records_of_deleted_accounts"),
    ]

    # The old dates are not kept, so going back leaves the rows as they are.
    operations = [
        migrations.RunPython(date_baselines_at_first_change, migrations.RunPython.noop),
    ]
