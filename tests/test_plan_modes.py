"""The planner's share of the emergency modes (issue 15), pure: a grid unit in static mode never
shares a slot with another grid unit, whatever the capacity (it goes short instead, and the
plan says which grid units and why); people living on site in onsite mode are booked at on-site
sites only."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testrota.scheduling.model import FixedAppointment, PlanPerson, PlanResult
from testrota.scheduling.planner import plan_earliest
from tests.plan_helpers import (
    BEFORE,
    MONDAY,
    as_previous,
    check_hard_rules,
    make_policy,
    make_sites,
    run,
    site,
    team,
)

POLICY = make_policy()


def _mixed_slots(result: PlanResult, people: list[PlanPerson]) -> list[tuple[int, set[str]]]:
    """Slots where a kept-apart unit shares with another grid unit."""
    unit = {p.id: p.unit for p in people}
    apart = {p.unit for p in people if p.apart}
    held: dict[int, set[str]] = defaultdict(set)
    for a in result.assignments:
        held[a.slot_id].add(unit[a.person_id])
    return [(s, units) for s, units in held.items() if units & apart and len(units) > 1]


def test_a_static_unit_that_finds_no_slot_of_its_own_is_reported_not_mixed() -> None:
    # One window a day of two 8-seat slots; three static grid units of six, tested daily: two
    # units fit, one to a slot; the third would have to share the two seats left in each.
    sites = make_sites(POLICY, site("A", {"daily": ["08:00-08:30"]}), capacity=8)
    people = [
        *team("A", 6, unit="甲", apart=True, start_id=1, tests=7),
        *team("B", 6, unit="乙", apart=True, start_id=101, tests=7),
        *team("C", 6, unit="丙", apart=True, start_id=201, tests=7),
    ]
    result, slots = run(people, sites, POLICY)
    check_hard_rules(result, people, slots, [s.scope for s in sites], POLICY, BEFORE)
    assert _mixed_slots(result, people) == []
    placed = Counter(p.unit for p in people for a in result.assignments if a.person_id == p.id)
    assert sorted(placed[u] for u in ("甲", "乙", "丙")) == [0, 42, 42]
    [short] = result.report["kept_apart"]["not_placed"]
    assert short["people"] == 6 and short["missing"] == 42
    assert short["reason"] == "no_slot_of_own"
    assert {u.reason for u in result.unscheduled} == {"no_slot_of_own"}
    assert any("not mixed" in w for w in result.report["warnings"])
    # The same units in normal mode fill the seats left over, mixing units to do so.
    normal = [p._replace(apart=False) for p in people]
    mixed, _ = run(normal, sites, POLICY)
    assert len(mixed.assignments) == 7 * 16 and _mixed_slots(mixed, people)


def test_a_normal_unit_never_joins_a_static_units_slot() -> None:
    sites = make_sites(POLICY, site("A", {"daily": ["08:00-08:30"]}), capacity=8)
    people = [
        *team("A", 5, unit="甲", apart=True, start_id=1, tests=7),
        *team("B", 5, unit="乙", apart=True, start_id=101, tests=7),
        *team("N", 8, unit="常", start_id=201, tests=2),
    ]
    result, _ = run(people, sites, POLICY)
    assert _mixed_slots(result, people) == []
    assert {u.reason for u in result.unscheduled} == {"no_capacity"}
    assert result.report["kept_apart"] == {"grid_units": 2, "not_placed": []}


def test_residents_in_onsite_mode_are_booked_at_on_site_sites_only() -> None:
    sites = make_sites(POLICY, site("GATE"), site("DORM", onsite=True), capacity=5)
    residents = team("R", 3, unit="甲", onsite=True, tests=7)
    others = team("O", 3, unit="乙", start_id=10)
    result, slots = run([*residents, *others], sites, POLICY)
    where = {s.id: s.site_code for s in slots}
    ids = {p.id for p in residents}
    assert {where[a.slot_id] for a in result.assignments if a.person_id in ids} == {"DORM"}
    assert sum(1 for a in result.assignments if a.person_id in ids) == 21
    # without an on-site site they are not booked anywhere, and the plan says why
    gate_only = make_sites(POLICY, site("GATE"), capacity=5)
    none, _ = run(residents, gate_only, POLICY)
    assert none.assignments == []
    assert {u.reason for u in none.unscheduled} == {"no_onsite_site"}


WINDOWS = ["07:00-08:00", "08:00-09:00", "13:00-14:00", "18:00-19:00"]


@st.composite
def worlds(draw: Any) -> tuple[list[PlanPerson], list[dict[str, Any]]]:
    sites = []
    for code in ("S1", "S2")[: draw(st.integers(1, 2))]:
        hours = draw(st.lists(st.sampled_from(WINDOWS), min_size=1, max_size=3, unique=True))
        sites.append(
            site(
                code,
                {"daily": sorted(hours)},
                capacity=draw(st.integers(1, 8)),
                slot_minutes=draw(st.sampled_from([30, 60])),
            )
        )
    people: list[PlanPerson] = []
    for n, unit in enumerate(("U0", "U1", "U2", "U3", "U4")):
        size = draw(st.integers(0, 9))
        apart = draw(st.booleans())
        tests = 7 if apart else draw(st.integers(1, 3))
        people += team(f"{unit}-", size, unit=unit, apart=apart, start_id=100 * n + 1, tests=tests)
    return people, sites


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds(), replan_at=st.integers(0, 6 * 24))
def test_whatever_the_capacity_a_static_unit_never_shares_a_slot(
    world: tuple[list[PlanPerson], list[dict[str, Any]]], replan_at: int
) -> None:
    people, docs = world
    sites = make_sites(POLICY, *docs)
    scopes = [s.scope for s in sites]
    apart = {p.unit for p in people if p.apart}
    # last week planned in normal mode, then this week with the static units kept apart,
    # remembering last week's slots (which mixed units where capacity was short)
    last, slots = run([p._replace(apart=False) for p in people], sites, POLICY)
    result, _ = run(people, sites, POLICY, previous=as_previous(last, slots))
    check_hard_rules(result, people, slots, scopes, POLICY, BEFORE)
    assert _mixed_slots(result, people) == []
    short = {u.person_id for u in result.unscheduled}
    reported = {r["grid_unit"] for r in result.report["kept_apart"]["not_placed"]}
    assert reported == {p.unit for p in people if p.apart and p.id in short}
    ids = apart_ids(people)
    assert all(u.reason != "no_capacity" for u in result.unscheduled if u.person_id in ids)
    # a re-plan during the week keeps the guarantee too (the started slots left as they were)
    now = BEFORE + timedelta(days=3, hours=replan_at)
    fixed = [
        FixedAppointment(a.person_id, by.day, a.slot_id)
        for a in result.assignments
        if (by := slots[a.slot_id]).starts_at <= now
    ]
    again, _ = run(people, sites, POLICY, now=now, fixed=fixed, earliest_for_newcomers=True)
    assert _mixed_slots(again, people) == []
    # and so does the mid-week path for a newcomer of each unit
    occupancy: dict[int, dict[str, int]] = defaultdict(dict)
    unit = {p.id: p.unit for p in people}
    for a in result.assignments:
        seats = occupancy[a.slot_id]
        seats[unit[a.person_id]] = seats.get(unit[a.person_id], 0) + 1
    newcomers = [
        PlanPerson(9000 + n, f"N{n}", "D1", u, "day", "cold_chain", 2, apart=u in apart)
        for n, u in enumerate(("U0", "U1", "U2", "U3", "U4"))
    ]
    late = plan_earliest(
        newcomers,
        slots,
        POLICY,
        datetime(2022, 5, 10, 0, 0, tzinfo=UTC),
        week_start=MONDAY,
        sites=scopes,
        occupancy=occupancy,
        alone=apart,
    )
    held: dict[int, set[str]] = {sid: set(units) for sid, units in occupancy.items()}
    newcomer_unit = {n.id: n.unit for n in newcomers}
    for a in late.assignments:
        held.setdefault(a.slot_id, set()).add(newcomer_unit[a.person_id])
    assert all(not (units & apart and len(units) > 1) for units in held.values())


def apart_ids(people: list[PlanPerson]) -> set[int]:
    return {p.id for p in people if p.apart}
