"""Drop observation indexes that imports paid for and no query needed.

- The index of account_id alone goes, because observation_account_field_idx
  (account_id, field) serves every lookup by account, the CASCADE delete included.
- entered_by_id is indexed only where it is set. Imports and providers leave it empty,
  so they no longer add an entry per observation.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [
        ("enrichment", "0002_enrichment_runs_and_resolutions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="observation",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="observations",
                to="accounts.account",
            ),
        ),
        migrations.AlterField(
            model_name="observation",
            name="entered_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="Set when a person entered or accepted the value.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="observation",
            index=models.Index(
                condition=Q(entered_by__isnull=False),
                fields=["entered_by"],
                name="observation_entered_by_idx",
            ),
        ),
    ]
