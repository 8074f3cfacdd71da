"""The read-only training records page and its CSV export, per role and filter."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse

from accounts import roles
from audits.models import TrainingRecord
from audits.periods import local_today

LIST_URL = reverse("audits:training-list")
EXPORT_URL = reverse("audits:training-export")


@pytest.fixture
def records(team, sales_ops):
    """Ana trained recently, Ben only long ago (overdue), Olga of another team recently."""
    today = local_today()
    return {
        "ana": TrainingRecord.objects.create(
            user=team["rep_a"],
            kind="onboarding",
            completed_on=today - timedelta(days=10),
            notes="ICP basics",
            recorded_by=sales_ops,
        ),
        "ben": TrainingRecord.objects.create(
            user=team["rep_b"], kind="onboarding", completed_on=today - timedelta(days=400)
        ),
        "olga": TrainingRecord.objects.create(
            user=team["outsider"], kind="refresher", completed_on=today - timedelta(days=5)
        ),
    }


def listed(response) -> set[int]:
    return {record.pk for record in response.context["records"]}


def export_rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (roles.SDR, 403),
        (roles.AE, 403),
        (roles.MARKETING, 403),
        (roles.SALES_MANAGER, 200),
        (roles.SALES_OPS, 200),
        (roles.SALES_LEADERSHIP, 200),
    ],
)
def test_page_access_by_role(client, make_user, role, status):
    client.force_login(make_user(role))

    assert client.get(LIST_URL).status_code == status
    assert client.get(EXPORT_URL).status_code == status


def test_anonymous_sent_to_login(client, db):
    response = client.get(LIST_URL)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_manager_sees_own_team(client, team, records):
    client.force_login(team["manager"])

    response = client.get(LIST_URL)

    assert listed(response) == {records["ana"].pk, records["ben"].pk}


@pytest.mark.parametrize("role", [roles.SALES_OPS, roles.SALES_LEADERSHIP])
def test_ops_and_leadership_see_all(client, make_user, records, role):
    client.force_login(make_user(role))

    response = client.get(LIST_URL)

    assert listed(response) == {record.pk for record in records.values()}


def test_overdue_person_listed(client, leadership, team, records):
    client.force_login(leadership)

    response = client.get(LIST_URL)

    overdue = {row.user_id: row.kind for row in response.context["overdue"]}
    html = response.content.decode()
    assert overdue == {team["rep_b"].pk: "refresher"}
    assert "Overdue today (1)" in html


@pytest.mark.parametrize(("kind", "expected"), [("refresher", 1), ("onboarding", 0)])
def test_overdue_follows_training_filter(client, leadership, team, records, kind, expected):
    client.force_login(leadership)

    response = client.get(LIST_URL, {"kind": kind})

    assert len(response.context["overdue"]) == expected
    assert f"Overdue today ({expected})" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"kind": "refresher"}, {"olga"}),
        ({"overdue": "on"}, {"ben"}),
        ({"start": "2000-01-01", "end": "2000-12-31"}, set()),
    ],
)
def test_filters_narrow_records(client, leadership, records, query, expected):
    client.force_login(leadership)

    response = client.get(LIST_URL, query)

    assert listed(response) == {records[name].pk for name in expected}


def test_person_and_team_filters(client, leadership, team, records):
    client.force_login(leadership)

    by_person = client.get(LIST_URL, {"person": team["rep_a"].pk})
    by_team = client.get(LIST_URL, {"team": team["manager"].pk})

    assert listed(by_person) == {records["ana"].pk}
    assert listed(by_team) == {records["ana"].pk, records["ben"].pk}
    assert "Team of Morgan" in by_team.content.decode()


def test_date_range_filter(client, leadership, records):
    client.force_login(leadership)
    start = local_today() - timedelta(days=12)

    response = client.get(LIST_URL, {"start": f"{start:%Y-%m-%d}"})

    assert listed(response) == {records["ana"].pk, records["olga"].pk}


def test_invalid_filter_returns_400(client, leadership, records):
    client.force_login(leadership)

    response = client.get(LIST_URL, {"kind": "webinar"})

    assert response.status_code == 400
    assert "Training “webinar” is not a kind of training" in response.content.decode()
    assert listed(response) == set()


def test_manager_cannot_pick_outsider(client, team, records):
    client.force_login(team["manager"])

    response = client.get(LIST_URL, {"person": team["outsider"].pk})

    assert response.status_code == 400
    assert listed(response) == set()


def test_export_lists_filtered_records(client, team, records, sales_ops):
    client.force_login(team["manager"])

    response = client.get(EXPORT_URL)

    rows = export_rows(response)
    assert response["Content-Disposition"] == 'attachment; filename="training-records.csv"'
    assert [row["username"] for row in rows] == ["ana", "ben"]
    assert rows[0]["notes"] == "ICP basics"
    assert rows[0]["recorded_by"] == sales_ops.get_username()
    assert rows[0]["team_manager"] == "Morgan"
    assert rows[0]["overdue_training"] == ""
    assert rows[1]["overdue_training"] == "refresher"


def test_export_invalid_filter_explains(client, leadership, records):
    client.force_login(leadership)

    response = client.get(EXPORT_URL, {"start": "2026-13-01"})

    assert response.status_code == 400
    assert "were not exported" in response.content.decode()


def test_nav_links_training(client, team):
    client.force_login(team["manager"])

    html = client.get(reverse("audits:dashboard")).content.decode()

    assert f'href="{LIST_URL}"' in html


def test_nav_hides_training_from_sdr(client, team):
    client.force_login(team["rep_a"])

    html = client.get(reverse("audits:dashboard")).content.decode()

    assert f'href="{LIST_URL}"' not in html
