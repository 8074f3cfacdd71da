"""The quarterly report at the first quarter supported and the last one dates can represent."""

import pytest
from django.urls import reverse

from audits.periods import adjacent_quarter, quarter_period


def quarterly_url(quarter: str) -> str:
    return reverse("audits:quarterly-report", args=[quarter])


def test_first_quarter_has_no_previous_link(client, manager):
    client.force_login(manager)
    response = client.get(quarterly_url("1900-Q1"))
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["previous_quarter"] is None
    assert quarterly_url("1899-Q4") not in html
    assert quarterly_url("1900-Q2") in html


def test_quarter_past_date_range_404(client, manager):
    client.force_login(manager)
    response = client.get(quarterly_url("9999-Q4"))
    assert response.status_code == 404


def test_year_zero_quarter_404(client, manager):
    client.force_login(manager)
    assert client.get(quarterly_url("0000-Q4")).status_code == 404


def test_quarter_period_rejects_9999_q4():
    with pytest.raises(ValueError, match="9999-Q4"):
        quarter_period(9999, 4)


@pytest.mark.parametrize(("year", "quarter"), [(1899, 4), (1, 1), (0, 1)])
def test_quarter_period_rejects_early_quarter(year, quarter):
    with pytest.raises(ValueError, match="is before 1900-Q1, the first quarter supported"):
        quarter_period(year, quarter)


@pytest.mark.parametrize(
    ("year", "quarter", "step", "expected"),
    [
        (2026, 1, -1, "2025-Q4"),
        (2026, 4, 1, "2027-Q1"),
        (1900, 1, -1, None),
        (1900, 1, 1, "1900-Q2"),
        (1900, 2, -1, "1900-Q1"),
        (1, 1, 1, None),
        (9999, 3, 1, None),
    ],
)
def test_adjacent_quarter(year, quarter, step, expected):
    assert adjacent_quarter(year, quarter, step) == expected
