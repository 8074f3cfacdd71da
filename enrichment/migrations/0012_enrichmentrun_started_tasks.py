from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("enrichment", "0011_enrichmentrun_queued_tasks"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrichmentrun",
            name="started_tasks",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Celery task ids of the current generation that a worker started "
                "and has not finished. The id of a task whose worker died stays, so the "
                "broker's second delivery of that task is known as such.",
            ),
        ),
    ]
