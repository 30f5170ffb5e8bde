"""Builders and checks shared by the planner's tests."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from testrota.policy import Policy
from testrota.scheduling.model import (
    Assignment,
    PlanPerson,
    PlanResult,
    PlanSlot,
    PreviousAppointment,
    SiteScope,
)
from testrota.scheduling.rules import in_shift, shift_coverage, shift_key
from testrota.scheduling.sites import SiteSpec, parse_sites, week_slots

MONDAY = date(2022, 5, 9)  # ISO 2022-W19, the week of the seed's meeting
BEFORE = datetime(2022, 5, 6, 4, 0, tzinfo=UTC)  # the Friday before, 12:00 in Shanghai

SHIFTS = {
    "day": {"windows": [{"start": "07:00", "end": "19:00"}]},
    "night": {"windows": [{"start": "17:00", "end": "23:59"}, {"start": "00:00", "end": "09:00"}]},
    "rotating": {"windows": [{"start": "07:00", "end": "22:00"}]},
}


def make_policy(**testing: Any) -> Policy:
    return Policy.model_validate(
        {"timezone": "Asia/Shanghai", "shifts": SHIFTS, "testing": testing}
    )


def make_sites(
    policy: Policy, *sites: dict[str, Any], slot_minutes: int = 15, capacity: int = 20
) -> list[SiteSpec]:
    return parse_sites(
        {"slot_minutes": slot_minutes, "capacity": capacity, "sites": list(sites)}, policy
    )


def site(code: str, hours: dict[str, list[str]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": f"Site {code}",
        "hours": {"daily": ["07:00-11:00", "13:00-21:00"]} if hours is None else hours,
        **extra,
    }


def team(
    prefix: str,
    n: int,
    *,
    unit: str,
    department: str = "D1",
    shift: str = "day",
    start_id: int = 1,
    category: str | None = "cold_chain",
    tests: int = 2,
    **extra: Any,
) -> list[PlanPerson]:
    return [
        PlanPerson(
            start_id + i,
            f"{prefix}{start_id + i:05d}",
            department,
            unit,
            shift,
            category,
            tests,
            **extra,
        )
        for i in range(n)
    ]


def run(
    people: Sequence[PlanPerson],
    sites: Sequence[SiteSpec],
    policy: Policy,
    *,
    monday: date = MONDAY,
    now: datetime = BEFORE,
    previous: Sequence[PreviousAppointment] = (),
    **kwargs: Any,
) -> tuple[PlanResult, list[PlanSlot]]:
    from testrota.scheduling.planner import plan_week

    slots = week_slots(list(sites), monday)
    result = plan_week(
        people,
        slots,
        previous,
        policy,
        now,
        week_start=monday,
        sites=[s.scope for s in sites],
        **kwargs,
    )
    return result, slots


def as_previous(result: PlanResult, slots: Sequence[PlanSlot]) -> list[PreviousAppointment]:
    by_id = {s.id: s for s in slots}
    return [
        PreviousAppointment(
            a.person_id, by_id[a.slot_id].day, by_id[a.slot_id].minute, by_id[a.slot_id].site_code
        )
        for a in result.assignments
    ]


def per_person(
    assignments: Sequence[Assignment], slots: Sequence[PlanSlot]
) -> dict[int, list[PlanSlot]]:
    by_id = {s.id: s for s in slots}
    out: dict[int, list[PlanSlot]] = defaultdict(list)
    for a in assignments:
        out[a.person_id].append(by_id[a.slot_id])
    for v in out.values():
        v.sort(key=lambda s: s.starts_at)
    return out


def units_per_slot(result: PlanResult, people: Sequence[PlanPerson]) -> dict[int, Counter[str]]:
    unit = {p.id: p.unit for p in people}
    out: dict[int, Counter[str]] = defaultdict(Counter)
    for a in result.assignments:
        out[a.slot_id][unit[a.person_id]] += 1
    return out


def check_hard_rules(
    result: PlanResult,
    people: Sequence[PlanPerson],
    slots: Sequence[PlanSlot],
    scopes: Sequence[SiteScope],
    policy: Policy,
    now: datetime,
    monday: date = MONDAY,
    booked: dict[int, int] | None = None,
) -> None:
    """Every hard rule of the issue, checked from the outside."""
    from datetime import timedelta

    from testrota.scheduling.rules import surge_rules_for_week, week_rule

    by_id = {s.id: s for s in slots}
    seats = Counter(a.slot_id for a in result.assignments)
    for slot_id, n in seats.items():
        assert n + (booked or {}).get(slot_id, 0) <= by_id[slot_id].capacity, "over capacity"
        assert by_id[slot_id].starts_at > now, "a slot that had started was used"
    assert len(set((a.person_id, a.slot_id) for a in result.assignments)) == len(
        result.assignments
    ), "a person twice in one slot"
    mine = per_person(result.assignments, slots)
    missing = {u.person_id: u.missing for u in result.unscheduled}
    coverage = shift_coverage(policy)
    scope = {s.code: s for s in scopes}
    surges = surge_rules_for_week(policy, monday)
    for p in people:
        rule = week_rule(p, monday, policy, surges)
        got = mine.get(p.id, [])
        assert len(got) + missing.get(p.id, 0) == rule.tests, (p, len(got), rule)
        days = sorted(s.day for s in got)
        assert all(b - a >= max(rule.gap, 1) for a, b in itertools.pairwise(days)), ("gap", p, days)
        for s in got:
            assert scope[s.site_code].serves(p.department, p.unit), "site does not serve"
            assert in_shift(coverage.get(shift_key(p.shift, policy)), s.minute, s.length), (
                "outside the shift",
                p.shift,
                s.minute,
            )
            day = monday + timedelta(days=s.day)
            assert not any(e.covers(day) for e in p.exemptions), "tested while exempt"
    assert result.report["required"] == sum(
        week_rule(p, monday, policy, surges).tests for p in people
    )
    assert result.report["scheduled"] == len(result.assignments)
