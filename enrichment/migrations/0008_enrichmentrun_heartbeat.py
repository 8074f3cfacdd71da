import django.utils.timezone
from django.db import migrations, models
from django.db.models.functions import Coalesce


def copy_last_progress(apps, schema_editor):
    """Date existing runs' heartbeat by their last known progress, not the migration."""
    EnrichmentRun = apps.get_model("enrichment", "EnrichmentRun")
    EnrichmentRun.objects.update(
        heartbeat_at=Coalesce("finished_at", "started_at", "created_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("enrichment", "0007_sales_ops_view_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrichmentrun",
            name="heartbeat_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="When the run last made progress: it was created, started or "
                "resumed, began an account's lookup or saved results.",
            ),
        ),
        migrations.AddField(
            model_name="enrichmentrun",
            name="generation",
            field=models.PositiveIntegerField(
                default=0,
                help_text="How many times the run was resumed. Tasks of an older generation "
                "stop without writing.",
            ),
        ),
        migrations.RunPython(copy_last_progress, migrations.RunPython.noop),
    ]
