"""Index the score order that the list and the API share, and drop the old score indexes.

The list and the API sort by (-COALESCE(score, -1), id), highest score first and empty
scores last, so that a keyset page is one index range. That replaces the vendor-specific
indexes of migrations 0006 (PostgreSQL, score DESC NULLS LAST) and 0009 (SQLite).
"""

import django.db.models.expressions
import django.db.models.functions.comparison
from django.db import migrations, models

OLD_INDEXES = {
    "postgresql": (
        "account_score_nulls_last_idx",
        "CREATE INDEX IF NOT EXISTS account_score_nulls_last_idx "
        "ON accounts_account (score DESC NULLS LAST, id)",
    ),
    "sqlite": (
        "account_score_desc_idx",
        "CREATE INDEX IF NOT EXISTS account_score_desc_idx ON accounts_account (score DESC, id)",
    ),
}


def drop_old_score_index(apps, schema_editor):
    old = OLD_INDEXES.get(schema_editor.connection.vendor)
    if old:
        schema_editor.execute(f"DROP INDEX IF EXISTS {old[0]}")


def create_old_score_index(apps, schema_editor):
    old = OLD_INDEXES.get(schema_editor.connection.vendor)
    if old:
        schema_editor.execute(old[1])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0013_trim_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="account",
            index=models.Index(
                django.db.models.expressions.CombinedExpression(
                    django.db.models.functions.comparison.Coalesce(
                        models.F("score"), models.Value(-1), output_field=models.IntegerField()
                    ),
                    "*",
                    models.Value(-1),
                ),
                models.F("id"),
                name="account_score_key_idx",
            ),
        ),
        migrations.RunPython(drop_old_score_index, create_old_score_index),
    ]
