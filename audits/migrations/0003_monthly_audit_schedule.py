"""Schedule the monthly CRM audit at 03:00 on the first day of each month.

The schedule is a django-celery-beat PeriodicTask, so it shows in the admin under
Periodic tasks, where Sales Ops can pause it or change the time. The crontab runs in the
team's time zone (settings.TIME_ZONE at migration time), so "the first of the month"
means the team's first, not UTC's.
"""

from django.conf import settings
from django.db import migrations

TASK_NAME = "Monthly CRM audit"
TASK_PATH = "audits.tasks.monthly_audit_run_task"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour="3",
        day_of_month="1",
        month_of_year="*",
        day_of_week="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": TASK_PATH,
            "crontab": crontab,
            "description": "Audit the previous month's CRM data and record violations.",
        },
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME, task=TASK_PATH).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audits", "0002_severity_rules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
