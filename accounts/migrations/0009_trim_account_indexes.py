"""Trim account indexes that re-segmentation updates for no query.

Every re-segmentation updates the result columns of each account, and PostgreSQL then
adds an entry to every index of the row. Two indexes served no query on PostgreSQL:

- account_score_desc_idx (score DESC, id) puts empty scores first there, but the list and
  the API sort them last, which the (score DESC NULLS LAST, id) index of migration 0006
  serves. SQLite sorts NULLs last in descending order, so it keeps this index.
- account_needs_enrichment_idx indexed both values. It now holds only the accounts that
  need enrichment, the value the filter selects; the other value matches most accounts,
  which a scan of the table serves better.
"""

from django.db import migrations, models
from django.db.models import Q

SCORE_DESC_INDEX = "account_score_desc_idx"


def create_sqlite_score_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {SCORE_DESC_INDEX} ON accounts_account (score DESC, id)"
    )


def drop_sqlite_score_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {SCORE_DESC_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_import_mapping"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="account", name=SCORE_DESC_INDEX),
        migrations.RunPython(create_sqlite_score_index, drop_sqlite_score_index),
        migrations.RemoveIndex(model_name="account", name="account_needs_enrichment_idx"),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(
                condition=Q(needs_enrichment=True),
                fields=["needs_enrichment"],
                name="account_needs_enrichment_idx",
            ),
        ),
    ]
