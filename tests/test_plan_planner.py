"""The pure weekly planner, with fixed dates (ISO week 2022-W19, Asia/Shanghai)."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from testrota.scheduling.model import (
    NO_CAPACITY,
    NO_SLOT_IN_SHIFT,
    NO_VALID_SITE,
    NOT_ENOUGH_DAYS,
    CurrentAppointment,
    DateRange,
    FixedAppointment,
    PlanPerson,
    PreviousAppointment,
)
from testrota.scheduling.planner import plan_earliest, plan_week
from testrota.scheduling.sites import week_slots
from tests.plan_helpers import (
    BEFORE,
    MONDAY,
    as_previous,
    check_hard_rules,
    make_policy,
    make_sites,
    per_person,
    run,
    site,
    team,
    units_per_slot,
)

POLICY = make_policy()
WEEKDAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _ok(result, people, slots, sites, policy=POLICY, now=BEFORE) -> None:  # type: ignore[no-untyped-def]
    check_hard_rules(result, people, slots, [s.scope for s in sites], policy, now)


def test_everyone_gets_two_tests_on_a_preferred_pair_with_a_roomy_site() -> None:
    sites = make_sites(POLICY, site("A"))
    people = team("E", 30, unit="G1") + team("E", 25, unit="G2", start_id=100)
    result, slots = run(people, sites, POLICY)
    _ok(result, people, slots, sites)
    assert result.unscheduled == []
    assert result.report["required"] == result.report["scheduled"] == 110
    pairs = Counter(
        tuple(s.day for s in got) for got in per_person(result.assignments, slots).values()
    )
    assert set(pairs) <= {(0, 3), (1, 4), (2, 5)}  # Mon+Thu, Tue+Fri, Wed+Sat
    assert result.report["spaced_3_4_share"] == 1.0


def test_capacity_is_never_exceeded_and_the_shortfall_is_reported() -> None:
    # One site, Monday to Wednesday only, 2 slots a day of 5: 30 seats for 40 people x 2 tests.
    sites = make_sites(POLICY, site("A", {"mon-wed": ["08:00-08:30"]}), capacity=5)
    people = team("E", 40, unit="G1")
    result, slots = run(people, sites, POLICY)
    _ok(result, people, slots, sites)
    seats = Counter(a.slot_id for a in result.assignments)
    assert max(seats.values()) == 5
    assert result.report["scheduled"] == 30 and result.report["required"] == 80
    assert {u.reason for u in result.unscheduled} == {NO_CAPACITY}
    assert sum(u.missing for u in result.unscheduled) == 50
    # Mon and Wed are the only pair 2 days apart: 15 people get both, the rest nothing more.
    got = Counter(len(v) for v in per_person(result.assignments, slots).values())
    assert got[2] * 2 + got[1] == 30


def test_minimum_gap_is_kept_even_when_it_leaves_tests_unplaced() -> None:
    sites = make_sites(POLICY, site("A", {"mon-tue": ["08:00-12:00"]}))
    people = team("E", 3, unit="G1")
    result, slots = run(people, sites, POLICY)
    _ok(result, people, slots, sites)
    for got in per_person(result.assignments, slots).values():
        assert len(got) == 1  # Mon+Tue is 1 day apart: never both
    assert {u.reason for u in result.unscheduled} == {NOT_ENOUGH_DAYS}


def test_shift_windows_are_respected() -> None:
    sites = make_sites(POLICY, site("A", {"daily": ["06:00-24:00"]}))
    night = team("N", 10, unit="G-night", shift="night")
    day = team("D", 10, unit="G-day", shift="day", start_id=100)
    rotating = team("R", 10, unit="G-rot", shift="rotating", start_id=200)
    people = night + day + rotating
    result, slots = run(people, sites, POLICY)
    _ok(result, people, slots, sites)
    mine = per_person(result.assignments, slots)
    for p in night:
        assert all(s.minute < 9 * 60 or s.minute >= 17 * 60 for s in mine[p.id])
    for p in day:
        assert all(s.minute >= 7 * 60 and s.minute + s.length <= 19 * 60 for s in mine[p.id])
    for p in rotating:
        assert all(s.minute >= 7 * 60 and s.minute + s.length <= 22 * 60 for s in mine[p.id])


def test_a_night_shift_the_sites_never_serve_is_reported_as_such() -> None:
    sites = make_sites(POLICY, site("A", {"daily": ["10:00-16:00"]}))
    people = team("N", 2, unit="G1", shift="night")
    result, _ = run(people, sites, POLICY)
    assert [u.reason for u in result.unscheduled] == [NO_SLOT_IN_SHIFT] * 2
    assert result.report["scheduled"] == 0 and result.report["required"] == 4


def test_people_no_site_serves_are_reported_and_others_still_planned() -> None:
    sites = make_sites(POLICY, site("A", serves={"departments": ["Cold store"]}))
    served = team("C", 5, unit="G1", department="Cold store")
    orphans = team("X", 3, unit="G9", department="Canteen", start_id=50)
    people = served + orphans
    result, slots = run(people, sites, POLICY)
    _ok(result, people, slots, sites)
    assert {u.employee_no for u in result.unscheduled} == {p.employee_no for p in orphans}
    assert {u.reason for u in result.unscheduled} == {NO_VALID_SITE}
    assert result.report["scheduled"] == 10


def test_a_site_serving_grid_units_takes_only_them() -> None:
    sites = make_sites(
        POLICY,
        site("DORM", serves={"grid_units": ["Dorm 1"]}),
        site("MAIN", serves={"departments": ["Rolling mill"]}),
    )
    dorm = team("A", 6, unit="Dorm 1", department="Rolling mill")
    mill = team("B", 6, unit="Line 2", department="Rolling mill", start_id=20)
    result, slots = run(dorm + mill, sites, POLICY)
    _ok(result, dorm + mill, slots, sites)
    mine = per_person(result.assignments, slots)
    assert {s.site_code for p in mill for s in mine[p.id]} == {"MAIN"}


def test_one_grid_unit_per_slot_in_consecutive_slots_on_the_same_times() -> None:
    sites = make_sites(POLICY, site("A", {"daily": ["07:00-12:00"]}), capacity=10)
    people = []
    for u in range(6):
        people += team("E", 7 + 4 * u, unit=f"G{u}", start_id=100 * (u + 1))
    random.Random(3).shuffle(people)
    result, slots = run(people, sites, POLICY)
    _ok(result, people, slots, sites)
    per_slot = units_per_slot(result, people)
    assert all(len(c) == 1 for c in per_slot.values())
    assert result.report["single_unit_slot_share"] == 1.0
    by_id = {s.id: s for s in slots}
    for u in range(6):
        held = sorted(
            (by_id[i] for i, c in per_slot.items() if f"G{u}" in c), key=lambda s: s.starts_at
        )
        days = sorted({s.day for s in held})
        assert len(days) == 2
        for d in days:
            times = [s.minute for s in held if s.day == d]
            assert times == list(range(times[0], times[0] + 15 * len(times), 15))  # consecutive
        first, second = ([s.minute for s in held if s.day == d] for d in days)
        assert first == second  # the same times on both days


def test_units_mix_only_when_capacity_forces_it_and_the_report_says_so() -> None:
    # 12 units of 6 people, three 10-seat slots a day: keeping units apart would need 24
    # unit-days of one slot each, the week has 21 slots; the 210 seats hold all 144 tests.
    sites = make_sites(POLICY, site("A", {"daily": ["08:00-08:45"]}), capacity=10)
    people = []
    for u in range(12):
        people += team("E", 6, unit=f"G{u:02d}", start_id=100 * (u + 1))
    result, slots = run(people, sites, POLICY)
    _ok(result, people, slots, sites)
    assert result.unscheduled == []
    share = result.report["single_unit_slot_share"]
    assert share >= 0.5
    per_slot = units_per_slot(result, people)
    mixed = sum(1 for c in per_slot.values() if len(c) > 1)
    assert mixed > 0
    assert share == round(1 - mixed / len(per_slot), 4)


def test_same_input_gives_the_same_plan_whatever_the_order() -> None:
    sites = make_sites(POLICY, site("A"), site("B", {"mon-fri": ["08:00-10:00"]}))
    people = []
    for u in range(10):
        people += team(
            "E",
            5 + u,
            unit=f"G{u}",
            department=f"D{u % 3}",
            start_id=100 * u,
            shift=["day", "night", "rotating"][u % 3],
        )
    a, _slots = run(people, sites, POLICY)
    shuffled = list(people)
    random.Random(1).shuffle(shuffled)
    b, _ = run(shuffled, sites, POLICY)
    assert sorted(a.assignments, key=lambda x: (x.person_id, x.slot_id)) == sorted(
        b.assignments, key=lambda x: (x.person_id, x.slot_id)
    )
    assert a.report == b.report


def _workforce(n_units: int = 40, seed: int = 5) -> list[PlanPerson]:
    rng = random.Random(seed)
    people: list[PlanPerson] = []
    for u in range(n_units):
        people += team(
            "E",
            rng.randint(3, 25),
            unit=f"G{u:03d}",
            department=f"D{u % 4}",
            start_id=len(people) + 1,
            shift=rng.choice(["day", "day", "night"]),
        )
    return people


def test_stability_nothing_changed_means_everyone_keeps_their_slots() -> None:
    sites = make_sites(POLICY, site("A"), site("B"), capacity=15)
    people = _workforce()
    first, slots = run(people, sites, POLICY)
    next_monday = MONDAY + timedelta(days=7)
    second, slots2 = run(
        people,
        sites,
        POLICY,
        monday=next_monday,
        now=BEFORE + timedelta(7),
        previous=as_previous(first, slots),
    )
    assert second.report["unchanged_share"] == 1.0
    assert second.report["compared_people"] == len(people)
    before = {
        (a.person_id, (s.day, s.minute, s.site_code))
        for a in first.assignments
        for s in [next(x for x in slots if x.id == a.slot_id)]
    }
    after = {
        (a.person_id, (s.day, s.minute, s.site_code))
        for a in second.assignments
        for s in [next(x for x in slots2 if x.id == a.slot_id)]
    }
    assert before == after


def test_stability_after_a_five_percent_roster_change_is_at_least_ninety_percent() -> None:
    sites = make_sites(POLICY, site("A"), site("B"), capacity=15)
    people = _workforce(60)
    first, slots = run(people, sites, POLICY)
    rng = random.Random(11)
    k = len(people) // 40  # 2.5 % leave, 2.5 % join existing units
    leaving = set(rng.sample([p.id for p in people], k))
    joiners = [
        PlanPerson(10_000 + i, f"N{i:04d}", d.department, d.grid_unit, d.shift, d.category, 2)
        for i, d in enumerate(rng.sample(people, k))
    ]
    changed = [p for p in people if p.id not in leaving] + joiners
    second, slots2 = run(
        changed,
        sites,
        POLICY,
        monday=MONDAY + timedelta(7),
        now=BEFORE + timedelta(7),
        previous=as_previous(first, slots),
    )
    _ok(second, changed, slots2, sites, now=BEFORE + timedelta(7))
    assert second.unscheduled == []
    assert second.report["compared_people"] == len(people) - k
    assert second.report["unchanged_share"] >= 0.9
    # Joiners are tested with their unit: in a slot their unit holds.
    per_slot = units_per_slot(second, changed)
    joined = {a.slot_id for a in second.assignments if a.person_id >= 10_000}
    assert all(len(per_slot[s]) == 1 for s in joined)


def test_stability_keeps_last_weeks_days_even_when_not_a_preferred_pair() -> None:
    sites = make_sites(POLICY, site("A"))
    people = team("E", 5, unit="G1")
    # Last week this unit tested Tue 08:00 and Sat 08:00 (not a preferred pair): keep it.
    prev = [PreviousAppointment(p.id, d, 8 * 60, "A") for p in people for d in (1, 5)]
    result, slots = run(people, sites, POLICY, previous=prev)
    for got in per_person(result.assignments, slots).values():
        assert [(s.day, s.minute) for s in got] == [(1, 480), (5, 480)]
    assert result.report["unchanged_share"] == 1.0


def test_last_weeks_slot_that_breaks_a_rule_now_is_not_kept() -> None:
    sites = make_sites(POLICY, site("A"))
    people = team("E", 2, unit="G1", shift="day")
    # 20:00 was fine for a rotating shift; they are on days now (07:00-19:00).
    prev = [PreviousAppointment(p.id, d, 20 * 60, "A") for p in people for d in (0, 3)]
    result, slots = run(people, sites, POLICY, previous=prev)
    _ok(result, people, slots, sites)
    assert result.report["unchanged_share"] == 0.0


def test_surge_daily_for_one_department_between_two_dates() -> None:
    policy = make_policy(
        surge=[
            {
                "name": "静态管控",
                "start": "2022-05-11",
                "end": "2022-05-22",
                "tests_per_week": 7,
                "departments": ["Cold store"],
            }
        ]
    )
    sites = make_sites(policy, site("A"))
    cold = team("C", 4, unit="G1", department="Cold store")
    office = team("O", 4, unit="G2", department="Office", start_id=50)
    result, slots = run(cold + office, sites, policy)
    _ok(result, cold + office, slots, sites, policy=policy)
    mine = per_person(result.assignments, slots)
    for p in cold:  # Mon, Tue at 2/7 a day plus Wed..Sun daily: ceil(4/7 + 5) = 6 tests
        days = [s.day for s in mine[p.id]]
        assert len(days) == 6
        assert {2, 3, 4, 5, 6} <= set(days)
    for p in office:
        assert len(mine[p.id]) == 2
    [surge] = result.report["surge"]
    assert surge["name"] == "静态管控" and surge["people"] == 4 and surge["days_this_week"] == 5


def test_surge_for_all_staff_covers_people_of_no_category() -> None:
    policy = make_policy(
        surge=[
            {
                "name": "lockdown",
                "start": "2022-05-01",
                "end": "2022-05-31",
                "tests_per_week": 3,
                "all_staff": True,
            }
        ]
    )
    sites = make_sites(policy, site("A"))
    people = team("E", 3, unit="G1", category=None, tests=0)
    result, slots = run(people, sites, policy)
    _ok(result, people, slots, sites, policy=policy)
    for got in per_person(result.assignments, slots).values():
        days = [s.day for s in got]
        assert len(days) == 3 and all(b - a >= 2 for a, b in itertools.pairwise(days))


def test_surge_by_category_with_its_own_gap() -> None:
    policy = make_policy(
        surge=[
            {
                "name": "cold chain x4",
                "start": "2022-05-09",
                "end": "2022-05-15",
                "tests_per_week": 4,
                "categories": ["cold_chain"],
                "min_gap_days": 1,
            }
        ]
    )
    sites = make_sites(policy, site("A"))
    people = team("E", 3, unit="G1") + team("H", 3, unit="G2", category="hotel", start_id=9)
    result, slots = run(people, sites, policy)
    _ok(result, people, slots, sites, policy=policy)
    mine = per_person(result.assignments, slots)
    assert [len(mine[p.id]) for p in people] == [4, 4, 4, 2, 2, 2]


def test_exemptions_leave_and_positive_until_a_return_date() -> None:
    sites = make_sites(POLICY, site("A"))
    leave = team(
        "L",
        1,
        unit="G1",
        exemptions=(DateRange(date(2022, 5, 1), date(2022, 5, 11), "annual leave"),),
    )
    positive = team(
        "P",
        1,
        unit="G1",
        start_id=2,
        exemptions=(DateRange(date(2022, 5, 3), date(2022, 5, 20), "positive until return"),),
    )
    back_sat = team(
        "S",
        1,
        unit="G1",
        start_id=3,
        exemptions=(DateRange(date(2022, 5, 9), date(2022, 5, 13), "leave"),),
    )
    people = leave + positive + back_sat
    result, slots = run(people, sites, POLICY)
    _ok(result, people, slots, sites)
    mine = per_person(result.assignments, slots)
    assert [s.day for s in mine[1]] == [3, 5] or [s.day for s in mine[1]] == [3, 6]
    assert 2 not in mine  # exempt all week: nothing, and not "unscheduled" either
    assert len(mine[3]) == 1 and mine[3][0].day in (5, 6)
    assert result.unscheduled == []
    assert result.report["required"] == 3
    assert result.report["exempt_people"] == 3 and result.report["excused_tests"] == 3


def test_slots_that_have_started_are_not_used() -> None:
    sites = make_sites(POLICY, site("A"))
    people = team("E", 4, unit="G1")
    now = datetime(2022, 5, 11, 1, 0, tzinfo=UTC)  # Wednesday 09:00 in Shanghai
    result, slots = run(people, sites, POLICY, now=now)
    _ok(result, people, slots, sites, now=now)
    for got in per_person(result.assignments, slots).values():
        assert got[0].starts_at > now


def test_too_late_in_the_week_is_not_enough_days() -> None:
    sites = make_sites(POLICY, site("A"))
    people = team("E", 2, unit="G1")
    now = datetime(2022, 5, 14, 1, 0, tzinfo=UTC)  # Saturday morning
    result, slots = run(people, sites, POLICY, now=now)
    _ok(result, people, slots, sites, now=now)
    assert [(u.reason, u.missing) for u in result.unscheduled] == [(NOT_ENOUGH_DAYS, 1)] * 2
    assert result.report["scheduled"] == 2 and result.report["required"] == 4


def test_nothing_at_all_gives_an_honest_empty_report() -> None:
    sites = make_sites(POLICY, site("A", {}))  # a site with no hours this week
    people = team("E", 3, unit="G1")
    result, _ = run(people, sites, POLICY)
    assert result.assignments == []
    assert {u.reason for u in result.unscheduled} == {NO_SLOT_IN_SHIFT}
    empty, _ = run([], sites, POLICY)
    assert empty.report["required"] == 0
    assert empty.report["single_unit_slot_share"] is None  # nothing booked: no share to give
    assert empty.report["unchanged_share"] is None and empty.report["kept_share"] is None


def test_fixed_appointments_count_and_take_their_seats() -> None:
    sites = make_sites(POLICY, site("A", {"daily": ["08:00-08:15"]}), capacity=3)
    slots = week_slots(sites, MONDAY)
    monday_slot = next(s for s in slots if s.day == 0)
    people = team("E", 4, unit="G1")
    # Person 1 was tested on Monday; persons 90-91 (not being planned) hold two Monday seats.
    fixed = [
        FixedAppointment(1, 0, monday_slot.id),
        FixedAppointment(90, 0, monday_slot.id, unit="Other"),
        FixedAppointment(91, 0, monday_slot.id, counts=False, unit="Other"),
    ]
    now = datetime(2022, 5, 8, tzinfo=UTC)
    result = plan_week(
        people,
        slots,
        [],
        POLICY,
        now,
        week_start=MONDAY,
        sites=[s.scope for s in sites],
        fixed=fixed,
    )
    mine = per_person(result.assignments, slots)
    assert len(mine[1]) == 1 and mine[1][0].day >= 2  # one more, at least two days later
    assert all(s.id != monday_slot.id for got in mine.values() for s in got)  # Monday is full
    assert result.report["required"] == 8 and result.report["scheduled"] == 8


def test_a_replan_keeps_every_current_appointment_when_nothing_changed() -> None:
    sites = make_sites(POLICY, site("A"), capacity=10)
    people = _workforce(12)
    first, slots = run(people, sites, POLICY)
    current = [CurrentAppointment(a.person_id, a.slot_id) for a in first.assignments]
    again = plan_week(
        people,
        slots,
        [],
        POLICY,
        BEFORE,
        week_start=MONDAY,
        sites=[s.scope for s in sites],
        current=current,
    )
    assert sorted(again.assignments, key=lambda a: (a.person_id, a.slot_id)) == sorted(
        first.assignments, key=lambda a: (a.person_id, a.slot_id)
    )
    assert again.report["kept_share"] == 1.0


def test_newcomers_during_the_week_get_the_earliest_slots_left() -> None:
    sites = make_sites(POLICY, site("A"), capacity=10)
    people = team("E", 8, unit="G1")
    first, slots = run(people, sites, POLICY)
    now = datetime(2022, 5, 10, 4, 0, tzinfo=UTC)  # Tuesday noon
    by_id = {s.id: s for s in slots}
    current, fixed = [], []
    for a in first.assignments:
        s = by_id[a.slot_id]
        if s.starts_at > now:
            current.append(CurrentAppointment(a.person_id, a.slot_id))
        else:
            fixed.append(FixedAppointment(a.person_id, s.day, s.id))
    newcomer = team("N", 1, unit="G1", start_id=500)
    result = plan_week(
        people + newcomer,
        slots,
        [],
        POLICY,
        now,
        week_start=MONDAY,
        sites=[s.scope for s in sites],
        fixed=fixed,
        current=current,
        earliest_for_newcomers=True,
    )
    got = per_person(result.assignments, slots)[500]
    assert [s.day for s in got] == [1, 3]  # this Tuesday afternoon, then two days later
    assert got[0].starts_at > now
    # In the slot its unit holds that afternoon if it has one, else the first free one.
    unit_slots = {a.slot_id for a in result.assignments if a.person_id != 500}
    afternoon = [s for s in slots if s.day == 1 and s.starts_at > now]
    held = [s for s in afternoon if s.id in unit_slots]
    assert got[0] == (held[0] if held else afternoon[0])


def test_plan_earliest_for_a_mid_week_addition_and_for_contacts() -> None:
    sites = make_sites(POLICY, site("A"), capacity=2)
    slots = week_slots(sites, MONDAY)
    now = datetime(2022, 5, 10, 4, 0, tzinfo=UTC)  # Tuesday 12:00 local
    first_after_noon = min((s for s in slots if s.starts_at > now), key=lambda s: s.starts_at)
    occupancy = {first_after_noon.id: {"G7": 2}}  # the first free slot is full
    newcomer = team("N", 1, unit="G1")
    result = plan_earliest(
        newcomer,
        slots,
        POLICY,
        now,
        week_start=MONDAY,
        sites=[s.scope for s in sites],
        occupancy=occupancy,
    )
    got = sorted(
        (next(s for s in slots if s.id == a.slot_id) for a in result.assignments),
        key=lambda s: s.starts_at,
    )
    assert [s.day for s in got] == [1, 3]
    assert got[0].starts_at == first_after_noon.starts_at + timedelta(minutes=15)
    # A contact: one extra test from Thursday on, even with a test on Wednesday.
    contact = team("C", 2, unit="G1", start_id=40)
    existing = [FixedAppointment(40, 2), FixedAppointment(41, 3)]
    extra = plan_earliest(
        contact,
        slots,
        POLICY,
        now,
        week_start=MONDAY,
        sites=[s.scope for s in sites],
        existing=existing,
        earliest=date(2022, 5, 12),
        extra=True,
    )
    assert [a.person_id for a in extra.assignments] == [40]
    assert next(s for s in slots if s.id == extra.assignments[0].slot_id).day == 3
    assert extra.report["already_booked"] == ["C00041"]


def test_plan_earliest_reports_why_nothing_fits() -> None:
    sites = make_sites(POLICY, site("A", serves={"departments": ["X"]}))
    slots = week_slots(sites, MONDAY)
    result = plan_earliest(
        team("E", 1, unit="G1"),
        slots,
        POLICY,
        BEFORE,
        week_start=MONDAY,
        sites=[s.scope for s in sites],
    )
    assert [(u.reason, u.missing) for u in result.unscheduled] == [(NO_VALID_SITE, 2)]


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        plan_week([], [], [], POLICY, datetime(2022, 5, 9), week_start=MONDAY)


@pytest.mark.parametrize("shift", ["", "swing"])
def test_an_unknown_shift_is_planned_in_any_opening_hour_with_a_warning(shift: str) -> None:
    sites = make_sites(POLICY, site("A", {"daily": ["20:00-22:00"]}))
    people = team("E", 2, unit="G1", shift=shift)
    result, _ = run(people, sites, POLICY)
    assert result.unscheduled == []
    assert any(repr(shift) in w for w in result.report["warnings"])
