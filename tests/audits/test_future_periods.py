"""Monthly audits and quarterly reviews of periods that have not started yet."""

from datetime import date

import pytest
from django.urls import reverse

from audits.periods import local_today, quarter_of


def next_month(today: date) -> str:
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return f"{year:04d}-{month:02d}"


def next_quarter(today: date) -> str:
    year, quarter = quarter_of(today)
    year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return f"{year:04d}-Q{quarter}"


def current_quarter(today: date) -> str:
    year, quarter = quarter_of(today)
    return f"{year:04d}-Q{quarter}"


@pytest.mark.parametrize("month", ["next", "9999-12"])
def test_future_month_not_started(client, manager, month):
    today = local_today()
    month = next_month(today) if month == "next" else month
    client.force_login(manager)
    response = client.get(reverse("audits:audit-report", args=[month]))
    html = response.content.decode()
    assert response.status_code == 404
    assert f"Month {month} has not started yet" in html
    assert "has not been audited yet" not in html
    assert reverse("audits:audit-report", args=[f"{today:%Y-%m}"]) in html


def test_future_month_export_not_started(client, manager):
    client.force_login(manager)
    month = next_month(local_today())
    response = client.get(reverse("audits:audit-report-export", args=[month]))
    assert response.status_code == 404
    assert f"Month {month} has not started yet" in response.content.decode()


@pytest.mark.parametrize("quarter", ["next", "2999-Q1", "9999-Q3", "9999-Q4"])
def test_future_quarter_not_started(client, manager, quarter):
    today = local_today()
    quarter = next_quarter(today) if quarter == "next" else quarter
    client.force_login(manager)
    response = client.get(reverse("audits:quarterly-report", args=[quarter]))
    html = response.content.decode()
    assert response.status_code == 404
    assert f"Quarter {quarter} has not started yet" in html
    assert "in progress" not in html
    assert "Quarter start" not in html
    assert reverse("audits:quarterly-report", args=[current_quarter(today)]) in html


def test_current_quarter_has_no_next_link(client, manager):
    today = local_today()
    client.force_login(manager)
    response = client.get(reverse("audits:quarterly-report", args=[current_quarter(today)]))
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["next_quarter"] is None
    assert reverse("audits:quarterly-report", args=[next_quarter(today)]) not in html


def test_past_quarter_links_next(client, manager):
    year, quarter = quarter_of(local_today())
    past = f"{year - 1:04d}-Q{quarter}"
    following = f"{year - 1:04d}-Q{quarter + 1}" if quarter < 4 else f"{year:04d}-Q1"
    client.force_login(manager)
    response = client.get(reverse("audits:quarterly-report", args=[past]))
    assert response.status_code == 200
    assert response.context["next_quarter"] == following
