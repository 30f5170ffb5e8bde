"""What a person may move a test to, or book instead of a missed one: pure, over plain data.

A coming test moves within its own week (the week's count stays whole), to any site that serves
the person. A missed test is made up on the following days — the rest of this week or early next
week — at any site that serves them. Each slot is judged by the rule an SMS "R" follows
(:func:`testrota.notify.reschedule.choose_slot`: room, the person's shift, the gap between tests
of one week), so the page and a text reply never disagree. When nothing fits, the person is told
where and when sites open for a walk-in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from testrota.notify.reschedule import SlotOption, choose_slot
from testrota.policy import ShiftRule
from testrota.scheduling.sites import SiteSpec

# "Early next week": a make-up is offered up to the end of next Wednesday, so a test missed on
# Friday can still be made up before the person's next planned tests.
NEXT_WEEK_DAYS = 3
# A person picks from a screenful of days, not from every slot of ten days.
MAX_DAYS = 7
MAX_PER_DAY = 12
WALK_IN_DAYS = 3


def latest_makeup(now: datetime, tz: tzinfo) -> datetime:
    """The end of the last day a make-up may be booked on (next Wednesday, local time)."""
    today = now.astimezone(tz).date()
    next_monday = today + timedelta(days=7 - today.weekday())
    last = next_monday + timedelta(days=NEXT_WEEK_DAYS)
    return datetime.combine(last, time(0), tz)


def pick(
    options: Iterable[SlotOption],
    *,
    other_days: Mapping[str, Sequence[date]],
    earliest: datetime,
    latest: datetime | None,
    min_gap_days: int,
    zone: Callable[[str], tzinfo],
    shift: ShiftRule | None,
    serves: Callable[[str], bool],
    exclude_slot: int | None = None,
) -> list[SlotOption]:
    """Every option the person may book, earliest first.

    ``other_days`` maps an ISO week to the local days of the person's other booked tests that
    week (the gap rule is per week); ``zone`` gives a site's time zone; ``serves`` says whether
    a site takes this person; ``latest`` bounds a make-up (None: no bound but the options').
    """
    out: list[SlotOption] = []
    for option in sorted(options, key=lambda o: (o.starts_at, o.site_code, o.slot_id)):
        if latest is not None and option.starts_at >= latest:
            continue
        if not serves(option.site_code):
            continue
        fits = choose_slot(
            [option],
            other_days.get(option.week, ()),
            earliest,
            min_gap_days,
            zone(option.site_code),
            shift,
            exclude_slot=exclude_slot,
        )
        if fits is not None:
            out.append(option)
    return out


def by_day(
    options: Sequence[SlotOption], tz: tzinfo, *, days: int = MAX_DAYS, per_day: int = MAX_PER_DAY
) -> list[tuple[date, list[SlotOption]]]:
    """Options grouped by local day, earliest day first; at most ``days`` days and
    ``per_day`` slots a day (spread over the day rather than its first hour)."""
    grouped: dict[date, list[SlotOption]] = {}
    for option in options:
        grouped.setdefault(option.starts_at.astimezone(tz).date(), []).append(option)
    out: list[tuple[date, list[SlotOption]]] = []
    for day in sorted(grouped)[:days]:
        slots = grouped[day]
        if len(slots) > per_day:
            step = len(slots) / per_day
            slots = [slots[int(i * step)] for i in range(per_day)]
        out.append((day, slots))
    return out


@dataclass(frozen=True)
class WalkIn:
    """One day a site is open for a walk-in test, with its opening hours that day."""

    site_code: str
    day: date
    hours: tuple[tuple[time, time], ...]


def walk_in(
    sites: Sequence[SiteSpec],
    department: str,
    grid_unit: str,
    now: datetime,
    *,
    days: int = WALK_IN_DAYS,
) -> list[WalkIn]:
    """Where and when the person may walk in over the next ``days`` days (from now): the sites
    that serve them, on the days they open, with the hours still ahead."""
    out: list[WalkIn] = []
    for site in sites:
        if not site.serves(department, grid_unit):
            continue
        tz = site.tz
        local_now = now.astimezone(tz)
        for offset in range(days):
            day = local_now.date() + timedelta(days=offset)
            if day in site.closed:
                continue
            hours = []
            for w in site.hours.get(day.weekday(), ()):
                end_minute = min(w.end, 1440)  # past midnight: shown as open until 24:00
                closes = datetime.combine(day, time(0), tz) + timedelta(minutes=end_minute)
                if closes <= local_now:
                    continue
                hours.append((_clock(w.start), _clock(end_minute % 1440)))
            if hours:
                out.append(WalkIn(site.code, day, tuple(hours)))
    out.sort(key=lambda w: (w.day, w.hours[0][0], w.site_code))
    return out


def _clock(minute: int) -> time:
    return time(minute // 60, minute % 60)
