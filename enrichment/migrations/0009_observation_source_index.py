from django.db import migrations, models


class Migration(migrations.Migration):
    """Widen the account and field index of observations by the source and time.

    The new index is built before the old one is dropped, so lookups by account and
    field always have an index.
    """

    dependencies = [
        ("enrichment", "0008_enrichmentrun_heartbeat"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="observation",
            index=models.Index(
                fields=["account", "field", "source", "observed_at"],
                name="observation_account_source_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="observation",
            name="observation_account_field_idx",
        ),
    ]
