"""Monthly audits and quarterly reviews of periods before the first one supported."""

import pytest
from django.urls import reverse

from audits.periods import local_today, quarter_of

EARLY_MONTHS = ["1899-12", "0001-01", "0000-06"]
EARLY_QUARTERS = ["1899-Q4", "0001-Q1", "0000-Q1"]


@pytest.mark.parametrize("month", EARLY_MONTHS)
def test_early_month_page_404(client, manager, month):
    client.force_login(manager)
    response = client.get(reverse("audits:audit-report", args=[month]))
    html = response.content.decode()
    assert response.status_code == 404
    assert f"Month {month} is before 1900-01, the first month supported" in html
    assert "has not been audited yet" not in html
    assert "Overdue training" not in html
    assert reverse("audits:audit-report", args=[f"{local_today():%Y-%m}"]) in html


@pytest.mark.parametrize("month", EARLY_MONTHS)
def test_early_month_export_404(client, manager, month):
    client.force_login(manager)
    response = client.get(reverse("audits:audit-report-export", args=[month]))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert f"Month {month} is before 1900-01, the first month supported" in html


def test_first_month_page_shown(client, manager):
    client.force_login(manager)
    response = client.get(reverse("audits:audit-report", args=["1900-01"]))
    assert response.status_code == 200
    assert "This month has not been audited yet" in response.content.decode()


def test_first_month_export_shown(client, manager):
    client.force_login(manager)
    response = client.get(reverse("audits:audit-report-export", args=["1900-01"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("quarter", EARLY_QUARTERS)
def test_early_quarter_404(client, manager, quarter):
    year, current = quarter_of(local_today())
    client.force_login(manager)
    response = client.get(reverse("audits:quarterly-report", args=[quarter]))
    html = response.content.decode()
    assert response.status_code == 404
    assert f"Quarter {quarter} is before 1900-Q1, the first quarter supported" in html
    assert "9999-Q3" not in html
    assert "Quarter start" not in html
    assert reverse("audits:quarterly-report", args=[f"{year:04d}-Q{current}"]) in html
