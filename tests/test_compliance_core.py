"""The pure compliance core: done / missed / excused, weeks, required tests, contacts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from testrota.compliance.contacts import GRID_UNIT, SAME_SLOT, find_contacts, slot_window
from testrota.compliance.missed import days_tested, decide_due, is_overdue
from testrota.compliance.records import (
    AppointmentFacts,
    ExemptionFacts,
    PersonFacts,
    Sample,
)
from testrota.compliance.weekly import (
    person_week,
    policy_required,
    rollup,
    weeks_missed_in_row,
)
from testrota.errors import UserError
from testrota.weeks import (
    IsoWeek,
    day_bounds,
    local_days,
    parse_week,
    recent_weeks,
    week_bounds,
    week_of,
)
from tests.compliance_fixtures import NY, SH, local, policy

P = policy()
DRIVER = PersonFacts(1, "1001", "张三", "炼钢厂", "一号网格", "司机", "driver")


def appt(
    start: datetime,
    minutes: int = 30,
    status: str = "scheduled",
    aid: int = 1,
    pid: int = 1,
    reason: str = "plan",
) -> AppointmentFacts:
    return AppointmentFacts(
        aid, pid, start, start + timedelta(minutes=minutes), status, "S1", "", reason
    )


# ---------------------------------------------------------------- done / missed / excused


def test_a_test_that_day_makes_the_appointment_done() -> None:
    slot = local(SH, 2022, 5, 9, 14, 0)
    sampled = local(SH, 2022, 5, 9, 8, 5)  # in the morning, before the slot
    tested = days_tested([Sample(1, sampled)], SH)
    out = decide_due([appt(slot)], tested, local(SH, 2022, 5, 9, 15, 0), P)
    assert out.done == [(1, sampled)] and out.missed == []


def test_no_test_past_the_grace_period_is_missed() -> None:
    slot = local(SH, 2022, 5, 9, 8, 0)
    out = decide_due([appt(slot)], {}, local(SH, 2022, 5, 9, 12, 31), P)
    assert out.missed == [1] and out.done == []


@pytest.mark.parametrize(("minutes_after_grace", "missed"), [(-1, False), (0, False), (1, True)])
def test_grace_boundary(minutes_after_grace: int, missed: bool) -> None:
    slot = local(SH, 2022, 5, 9, 8, 0)  # ends 08:30, grace 4 h: missed after 12:30
    now = local(SH, 2022, 5, 9, 12, 30) + timedelta(minutes=minutes_after_grace)
    assert is_overdue(slot + timedelta(minutes=30), now, P) is missed
    assert decide_due([appt(slot)], {}, now, P).missed == ([1] if missed else [])


def test_grace_hours_come_from_the_policy() -> None:
    slot = local(SH, 2022, 5, 9, 8, 0)
    now = local(SH, 2022, 5, 9, 9, 31)
    assert decide_due([appt(slot)], {}, now, policy(grace_hours=1)).missed == [1]
    assert decide_due([appt(slot)], {}, now, P).missed == []


def test_excused_and_cancelled_are_never_touched() -> None:
    slot = local(SH, 2022, 5, 9, 8, 0)
    now = local(SH, 2022, 5, 10, 8, 0)
    tested = days_tested([Sample(1, slot)], SH)
    for status in ("excused", "cancelled", "done"):
        out = decide_due([appt(slot, status=status)], tested, now, P)
        assert out.done == [] and out.missed == []
        out = decide_due([appt(slot, status=status)], {}, now, P)
        assert out.done == [] and out.missed == []


def test_a_test_on_another_day_does_not_make_the_slot_done() -> None:
    slot = local(SH, 2022, 5, 9, 8, 0)
    tested = days_tested([Sample(1, local(SH, 2022, 5, 10, 8, 0))], SH)
    assert decide_due([appt(slot)], tested, local(SH, 2022, 5, 10, 9, 0), P).missed == [1]


def test_a_late_result_turns_missed_into_done() -> None:
    slot = local(SH, 2022, 5, 9, 8, 0)
    sampled = local(SH, 2022, 5, 9, 19, 0)
    out = decide_due(
        [appt(slot, status="missed")],
        days_tested([Sample(1, sampled)], SH),
        local(SH, 2022, 5, 10, 9, 0),
        P,
    )
    assert out.done == [(1, sampled)]


def test_an_invalid_sample_does_not_count() -> None:
    slot = local(SH, 2022, 5, 9, 8, 0)
    tested = days_tested([Sample(1, slot, result="invalid")], SH)
    assert decide_due([appt(slot)], tested, local(SH, 2022, 5, 9, 13, 0), P).missed == [1]


def test_the_local_calendar_day_decides_not_the_utc_day() -> None:
    # 07:00 in Shanghai is 23:00 UTC the day before.
    slot = local(SH, 2022, 5, 9, 7, 0)
    sampled_before_local_midnight = local(SH, 2022, 5, 8, 23, 30)  # 15:30 UTC on 8 May
    sampled_same_local_day = local(SH, 2022, 5, 9, 0, 30)  # 16:30 UTC on 8 May
    now = local(SH, 2022, 5, 9, 18, 0)
    assert decide_due(
        [appt(slot)], days_tested([Sample(1, sampled_before_local_midnight)], SH), now, P
    ).missed == [1]
    assert decide_due(
        [appt(slot)], days_tested([Sample(1, sampled_same_local_day)], SH), now, P
    ).done


def test_dst_fall_back_day_has_25_hours() -> None:
    ny = policy(timezone="America/New_York")
    start, end = day_bounds(date(2022, 11, 6), NY)
    assert end - start == timedelta(hours=25)
    slot = local(NY, 2022, 11, 6, 10, 0)
    late_evening = local(NY, 2022, 11, 6, 23, 30)  # 04:30 UTC on 7 Nov
    now = local(NY, 2022, 11, 7, 12, 0)
    assert decide_due([appt(slot)], days_tested([Sample(1, late_evening)], NY), now, ny).done
    after_midnight = local(NY, 2022, 11, 7, 0, 10)
    assert decide_due(
        [appt(slot)], days_tested([Sample(1, after_midnight)], NY), now, ny
    ).missed == [1]


def test_a_slot_crossing_midnight_belongs_to_both_days() -> None:
    slot = local(SH, 2022, 5, 9, 23, 45)
    assert local_days(slot, slot + timedelta(minutes=30), SH) == [
        date(2022, 5, 9),
        date(2022, 5, 10),
    ]
    tested = days_tested([Sample(1, local(SH, 2022, 5, 10, 0, 5))], SH)
    assert decide_due([appt(slot)], tested, local(SH, 2022, 5, 10, 6, 0), P).done


# ---------------------------------------------------------------- weeks


def test_weeks_parse_and_bounds() -> None:
    assert parse_week("2022-W19") == IsoWeek(2022, 19) == parse_week("2022w19")
    assert str(IsoWeek(2022, 1)) == "2022-W01"
    for bad in ("2022-19", "W19", ""):
        with pytest.raises(UserError, match="ISO week"):
            parse_week(bad)
    with pytest.raises(UserError, match="2022 has no week 54"):
        parse_week("2022-W54")
    start, end = week_bounds(IsoWeek(2022, 19), SH)
    assert start == local(SH, 2022, 5, 9, 0, 0) and end - start == timedelta(days=7)
    # The week of the spring-forward Sunday is an hour short in New York.
    start, end = week_bounds(IsoWeek(2022, 10), NY)
    assert end - start == timedelta(hours=167)
    assert week_of(datetime(2022, 5, 8, 17, 0, tzinfo=UTC), SH) == IsoWeek(2022, 19)  # Mon 01:00
    assert [str(w) for w in recent_weeks(IsoWeek(2022, 1), 3)] == [
        "2021-W51",
        "2021-W52",
        "2022-W01",
    ]


# ---------------------------------------------------------------- weekly compliance

W19 = IsoWeek(2022, 19)


def test_missed_a_slot_but_tested_another_day_is_compliant_and_both_show() -> None:
    appts = [
        appt(local(SH, 2022, 5, 9, 8, 0), status="missed", aid=1),
        appt(local(SH, 2022, 5, 12, 8, 0), status="done", aid=2),
    ]
    days = {date(2022, 5, 10), date(2022, 5, 12)}
    pw = person_week(DRIVER, W19, P, appts, days)
    assert (pw.tests, pw.required, pw.missed, pw.done) == (2, 2, 1, 1)
    assert pw.compliant


def test_required_follows_excuses_contacts_surges_and_exemptions() -> None:
    assert policy_required(DRIVER, W19, P) == 2
    office = PersonFacts(2, "2001", "李四", "办公室", "", "文员", None)
    assert policy_required(office, W19, P) == 0
    excused = [appt(local(SH, 2022, 5, 9, 8, 0), status="excused")]
    assert person_week(DRIVER, W19, P, excused, set()).required == 1
    contact = [appt(local(SH, 2022, 5, 11, 8, 0), reason="contact", pid=2)]
    assert person_week(office, W19, P, contact, set()).required == 1
    surge = policy(
        surge=[
            {
                "name": "静态管控",
                "start": "2022-05-12",
                "end": "2022-05-20",
                "tests_per_week": 7,
                "all_staff": True,
            }
        ]
    )
    # Thu..Sun at 7/week, Mon..Wed at 2/week: ceil((4*7 + 3*2) / 7) = 5
    assert policy_required(DRIVER, W19, surge) == 5
    assert policy_required(office, W19, surge) == 4
    away = [ExemptionFacts(1, date(2022, 5, 9), date(2022, 5, 13))]
    assert policy_required(DRIVER, W19, P, away) == 1
    whole = [ExemptionFacts(1, date(2022, 5, 1), date(2022, 5, 31))]
    assert policy_required(DRIVER, W19, P, whole) == 0
    gone = PersonFacts(3, "3001", "王五", "炼钢厂", "", "司机", "driver", active=False)
    assert policy_required(gone, W19, P) == 0


def test_two_checkins_the_same_day_are_one_test() -> None:
    pw = person_week(DRIVER, W19, P, [], {date(2022, 5, 9)})
    assert pw.tests == 1 and not pw.compliant


def test_weeks_missed_in_a_row() -> None:
    # missed W19, W18, W17 and W15, asked in W19 and in W20
    assert weeks_missed_in_row({0, 1, 2, 4}) == 3
    assert weeks_missed_in_row({1, 2, 3, 5}) == 0
    assert weeks_missed_in_row(set()) == 0


def test_rollup_by_department_and_grid_unit() -> None:
    a = PersonFacts(1, "1", "a", "炼钢厂", "一号网格", "", "driver")
    b = PersonFacts(2, "2", "b", "炼钢厂", "二号网格", "", "driver")
    c = PersonFacts(3, "3", "c", "物流部", "", "", "driver")
    weeks = [
        (a, person_week(a, W19, P, [], {date(2022, 5, 9), date(2022, 5, 12)})),
        (
            b,
            person_week(
                b,
                W19,
                P,
                [appt(local(SH, 2022, 5, 9, 8), status="missed", pid=2)],
                {date(2022, 5, 9), date(2022, 5, 10), date(2022, 5, 11)},
            ),
        ),
        (c, person_week(c, W19, P, [], set())),
    ]
    depts = rollup(weeks, by_grid_unit=False)
    steel = depts[("炼钢厂", None)]
    assert (steel.people, steel.required, steel.tests, steel.missed) == (2, 4, 4, 1)
    assert steel.rate == 1.0 and steel.compliant_people == 2
    assert depts[("物流部", None)].rate == 0.0
    units = rollup(weeks, by_grid_unit=True)
    assert set(units) == {("炼钢厂", "一号网格"), ("炼钢厂", "二号网格"), ("物流部", "物流部")}


# ---------------------------------------------------------------- contacts


def test_contacts_are_the_grid_unit_and_the_same_slot() -> None:
    case = PersonFacts(1, "1", "case", "炼钢厂", "一号网格", "", "driver")
    mate = PersonFacts(2, "2", "mate", "炼钢厂", "一号网格", "", None)
    gone = PersonFacts(3, "3", "gone", "炼钢厂", "一号网格", "", None, active=False)
    other = PersonFacts(4, "4", "other", "炼钢厂", "二号网格", "", None)
    queued = PersonFacts(5, "5", "queued", "物流部", "", "", None)
    slot = (local(SH, 2022, 5, 9, 8, 0), local(SH, 2022, 5, 9, 8, 30))
    positive = Sample(1, local(SH, 2022, 5, 9, 8, 10), "positive", "lab", "S1", id=9)
    samples = [
        positive,
        Sample(5, local(SH, 2022, 5, 9, 8, 20), site_code="S1"),  # same slot, same site
        Sample(2, local(SH, 2022, 5, 9, 8, 25), site_code="S1"),  # also a unit mate
        Sample(4, local(SH, 2022, 5, 9, 8, 40), site_code="S1"),  # next slot
        Sample(4, local(SH, 2022, 5, 9, 8, 15), site_code="S2"),  # another site
    ]
    window = slot_window(positive.sampled_at, [slot], SH)
    assert window == slot
    contacts = find_contacts(case, positive, [case, mate, gone, other, queued], samples, window)
    assert [(c.person_id, c.reasons) for c in contacts] == [
        (2, (GRID_UNIT, SAME_SLOT)),
        (5, (SAME_SLOT,)),
    ]
    # One reason is stored per contact, a value the database accepts: the grid unit first.
    assert [c.reason for c in contacts] == ["grid_unit", "same_slot"]


def test_department_stands_in_for_an_empty_grid_unit_and_outside_samples_have_no_slot() -> None:
    case = PersonFacts(1, "1", "case", "物流部", "", "", "driver")
    colleague = PersonFacts(2, "2", "c", "物流部", "", "", None)
    positive = Sample(1, local(SH, 2022, 5, 9, 8, 10), "positive", "outside", None)
    contacts = find_contacts(case, positive, [colleague], [Sample(3, positive.sampled_at)], None)
    assert [(c.person_id, c.reason) for c in contacts] == [(2, "grid_unit")]


def test_walk_in_window_stays_inside_the_local_day() -> None:
    at = local(SH, 2022, 5, 9, 0, 10)
    start, end = slot_window(at, [], SH, timedelta(minutes=30))
    assert start == local(SH, 2022, 5, 9, 0, 0) and end == local(SH, 2022, 5, 9, 0, 40)
