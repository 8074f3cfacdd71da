"""Drop account indexes and a constraint that every re-segmentation paid for.

Re-segmentation writes the result columns of every account, and PostgreSQL then adds an
entry to every index of the row and checks changed foreign keys at commit:

- The index of framework_id served no query, and its foreign key constraint was checked
  for every account whose framework version changed. Django applies SET_NULL itself.
- name_key had two indexes on PostgreSQL: a plain one for equality and a
  varchar_pattern_ops one for LIKE, which no query uses. account_name_key_idx keeps the
  plain one.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_api_list_indexes"),
        ("segmentation", "0007_scorerecord_run_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="account",
            name="framework",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                help_text="Framework version of the latest score.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="segmentation.framework",
            ),
        ),
        migrations.AlterField(
            model_name="account",
            name="name_key",
            field=models.CharField(
                help_text="Normalized name used to match duplicates across sources.",
                max_length=255,
            ),
        ),
        # The history table copies the field, so its two name_key indexes go too.
        migrations.AlterField(
            model_name="historicalaccount",
            name="name_key",
            field=models.CharField(
                help_text="Normalized name used to match duplicates across sources.",
                max_length=255,
            ),
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(fields=["name_key"], name="account_name_key_idx"),
        ),
    ]
