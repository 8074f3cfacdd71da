"""The periodic task admin: re-segmentation arguments checked on save and before queueing."""

import json

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from accounts import roles
from segmentation.admin import PeriodicTaskForm
from segmentation.models import Framework, FrameworkStatus, SegmentationRun


@pytest.fixture
def quarterly(default_framework) -> PeriodicTask:
    return PeriodicTask.objects.get(task="segmentation.tasks.resegment_all_task")


def schedule_form(task: PeriodicTask, **changes) -> PeriodicTaskForm:
    data = {
        key: value
        for key, value in model_to_dict(task).items()
        if value is not None and key not in ("id", "last_run_at", "date_changed")
    }
    data.update(changes)
    return PeriodicTaskForm(data=data, instance=task)


def test_schedule_with_valid_kwargs_saves(quarterly, default_framework):
    kwargs = json.dumps({"kind": "quarterly", "framework_id": default_framework.pk})
    form = schedule_form(quarterly, kwargs=kwargs)
    assert form.is_valid(), form.errors


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"kind": "bogus"}, "Invalid kind 'bogus': use one of full, accounts, approval"),
        ({"framework_id": 99999}, "Framework id 99999 not found"),
        ({"framework_id": "1"}, "Invalid framework_id '1'"),
        ({"batch_size": 0}, "Invalid batch_size 0"),
        ({"kinds": "quarterly"}, "Unknown keyword arguments 'kinds'"),
    ],
)
def test_schedule_with_bad_kwargs_rejected(quarterly, kwargs, expected):
    form = schedule_form(quarterly, kwargs=json.dumps(kwargs))

    assert not form.is_valid()
    assert any(expected in message for message in form.errors["kwargs"])


def test_schedule_with_retired_version_rejected(quarterly, default_framework):
    Framework.objects.filter(pk=default_framework.pk).update(status=FrameworkStatus.RETIRED)
    active = Framework.objects.create(version=2, name="Active", status=FrameworkStatus.APPROVED)

    form = schedule_form(quarterly, kwargs=json.dumps({"framework_id": default_framework.pk}))

    assert not form.is_valid()
    message = " ".join(form.errors["kwargs"])
    assert f"framework_id {default_framework.pk} is v1, which is retired" in message
    assert f"the approved version is v2, framework_id {active.pk}" in message


def test_schedule_with_positional_args_rejected(quarterly):
    form = schedule_form(quarterly, args=json.dumps([1]))
    assert not form.is_valid()
    assert "takes keyword arguments only" in " ".join(form.errors["args"])


def test_admin_save_shows_kwargs_error(client, quarterly, make_user):
    user = make_user(roles.SALES_OPS, is_staff=True)
    client.force_login(user)
    url = reverse("admin:django_celery_beat_periodictask_change", args=[quarterly.pk])
    data = {
        key: value
        for key, value in model_to_dict(quarterly).items()
        if value is not None and key not in ("id", "last_run_at", "date_changed", "start_time")
    }
    data.update(kwargs=json.dumps({"kind": "bogus"}), regtask=quarterly.task)

    response = client.post(url, data)

    quarterly.refresh_from_db()
    assert response.status_code == 200
    assert "Invalid kind &#x27;bogus&#x27;" in response.content.decode()
    assert "bogus" not in quarterly.kwargs


def run_selected(client, task: PeriodicTask) -> str:
    url = reverse("admin:django_celery_beat_periodictask_changelist")
    response = client.post(url, {"action": "run_tasks", "_selected_action": [task.pk]}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def ops_client(client, make_user):
    client.force_login(make_user(roles.SALES_OPS, is_staff=True))
    return client


def test_run_with_worker_says_queued(broker, ops_client, quarterly):
    PeriodicTask.objects.filter(pk=quarterly.pk).update(kwargs=json.dumps({"kind": "quarterly"}))

    html = run_selected(ops_client, quarterly)

    assert "successfully run" not in html
    assert "Queued &#x27;Quarterly re-segmentation&#x27; for a Celery worker" in html
    assert broker.llen("celery") == 1


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"kind": "quarterly", "framework_id": 99999}, "Framework id 99999 not found"),
        ({"kind": "bogus"}, "Invalid kind &#x27;bogus&#x27;"),
    ],
)
def test_run_with_worker_rejects_bad_kwargs(broker, ops_client, quarterly, kwargs, expected):
    PeriodicTask.objects.filter(pk=quarterly.pk).update(kwargs=json.dumps(kwargs))

    html = run_selected(ops_client, quarterly)

    assert "successfully run" not in html
    assert "was not queued" in html
    assert expected in html
    assert broker.llen("celery") == 0


def test_run_with_worker_rejects_retired(broker, ops_client, quarterly, default_framework):
    Framework.objects.filter(pk=default_framework.pk).update(status=FrameworkStatus.RETIRED)
    Framework.objects.create(version=2, name="Active", status=FrameworkStatus.APPROVED)
    kwargs = json.dumps({"kind": "quarterly", "framework_id": default_framework.pk})
    PeriodicTask.objects.filter(pk=quarterly.pk).update(kwargs=kwargs)

    html = run_selected(ops_client, quarterly)

    assert "which is retired" in html
    assert broker.llen("celery") == 0
    assert SegmentationRun.objects.count() == 0
