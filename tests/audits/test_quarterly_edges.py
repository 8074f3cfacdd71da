"""The quarterly report at the first and last quarters that dates can represent."""

import pytest
from django.urls import reverse

from audits.periods import adjacent_quarter, quarter_period


def quarterly_url(quarter: str) -> str:
    return reverse("audits:quarterly-report", args=[quarter])


def test_first_quarter_has_no_previous_link(client, manager):
    client.force_login(manager)
    response = client.get(quarterly_url("0001-Q1"))
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["previous_quarter"] is None
    assert quarterly_url("0001-Q2") in html


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


@pytest.mark.parametrize(
    ("year", "quarter", "step", "expected"),
    [
        (2026, 1, -1, "2025-Q4"),
        (2026, 4, 1, "2027-Q1"),
        (1, 1, -1, None),
        (1, 1, 1, "0001-Q2"),
        (9999, 3, 1, None),
    ],
)
def test_adjacent_quarter(year, quarter, step, expected):
    assert adjacent_quarter(year, quarter, step) == expected
