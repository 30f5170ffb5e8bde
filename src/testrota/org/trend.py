"""The daily report's trend (pure): a unit's weekly testing rate over the last weeks.

A week's rate is the daily report's rate summed over the week's days: ``required`` counts the
people due on each day (a person due on two days counts twice), ``tested`` those of them with a
sample that same local day, and ``rate`` = tested / required. A week in which nobody was due
has no rate (None): the page says "no data", never 0 %. The week of the report's day counts
its days up to that day only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

MAX_WEEKS = 26


@dataclass(frozen=True, slots=True)
class WeekRate:
    week: str  # ISO week, 2022-W19
    first: date  # its Monday
    last: date  # its last day counted (Sunday, or the report's day in its own week)
    required: int
    tested: int

    @property
    def rate(self) -> float | None:
        return round(self.tested / self.required, 4) if self.required else None


def trend_days(day: date, weeks: int) -> list[date]:
    """The days the trend counts: from the Monday ``weeks - 1`` weeks before ``day``'s week
    to ``day`` itself."""
    monday = day - timedelta(days=day.weekday()) - timedelta(weeks=weeks - 1)
    return [monday + timedelta(days=i) for i in range((day - monday).days + 1)]


def weekly_rates(day: date, weeks: int, by_day: Mapping[date, tuple[int, int]]) -> list[WeekRate]:
    """The last ``weeks`` weeks up to ``day``, oldest first.

    Args:
        day: the report's day; its week is the last one, counted up to it.
        weeks: how many weeks (1 to :data:`MAX_WEEKS`).
        by_day: each local day's ``(required, tested)``; a day missing is a day nobody was due.
    """
    out: list[WeekRate] = []
    days = trend_days(day, weeks)
    for start in range(0, len(days), 7):
        week_days = days[start : start + 7]
        required = sum(by_day.get(d, (0, 0))[0] for d in week_days)
        tested = sum(by_day.get(d, (0, 0))[1] for d in week_days)
        year, number, _ = week_days[0].isocalendar()
        out.append(WeekRate(f"{year}-W{number:02d}", week_days[0], week_days[-1], required, tested))
    return out
