"""Uploads of import wizards that were never started are removed after two days."""

import os
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_celery_beat.models import PeriodicTask

from accounts.services import import_run_create
from accounts.tasks import abandoned_uploads_remove_task
from accounts.workspace import abandoned_uploads_remove, upload_store

CSV = b"name,website\nAcme,acme.example\n"


def stored(name: str, *, age: timedelta):
    upload = upload_store(SimpleUploadedFile(name, CSV, content_type="text/csv"))
    stamp = time.time() - age.total_seconds()
    os.utime(upload.path, (stamp, stamp))
    return upload.path


@pytest.mark.django_db
def test_old_unused_upload_removed():
    path = stored("left.csv", age=timedelta(days=3))

    assert abandoned_uploads_remove() == [path]

    assert not path.exists()
    assert not path.parent.exists()


@pytest.mark.django_db
def test_recent_upload_is_kept():
    path = stored("open-wizard.csv", age=timedelta(hours=47))

    assert abandoned_uploads_remove() == []
    assert path.exists()


@pytest.mark.django_db
def test_upload_of_import_run_kept():
    path = stored("imported.csv", age=timedelta(days=30))
    import_run_create(path)
    left = stored("left.csv", age=timedelta(days=30))

    assert abandoned_uploads_remove() == [left]
    assert path.exists()


@pytest.mark.django_db
def test_age_can_be_shortened():
    path = stored("left.csv", age=timedelta(hours=2))

    assert abandoned_uploads_remove(older_than=timedelta(hours=1)) == [path]


@pytest.mark.django_db
def test_no_upload_folder(media_root):
    assert not media_root.exists()
    assert abandoned_uploads_remove() == []


@pytest.mark.django_db
def test_task_returns_the_number_removed():
    stored("one.csv", age=timedelta(days=3))
    stored("two.csv", age=timedelta(days=3))
    stored("new.csv", age=timedelta(minutes=5))

    assert abandoned_uploads_remove_task() == 2


@pytest.mark.django_db
def test_removal_is_scheduled_daily():
    task = PeriodicTask.objects.select_related("crontab").get(
        name="Remove abandoned import uploads"
    )
    assert task.task == "accounts.tasks.abandoned_uploads_remove_task"
    assert task.enabled
    crontab = task.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_month) == ("30", "4", "*")
