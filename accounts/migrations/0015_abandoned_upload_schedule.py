"""Schedule the daily removal of import uploads that were never started, at 04:30.

The schedule is a django-celery-beat PeriodicTask, so Sales Ops see it in the admin under
Periodic tasks, where they can pause it, change the time or run it at once.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

TASK_NAME = "Remove abandoned import uploads"
TASK_PATH = "accounts.tasks.abandoned_uploads_remove_task"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="4",
        day_of_month="*",
        month_of_year="*",
        day_of_week="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": TASK_PATH,
            "crontab": crontab,
            "description": "Delete files uploaded to the import wizard more than two days "
            "ago that no import run uses.",
        },
    )
    # Tell a running beat scheduler that the schedule changed, as the admin does.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME, task=TASK_PATH).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_score_key_index"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
