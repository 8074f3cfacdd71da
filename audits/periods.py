"""Calendar months, quarters and days in the team's time zone (settings.TIME_ZONE).

Audits and reports count a change in the month it happened for the team, not in UTC: at
UTC-8, a change on 1 March 03:00 UTC belongs to February.
"""

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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
    days_in_month = calendar.monthrange(first.year, first.month)[1]
    return Period(first, first.replace(day=days_in_month))


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
    if year < 1:
        raise ValueError(f"Invalid month {text!r}: the year must be 0001 or later.")
    return date(year, month, 1)


# The earliest month that an audit accepts, the same first date as the governance forms.
FIRST_AUDIT_MONTH = date(1900, 1, 1)


def is_before_first_month(text: str) -> bool:
    """Return True when ``text`` is a month as YYYY-MM before FIRST_AUDIT_MONTH.

    Year 0000, which parse_month rejects because no date has it, counts as before too.
    """
    match = MONTH_PATTERN.match(text.strip())
    if match is None:
        return False
    first = (FIRST_AUDIT_MONTH.year, FIRST_AUDIT_MONTH.month)
    return (int(match.group(1)), int(match.group(2))) < first


def parse_audit_month(text: str) -> date:
    """Parse ``YYYY-MM`` into the first day of a month that can be audited.

    Raises ValueError naming the value when it is not a valid month, has not ended yet in
    the team's time zone or is before 1900. The audit judges each account by its values
    at the month's end (``audits.asof``), which a month in progress does not have yet.
    """
    month = parse_month(text)
    this_month = local_today().replace(day=1)
    if month > this_month:
        raise ValueError(
            f"Month {month:%Y-%m} has not started yet: choose {previous_month():%Y-%m} or an "
            "earlier month."
        )
    if month == this_month:
        next_start = month_period(month).last_day + timedelta(days=1)
        raise ValueError(
            f"Month {month:%Y-%m} has not ended yet, and its audit reads each account's "
            f"values at the month's end: run it from {next_start:%Y-%m-%d} "
            f"({settings.TIME_ZONE}), or choose {previous_month():%Y-%m} or an earlier month."
        )
    if month < FIRST_AUDIT_MONTH:
        raise ValueError(
            f"Month {text.strip()} is before {FIRST_AUDIT_MONTH:%Y-%m}, the first month "
            "supported: choose a later one."
        )
    return month


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


# The earliest quarter that has a report: the one of the first audited month.
FIRST_QUARTER = quarter_of(FIRST_AUDIT_MONTH)


def quarter_text(year: int, quarter: int) -> str:
    """Format a quarter as ``YYYY-Qn``, the form its URL takes."""
    return f"{year:04d}-Q{quarter}"


def quarter_period(year: int, quarter: int) -> Period:
    """Return the calendar quarter ``quarter`` (1 to 4) of ``year``.

    Raises ValueError naming the quarter when it is before FIRST_QUARTER, or when its
    start or end is outside the range of Python's datetime in the team's zone or in UTC,
    as for 9999-Q4, whose end is 10000-01-01.
    """
    if (year, quarter) < FIRST_QUARTER:
        raise ValueError(
            f"Quarter {quarter_text(year, quarter)} is before {quarter_text(*FIRST_QUARTER)}, "
            "the first quarter supported: choose a later one."
        )
    try:
        first = date(year, 3 * (quarter - 1) + 1, 1)
        period = Period(first, month_period(date(year, 3 * quarter, 1)).last_day)
        period.start.astimezone(UTC)
        period.end.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise ValueError(
            f"Invalid quarter {quarter_text(year, quarter)}: its start or end is outside the "
            "datetime range the server can represent. The last valid quarter is 9999-Q3."
        ) from error
    return period


def adjacent_quarter(year: int, quarter: int, step: int) -> str | None:
    """Return the quarter ``step`` quarters away as ``YYYY-Qn``, or None when out of range."""
    index = year * 4 + quarter - 1 + step
    year, quarter = divmod(index, 4)
    try:
        quarter_period(year, quarter + 1)
    except ValueError:
        return None
    return quarter_text(year, quarter + 1)


def parse_quarter(text: str) -> tuple[int, int]:
    """Parse ``YYYY-Qn`` into (year, quarter). Raises ValueError for other text."""
    match = QUARTER_PATTERN.match(text.strip())
    if match is None:
        raise ValueError(f"Invalid quarter {text!r}: use YYYY-Qn, such as 2026-Q1.")
    return int(match.group(1)), int(match.group(2))
