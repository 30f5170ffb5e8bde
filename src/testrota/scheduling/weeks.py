"""ISO weeks (``2022-W19``): the unit every plan, schedule and compliance figure is counted in."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from testrota.errors import UserError

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


def parse_week(text: str) -> date:
    """The Monday of an ISO week written ``2022-W19`` (``2022W19`` is accepted too)."""
    match = _WEEK.match(text.strip())
    if not match:
        raise UserError(f"week {text!r} is not an ISO week: write it like 2022-W19")
    year, number = int(match.group(1)), int(match.group(2))
    try:
        return date.fromisocalendar(year, number, 1)
    except ValueError:
        raise UserError(f"week {text!r} does not exist: {year} has no week {number}") from None


def week_label(day: date) -> str:
    """The ISO week that contains ``day``, as ``2022-W19``."""
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def normalise_week(text: str) -> str:
    return week_label(parse_week(text))


def week_of(moment: datetime, tz: ZoneInfo) -> str:
    """The ISO week a moment falls in, on the calendar of ``tz``."""
    return week_label(moment.astimezone(tz).date())


def week_days(monday: date) -> list[date]:
    return [monday + timedelta(days=i) for i in range(7)]


def shift_week(week: str, weeks: int) -> str:
    """The week ``weeks`` before (negative) or after (positive) ``week``."""
    return week_label(parse_week(week) + timedelta(weeks=weeks))
