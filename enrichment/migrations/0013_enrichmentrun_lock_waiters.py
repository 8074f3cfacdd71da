from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("enrichment", "0012_enrichmentrun_started_tasks"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrichmentrun",
            name="lock_waiters",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Tasks or commands of the current generation that wait for another "
                "import, re-scoring or enrichment run to release the one-at-a-time lock "
                "(SQLite).",
            ),
        ),
    ]
