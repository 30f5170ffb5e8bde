"""Each person's part of a unit's day (``personday``): a change of a few people moves their
unit-day's figures by what their own parts changed, instead of counting the unit again, and
the figures stay equal to a recount from raw rows whatever comes, in Shanghai and in New
York's week of the change to summer time (a day of 23 hours)."""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, delete, event, select, update
from sqlmodel import Session, col

from testrota.actions.excuse import Excuse
from testrota.actions.excuse import excuse as excuse_action
from testrota.actions.units import ensure_units
from testrota.audit import Actor
from testrota.db import tables
from testrota.db.models import Alert, Appointment, Person, TestResult, Tube
from testrota.errors import UserError
from testrota.org import rollup
from testrota.org.rollup import PersonPart, day_parts
from tests.compliance_fixtures import (
    NY,
    SH,
    add_appt,
    add_person,
    add_sample,
    add_site,
    app_at,
    check_in,
    local,
    policy,
    record_result,
)
from tests.test_rollup import _kept, _marks, _raw_change, _recounted

UNITS = ["板材公司/炼钢厂/网格0", "板材公司/炼钢厂/网格1", "北营公司/焦化厂/网格0"]
# New York moved its clocks on Sunday 13 March 2022: that day has 23 hours
DAYS = {"shanghai": date(2022, 5, 9), "new_york": date(2022, 3, 12)}


def _parts_hold(engine: Engine, tz: Any) -> int:
    """Every unit-day marked ``people_known`` has each of its people's kept part equal to
    their part counted from raw rows; returns how many are so marked."""
    u, pd, p = tables.UNIT_DAY, tables.PERSON_DAY, tables.PERSON
    with engine.connect() as conn:
        known = conn.execute(select(u.c.unit_id, u.c.day).where(u.c.people_known)).all()
        for unit_id, day in known:
            raw = {person: v[2] for person, v in day_parts(conn, day, tz, [unit_id]).items()}
            members = select(p.c.id).where(p.c.unit_id == unit_id)
            kept_rows = conn.execute(
                select(pd).where(pd.c.day == day, pd.c.person_id.in_(members))
            ).mappings()
            kept = {
                r["person_id"]: PersonPart(
                    r["due"],
                    r["code"],
                    r["positive"],
                    r["samples"],
                    r["pooled"],
                    r["pool_positive"],
                )
                for r in kept_rows
            }
            assert kept == raw, (unit_id, day)
    return len(known)


def _unit_people(session: Session, n: int) -> list[Person]:
    people = []
    for i in range(n):
        p = add_person(session, f"E{i:03d}", department=f"厂{i % 3}", grid_unit=f"网格{i % 3}")
        p.unit_path = UNITS[i % 3]
        session.add(p)
        people.append(p)
    session.commit()
    return people


