"""Sales Ops record trainings in the admin: users by name, no future dates."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import roles
from audits.models import TrainingRecord

ADD_URL = "/admin/audits/trainingrecord/add/"


@pytest.fixture
def ops_client(client, make_user):
    client.force_login(make_user(roles.SALES_OPS, is_staff=True))
    return client


@pytest.fixture
def rep(make_user):
    return make_user(roles.AE, username="ae", first_name="Alex", last_name="Kim")


def submit(client, user, completed_on):
    return client.post(
        ADD_URL,
        {"user": user.pk, "kind": "onboarding", "completed_on": completed_on, "notes": ""},
    )


def test_user_listed_by_name(ops_client, rep):
    page = ops_client.get(ADD_URL).content.decode()
    assert f'<option value="{rep.pk}">Alex Kim (ae)</option>' in page


def test_future_date_rejected(ops_client, rep):
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = submit(ops_client, rep, f"{tomorrow:%Y-%m-%d}")
    assert response.status_code == 200
    assert f"{tomorrow:%Y-%m-%d} is in the future" in response.content.decode()
    assert not TrainingRecord.objects.exists()


def test_today_accepted(ops_client, rep):
    response = submit(ops_client, rep, f"{timezone.localdate():%Y-%m-%d}")
    assert response.status_code == 302
    assert TrainingRecord.objects.get().user == rep


def test_same_training_twice_rejected(ops_client, rep):
    day = f"{timezone.localdate():%Y-%m-%d}"
    submit(ops_client, rep, day)
    response = submit(ops_client, rep, day)
    html = response.content.decode()
    assert response.status_code == 200
    assert f"The onboarding training of Alex Kim on {day} is already recorded" in html
    assert "edit that record instead of adding another" in html
    assert TrainingRecord.objects.count() == 1


def test_other_kind_same_day_accepted(ops_client, rep):
    day = timezone.localdate()
    TrainingRecord.objects.create(user=rep, kind="refresher", completed_on=day)
    response = submit(ops_client, rep, f"{day:%Y-%m-%d}")
    assert response.status_code == 302
    assert TrainingRecord.objects.count() == 2


def test_record_edit_keeps_its_own_date(ops_client, rep):
    record = TrainingRecord.objects.create(
        user=rep, kind="onboarding", completed_on=timezone.localdate()
    )
    response = ops_client.post(
        f"/admin/audits/trainingrecord/{record.pk}/change/",
        {
            "user": rep.pk,
            "kind": "onboarding",
            "completed_on": f"{record.completed_on:%Y-%m-%d}",
            "notes": "Held remotely",
        },
    )
    record.refresh_from_db()
    assert response.status_code == 302
    assert record.notes == "Held remotely"
