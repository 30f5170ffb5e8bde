"""Property tests: whatever the roster, sites and clock, the planner keeps every hard rule.

The rules are judged by :mod:`tests.plan_oracle`, written from the documentation alone, never by
the planner's own rules module.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testrota.scheduling.model import (
    CurrentAppointment,
    DateRange,
    FixedAppointment,
    PlanPerson,
    PlanSlot,
)
from testrota.scheduling.planner import plan_earliest, plan_week
from testrota.scheduling.sites import parse_sites, week_slots
from tests import plan_oracle as oracle
from tests.plan_helpers import SHIFTS, make_policy

WEEKS = [date(2022, 5, 9), date(2022, 3, 7), date(2022, 10, 31)]  # plain, spring DST, fall DST
ZONES = ["Asia/Shanghai", "America/New_York", "Europe/Berlin"]
DEPARTMENTS = ["D0", "D1", "D2"]
UNITS = ["", "U0", "U1", "U2", "U3", "U4"]
WINDOWS = ["00:00-04:00", "06:00-10:00", "08:00-12:00", "13:00-18:00", "17:00-23:00", "22:00-02:00"]


@st.composite
def site_docs(draw: Any, code: str) -> dict[str, Any]:
    hours: dict[str, list[str]] = {}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        picked = draw(st.lists(st.sampled_from(WINDOWS), max_size=2, unique=True))
        ordered: list[str] = []
        for w in picked:  # skip windows that would overlap on the same day
            a, b = (int(x[:2]) for x in w.split("-"))
            b = b + 24 if b <= a else b
            if all(b <= int(o[:2]) or a >= _end(o) for o in ordered):
                ordered.append(w)
        if ordered:
            hours[day] = ordered
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    for i, day in enumerate(days):  # a window past midnight must not run into the next day's
        nxt = days[(i + 1) % 7]
        if "22:00-02:00" in hours.get(day, []) and "00:00-04:00" in hours.get(nxt, []):
            hours[nxt].remove("00:00-04:00")
    doc: dict[str, Any] = {
        "code": code,
        "name": code,
        "hours": hours,
        "timezone": draw(st.sampled_from(ZONES)),
        "capacity": draw(st.integers(1, 6)),
        "slot_minutes": draw(st.sampled_from([30, 60, 120])),
    }
    if draw(st.booleans()):
        doc["serves"] = {
            "departments": draw(st.lists(st.sampled_from(DEPARTMENTS), max_size=2, unique=True)),
            "grid_units": draw(st.lists(st.sampled_from(UNITS[1:]), max_size=2, unique=True)),
        }
    return doc


def _end(window: str) -> int:
    a, b = (int(x[:2]) for x in window.split("-"))
    return b + 24 if b <= a else b


@st.composite
def people_lists(draw: Any, monday: date) -> list[PlanPerson]:
    n = draw(st.integers(0, 40))
    out = []
    for i in range(n):
        exemptions: tuple[DateRange, ...] = ()
        if draw(st.integers(0, 5)) == 0:
            start = monday + timedelta(days=draw(st.integers(-3, 6)))
            exemptions = (DateRange(start, start + timedelta(days=draw(st.integers(0, 8)))),)
        out.append(
            PlanPerson(
                id=i + 1,
                employee_no=f"E{i:03d}",
                department=draw(st.sampled_from(DEPARTMENTS)),
                grid_unit=draw(st.sampled_from(UNITS)),
                shift=draw(st.sampled_from(["day", "night", "rotating", "day", ""])),
                category=draw(st.sampled_from(["driver", "canteen", None])),
                tests_required=draw(st.integers(0, 3)),
                exemptions=exemptions,
            )
        )
    return out


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    monday = draw(st.sampled_from(WEEKS))
    surge = []
    if draw(st.booleans()):
        start = monday + timedelta(days=draw(st.integers(-2, 6)))
        surge = [
            {
                "name": "surge",
                "start": start.isoformat(),
                "end": (start + timedelta(days=draw(st.integers(0, 9)))).isoformat(),
                "tests_per_week": draw(st.integers(1, 7)),
                "departments": draw(
                    st.lists(st.sampled_from(DEPARTMENTS), min_size=1, max_size=2, unique=True)
                ),
            }
        ]
    testing = {"min_gap_days": draw(st.integers(1, 3)), "surge": surge}
    policy = make_policy(**testing)
    n_sites = draw(st.integers(1, 3))
    docs = [draw(site_docs(f"S{i}")) for i in range(n_sites)]
    sites = parse_sites({"sites": docs}, policy)
    people = draw(people_lists(monday))
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    first_now = start + timedelta(hours=draw(st.integers(-48, 100)))
    later = first_now + timedelta(hours=draw(st.integers(0, 100)))
    return {
        "monday": monday,
        "policy": policy,
        "sites": sites,
        "people": people,
        "testing": testing,
        "site_docs": {d["code"]: d for d in docs},
        "now": first_now,
        "later": later,
        "seed_prev": draw(st.integers(0, 10**6)),
    }


def _check(
    result: Any,
    people: list[PlanPerson],
    slots: list[PlanSlot],
    sc: dict[str, Any],
    now: datetime,
    fixed: Sequence[FixedAppointment] = (),
) -> None:
    monday, docs, zone = sc["monday"], sc["site_docs"], "Asia/Shanghai"
    by_id = {s.id: s for s in slots}
    seats = Counter(a.slot_id for a in result.assignments)
    seats.update(f.slot_id for f in fixed if f.slot_id is not None)
    for slot_id, n in seats.items():
        assert n <= by_id[slot_id].capacity, "over capacity"
    for a in result.assignments:
        assert by_id[a.slot_id].starts_at > now, "used a slot that had started"
    missing = {u.person_id: u.missing for u in result.unscheduled}
    required = 0
    for p in people:
        want = oracle.asked(p, monday, sc["testing"])
        required += want.tests
        new = [by_id[a.slot_id] for a in result.assignments if a.person_id == p.id]
        old_days = [f.day for f in fixed if f.person_id == p.id and f.counts]
        new_days = [oracle.weekday(s, docs[s.site_code], zone) for s in new]
        days = sorted([*old_days, *new_days])
        assert len(new) + missing.get(p.id, 0) == max(0, want.tests - len(old_days))
        assert all(b - a >= want.gap for a, b in itertools.pairwise(days)), "gap"
        for s, day in zip(new, new_days, strict=True):
            doc = docs[s.site_code]
            assert oracle.serves(doc, p), "wrong site"
            assert oracle.fits_shift(s, p.shift, SHIFTS, doc, zone), "outside the shift"
            assert day in want.days, "tested on an exempt day"
    assert result.report["required"] == required
    assert 0 <= result.report["scheduled"] <= required
    share = result.report["single_unit_slot_share"]
    assert (share is None) == (not result.assignments and not fixed)
    assert share is None or 0.0 <= share <= 1.0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_hard_rules_hold_for_a_plan_and_a_replan_later_in_the_week(sc: dict[str, Any]) -> None:
    monday, policy, sites, people = sc["monday"], sc["policy"], sc["sites"], sc["people"]
    slots = week_slots(sites, monday)
    scopes = [s.scope for s in sites]
    first = plan_week(people, slots, [], policy, sc["now"], week_start=monday, sites=scopes)
    _check(first, people, slots, sc, sc["now"])
    again = plan_week(
        list(reversed(people)), slots, [], policy, sc["now"], week_start=monday, sites=scopes
    )
    assert sorted(first.assignments, key=lambda a: (a.person_id, a.slot_id)) == sorted(
        again.assignments, key=lambda a: (a.person_id, a.slot_id)
    ), "not deterministic"

    # Later in the week: what has started is fixed, the rest may move; a third of the people
    # leave and the rest are re-planned around the fixed appointments.
    later = sc["later"]
    by_id = {s.id: s for s in slots}
    fixed, current = [], []
    for a in first.assignments:
        s = by_id[a.slot_id]
        if s.starts_at <= later:
            fixed.append(FixedAppointment(a.person_id, s.day, s.id))
        else:
            current.append(CurrentAppointment(a.person_id, a.slot_id))
    staying = [p for p in people if p.id % 3]
    replan = plan_week(
        staying,
        slots,
        [],
        policy,
        later,
        week_start=monday,
        sites=scopes,
        fixed=fixed,
        current=current,
        earliest_for_newcomers=True,
    )
    _check(replan, staying, slots, sc, later, fixed)
    # Next week, with this week as "last week".
    from tests.plan_helpers import as_previous

    next_monday = monday + timedelta(days=7)
    next_slots = week_slots(sites, next_monday)
    nxt = plan_week(
        people,
        next_slots,
        as_previous(first, slots),
        policy,
        later,
        week_start=next_monday,
        sites=scopes,
    )
    _check(nxt, people, next_slots, {**sc, "monday": next_monday}, later)


@settings(max_examples=50, deadline=None)
@given(scenarios(), st.booleans())
def test_hard_rules_hold_on_the_mid_week_path(sc: dict[str, Any], extra: bool) -> None:
    monday, policy, sites, people = sc["monday"], sc["policy"], sc["sites"], sc["people"]
    slots = week_slots(sites, monday)
    scopes = [s.scope for s in sites]
    base = plan_week(people[::2], slots, [], policy, sc["now"], week_start=monday, sites=scopes)
    occupancy: dict[int, dict[str, int]] = {}
    unit = {p.id: p.unit for p in people}
    for a in base.assignments:
        units = occupancy.setdefault(a.slot_id, {})
        units[unit[a.person_id]] = units.get(unit[a.person_id], 0) + 1
    by_id = {s.id: s for s in slots}
    existing = [
        FixedAppointment(a.person_id, by_id[a.slot_id].day, a.slot_id) for a in base.assignments
    ]
    result = plan_earliest(
        people[1::2],
        slots,
        policy,
        sc["later"],
        week_start=monday,
        sites=scopes,
        occupancy=occupancy,
        existing=existing,
        extra=extra,
    )
    seats = Counter(a.slot_id for a in result.assignments)
    for slot_id, n in seats.items():
        assert n + sum(occupancy.get(slot_id, {}).values()) <= by_id[slot_id].capacity
        assert by_id[slot_id].starts_at > sc["later"]
    docs, zone = sc["site_docs"], "Asia/Shanghai"
    for p in people[1::2]:
        want = oracle.asked(p, monday, sc["testing"])
        mine = [by_id[a.slot_id] for a in result.assignments if a.person_id == p.id]
        days = sorted(oracle.weekday(s, docs[s.site_code], zone) for s in mine)
        if extra:
            assert len(mine) <= 1
        else:
            assert len(mine) <= want.tests
            assert all(b - a >= want.gap for a, b in itertools.pairwise(days))
        for s in mine:
            doc = docs[s.site_code]
            assert oracle.serves(doc, p)
            assert oracle.fits_shift(s, p.shift, SHIFTS, doc, zone)
            assert oracle.weekday(s, doc, zone) in want.days