@pytest.mark.parametrize("zone", ["shanghai", "new_york"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_unit_day_moved_by_its_peoples_parts_equals_a_recount_after_random_changes(
    engine: Engine, session: Session, zone: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    tz = {"shanghai": SH, "new_york": NY}[zone]
    first = DAYS[zone]
    days = [first, first + timedelta(days=1), first + timedelta(days=2)]
    rnd = random.Random(seed)
    pol = policy(timezone=str(tz))
    now = local(tz, days[-1].year, days[-1].month, days[-1].day, 23, 0)
    app = app_at(engine, now, pol)
    add_site(session)
    people = _unit_people(session, 18)
    ensure_units(app, Actor.cli())
    for p in people:  # the plan: each person due on two of the days
        for day in rnd.sample(days, 2):
            add_appt(session, p, local(tz, day.year, day.month, day.day, 8 + rnd.randrange(8), 0))
    session.commit()
    with engine.connect() as conn:
        unit_ids = [r[0] for r in conn.execute(select(tables.ORG_UNIT.c.id))]
    moved: list[int] = []
    real_move = rollup.move_by_parts

    def counted_move(*args: Any) -> set[Any]:
        out = real_move(*args)
        moved.append(len(out))
        return out

    monkeypatch.setattr("testrota.org.rollup.move_by_parts", counted_move)

    def some_time() -> Any:
        day = rnd.choice(days)
        return local(tz, day.year, day.month, day.day, rnd.randrange(24), rnd.randrange(60))

    kinds = ["checkin"] * 6 + ["result"] * 3 + ["excuse"] * 2 + ["tube", "tube_result"] * 2
    kinds += ["erase_sample", "cancel", "appointment", "move", "leave", "return", "bulk"]
    for step in range(60):
        kind = rnd.choice(kinds)
        p = rnd.choice(people)
        with engine.connect() as conn:
            active = conn.execute(
                select(tables.PERSON.c.active).where(tables.PERSON.c.id == p.id)
            ).scalar_one()
        # the use cases in their own transactions, as the doors call them (an inactive
        # person is refused by each) ...
        if kind in ("checkin", "result", "excuse") and not active:
            continue
        if kind == "checkin":
            check_in(engine, p.employee_no, "S1", some_time(), "site", pol, now=now)
        elif kind == "result":
            outcome = rnd.choice(["positive", "negative"])
            record_result(engine, p.employee_no, some_time(), outcome, pol, now)
        elif kind == "excuse":
            with contextlib.suppress(UserError):  # nothing due that day: refused, no change
                excuse_action(
                    app,
                    Excuse(
                        p.employee_no,
                        "sick",
                        Actor.web("sup"),
                        on=rnd.choice(days),
                        code=rnd.choice(["leave", "trip", None]),
                    ),
                )
        # ... and raw writes, as the plan, imports, tubes and erasure make them: those of the
        # roll-up's own random test, and four of this one's
        elif kind in ("tube", "appointment", "move", "leave", "return"):
            _raw_change(engine, kind, p, rnd, some_time, tz, f"T{seed}{step:03d}", unit_ids)
        else:
            with Session(engine) as s:
                s.execute(_raw_statement(kind, p, rnd, days, tz))
                s.commit()
        assert _marks(engine) == 0, kind
        kept = _kept(engine)
        # every day the changes reached (a positive books its contacts the next day)
        reached = sorted({*days, *(day for _, day in kept[0])})
        assert kept == _recounted(engine, tz, reached), (step, kind)
        _parts_hold(engine, tz)
    # the figures were moved by parts often, and parts are kept for unit-days to come
    assert sum(moved) >= 10, moved
    assert _parts_hold(engine, tz) >= 1


def _one_unit_due(engine: Engine, session: Session, n: int, now: Any) -> list[Person]:
    """``n`` people in one grid unit, each due at 09:00 on ``now``'s day (committed at once,
    as a plan's rows are)."""
    add_site(session)
    people = []
    for i in range(n):
        p = add_person(session, f"E{i:03d}", grid_unit="网格0")
        p.unit_path = UNITS[0]
        session.add(p)
        people.append(p)
    session.commit()
    ensure_units(app_at(engine, now, policy()), Actor.cli())
    for p in people:
        add_appt(session, p, now.replace(hour=9, minute=0))
    session.commit()
    return people


def _raw_statement(kind: str, p: Person, rnd: random.Random, days: list[date], tz: Any) -> Any:
    """One statement of a raw write: a tube's result, a person's samples erased (an alert
    keeps the positive sample it was raised on), their appointments' status, or a whole day's
    appointments marked missed at once, as the flagging job marks them."""
    if kind == "tube_result":
        some_tube = select(col(Tube.id)).order_by(col(Tube.id)).limit(1).offset(rnd.randrange(4))
        return (
            update(Tube)
            .where(col(Tube.id).in_(some_tube))
            .values(result=rnd.choice(["positive", "negative", None]))
        )
    if kind == "erase_sample":
        alerted = select(col(Alert.result_id))
        mine = select(col(TestResult.id)).where(
            col(TestResult.person_id) == p.id, col(TestResult.id).not_in(alerted)
        )
        return delete(TestResult).where(col(TestResult.id).in_(mine))
    if kind == "cancel":
        return (
            update(Appointment)
            .where(col(Appointment.person_id) == p.id)
            .values(status=rnd.choice(["cancelled", "scheduled", "missed"]))
        )
    assert kind == "bulk", kind
    day = rnd.choice(days)
    start = local(tz, day.year, day.month, day.day, 0, 0)
    return (
        update(Appointment)
        .where(
            col(Appointment.starts_at) >= start,
            col(Appointment.starts_at) < start + timedelta(days=1),
        )
        .values(status="missed")
    )


def _statements_of_commit(engine: Engine, work: Any) -> list[str]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_check_in_in_a_counted_unit_day_reads_its_person_not_the_unit(
    engine: Engine, session: Session
) -> None:
    pol = policy()
    day = date(2022, 5, 10)
    now = local(SH, 2022, 5, 10, 12, 0)
    _one_unit_due(engine, session, 40, now)
    # the plan's commit counted the unit's day whole and kept its people's parts
    assert _parts_hold(engine, SH) == 1
    # a unit-day whose parts are not kept (a bulk import counted it by unit) is counted whole
    # at its first check-in, which keeps them again
    with engine.begin() as conn:
        conn.execute(update(tables.UNIT_DAY).values(people_known=False))
    first = _statements_of_commit(
        engine, lambda: check_in(engine, "E000", "S1", now, "site", pol, now=now)
    )
    assert [s for s in first if "person.unit_id IN" in s], first
    assert _parts_hold(engine, SH) == 1
    # the next one moves the figures by its person's part: no statement asks for the unit's
    # people, and the unit's day is what a recount says
    second = _statements_of_commit(
        engine, lambda: check_in(engine, "E001", "S1", now, "site", pol, now=now)
    )
    assert not [s for s in second if "person.unit_id IN" in s]
    assert any("personday" in s for s in second)
    kept, _ = _kept(engine)
    with engine.connect() as conn:
        person = tables.PERSON
        unit_id = conn.execute(
            select(person.c.unit_id).where(person.c.employee_no == "E001")
        ).scalar_one()
    key = (unit_id, day)
    assert kept == _recounted(engine, SH, [day])[0]
    assert kept[key][:3] == (40, 2, 0)  # required, tested, extra
    assert kept[key][7] == {"": 38}  # the untested, none excused
    assert _parts_hold(engine, SH) == 1


@contextlib.contextmanager
def _first_held(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, first: Person, second: Person, *, wait: float
) -> Iterator[tuple[threading.Thread, list[tuple[str, int]]]]:
    """``first`` and then ``second`` sampled at 09:03, each in a thread of its own; the first's
    commit is held, once it has moved its unit-day by parts, until the block ends. Yields the
    second's thread, joined for ``wait`` seconds, and the (thread, keys moved) of each move."""
    first_moved, release = threading.Event(), threading.Event()
    calls: list[tuple[str, int]] = []
    real_move = rollup.move_by_parts

    def slow_move(*args: Any) -> set[Any]:
        out = real_move(*args)
        calls.append((threading.current_thread().name, len(out)))
        if threading.current_thread().name == "first":
            first_moved.set()
            assert release.wait(20)  # its locks and marks taken, uncommitted
        return out

    monkeypatch.setattr("testrota.org.rollup.move_by_parts", slow_move)

    def sample(person: Person) -> None:
        with Session(engine) as s:
            add_sample(s, person, local(SH, 2022, 5, 10, 9, 3))
            s.commit()

    threads = [
        threading.Thread(target=sample, args=(p,), name=name)
        for p, name in ((first, "first"), (second, "second"))
    ]
    threads[0].start()
    try:
        assert first_moved.wait(20)
        threads[1].start()
        threads[1].join(wait)
        yield threads[1], calls
    finally:
        release.set()
        for t in threads:
            if t.ident is not None:
                t.join(20)


def test_two_postgresql_check_ins_moving_one_unit_day_by_parts_both_count(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two people of one unit sampled at once, their unit-day's parts kept: the second moves
    the figures after the first has committed (the key's lock), so neither is lost."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    now = local(SH, 2022, 5, 10, 12, 0)
    people = _one_unit_due(engine, session, 3, now)
    assert _parts_hold(engine, SH) == 1  # kept by the plan's commit
    with _first_held(engine, monkeypatch, people[0], people[1], wait=1.0) as (second, calls):
        assert second.is_alive()  # waiting for the first's lock on the key
    assert calls == [("first", 1), ("second", 1)]  # both moved by parts
    kept, _ = _kept(engine)
    [figures] = kept.values()
    assert figures[:3] == (3, 2, 0)  # required, tested, extra
    assert kept == _recounted(engine, SH, [date(2022, 5, 10)])[0]
    assert _parts_hold(engine, SH) == 1


def test_a_left_over_mark_another_commit_is_counting_is_passed_over_not_waited_for(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mark left by a writer without the hook (a process of the version before) is taken by
    the first commit that sees it. A second commit, of another unit's day, passes it over
    instead of waiting on it (and behind it on the first's locks), and counts its own."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    now = local(SH, 2022, 5, 10, 12, 0)
    people = _one_unit_due(engine, session, 2, now)
    other = add_person(session, "F001", grid_unit="网格1")
    other.unit_path = UNITS[1]
    session.add(other)
    session.commit()
    ensure_units(app_at(engine, now, policy()), Actor.cli())
    add_appt(session, other, now.replace(hour=9, minute=0))
    session.commit()
    without_hook = create_engine(engine.url)
    try:
        with Session(without_hook) as s:
            add_sample(s, people[1], local(SH, 2022, 5, 10, 9, 5))
            s.commit()
    finally:
        without_hook.dispose()
    assert _marks(engine) > 0  # left over
    with _first_held(engine, monkeypatch, people[0], other, wait=10) as (second, _):
        finished_while_held = not second.is_alive()
    assert finished_while_held
    assert _marks(engine) == 0
    kept, _ = _kept(engine)
    assert kept == _recounted(engine, SH, [date(2022, 5, 10)])[0]
    assert {f[:2] for f in kept.values()} == {(2, 2), (1, 1)}  # required, tested
    assert _parts_hold(engine, SH) == 2


def test_the_nightly_job_lets_parts_a_fortnight_old_go_and_a_late_change_counts_whole(
    engine: Engine, session: Session
) -> None:
    from testrota.actions.rollup import LetPartsGo, let_parts_go

    pol = policy()
    day = date(2022, 5, 10)
    now = local(SH, 2022, 5, 10, 12, 0)
    add_site(session)
    people = _unit_people(session, 6)
    ensure_units(app_at(engine, now, pol), Actor.cli())
    for p in people:
        add_appt(session, p, local(SH, 2022, 5, 10, 9, 0))
        add_appt(session, p, local(SH, 2022, 5, 20, 9, 0))
    session.commit()
    for p in people[:3]:
        check_in(engine, p.employee_no, "S1", now, "site", pol, now=now)
    later = local(SH, 2022, 5, 20, 12, 0)
    check_in(engine, people[0].employee_no, "S1", later, "site", pol, now=later)
    known_before = _parts_hold(engine, SH)
    assert known_before >= 2  # both days' units keep their people's parts

    # thirteen days on, nothing is old enough; fifteen days on, the 10th's parts go
    def kept_days() -> list[date]:
        with engine.connect() as conn:
            return sorted({d for (d,) in conn.execute(select(tables.PERSON_DAY.c.day))})

    at_13 = app_at(engine, local(SH, 2022, 5, 23, 2, 30), pol)
    assert let_parts_go(at_13, LetPartsGo(Actor.job("nightly"))).parts == 0
    at_25 = app_at(engine, local(SH, 2022, 5, 25, 2, 30), pol)
    gone = let_parts_go(at_25, LetPartsGo(Actor.job("nightly")))
    assert gone.before == date(2022, 5, 11) and gone.parts == 6
    assert kept_days() == [date(2022, 5, 20)]
    with engine.connect() as conn:
        known = conn.execute(
            select(tables.UNIT_DAY.c.day).where(tables.UNIT_DAY.c.people_known)
        ).all()
    assert {d for (d,) in known} == {date(2022, 5, 20)}
    # a late result for the 10th counts its unit's day whole, right, and keeps its parts again
    record_result(engine, people[4].employee_no, now, "negative", pol, later)
    kept, _ = _kept(engine)
    assert kept == _recounted(engine, SH, [day, date(2022, 5, 20)])[0]
    assert date(2022, 5, 10) in kept_days()
    assert _parts_hold(engine, SH) >= 2
