"""Check-in at a testing site: the service the web page calls, and ``testrota checkin``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from testrota.db.models import Person, TestResult
from testrota.errors import UserError
from tests.compliance_fixtures import (
    SH,
    add_appt,
    add_person,
    add_site,
    add_slot,
    check_in,
    flag,
    local,
    policy,
    status,
    status_of,
)

P = policy()
SLOT = local(SH, 2022, 5, 9, 9, 0)  # Monday of 2022-W19


def _seed(engine: Engine) -> dict[str, int]:
    with Session(engine, expire_on_commit=False) as s:
        add_site(s, "S1", "一号采样点")
        add_site(s, "S2", "二号采样点")
        for minutes in range(0, 24 * 60, 30):
            add_slot(s, local(SH, 2022, 5, 9, 0, 0) + timedelta(minutes=minutes), site="S1")
        zhang = add_person(s, "1001", "张三")
        li = add_person(s, "1002", "李四")
        add_person(s, "1003", "王五", active=False)
        wang = add_person(s, "1004", "赵六")
        a1 = add_appt(s, zhang, SLOT)
        a2 = add_appt(s, li, local(SH, 2022, 5, 9, 14, 0))
        a3 = add_appt(s, wang, local(SH, 2022, 5, 9, 7, 0))
        s.commit()
        return {"zhang": a1.id, "li": a2.id, "wang": a3.id}  # type: ignore[dict-item]


def _results(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(TestResult)) or 0)


def test_expected_checkin_is_recorded_and_makes_the_slot_done(engine: Engine) -> None:
    ids = _seed(engine)
    at = SLOT + timedelta(minutes=5)
    r = check_in(engine, "1001", "S1", at, "s1", P, now=at)
    assert r.recorded and r.expected and r.status == "recorded"
    assert (r.name, r.slot_start, r.slot_end) == ("张三", SLOT, SLOT + timedelta(minutes=30))
    assert r.appointment_id == ids["zhang"]
    assert (r.tests_this_week, r.required) == (1, 2)
    assert "expected in this slot (09:00–09:30 at S1)" in r.message
    assert status_of(engine, ids["zhang"]) == "done"
    with Session(engine) as s:
        row = s.exec(select(TestResult)).scalars().one()  # type: ignore[call-overload]
        assert (row.result, row.source, row.site_code, row.recorded_by) == (
            "pending",
            "checkin",
            "S1",
            "web:s1",
        )
        assert row.sampled_at == at


def test_a_checkins_and_a_lookups_core_reads_skip_the_orms_execute(engine: Engine) -> None:
    """The reads of a check-in and of a status look-up that load no model (the person's
    appointments and samples around the day and week, their exemptions, latest result and
    last test, the site, the slots at the tent) run on the session's connection, not through
    ``Session.execute``'s ORM compile and loading (a tenth of a check-in's CPU); only the
    person, a model, goes through it."""
    from sqlalchemy import event

    _seed(engine)
    through_orm: list[str] = []

    def note(state: Any) -> None:
        through_orm.append(str(state.statement))

    # no appointment at 16:00: the tent's slots are read too
    at = local(SH, 2022, 5, 9, 16, 5)
    flag(engine, at, P)  # the morning's missed tests: what a look-up flags first is done
    event.listen(Session, "do_orm_execute", note)
    try:
        r = check_in(engine, "1002", "S1", at, "site", P, now=at)
        looked_up = status(engine, "1002", at, P)
    finally:
        event.remove(Session, "do_orm_execute", note)
    assert r.recorded and not r.expected and r.slot_start == local(SH, 2022, 5, 9, 16, 0)
    assert looked_up.tests_this_week == 1
    for table in ("appointment", "testresult", "exemption", "site", "slot"):
        assert not [s for s in through_orm if f"FROM {table}" in s], (table, through_orm)
    assert len([s for s in through_orm if "FROM person" in s]) == 2, through_orm


def test_second_checkin_in_the_same_slot_is_a_friendly_no_op(engine: Engine) -> None:
    _seed(engine)
    first = check_in(engine, "1001", "S1", SLOT + timedelta(minutes=5), "site", P)
    again = check_in(engine, "1001", "S1", SLOT + timedelta(minutes=20), "site", P)
    assert not again.recorded and again.status == "already_checked_in"
    assert again.result_id == first.result_id
    assert "already checked in at 09:05" in again.message
    assert _results(engine) == 1


def test_early_arrival_counts_as_expected(engine: Engine) -> None:
    _seed(engine)
    r = check_in(engine, "1001", None, SLOT - timedelta(minutes=20), "site", P)
    assert r.expected and r.site == "S1"  # the site comes from the appointment
    too_early = check_in(engine, "1002", "S1", local(SH, 2022, 5, 9, 13, 0), "site", P)
    assert not too_early.expected


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin"])
def test_early_arrival_for_a_slot_at_midnight_is_the_slots_day_not_the_day_before(
    engine: Engine, zone: str
) -> None:
    """A sample counts on its own local day: one taken at 23:45 for a slot at 00:00 made
    Monday done and left Tuesday's slot missed, and the scan after midnight was refused as a
    repeat (found in review). Check-in opens at the slot's local midnight at the earliest; a
    walk-in's repeat window stops there too. Berlin: the night before summer time begins."""
    tz = ZoneInfo(zone)
    zoned = policy(timezone=zone)
    day = date(2022, 3, 26) if zone == "Europe/Berlin" else date(2022, 5, 9)
    start = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)  # the next 00:00
    with Session(engine, expire_on_commit=False) as s:
        add_site(s, "S1", "一号采样点")
        person = add_person(s, "N1", "夜班")
        appt = add_appt(s, person, start.astimezone(UTC))
        s.commit()
    before = check_in(engine, "N1", "S1", start - timedelta(minutes=15), "site", zoned)
    assert not before.expected  # the day before's walk-in, counted that day
    after = check_in(engine, "N1", "S1", start + timedelta(minutes=5), "site", zoned)
    assert after.expected and after.recorded and after.appointment_id == appt.id
    flag(engine, start + timedelta(hours=5), zoned)
    assert status_of(engine, appt.id) == "done"  # type: ignore[arg-type]


