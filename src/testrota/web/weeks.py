"""ISO weeks as the pages show them: ``2022-W19``, its days, the one before and after."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from testrota.errors import UserError


def week_label(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def current_week(now: datetime, tz: tzinfo) -> str:
    return week_label(now.astimezone(tz).date())


def monday_of(week: str) -> date:
    """The Monday of ``2022-W19``; a UserError that says how to write it otherwise."""
    text = week.strip().upper().replace("W", "-W").replace("--", "-")
    try:
        year_text, number_text = text.split("-W")
        return date.fromisocalendar(int(year_text), int(number_text), 1)
    except (ValueError, TypeError):
        raise UserError(
            "week {text!r} is not an ISO week: write it like 2022-W19", text=week
        ) from None


def normalise(week: str | None, now: datetime, tz: tzinfo) -> str:
    return week_label(monday_of(week)) if week else current_week(now, tz)


def shift(week: str, weeks: int) -> str:
    return week_label(monday_of(week) + timedelta(weeks=weeks))


def days_of(week: str) -> list[date]:
    monday = monday_of(week)
    return [monday + timedelta(days=i) for i in range(7)]


def recent(week: str, count: int) -> list[str]:
    """``count`` weeks ending with ``week``, oldest first."""
    return [shift(week, -i) for i in range(count - 1, -1, -1)]
