"""Calendar months, quarters and days in the team's time zone (settings.TIME_ZONE).

Audits and reports count a change in the month it happened for the team, not in UTC: at
UTC-8, a change on 1 March 03:00 UTC belongs to February.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
QUARTER_PATTERN = re.compile(r"^(\d{4})-Q([1-4])$")


def team_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_today() -> date:
    return timezone.localtime(timezone.now(), team_zone()).date()


def start_of_day(day: date) -> datetime:
    """Return the aware datetime at which ``day`` starts in the team's time zone."""
    return datetime.combine(day, time.min, tzinfo=team_zone())


@dataclass(frozen=True)
class Period:
    """A half-open range of time [start, end) and the calendar dates it covers."""

    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        return start_of_day(self.first_day)

    @property
    def end(self) -> datetime:
        return start_of_day(self.last_day + timedelta(days=1))


def month_period(month: date) -> Period:
    """Return the calendar month that contains ``month``."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following - timedelta(days=1))


def previous_month(today: date | None = None) -> date:
    """Return the first day of the month before ``today`` (default: today in the team's zone)."""
    today = today or local_today()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def parse_month(text: str) -> date:
    """Parse ``YYYY-MM`` into the first day of that month.

    Raises ValueError naming the value when it is not a valid month.
    """
    match = MONTH_PATTERN.match(text.strip())
    if match is None:
        raise ValueError(f"Invalid month {text!r}: use YYYY-MM, such as 2026-02.")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"Invalid month {text!r}: the month must be 01 to 12.")
    return date(year, month, 1)


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_period(year: int, quarter: int) -> Period:
    first = date(year, 3 * (quarter - 1) + 1, 1)
    last = month_period(date(year, 3 * quarter, 1)).last_day
    return Period(first, last)


def parse_quarter(text: str) -> tuple[int, int]:
    """Parse ``YYYY-Qn`` into (year, quarter). Raises ValueError for other text."""
    match = QUARTER_PATTERN.match(text.strip())
    if match is None:
        raise ValueError(f"Invalid quarter {text!r}: use YYYY-Qn, such as 2026-Q1.")
    return int(match.group(1)), int(match.group(2))