def test_walk_in_outside_their_slot_still_counts_for_the_day(engine: Engine) -> None:
    ids = _seed(engine)
    r = check_in(engine, "1002", "S1", local(SH, 2022, 5, 9, 9, 5), "site", P)
    assert r.recorded and not r.expected
    assert r.next_slot_start == local(SH, 2022, 5, 9, 14, 0)
    assert "not expected now (their slot today is 14:00–14:30 at S1)" in r.message
    assert status_of(engine, ids["li"]) == "done"
    # A second scan inside the same site slot is the same visit.
    assert not check_in(engine, "1002", "S1", local(SH, 2022, 5, 9, 9, 25), "site", P).recorded


def test_after_a_walk_in_the_next_slot_is_the_next_one_still_to_come(engine: Engine) -> None:
    """Review: after a walk-in made today's 14:00 appointment done, ``status`` still gave it
    as the next slot (and a positive person's done slot too): the next is Thursday's."""
    _seed(engine)
    with Session(engine, expire_on_commit=False) as s:
        li = s.scalars(select(Person).where(Person.employee_no == "1002")).one()
        add_appt(s, li, local(SH, 2022, 5, 12, 14, 0))
        s.commit()
    check_in(engine, "1002", "S1", local(SH, 2022, 5, 9, 9, 5), "site", P)
    later = status(engine, "1002", local(SH, 2022, 5, 9, 13, 0), P)
    assert later.next_slot_start == local(SH, 2022, 5, 12, 14, 0)


def test_walk_in_without_any_slot_uses_the_repeat_window(engine: Engine) -> None:
    _seed(engine)
    at = local(SH, 2022, 5, 10, 10, 0)  # no slots on Tuesday
    assert check_in(engine, "1004", "S2", at, "site", P).recorded
    assert not check_in(engine, "1004", "S2", at + timedelta(minutes=59), "site", P).recorded
    later = check_in(engine, "1004", "S2", at + timedelta(minutes=61), "site", P)
    assert later.recorded and "no slot booked now" in later.message
    assert _results(engine) == 2


def test_checking_in_after_being_flagged_missed_turns_it_done(engine: Engine) -> None:
    ids = _seed(engine)
    noon = local(SH, 2022, 5, 9, 12, 0)  # 07:00 slot ended 07:30; grace 4 h
    assert flag(engine, noon, P).missed == 1
    assert status_of(engine, ids["wang"]) == "missed"
    check_in(engine, "1004", "S1", noon, "site", P)
    assert status_of(engine, ids["wang"]) == "done"


@pytest.mark.parametrize(
    ("employee_no", "site", "message"),
    [
        ("9999", "S1", "unknown employee number '9999'"),
        ("1003", "S1", "no longer on the active roster"),
        ("1001", "S9", "unknown site 'S9'; the sites are: S1, S2"),
        ("", "S1", "no employee number"),
    ],
)
def test_bad_checkins_are_user_errors_and_write_nothing(
    engine: Engine, employee_no: str, site: str, message: str
) -> None:
    _seed(engine)
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_in(engine, employee_no, site, SLOT, "site", P)
    assert _results(engine) == 0


def test_checkin_in_the_future_is_refused(engine: Engine) -> None:
    _seed(engine)
    with pytest.raises(UserError, match="in the future"):
        check_in(engine, "1001", "S1", SLOT + timedelta(hours=1), "site", P, now=SLOT)


def test_employee_number_typed_with_full_width_digits(engine: Engine) -> None:
    _seed(engine)
    assert check_in(engine, "１００１ ", "S1", SLOT, "site", P).name == "张三"


def test_cli_checkin(cli: Any, engine: Engine) -> None:
    ids = _seed(engine)
    env = {"TESTROTA_NOW": "2022-05-09T09:05:00+08:00"}
    result = cli("checkin", "1001", "--site", "S1", "--json", env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["recorded"] and doc["expected"] and doc["name"] == "张三"
    assert doc["at"] == "2022-05-09T09:05:00+08:00"
    assert doc["slot_start"] == "2022-05-09T09:00:00+08:00"
    assert status_of(engine, ids["zhang"]) == "done"

    again = cli("checkin", "1001", "--site", "S1", env=env)
    assert again.exit_code == 0 and "already checked in at 09:05" in again.stdout

    back_dated = cli("checkin", "1002", "--at", "2022-05-09 08:00", "--json", env=env)
    assert back_dated.exit_code == 0, back_dated.output
    assert json.loads(back_dated.stdout)["at"] == "2022-05-09T08:00:00+08:00"

    unknown = cli("checkin", "4242", env=env)
    assert unknown.exit_code == 2
    assert "unknown employee number '4242'" in unknown.stderr
    assert "Traceback" not in unknown.output
