"""The planner's hard rules, written again from the README and policy.yaml alone.

The property tests judge the planner with these, never with ``testrota.scheduling.rules``: a
bug in the rules module would otherwise plan wrongly and judge itself right. Everything here
reads the scenario's raw documents (the policy's ``testing`` and ``shifts`` sections, the sites'
YAML dicts), not the parsed objects the planner uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from testrota.scheduling.model import PlanPerson, PlanSlot


@dataclass(frozen=True)
class Asked:
    """What a week asks of one person, by the README's words."""

    tests: int
    days: frozenset[int]  # 0 = Monday; days the person is not exempt
    gap: int


def _unit(person: PlanPerson) -> str:
    # "a person without a grid unit is kept together with their department"
    return person.grid_unit or person.department


def _surge_covers(rule: dict[str, Any], person: PlanPerson, day: date) -> bool:
    if not date.fromisoformat(rule["start"]) <= day <= date.fromisoformat(rule["end"]):
        return False
    return bool(
        rule.get("all_staff")
        or person.department in rule.get("departments", ())
        or _unit(person) in rule.get("grid_units", ())
        or (person.category is not None and person.category in rule.get("categories", ()))
    )


def asked(person: PlanPerson, monday: date, testing: dict[str, Any]) -> Asked:
    """Tests, allowed days and minimum gap for the week of ``monday``.

    policy.yaml: "a week's count is the sum of rate/7 over its days", counted only on days the
    person is not exempt, rounded up, one test a day at most; a surge raises the rate on the days
    it covers and may narrow the gap; the gap narrows only as far as the count needs.
    """
    days = [monday + timedelta(days=i) for i in range(7)]
    free = frozenset(
        i for i, d in enumerate(days) if not any(r.start <= d <= r.end for r in person.exemptions)
    )
    base = min(max(person.tests_required, 0), 7)
    gap = int(testing.get("min_gap_days", 2))
    total = 0.0
    for i in free:
        rate = base
        for rule in testing.get("surge", ()):
            if _surge_covers(rule, person, days[i]) and rule["tests_per_week"] > rate:
                rate = min(rule["tests_per_week"], 7)
                if rule.get("min_gap_days"):
                    gap = min(gap, int(rule["min_gap_days"]))
        total += rate / 7
    tests = min(math.ceil(round(total, 9)), len(free))
    gap = max(gap, 1)
    while gap > 1 and (tests - 1) * gap + 1 > len(free):
        gap -= 1
    return Asked(tests, free, gap)


def local_start(slot: PlanSlot, site_doc: dict[str, Any], default_zone: str) -> datetime:
    return slot.starts_at.astimezone(ZoneInfo(site_doc.get("timezone", default_zone)))


def fits_shift(
    slot: PlanSlot, shift: str, shifts: dict[str, Any], site_doc: dict[str, Any], zone: str
) -> bool:
    """The slot lies inside the shift's hours (local wall clock; a window may pass midnight, an
    end of 23:59 means midnight, and windows that meet form one stretch: a night shift of
    17:00-23:59 and 00:00-09:00 covers a slot from 23:30 to 00:30). A shift policy.yaml does not
    define allows every slot."""
    if shift not in shifts:
        return True
    start = local_start(slot, site_doc, zone).replace(tzinfo=None)
    end = start + timedelta(minutes=slot.length)
    stretches: list[list[datetime]] = []
    for offset in (-1, 0, 1):
        midnight = datetime.combine(start.date() + timedelta(days=offset), datetime.min.time())
        for window in shifts[shift]["windows"]:
            a, b = _minutes(window["start"]), _minutes(window["end"])
            b = 1440 if b == 1439 else b
            b = b + 1440 if b <= a else b
            stretches.append([midnight + timedelta(minutes=a), midnight + timedelta(minutes=b)])
    stretches.sort()
    merged: list[list[datetime]] = []
    for a, b in stretches:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return any(a <= start and end <= b for a, b in merged)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def serves(site_doc: dict[str, Any], person: PlanPerson) -> bool:
    """sites.yaml: ``serves`` is all, or the departments and grid units listed (both lists
    empty: all)."""
    scope = site_doc.get("serves")
    if not scope or scope == "all" or not (scope.get("departments") or scope.get("grid_units")):
        return True
    return person.department in scope.get("departments", ()) or _unit(person) in scope.get(
        "grid_units", ()
    )


def weekday(slot: PlanSlot, site_doc: dict[str, Any], zone: str) -> int:
    return local_start(slot, site_doc, zone).weekday()
