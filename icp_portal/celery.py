"""Celery application.

With no ``CELERY_BROKER_URL`` the settings turn on ``task_always_eager``, so tasks run
in-process and a new user needs no Redis or worker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icp_portal.settings")

app = Celery("icp_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
