from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

NOT_REACHED = "NotReached"


def count_not_reached(apps, schema_editor):
    """Move failed accounts that existing runs never requested out of processed and errors."""
    EnrichmentRun = apps.get_model("enrichment", "EnrichmentRun")
    EnrichmentRunItem = apps.get_model("enrichment", "EnrichmentRunItem")
    counts = (
        EnrichmentRunItem.objects.filter(
            run=OuterRef("pk"), status="failed", error_kind=NOT_REACHED
        )
        .order_by()
        .values("run")
        .annotate(count=Count("id"))
        .values("count")
    )
    runs = EnrichmentRun.objects.annotate(
        items_not_reached=Coalesce(Subquery(counts), Value(0))
    ).filter(items_not_reached__gt=0)
    for run in runs:
        run.not_reached = run.items_not_reached
        run.processed = max(run.processed - run.items_not_reached, 0)
        run.errors = max(run.errors - run.items_not_reached, 0)
        run.save(update_fields=["not_reached", "processed", "errors"])


class Migration(migrations.Migration):
    dependencies = [
        ("enrichment", "0009_observation_source_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrichmentrun",
            name="not_reached",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Accounts that the run stopped before requesting, so resuming it "
                "looks them up.",
            ),
        ),
        migrations.RunPython(count_not_reached, migrations.RunPython.noop),
    ]
