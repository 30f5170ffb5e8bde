"""ISO weeks and local calendar days: the one place every area counts weeks and days.

A week is written ``2022-W19`` (ISO 8601). Its bounds are local midnights, so a week in a zone
with daylight-saving time is 167 or 169 hours long, never a fixed 168.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from testrota.errors import UserError

if TYPE_CHECKING:
    from testrota.policy import Policy

_WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def days(self) -> list[date]:
        first = self.monday
        return [first + timedelta(days=i) for i in range(7)]

    def shifted(self, weeks: int) -> IsoWeek:
        return week_of_date(self.monday + timedelta(weeks=weeks))


def parse_week(text: str) -> IsoWeek:
    """``2022-W19`` (or ``2022W19``) to an :class:`IsoWeek`; a clear UserError otherwise."""
    match = _WEEK_RE.match(text or "")
    if not match:
        raise UserError("week {text!r} is not an ISO week: write it like 2022-W19", text=text)
    year, week = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise UserError(
            "week {text!r} does not exist: {year} has no week {week}",
            text=text,
            year=year,
            week=week,
        ) from None
    return IsoWeek(year, week)


def resolve_week(week: str | None, now: datetime, policy: Policy) -> IsoWeek:
    """The week asked for (``2022-W19``), else the week of ``now`` in the policy's zone."""
    return parse_week(week) if week else week_of(now, policy.tz)


def week_of_date(day: date) -> IsoWeek:
    iso = day.isocalendar()
    return IsoWeek(iso.year, iso.week)


def local_date(at: datetime, tz: ZoneInfo) -> date:
    """The calendar day ``at`` falls on in ``tz``."""
    return at.astimezone(tz).date()


def week_of(at: datetime, tz: ZoneInfo) -> IsoWeek:
    """The ISO week that the instant ``at`` falls in, on the local calendar of ``tz``."""
    return week_of_date(local_date(at, tz))


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight of ``day`` as an aware UTC instant."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of a local calendar day in UTC (23 or 25 hours on DST days)."""
    return day_start(day, tz), day_start(day + timedelta(days=1), tz)


def week_bounds(week: IsoWeek, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of an ISO week in UTC: Monday's local midnight to the next one's."""
    return day_start(week.monday, tz), day_start(week.monday + timedelta(days=7), tz)


def recent_weeks(week: IsoWeek, count: int) -> list[IsoWeek]:
    """``count`` weeks ending with ``week``, oldest first."""
    return [week.shifted(-i) for i in range(count - 1, -1, -1)]


def local_days(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    """The local days an interval ``[start, end)`` touches (usually one; two across midnight)."""
    first = local_date(start, tz)
    last = local_date(max(start, end - timedelta(microseconds=1)), tz)
    days = [first]
    while days[-1] < last:
        days.append(days[-1] + timedelta(days=1))
    return days


def week_label(day: date) -> str:
    """The ISO week that contains ``day``, as ``2022-W19``."""
    return str(week_of_date(day))


def normalise_week(text: str) -> str:
    """``2022w1`` -> ``2022-W01``; a clear UserError for anything that is not an ISO week."""
    return str(parse_week(text))


def monday_of(text: str) -> date:
    """The Monday of an ISO week written ``2022-W19``."""
    return parse_week(text).monday


def shift_week(week: str, weeks: int) -> str:
    """The week ``weeks`` before (negative) or after (positive) ``week``."""
    return str(parse_week(week).shifted(weeks))


def current_week(now: datetime, tz: ZoneInfo) -> str:
    """The ISO week ``now`` falls in on the local calendar of ``tz``, as text."""
    return str(week_of(now, tz))
