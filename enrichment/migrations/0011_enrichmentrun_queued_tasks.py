from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("enrichment", "0010_enrichmentrun_not_reached"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrichmentrun",
            name="queued_tasks",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Tasks of the current generation that were sent to the broker and "
                "that no worker has started yet. Always 0 without a broker.",
            ),
        ),
    ]
