"""Schedule the quarterly re-segmentation in django_celery_beat's tables.

The schedule lives in the database, so Sales Ops can see, pause or move it in the admin
under Periodic tasks. It runs at 02:00 on the first day of January, April, July and
October in the project's TIME_ZONE setting.
"""

import json

from django.conf import settings
from django.db import migrations
from django.utils import timezone

TASK_NAME = "Quarterly re-segmentation"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour="2",
        day_of_week="*",
        day_of_month="1",
        month_of_year="1,4,7,10",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.create(
        name=TASK_NAME,
        task="segmentation.tasks.resegment_all_task",
        crontab=schedule,
        kwargs=json.dumps({"kind": "quarterly"}),
        description="Scores every account again with the approved framework version.",
    )
    # Tell a running beat scheduler that the schedule changed, as the admin does.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def delete_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("segmentation", "0005_sales_ops_permissions"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(create_schedule, delete_schedule),
    ]
