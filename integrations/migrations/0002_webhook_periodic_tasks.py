"""Schedule the webhook dispatcher and the retry sweep every minute with Celery beat.

The beat scheduler is django_celery_beat's DatabaseScheduler, so the schedule lives in its
tables; Sales Ops can pause either task in the admin under Periodic tasks.
"""

from django.db import migrations

TASKS = {
    "webhooks: dispatch tier and tag changes": "integrations.tasks.webhook_dispatch_task",
    "webhooks: retry due deliveries": "integrations.tasks.webhook_retry_task",
}


def create_periodic_tasks(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    for name, task in TASKS.items():
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={"task": task, "interval": every_minute, "enabled": True},
        )


def delete_periodic_tasks(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=TASKS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_periodic_tasks, delete_periodic_tasks)]
