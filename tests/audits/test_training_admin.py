"""Sales Ops record trainings in the admin: active SDRs and AEs by name, plausible dates."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
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


def test_date_before_2000_rejected(ops_client, rep):
    response = submit(ops_client, rep, "1900-01-01")
    html = response.content.decode()
    assert response.status_code == 200
    assert "1900-01-01 is before 2000-01-01" in html
    assert "check the year" in html
    assert not TrainingRecord.objects.exists()


def test_first_day_of_2000_accepted(ops_client, rep):
    response = submit(ops_client, rep, "2000-01-01")
    assert response.status_code == 302
    assert TrainingRecord.objects.get().completed_on == date(2000, 1, 1)


def test_other_roles_not_listed(ops_client, rep, make_user):
    make_user(roles.MARKETING, username="marketing", first_name="Jordan", last_name="Blake")
    make_user(roles.SDR, username="departed", first_name="Gail", last_name="Left", is_active=False)
    sdr = make_user(roles.SDR, username="sdr", first_name="Sam", last_name="Reyes")
    page = ops_client.get(ADD_URL).content.decode()
    assert f'<option value="{sdr.pk}">Sam Reyes (sdr)</option>' in page
    assert "Jordan Blake" not in page
    assert "Gail Left" not in page


def test_other_role_rejected(ops_client, make_user):
    marketer = make_user(roles.MARKETING, username="marketing", first_name="Jordan")
    response = submit(ops_client, marketer, f"{timezone.localdate():%Y-%m-%d}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Jordan (marketing) is neither an SDR nor an AE" in html
    assert "add the user to the SDR or AE group first" in html
    assert not TrainingRecord.objects.exists()


def test_inactive_rep_rejected(ops_client, make_user):
    departed = make_user(roles.SDR, username="departed", first_name="Gail", is_active=False)
    response = submit(ops_client, departed, f"{timezone.localdate():%Y-%m-%d}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Gail (departed) is inactive" in html
    assert "reactivate the user first" in html
    assert not TrainingRecord.objects.exists()


def test_unknown_user_id_invalid(ops_client, rep):
    response = ops_client.post(
        ADD_URL,
        {"user": rep.pk + 1000, "kind": "onboarding", "completed_on": "2024-05-01", "notes": ""},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not TrainingRecord.objects.exists()


def test_departed_rep_record_editable(ops_client, rep):
    record = TrainingRecord.objects.create(
        user=rep, kind="onboarding", completed_on=date(2024, 5, 1)
    )
    rep.is_active = False
    rep.save()
    url = f"/admin/audits/trainingrecord/{record.pk}/change/"

    page = ops_client.get(url).content.decode()
    response = ops_client.post(
        url,
        {
            "user": rep.pk,
            "kind": "onboarding",
            "completed_on": "2024-05-01",
            "notes": "Left in June",
        },
    )

    assert f'<option value="{rep.pk}" selected>Alex Kim (ae)</option>' in page
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.notes == "Left in June"


def test_model_rejects_untrained_role(make_user):
    manager = make_user(roles.SALES_MANAGER, username="manager")
    record = TrainingRecord(user=manager, kind="refresher", completed_on=date(2024, 5, 1))
    with pytest.raises(ValidationError) as raised:
        record.full_clean()
    assert "user" in raised.value.message_dict
    assert "completed_on" not in raised.value.message_dict


@pytest.mark.parametrize("typed", ["01/10/2026", "10.01.2026", "2026/01/10", "Jan 10 2026"])
def test_non_iso_date_rejected(ops_client, rep, typed):
    response = submit(ops_client, rep, typed)

    html = response.content.decode()
    assert response.status_code == 200
    assert f"“{typed}” is not a date in the form YYYY-MM-DD" in html
    assert not TrainingRecord.objects.exists()


@pytest.mark.parametrize("typed", ["2026-11-5", "2026-1-10", "26-01-10", "2026-01-010"])
def test_short_month_or_day_rejected(ops_client, rep, typed):
    response = submit(ops_client, rep, typed)

    html = response.content.decode()
    assert response.status_code == 200
    assert f"“{typed}” is not a date in the form YYYY-MM-DD" in html
    assert "two digits for the month and the day" in html
    assert not TrainingRecord.objects.exists()


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("2026-02-30", "February 2026 has no day 30, only 01 to 28"),
        ("2025-04-31", "April 2025 has no day 31, only 01 to 30"),
        ("2026-01-00", "January 2026 has no day 00, only 01 to 31"),
        ("2026-13-01", "there is no month 13, months run from 01 to 12"),
        ("0000-01-10", "there is no year 0000, the first is 0001"),
    ],
)
def test_nonexistent_date_rejected(ops_client, rep, typed, reason):
    response = submit(ops_client, rep, typed)

    html = response.content.decode()
    assert response.status_code == 200
    assert f"“{typed}” is not a valid date: {reason}." in html
    assert "is not a date in the form" not in html
    assert not TrainingRecord.objects.exists()


def test_leap_day_accepted(ops_client, rep):
    response = submit(ops_client, rep, "2024-02-29")

    assert response.status_code == 302
    assert TrainingRecord.objects.get().completed_on == date(2024, 2, 29)


def test_help_text_names_two_digits(ops_client):
    html = ops_client.get(ADD_URL).content.decode()

    assert "YYYY-MM-DD, with two digits for the month and the day" in html


def test_list_shows_iso_date(ops_client, rep):
    TrainingRecord.objects.create(user=rep, kind="onboarding", completed_on=date(2026, 11, 5))

    html = ops_client.get("/admin/audits/trainingrecord/").content.decode()

    assert ">2026-11-05<" in html
    assert "Nov. 5, 2026" not in html
    assert "Completed on" in html


def test_list_sorts_by_date(ops_client, rep):
    TrainingRecord.objects.create(user=rep, kind="onboarding", completed_on=date(2026, 11, 5))
    TrainingRecord.objects.create(user=rep, kind="refresher", completed_on=date(2025, 3, 1))

    response = ops_client.get("/admin/audits/trainingrecord/", {"o": "3"})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("2025-03-01") < html.index("2026-11-05")


def test_iso_date_accepted(ops_client, rep):
    response = submit(ops_client, rep, "2026-01-10")

    assert response.status_code == 302
    assert TrainingRecord.objects.get().completed_on == date(2026, 1, 10)


def test_date_shown_as_iso(ops_client, rep):
    record = TrainingRecord.objects.create(
        user=rep, kind="onboarding", completed_on=date(2026, 1, 10)
    )

    html = ops_client.get(f"/admin/audits/trainingrecord/{record.pk}/change/").content.decode()

    assert 'value="2026-01-10"' in html
    assert "YYYY-MM-DD" in html


def notes_body(user, notes):
    return {"user": user.pk, "kind": "onboarding", "completed_on": "2026-01-10", "notes": notes}


def test_long_notes_rejected(ops_client, rep):
    response = ops_client.post(ADD_URL, notes_body(rep, "x" * 100_000))

    html = response.content.decode()
    assert response.status_code == 200
    assert "The notes are 100,000 characters long, more than the 2,000 allowed" in html
    assert not TrainingRecord.objects.exists()


def test_notes_at_limit_accepted(ops_client, rep):
    response = ops_client.post(ADD_URL, notes_body(rep, "é" * 2000))

    assert response.status_code == 302
    assert len(TrainingRecord.objects.get().notes) == 2000


def test_stored_long_notes_kept_on_edit(ops_client, rep):
    notes = "x" * 3000
    record = TrainingRecord.objects.create(
        user=rep, kind="onboarding", completed_on=date(2026, 1, 10), notes=notes
    )
    body = {**notes_body(rep, notes), "completed_on": "2026-01-11"}

    response = ops_client.post(f"/admin/audits/trainingrecord/{record.pk}/change/", body)

    assert response.status_code == 302
    record.refresh_from_db()
    assert record.completed_on == date(2026, 1, 11)
    assert record.notes == notes
