from datetime import date

import pytest
from django.test import override_settings

from audits.periods import month_period, parse_month, parse_quarter, previous_month, quarter_period


def test_parse_month_valid():
    assert parse_month("2026-02") == date(2026, 2, 1)


@pytest.mark.parametrize("text", ["2026-13", "2026-2", "Feb 2026", "", "0000-01"])
def test_parse_month_rejects(text):
    with pytest.raises(ValueError, match="Invalid month"):
        parse_month(text)


def test_previous_month_across_year():
    assert previous_month(date(2026, 1, 15)) == date(2025, 12, 1)


@override_settings(TIME_ZONE="America/Los_Angeles")
def test_month_period_in_team_zone():
    period = month_period(date(2026, 2, 1))
    assert period.start.isoformat() == "2026-02-01T00:00:00-08:00"
    assert period.end.isoformat() == "2026-03-01T00:00:00-08:00"
    assert period.last_day == date(2026, 2, 28)


def test_quarter_period_bounds():
    period = quarter_period(2026, 4)
    assert period.first_day == date(2026, 10, 1)
    assert period.last_day == date(2026, 12, 31)


def test_parse_quarter_rejects():
    with pytest.raises(ValueError, match="Invalid quarter"):
        parse_quarter("2026-Q5")


def test_date_range_end_before_start():
    from audits.forms import CorrectionFilterForm

    form = CorrectionFilterForm(data={"start": "2026-12-31", "end": "2026-01-01"})
    assert not form.is_valid()
    assert form.errors["end"] == [
        "The end date 2026-01-01 is before the start date 2026-12-31: pick an end date on or"
        " after the start date, or swap the two."
    ]
