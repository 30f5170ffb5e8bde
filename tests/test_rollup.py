"""The daily roll-up (issue 17): kept current by every kind of change in the changing
transaction, equal to a recount from raw rows after a random sequence of changes, rebuilt by
``testrota rollup rebuild``, and safe when two PostgreSQL transactions touch the same key."""

from __future__ import annotations

import contextlib
import json
import random
import threading
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from sqlmodel import Session, col
from typer.testing import CliRunner

from testrota.actions.excuse import Excuse
from testrota.actions.excuse import excuse as excuse_action
from testrota.actions.report import DailyReport, daily_report
from testrota.actions.units import ensure_units
from testrota.audit import Actor
from testrota.db import tables
from testrota.db.models import Appointment, Exemption, Person, TestResult, Tube, TubeMember
from testrota.errors import UserError
from testrota.org import weekly
from testrota.org.daily import SwabIn, tube_counts
from testrota.org.rollup import count_days, count_heads, pending
from testrota.weeks import parse_week
from tests.compliance_fixtures import (
    NY,
    SH,
    add_appt,
    add_person,
    add_sample,
    add_site,
    app_at,
    check_in,
    flag,
    local,
    policy,
    record_result,
)
from tests.query_plans import query_plan

DAYS = [date(2022, 5, 9) + timedelta(days=i) for i in range(4)]
UNIT_PATHS = ["板材公司/炼钢厂", "板材公司/轧钢厂", "北营公司/焦化厂"]


def _kept(engine: Engine) -> tuple[dict[Any, Any], dict[Any, Any]]:
    with engine.connect() as conn:
        days = {
            (r.unit_id, r.day): (
                r.required,
                r.tested,
                r.extra,
                r.positive,
                r.pooled,
                r.single,
                r.pool_positive,
                dict(r.untested or {}),
            )
            for r in conn.execute(select(tables.UNIT_DAY))
        }
        heads = {
            r.unit_id: (r.people, r.employees, r.co_residents, r.third_party, r.boosted)
            for r in conn.execute(select(tables.UNIT_HEADS))
        }
    return days, heads


def _recounted(engine: Engine, tz: Any, days: list[date]) -> tuple[dict[Any, Any], dict[Any, Any]]:
    with engine.connect() as conn:
        out = {}
        for day in days:
            for unit_id, f in count_days(conn, day, tz, None).items():
                if not f.is_empty():
                    out[(unit_id, day)] = (
                        f.required,
                        f.tested,
                        f.extra,
                        f.positive,
                        f.pooled,
                        f.single,
                        f.pool_positive,
                        f.untested,
                    )
        heads = {
            u: (h.people, h.employees, h.co_residents, h.third_party, h.boosted)
            for u, h in count_heads(conn, None).items()
        }
    return out, heads


def _tubes_recounted(engine: Engine, tz: Any, days: list[date]) -> dict[Any, Any]:
    """Each unit-day's tube figures by the pure definition (:func:`tube_counts`), from the
    raw rows read one by one: the oracle of the roll-up's SQL for check-ins and their lab
    results, tubes and pools."""
    t, member, tube, p = tables.TEST_RESULT, tables.TUBE_MEMBER, tables.TUBE, tables.PERSON
    query = (
        select(t.c.person_id, t.c.sampled_at, t.c.source, tube.c.ratio, tube.c.result)
        .select_from(
            t.outerjoin(member, member.c.result_id == t.c.id).outerjoin(
                tube, tube.c.id == member.c.tube_id
            )
        )
        .order_by(t.c.id)
    )
    by_day: dict[date, list[SwabIn]] = {}
    with engine.connect() as conn:
        unit_of = dict(conn.execute(select(p.c.id, p.c.unit_id)).all())
        for person_id, at, source, ratio, result in conn.execute(query):
            by_day.setdefault(at.astimezone(tz).date(), []).append(
                SwabIn(person_id, source, ratio, result)
            )
    out: dict[Any, Any] = {}
    for day in days:
        for person_id, mine in tube_counts(by_day.get(day, [])).items():
            unit_id = unit_of.get(person_id)
            if unit_id is None:
                continue  # someone outside the tree is in no unit's figures
            pooled, single, pool_positive = out.get((unit_id, day), (0, 0, 0))
            out[(unit_id, day)] = (
                pooled + mine.pooled,
                single + mine.single,
                pool_positive + mine.pool_positive,
            )
    return {k: v for k, v in out.items() if any(v)}


def _tubes_kept(kept: dict[Any, Any]) -> dict[Any, Any]:
    return {k: v[4:7] for k, v in kept.items() if any(v[4:7])}


def _raw_change(
    engine: Engine,
    kind: str,
    p: Person,
    rnd: random.Random,
    some_time: Any,
    tz: Any,
    tube_code: str,
    unit_ids: list[int],
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        fresh = s.get(Person, p.id)
        assert fresh is not None
        if kind == "appointment":
            add_appt(s, fresh, some_time(), status=rnd.choice(["scheduled", "done", "missed"]))
        elif kind == "cancel":
            s.execute(
                update(Appointment)
                .where(col(Appointment.person_id) == p.id)
                .values(status="cancelled")
            )
        elif kind == "move":
            fresh.unit_id = rnd.choice(unit_ids)
        elif kind == "leave":
            fresh.active = False
        elif kind == "return":
            fresh.active = True
        elif kind == "type":
            fresh.person_type = rnd.choice(["employee", "co_resident", "third_party"])
            fresh.booster = rnd.choice([True, False, None])
        elif kind == "tube":
            at = some_time()
            sample = add_sample(s, fresh, at)
            tube = Tube(
                code=tube_code,
                site_code="S1",
                day=at.astimezone(tz).date(),
                ratio=rnd.choice([1, 5, 10]),
                opened_at=at,
                opened_by="site",
            )
            s.add(tube)
            s.flush()
            s.add(TubeMember(tube_id=tube.id, person_id=p.id, result_id=sample.id, added_at=at))
        elif kind == "tube_result":
            s.execute(update(Tube).values(result=rnd.choice(["positive", "negative", None])))
        elif kind == "exemption":
            day = rnd.choice(DAYS)
            s.add(
                Exemption(
                    person_id=p.id,
                    start_date=day,
                    end_date=day + timedelta(days=rnd.choice([0, 2, 9])),
                    reason="sick",
                    created_at=some_time(),
                )
            )
        elif kind == "unexempt":
            s.execute(delete(Exemption).where(col(Exemption.person_id) == p.id))
        elif kind == "department":
            fresh.department = rnd.choice(["厂0", "厂1", "厂2"])
            fresh.grid_unit = rnd.choice(["网格0", "网格1", ""])
        elif kind == "category":
            fresh.override_category = rnd.choice([None, "", "cold_chain", "imported_goods"])
        elif kind == "erase_sample":
            s.execute(delete(TubeMember).where(col(TubeMember.person_id) == p.id))
            s.execute(delete(TestResult).where(col(TestResult.person_id) == p.id))
        s.add(fresh)
        s.commit()


def _placed(session: Session, employee_no: str) -> Person:
    """One person in 板材公司/厂0 with an appointment on Tuesday 10 May 2022, committed."""
    p = add_person(session, employee_no, department="厂0")
    p.unit_path = "板材公司/厂0"
    session.add(p)
    add_appt(session, p, local(SH, 2022, 5, 10, 9, 0))
    session.commit()
    return p


def _in_grid_units(session: Session, prefix: str, n: int, units: int) -> list[Person]:
    """``n`` people of 厂0 in ``units`` grid units, placed in the tree under 板材公司/厂0."""
    people = []
    for i in range(n):
        p = add_person(session, f"{prefix}{i:03d}", department="厂0", grid_unit=f"网格{i % units}")
        p.unit_path = f"板材公司/厂0/网格{i % units}"
        session.add(p)
        people.append(p)
    return people


def _weekly_kept(engine: Engine) -> dict[Any, Any]:
    with engine.connect() as conn:
        return {
            (r.person_id, r.week): (
                r.unit_id,
                r.department,
                r.grid_unit,
                r.required,
                r.scheduled,
                r.done,
                r.missed,
                r.excused,
                r.tests,
                r.compliant,
                r.asked,
            )
            for r in conn.execute(select(tables.PERSON_WEEK_ROW))
        }


def _weekly_recounted(engine: Engine, app: Any) -> dict[Any, Any]:
    """Every held week counted again for everyone, with the compliance report's functions.
    Spelled out field by field rather than through ``weekly._row``: the rows' writer is what
    is under test, and a column it wrote out of place must show here."""
    from testrota.compliance.facts import rate_lookup

    rates = rate_lookup(app.config_dir, app.policy)
    out = {}
    with engine.connect() as conn:
        units = dict(conn.execute(select(tables.PERSON.c.id, tables.PERSON.c.unit_id)).all())
        held = [w for (w,) in conn.execute(select(tables.WEEK_COVERED.c.week))]
        for w in held:
            for pid, (p, pw) in weekly.count(conn, None, parse_week(w), app.policy, rates).items():
                out[(pid, w)] = (
                    units[pid],
                    p.department,
                    p.unit,
                    pw.required,
                    pw.scheduled,
                    pw.done,
                    pw.missed,
                    pw.excused,
                    pw.credited,
                    pw.compliant,
                    pw.asked,
                )
    return out


def _weekly_marks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.WEEKLY_DIRTY)).scalar_one())


def _marks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.ROLLUP_DIRTY)).scalar_one())


@pytest.mark.parametrize("tz", [SH, NY], ids=["shanghai", "new_york"])
@pytest.mark.parametrize(("seed", "many"), [(1, 400), (2, 400), (3, 0)], ids=["1", "2", "bulk"])
def test_after_random_changes_of_every_kind_the_rollup_equals_a_recount(
    engine: Engine,
    session: Session,
    tz: Any,
    seed: int,
    many: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # many=0: every change takes the bulk path (whole days, a day lock), as a plan does, and
    # a person moved, leaving or changing type has every day with data counted whole, as
    # placing a roster in units does
    monkeypatch.setattr("testrota.org.rollup.MANY_KEYS", many)
    monkeypatch.setattr("testrota.org.rollup.MANY_PEOPLE", many if many == 0 else 20_000)
    # ... and the weekly roll-up counts a large change in batches (of 5 people here), and
    # recounts in place the whole week's appointments for the rows named (on PostgreSQL)
    monkeypatch.setattr("testrota.org.weekly.COUNT_BATCH", 5 if many == 0 else 50_000)
    monkeypatch.setattr("testrota.org.weekly.MANY_PEOPLE", 0 if many == 0 else 2_000)
    rnd = random.Random(seed)
    pol = policy(timezone=str(tz))
    now = local(tz, 2022, 5, 13, 9, 0)
    app = app_at(engine, now, pol)
    assert app.engine is engine  # the hook is on this engine from here on
    add_site(session)
    people: list[Person] = []
    for i in range(24):
        p = add_person(session, f"E{i:03d}", department=f"厂{i % 3}", grid_unit=f"网格{i % 4}")
        p.unit_path = UNIT_PATHS[i % 3] + f"/网格{i % 4}"
        p.person_type = ["employee", "co_resident", "third_party"][i % 3]
        p.booster = [True, False, None][i % 3]
        session.add(p)
        people.append(p)
    session.commit()
    ensure_units(app, Actor.cli())
    with engine.connect() as conn:
        unit_ids = [r[0] for r in conn.execute(select(tables.ORG_UNIT.c.id))]

    def some_person() -> Person:
        return rnd.choice(people)

    def some_time() -> Any:
        return local(tz, 2022, 5, rnd.choice(DAYS).day, rnd.randrange(0, 24), rnd.randrange(60))

    kinds = [
        "appointment",
        "cancel",
        "checkin",
        "result",
        "lab_of_checkin",
        "excuse",
        "flag",
        "move",
        "leave",
        "return",
        "type",
        "tube",
        "tube_result",
        "erase_sample",
        "exemption",
        "unexempt",
        "department",
        "category",
    ]
    # The weekly roll-up holds the trend's weeks up to the next one from here on.
    from testrota.actions.rollup import RebuildRollup, rebuild_rollup

    held = rebuild_rollup(app, RebuildRollup(Actor.cli())).weeks
    assert "2022-W19" in held and "2022-W20" in held
    assert _weekly_kept(engine) == _weekly_recounted(engine, app) != {}
    done_kinds: set[str] = set()
    for _step in range(45):
        kind = rnd.choice(kinds)
        p = some_person()
        with engine.connect() as conn:
            active = conn.execute(
                select(tables.PERSON.c.active).where(tables.PERSON.c.id == p.id)
            ).scalar_one()
        # The use cases first, each in its own transaction (as the doors call them) ...
        if kind == "checkin" and active:
            check_in(engine, p.employee_no, "S1", some_time(), "site", pol, now=now)
        elif kind == "result" and active:
            outcome = rnd.choice(["positive", "negative"])
            record_result(engine, p.employee_no, some_time(), outcome, pol, now)
        elif kind == "lab_of_checkin" and active:
            # a swab scanned at the site, then the lab's row for it: the scan's minute or
            # the tube's, a little later (one late at night lands on the next day)
            at = some_time()
            check_in(engine, p.employee_no, "S1", at, "site", pol, now=now)
            later = at + timedelta(minutes=rnd.choice([0, 0, 7, 25]))
            record_result(engine, p.employee_no, later, "negative", pol, now, site="S1")
        elif kind == "excuse" and active:
            with Session(engine, expire_on_commit=False) as s:
                a = add_appt(s, p, some_time())
                s.commit()
            when = a.starts_at.astimezone(tz).date()
            code = rnd.choice(["leave", "trip", None])
            with contextlib.suppress(UserError):  # an excuse refused changes nothing
                excuse_action(
                    app_at(engine, now, pol),
                    Excuse(p.employee_no, "on leave", Actor.web("sup"), on=when, code=code),
                )
        elif kind == "flag":
            flag(engine, now, pol)
        else:
            # ... then the raw writes of the other paths (plan, import, tubes, erasure): the
            # triggers see every writer, whichever code path it is.
            _raw_change(engine, kind, p, rnd, some_time, tz, f"T{seed}{_step:03d}", unit_ids)
        done_kinds.add(kind)
        assert _marks(engine) == 0, kind  # counted in the changing transaction
        kept = _kept(engine)
        # every day the changes reached (a positive books its contacts the next day)
        days = sorted({*DAYS, *(day for _, day in kept[0])})
        assert kept == _recounted(engine, tz, days), kind
        assert _tubes_kept(kept[0]) == _tubes_recounted(engine, tz, days), kind
        assert _weekly_marks(engine) == 0, kind
        assert _weekly_kept(engine) == _weekly_recounted(engine, app), kind
    assert len(done_kinds) >= 12
    # The report read from the roll-up is the report counted from raw rows, row for row.
    for day in DAYS:
        kept_report = daily_report(app, DailyReport(day, Actor.cli()))
        raw_report = daily_report(app, DailyReport(day, Actor.cli(), from_raw=True))
        assert kept_report.rows == raw_report.rows
    # ... and so is the compliance report, and the dashboard built on it, whole and scoped.
    from testrota.actions.compliance import Compliance, compliance_report
    from testrota.auth.scope import Scope

    with engine.connect() as conn:  # read from the rows, not counted again
        print_ = weekly.fingerprint(app.policy, app.config_dir)
        assert weekly.held(conn, [parse_week(w) for w in held], print_)
    supervisor = Scope(frozenset({"厂0", "厂1", "厂2"}), units=frozenset({UNIT_PATHS[0]}))
    for scope in (Scope.everything(), Scope.of(["厂1", "厂2"]), supervisor):
        for week in ("2022-W19", "2022-W20"):
            from_rows = compliance_report(app, Compliance(week, scope))
            raw = compliance_report(app, Compliance(week, scope, from_raw=True))
            assert from_rows == raw, (week, scope)
            # the dashboard's: the roll-up summed by department, without the grid units
            departments = compliance_report(app, Compliance(week, scope, grid_units=False))
            raw_departments = compliance_report(
                app, Compliance(week, scope, from_raw=True, grid_units=False)
            )
            assert departments == raw_departments == replace(raw, grid_units=[]), (week, scope)
    whole = compliance_report(app, Compliance("2022-W19"))
    assert whole.total.required > 0 and whole.grid_units


def test_appointments_and_samples_alone_are_recounted_in_place_and_facts_in_python(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan's commit changes nobody's facts: each row is counted again in the database from
    the ``asked`` it keeps. A person whose own facts or exemptions changed, or whose row has no
    ``asked`` yet (written before 0018), is counted by the report's Python."""
    from testrota.actions.rollup import RebuildRollup, rebuild_rollup

    pol = policy()
    now = local(SH, 2022, 5, 13, 9, 0)
    app = app_at(engine, now, pol)
    add_site(session)
    people = _in_grid_units(session, "Q", 8, 2)
    leaver = people[7]
    kept = add_appt(session, leaver, local(SH, 2022, 5, 10, 9, 0))
    leaver.active = False  # asked nothing now, still owes the appointment kept
    session.add(leaver)
    session.commit()
    ensure_units(app, Actor.cli())
    rebuild_rollup(app, RebuildRollup(Actor.cli()))
    by_facts: list[set[int]] = []
    write = weekly.write

    def counted_by_facts(conn: Any, person_ids: Any, *args: Any, **kwargs: Any) -> int:
        by_facts.append(set(person_ids) if person_ids is not None else {-1})
        return write(conn, person_ids, *args, **kwargs)

    monkeypatch.setattr(weekly, "write", counted_by_facts)

    def committed(change: Any) -> set[int]:
        by_facts.clear()
        with Session(engine, expire_on_commit=False) as s:
            change(s)
            s.commit()
        assert _marks(engine) == 0 and _weekly_marks(engine) == 0
        assert _weekly_kept(engine) == _weekly_recounted(engine, app)
        return set().union(*by_facts)

    def plan(s: Session) -> None:  # as a plan writes its week: everyone, two each
        for p in people[:7]:
            for day in (9, 12):
                add_appt(s, p, local(SH, 2022, 5, day, 8, 0))
        add_sample(s, people[0], local(SH, 2022, 5, 9, 8, 5))
        add_appt(s, people[1], local(SH, 2022, 5, 11, 8, 0), status="excused")
        add_appt(s, people[2], local(SH, 2022, 5, 11, 8, 0), reason="contact")
        add_appt(s, leaver, local(SH, 2022, 5, 11, 8, 0), reason="contact")

    assert committed(plan) == set()
    with engine.connect() as conn:
        rows = {
            r.person_id: r
            for r in conn.execute(
                select(tables.PERSON_WEEK_ROW).where(tables.PERSON_WEEK_ROW.c.week == "2022-W19")
            )
        }
    assert (rows[people[0].id].scheduled, rows[people[0].id].tests) == (2, 1)
    assert rows[people[1].id].required == 1  # an excused planned appointment is taken off
    assert rows[people[2].id].required == 3  # a contact's booking is added
    # asked nothing: the planned appointment kept, and the contact's booking
    assert (rows[leaver.id].asked, rows[leaver.id].required) == (0, 2)

    def cancel_the_leavers(s: Session) -> None:
        s.execute(
            update(tables.APPOINTMENT)
            .where(tables.APPOINTMENT.c.person_id == kept.person_id)
            .values(status="cancelled")
        )

    # The leaver owes nothing now: the row goes, as a count from raw rows writes none.
    assert committed(cancel_the_leavers) == set()
    with engine.connect() as conn:
        left = conn.execute(
            select(func.count())
            .select_from(tables.PERSON_WEEK_ROW)
            .where(tables.PERSON_WEEK_ROW.c.person_id == leaver.id)
        ).scalar_one()
    assert left == 0

    def category_and_appointment(s: Session) -> None:
        s.execute(
            update(tables.PERSON)
            .where(tables.PERSON.c.id == people[3].id)
            .values(override_category="canteen")
        )
        add_appt(s, people[4], local(SH, 2022, 5, 13, 8, 0))

    assert committed(category_and_appointment) == {people[3].id}

    def exempted(s: Session) -> None:
        s.add(
            Exemption(
                person_id=people[5].id,
                start_date=date(2022, 5, 9),
                end_date=date(2022, 5, 15),
                reason="leave",
                created_at=now,
            )
        )

    assert committed(exempted) == {people[5].id}
    # a row from before 0018 keeps no ``asked``: counted in Python, which fills it in
    with engine.begin() as conn:
        conn.execute(
            update(tables.PERSON_WEEK_ROW)
            .where(
                tables.PERSON_WEEK_ROW.c.person_id == people[6].id,
                tables.PERSON_WEEK_ROW.c.week == "2022-W19",
            )
            .values(asked=None)
        )
    assert committed(lambda s: add_appt(s, people[6], local(SH, 2022, 5, 14, 8, 0))) == {
        people[6].id
    }


def test_a_week_recounted_in_place_touches_no_index_on_postgresql(
    engine: Engine, session: Session
) -> None:
    """personweek keeps half of each page free (0018), so a row counted again in place gets
    its new version beside the old one, with no new index entry: a HOT update, every one."""
    if engine.dialect.name != "postgresql":
        pytest.skip("fillfactor and HOT updates are PostgreSQL's")
    from testrota.actions.rollup import RebuildRollup, rebuild_rollup

    now = local(SH, 2022, 5, 13, 9, 0)
    app = app_at(engine, now, policy())
    add_site(session)
    people = _in_grid_units(session, "H", 300, 10)
    session.commit()
    ensure_units(app, Actor.cli())
    rebuild_rollup(app, RebuildRollup(Actor.cli()))
    with engine.connect() as conn:
        options = conn.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE relname = 'personweek'"
        ).scalar_one()
    assert "fillfactor=50" in options
    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(
            tables.APPOINTMENT.insert(),
            [
                {
                    "person_id": p.id,
                    "site_code": "S1",
                    "week": "2022-W19",
                    "starts_at": local(SH, 2022, 5, 12, 8, 0),
                    "ends_at": local(SH, 2022, 5, 12, 8, 30),
                    "grid_unit": p.grid_unit,
                    "status": "scheduled",
                    "reason": "plan",
                    "created_at": now,
                    "updated_at": now,
                }
                for p in people
            ],
        )
        ids = {p.id for p in people}
        counted = weekly.recount_in_place(conn, ids, parse_week("2022-W19"), SH, now)
        updated, hot = conn.exec_driver_sql(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
            "WHERE relname = 'personweek'"
        ).one()
        tx.rollback()
    assert counted == ids
    assert updated == hot == len(people)


def test_the_report_reads_the_rollup_and_matches_it_without_marks(
    engine: Engine, session: Session
) -> None:
    pol = policy()
    now = local(SH, 2022, 5, 11, 9, 0)
    app = app_at(engine, now, pol)
    assert app.engine is engine
    add_site(session)
    for i in range(6):
        p = add_person(session, f"R{i}", department="厂0", grid_unit="网格0")
        p.unit_path = "板材公司/厂0"
        session.add(p)
        add_appt(session, p, local(SH, 2022, 5, 10, 9, 0))
        if i % 2:
            add_sample(session, p, local(SH, 2022, 5, 10, 9, 5))
    session.commit()
    ensure_units(app, Actor.cli())
    assert _marks(engine) == 0
    # A figure only the roll-up holds shows in the report: it reads the table, not raw rows.
    with engine.begin() as conn:
        conn.execute(update(tables.UNIT_DAY).values(extra=tables.UNIT_DAY.c.extra + 100))
    out = daily_report(app, DailyReport(date(2022, 5, 10), Actor.cli()))
    root = out.rows[0]
    assert (root.required, root.tested, root.people) == (6, 3, 6)
    assert root.extra == 100
    # ... and a rebuild counts it again from raw rows, audited.
    from testrota.actions.rollup import RebuildRollup, rebuild_rollup

    done = rebuild_rollup(app, RebuildRollup(Actor.cli()))
    assert done.days >= 1
    assert daily_report(app, DailyReport(date(2022, 5, 10), Actor.cli())).rows[0].extra == 0
    with engine.connect() as conn:
        actions = [r[0] for r in conn.execute(select(tables.AUDIT_EVENT.c.action))]
    assert "rollup.rebuilt" in actions


def test_rollup_rebuild_on_the_command_line(
    engine: Engine, session: Session, cli_env: dict[str, str]
) -> None:
    from testrota.cli.main import app as cli

    add_site(session)
    _placed(session, "C1")
    result = CliRunner().invoke(
        cli,
        ["rollup", "rebuild", "--from", "2022-05-10", "--to", "2022-05-10", "--json"],
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["days"] == 1 and body["rows"] >= 1
    bad = CliRunner().invoke(
        cli, ["rollup", "rebuild", "--from", "2022-05-11", "--to", "2022-05-10"], env=cli_env
    )
    assert bad.exit_code == 2
    assert _marks(engine) == 0


def test_two_postgresql_transactions_on_one_key_both_count(
    engine: Engine, session: Session
) -> None:
    """Two check-ins of one unit and day, committing at once: the second counts after the first
    commits (an advisory lock per key, and per person and week), so neither sample is lost from
    either roll-up."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    pol = policy()
    now = local(SH, 2022, 5, 10, 12, 0)
    app = app_at(engine, now, pol)
    assert app.engine is engine
    add_site(session)
    a = add_person(session, "K1", department="厂0")
    b = add_person(session, "K2", department="厂0")
    for p in (a, b):
        p.unit_path = "板材公司/厂0"
        session.add(p)
        add_appt(session, p, local(SH, 2022, 5, 10, 9, 0))
    session.commit()
    ensure_units(app, Actor.cli())
    from testrota.actions.rollup import RebuildRollup, rebuild_rollup

    rebuild_rollup(app, RebuildRollup(Actor.cli()))  # the weekly roll-up holds this week
    first_counted = threading.Event()
    release = threading.Event()
    from testrota.org import rollup

    original = rollup.write
    calls: list[str] = []

    def slow_write(conn: Any, *args: Any, **kwargs: Any) -> int:
        out = original(conn, *args, **kwargs)
        calls.append(threading.current_thread().name)
        if threading.current_thread().name == "first":
            first_counted.set()
            assert release.wait(20)  # hold the lock, uncommitted, while the other arrives
        return out

    rollup.write = slow_write  # type: ignore[assignment]
    try:

        def sample(person: Person) -> None:
            with Session(engine) as s:
                add_sample(s, person, local(SH, 2022, 5, 10, 9, 3))
                s.commit()

        t1 = threading.Thread(target=sample, args=(a,), name="first")
        t1.start()
        assert first_counted.wait(20)
        t2 = threading.Thread(target=sample, args=(b,), name="second")
        t2.start()
        t2.join(1.0)
        assert t2.is_alive()  # waiting for the first's lock on the key
        release.set()
        t1.join(20)
        t2.join(20)
    finally:
        rollup.write = original  # type: ignore[assignment]
    assert calls == ["first", "second"]
    kept, _ = _kept(engine)
    [(_key, figures)] = kept.items()
    assert figures[1] == 2  # both tested
    assert kept == _recounted(engine, SH, [date(2022, 5, 10)])[0]
    # the second recounted both people's week after the first committed, not over it
    weeks = _weekly_kept(engine)
    assert weeks == _weekly_recounted(engine, app)
    assert sorted(v[8] for (_, w), v in weeks.items() if w == "2022-W19") == [1, 1]


def test_a_write_that_bypasses_the_hook_is_read_right_and_counted_by_the_next_commit(
    engine: Engine, session: Session, database_url: str
) -> None:
    """A tool writing through its own engine (no app, no hook) leaves marks: the report
    counts those keys from raw rows meanwhile, and the next hooked commit counts them."""
    from testrota.db.engine import make_engine

    pol = policy()
    now = local(SH, 2022, 5, 11, 9, 0)
    app = app_at(engine, now, pol)
    assert app.engine is engine
    add_site(session)
    p = _placed(session, "B1")
    ensure_units(app, Actor.cli())
    other = make_engine(database_url)  # a process without the app
    try:
        with Session(other) as s:
            add_sample(s, p, local(SH, 2022, 5, 10, 9, 2))
            s.commit()
    finally:
        other.dispose()
    assert _marks(engine) > 0
    day = date(2022, 5, 10)
    with engine.connect() as conn:
        assert pending(conn, SH).keys
    report = daily_report(app, DailyReport(day, Actor.cli()))
    assert (report.rows[0].required, report.rows[0].tested) == (1, 1)
    flag(engine, now, pol)  # the next hooked commit that writes counts what is marked
    assert _marks(engine) == 0
    assert _kept(engine) == _recounted(engine, SH, [day])


def test_an_upgraded_database_is_read_from_raw_rows_until_rebuilt(
    engine: Engine, session: Session
) -> None:
    from testrota.actions.rollup import RebuildRollup, rebuild_rollup

    pol = policy()
    now = local(SH, 2022, 5, 11, 9, 0)
    app = app_at(engine, now, pol)
    assert app.engine is engine
    add_site(session)
    _placed(session, "U1")
    ensure_units(app, Actor.cli())
    with engine.begin() as conn:  # what migration 0009 leaves in a database with people
        conn.execute(delete(tables.UNIT_DAY))
        conn.execute(
            tables.ROLLUP_DIRTY.insert().values(
                unit_id=None, person_id=None, at=None, whole_person=True
            )
        )
    day = date(2022, 5, 10)
    assert daily_report(app, DailyReport(day, Actor.cli())).rows[0].required == 1
    flag(engine, now, pol)  # a commit does not recount everything: the mark stays
    assert _marks(engine) == 1
    done = rebuild_rollup(app, RebuildRollup(Actor.cli()))
    assert done.whole and _marks(engine) == 0
    assert _kept(engine) == _recounted(engine, SH, [day])
    assert daily_report(app, DailyReport(day, Actor.cli())).rows[0].required == 1


def test_figures_kept_by_the_old_tube_count_are_counted_again_after_the_upgrade(
    tmp_path: Any,
) -> None:
    """0026_swab_counts: a unit-day kept when a check-in and its lab result were two single
    samples is read from raw rows until the rebuild, and no kept part of it moves it."""
    from alembic import command

    from testrota.actions.rollup import RebuildRollup, rebuild_rollup
    from testrota.db.engine import make_engine, session_scope
    from testrota.db.schema import alembic_config, upgrade

    old = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(old)
        pol = policy()
        now = local(SH, 2022, 5, 11, 9, 0)
        app = app_at(old, now, pol)
        with session_scope(app.engine) as s:
            add_site(s)
            _placed(s, "U1")
        ensure_units(app, Actor.cli())
        check_in(old, "U1", "S1", local(SH, 2022, 5, 10, 9, 0), "site", pol, now=now)
        record_result(old, "U1", local(SH, 2022, 5, 10, 9, 20), "negative", pol, now, site="S1")
        with old.begin() as conn:  # what the count before 0026 kept: two single tubes
            conn.execute(update(tables.UNIT_DAY).values(single=2))
        command.downgrade(alembic_config(old), "0025_rollup_unit_refs")
        upgrade(old)
        with old.connect() as conn:
            assert conn.execute(select(func.count()).select_from(tables.PERSON_DAY)).scalar() == 0
            assert not conn.execute(select(tables.UNIT_DAY.c.people_known)).scalar()
        assert _marks(old) == 1  # the "count everything" mark
        day = date(2022, 5, 10)
        assert daily_report(app, DailyReport(day, Actor.cli())).rows[0].single == 1
        rebuild_rollup(app, RebuildRollup(Actor.cli()))
        assert _marks(old) == 0
        assert _kept(old) == _recounted(old, SH, [day])
        assert daily_report(app, DailyReport(day, Actor.cli())).rows[0].single == 1
    finally:
        old.dispose()


def test_a_database_not_upgraded_yet_still_commits(tmp_path: Any) -> None:
    """The hook looks for its tables before it counts: a database at the previous schema
    (before `testrota init`) takes writes as it did."""
    from alembic import command

    from testrota.db.engine import make_engine, session_scope
    from testrota.db.models import Site
    from testrota.db.schema import alembic_config, upgrade

    old = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(old)
        command.downgrade(alembic_config(old), "0008_channels")
        app = app_at(old, local(SH, 2022, 5, 10, 9, 0), policy())
        with session_scope(app.engine) as s:
            s.add(Site(code="S9", name="九号"))
        upgrade(old)
        with session_scope(app.engine) as s:
            add_person(s, "N1")
        assert _marks(old) == 0  # counted at that commit, now that the tables exist
    finally:
        old.dispose()


def test_a_commit_that_marked_nothing_costs_the_hooks_one_statement(
    engine: Engine, session: Session
) -> None:
    """A scan's receipt, an audit line, a sign-in: writes neither roll-up counts. The hook
    reads both tables of marks in one statement, finds none, and stops there; a check-in's
    marks are still counted at its commit."""
    from sqlalchemy import event

    from testrota.audit import Action, record
    from testrota.db.engine import session_scope

    pol = policy()
    now = local(SH, 2022, 5, 10, 9, 0)
    add_site(session)
    person = add_person(session, "Q1", department="厂0", grid_unit="网格0")
    person.unit_path = "板材公司/厂0"
    session.add(person)
    add_appt(session, person, local(SH, 2022, 5, 10, 8, 30))
    session.commit()
    app = app_at(engine, now, pol)
    ensure_units(app, Actor.cli())
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)

    with session_scope(app.engine) as s:
        record(s, Actor.cli("hr"), Action.ROLLUP_REBUILT, "unitday", at=now, details={})
        s.flush()
        event.listen(app.engine, "before_cursor_execute", note)
    event.remove(app.engine, "before_cursor_execute", note)
    assert len(seen) == 1 and "rollupdirty" in seen[0] and "weeklydirty" in seen[0], seen
    check_in(engine, "Q1", "S1", local(SH, 2022, 5, 10, 8, 40), "site", pol, now=now)
    assert _marks(engine) == 0 and _weekly_marks(engine) == 0
    kept = _kept(engine)
    assert kept == _recounted(engine, SH, [date(2022, 5, 10)])
    tuesday = [f for (_, day), f in kept[0].items() if day == date(2022, 5, 10)]
    assert [f[:2] for f in tuesday] == [(1, 1)]  # required 1, tested 1


def test_the_nightly_job_holds_each_new_week_so_the_dashboard_keeps_reading_the_rollup(
    engine: Engine, session: Session
) -> None:
    """A new week begins each Monday: the nightly job (hold_weeks) counts it and lets the
    week that fell out of the trend go; a change of the testing policy has every week counted
    again under the new fingerprint. In between, the roll-up equals a recount."""
    from testrota.actions.compliance import Compliance, compliance_report
    from testrota.actions.rollup import (
        HoldWeeks,
        RebuildRollup,
        hold_weeks,
        rebuild_rollup,
        weeks_wanted,
    )

    pol = policy()
    add_site(session)
    for i in range(4):
        p = add_person(session, f"W{i}", department="厂0", grid_unit="网格0")
        p.unit_path = "板材公司/厂0"
        session.add(p)
        for day in (date(2022, 5, 10), date(2022, 5, 17), date(2022, 5, 24)):
            add_appt(session, p, local(SH, day.year, day.month, day.day, 9, 0))
            if i % 2:
                add_sample(session, p, local(SH, day.year, day.month, day.day, 9, 5))
    session.commit()
    app = app_at(engine, local(SH, 2022, 5, 11, 9, 0), pol)
    ensure_units(app, Actor.cli())
    first = rebuild_rollup(app, RebuildRollup(Actor.cli())).weeks
    assert first[-1] == "2022-W20"  # this week and the next

    later = app_at(engine, local(SH, 2022, 5, 18, 3, 0), pol)  # Wednesday night, a week on
    wanted = weeks_wanted(later)
    print_ = weekly.fingerprint(later.policy, later.config_dir)
    with engine.connect() as conn:
        assert not weekly.held(conn, wanted, print_)  # the dashboard would count raw rows
    held = hold_weeks(later, HoldWeeks(Actor.job("nightly")))
    assert held.counted == ["2022-W21"] and held.dropped == [first[0]]
    assert held.rows == 4
    with engine.connect() as conn:
        assert weekly.held(conn, wanted, print_)
        covered = sorted(w for (w,) in conn.execute(select(tables.WEEK_COVERED.c.week)))
    assert covered == [str(w) for w in wanted]
    assert _weekly_kept(engine) == _weekly_recounted(engine, later)
    for week in ("2022-W20", "2022-W21"):
        assert compliance_report(later, Compliance(week)) == compliance_report(
            later, Compliance(week, from_raw=True)
        )
    again = hold_weeks(later, HoldWeeks(Actor.job("nightly")))
    assert (again.counted, again.dropped, again.rows) == ([], [], 0)

    stricter = app_at(engine, local(SH, 2022, 5, 18, 3, 0), policy(tests_per_week=3))
    recount = hold_weeks(stricter, HoldWeeks(Actor.job("nightly")))
    assert recount.counted == [str(w) for w in wanted]
    assert _weekly_kept(engine) == _weekly_recounted(engine, stricter)
    with engine.connect() as conn:
        actions = [r[0] for r in conn.execute(select(tables.AUDIT_EVENT.c.action))]
    assert actions.count("rollup.weeks_held") == 2  # the run with nothing to do left no event


def test_a_commit_that_only_read_skips_the_rollups_and_a_write_does_not(
    engine: Engine, session: Session
) -> None:
    """Reads commit too (a status lookup that flags nothing): the hooks' look-ups at the marks
    are spent only on a transaction that wrote, and a write is still counted at its commit."""
    from sqlalchemy import event

    from testrota.db.engine import session_scope

    pol = policy()
    now = local(SH, 2022, 5, 11, 9, 0)
    app = app_at(engine, now, pol)
    add_site(session)
    p = add_person(session, "R1", department="厂0")
    p.unit_path = "板材公司/厂0"
    session.add(p)
    session.commit()
    ensure_units(app, Actor.cli())
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        with session_scope(engine) as s:
            s.execute(select(Person.id)).all()
            seen.clear()
        assert seen == []  # the commit of a read ran nothing
        with session_scope(engine) as s:
            add_appt(s, s.get(Person, p.id), local(SH, 2022, 5, 10, 9, 0))  # type: ignore[arg-type]
            seen.clear()
        assert any("unitday" in q.lower() for q in seen)  # the commit of a write counted it
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert _marks(engine) == 0
    assert _kept(engine) == _recounted(engine, SH, [date(2022, 5, 10)])


def test_a_rebuild_gives_postgresql_fresh_statistics_before_it_counts(
    engine: Engine, session: Session
) -> None:
    """A rebuild follows a bulk load, and placing people in units rewrites every person: the
    tables it counts are analysed first, or PostgreSQL plans a day's count on statistics that
    say nobody has a unit (minutes a day at 300,000 people instead of a second)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    from sqlalchemy import text

    from testrota.actions.rollup import RebuildRollup, rebuild_rollup

    app = app_at(engine, local(SH, 2022, 5, 11, 9, 0), policy())
    add_site(session)
    _placed(session, "A1")
    rebuild_rollup(app, RebuildRollup(Actor.cli()))
    with engine.connect() as conn:
        analysed = dict(
            conn.execute(
                text(
                    "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables "
                    "WHERE relname IN ('person', 'appointment', 'testresult', 'personweek')"
                )
            ).all()
        )
    assert analysed == {n: True for n in ("person", "appointment", "testresult", "personweek")}


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Shanghai"])
def test_whole_days_counted_in_one_statement_equal_each_day_counted_alone(
    engine: Engine, session: Session, zone: str
) -> None:
    """The plan's and the rebuild's path (``count_whole_days``: many days in one pass, each row
    placed on its day by the days' bounds) against the one-day definition (``count_days``),
    across a change to summer time (Berlin's 27 March 2022 has 23 hours), with rows close to
    every local midnight, excuse codes, pooled tubes, leavers and people outside the tree."""
    from zoneinfo import ZoneInfo

    from testrota.org.rollup import DAYS_A_STATEMENT, count_whole_days

    tz = ZoneInfo(zone)
    rnd = random.Random(17)
    app = app_at(engine, local(tz, 2022, 4, 2, 9, 0), policy(timezone=zone))
    add_site(session)
    people = []
    for i in range(30):
        p = add_person(session, f"W{i:03d}", department=f"厂{i % 3}", grid_unit=f"网格{i % 4}")
        p.unit_path = UNIT_PATHS[i % 3] + f"/网格{i % 4}"
        session.add(p)
        people.append(p)
    session.commit()
    ensure_units(app, Actor.cli())
    # Sundays to Tuesdays around the change, and a run of days longer than one statement
    # with a gap in it, so runs and statements are both split.
    days = [date(2022, 3, 20) + timedelta(days=i) for i in range(DAYS_A_STATEMENT + 3)]
    days += [date(2022, 4, 1)]
    minutes = [0, 1, 59, 60 * 12, 60 * 23 - 1, 60 * 23, 60 * 24 - 1]
    sampled: set[tuple[Any, Any]] = set()  # a person has one sample of a source at a time
    with Session(engine, expire_on_commit=False) as s:
        for n in range(160):
            p = s.get(Person, rnd.choice(people).id)
            assert p is not None
            day = rnd.choice(days)
            at = datetime_at(tz, day, rnd.choice(minutes))
            roll = rnd.random()
            if roll >= 0.45 and (p.id, at) in sampled:
                continue
            sampled.add((p.id, at))
            if roll < 0.45:
                status = rnd.choice(["scheduled", "done", "missed", "excused", "cancelled"])
                a = add_appt(s, p, at, status=status)
                if status == "excused":
                    a.excused_code = rnd.choice(["leave", "trip", None])
                    s.add(a)
            elif roll < 0.85:
                # a check-in, the lab's row of a swab (paired with one that day) or a booth's
                source = rnd.choice(["checkin", "checkin", "lab", "outside"])
                add_sample(
                    s, p, at, result=rnd.choice(["pending", "positive", "negative"]), source=source
                )
            else:
                sample = add_sample(s, p, at)
                tube = Tube(
                    code=f"WT{n:03d}",
                    site_code="S1",
                    day=day,
                    ratio=rnd.choice([1, 5]),
                    opened_at=at,
                    opened_by="site",
                    result=rnd.choice(["positive", "negative", None]),
                )
                s.add(tube)
                s.flush()
                s.add(TubeMember(tube_id=tube.id, person_id=p.id, result_id=sample.id, added_at=at))
        for p in people[:3]:
            fresh = s.get(Person, p.id)
            assert fresh is not None
            fresh.active = False  # leavers are not counted
            s.add(fresh)
        fresh = s.get(Person, people[3].id)
        assert fresh is not None
        fresh.unit_id = None  # someone outside the tree neither
        s.add(fresh)
        s.commit()

    def rows(figures: dict[int, Any]) -> dict[int, Any]:
        return {u: f for u, f in figures.items() if not f.is_empty() or f.untested}

    with engine.connect() as conn:
        together = count_whole_days(conn, days, tz)
        alone = {day: count_days(conn, day, tz, None) for day in days}
    assert {d: rows(f) for d, f in together.items()} == {d: rows(f) for d, f in alone.items()}
    assert sum(f.required + f.extra for by in together.values() for f in by.values()) > 50
    assert any(f.pooled for by in together.values() for f in by.values())
    assert any(f.untested for by in together.values() for f in by.values())


def datetime_at(tz: Any, day: date, minute: int) -> Any:
    """``minute`` minutes after the local midnight starting ``day`` (in UTC, so a day of 23
    hours runs into the next one's first hour)."""
    from testrota.weeks import day_bounds

    return day_bounds(day, tz)[0] + timedelta(minutes=minute)


def test_a_whole_rebuild_places_everyone_in_units_in_its_own_transaction(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a bulk load nobody has a unit: the rebuild places them in the transaction it
    counts in, so no commit of their own has its hook count every day of every person moved
    first (the rebuild counts all of it anyway), and the figures still equal a recount."""
    from testrota.actions.rollup import RebuildRollup, rebuild_rollup
    from testrota.org import rollup

    app = app_at(engine, local(SH, 2022, 5, 11, 9, 0), policy())
    add_site(session)
    for i in range(6):
        p = add_person(session, f"R{i}", department=f"厂{i % 2}")
        p.unit_path = UNIT_PATHS[i % 3]
        session.add(p)
        add_appt(session, p, local(SH, 2022, 5, 9 + i % 3, 9, 0), status="done")
        add_sample(session, p, local(SH, 2022, 5, 9 + i % 3, 9, 5))
    session.commit()
    counted_by_hook: list[int] = []
    real_write = rollup.write

    def write(conn: Any, keys: Any, heads: Any, tz: Any, now: Any) -> int:
        counted_by_hook.append(len(keys) + len(heads))
        return real_write(conn, keys, heads, tz, now)

    monkeypatch.setattr(rollup, "write", write)
    done = rebuild_rollup(app, RebuildRollup(Actor.cli()))
    assert done.whole and done.rows > 0
    assert counted_by_hook == []  # nothing was left marked for a commit's hook to count
    with engine.connect() as conn:
        placed = conn.execute(
            select(func.count()).select_from(tables.PERSON).where(tables.PERSON.c.unit_id.is_(None))
        ).scalar_one()
        actions = [r[0] for r in conn.execute(select(tables.AUDIT_EVENT.c.action))]
    assert placed == 0
    assert "units.synced" in actions and "rollup.rebuilt" in actions
    assert _marks(engine) == 0
    assert _kept(engine) == _recounted(engine, SH, DAYS)


def test_many_people_moved_count_every_day_with_data_whole(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Placing a roster in units (or a reorganisation) moves more people than the hook looks
    up one by one: it counts every day from the first to the last holding a row, for every
    unit, and the roll-up still equals a recount, the days between included."""
    from testrota.org import rollup

    monkeypatch.setattr(rollup, "MANY_PEOPLE", 3)
    app = app_at(engine, local(SH, 2022, 5, 13, 9, 0), policy())
    add_site(session)
    people = []
    for i in range(8):
        p = add_person(session, f"M{i}", department=f"厂{i % 2}")
        p.unit_path = UNIT_PATHS[i % 3]
        session.add(p)
        people.append(p)
    session.commit()
    ensure_units(app, Actor.cli())
    with Session(engine, expire_on_commit=False) as s:
        for i, p in enumerate(people):
            add_appt(s, p, local(SH, 2022, 5, 9 + i % 4, 9, 0), status="done")
            if i % 2:
                add_sample(s, p, local(SH, 2022, 5, 9 + i % 4, 9, 5))
        s.commit()
    assert _kept(engine) == _recounted(engine, SH, DAYS)
    looked_up: list[int] = []
    real_days_of = rollup._days_of

    def days_of(conn: Any, person_ids: list[int], tz: Any) -> Any:
        looked_up.append(len(person_ids))
        return real_days_of(conn, person_ids, tz)

    monkeypatch.setattr(rollup, "_days_of", days_of)
    with engine.connect() as conn:
        units = [r[0] for r in conn.execute(select(tables.ORG_UNIT.c.id))]
    with Session(engine) as s:  # four people move: more than the hook looks up one by one
        for i, p in enumerate(people[:4]):
            fresh = s.get(Person, p.id)
            assert fresh is not None
            fresh.unit_id = units[(units.index(fresh.unit_id) + 1 + i) % len(units)]
            s.add(fresh)
        s.commit()
    assert looked_up == []
    assert _marks(engine) == 0
    assert _kept(engine) == _recounted(engine, SH, DAYS)
    with Session(engine) as s:  # two move back: looked up one by one
        for p in people[:2]:
            fresh = s.get(Person, p.id)
            assert fresh is not None
            fresh.unit_id = p.unit_id
            s.add(fresh)
        s.commit()
    assert looked_up == [2]
    assert _kept(engine) == _recounted(engine, SH, DAYS)


def test_counting_whole_days_puts_the_planner_settings_back(engine: Engine) -> None:
    """The whole-day count turns nested loops off and raises work_mem for itself only: the
    rest of the transaction (a rebuild's weekly count, the caller's own statements) plans
    with the settings it had."""
    if engine.dialect.name != "postgresql":
        pytest.skip("planner settings are PostgreSQL's")
    from sqlalchemy import text

    from testrota.org.rollup import count_whole_days

    with engine.begin() as conn:
        conn.execute(text("SET LOCAL work_mem = '8MB'"))
        count_whole_days(conn, DAYS, SH)
        settings = [
            conn.execute(text(f"SELECT current_setting('{name}')")).scalar_one()
            for name in ("enable_nestloop", "work_mem")
        ]
    assert settings == ["on", "8MB"]


def _three_in_one_unit(
    engine: Engine, session: Session, prefix: str, zone: str | None = None, n: int = 3
) -> list[Person]:
    """Three (``n``) people of one unit of the tree (the triggers mark only people in a unit),
    the roll-ups' days those of ``zone`` (Shanghai's by default)."""
    tz = ZoneInfo(zone) if zone else SH
    app = app_at(engine, local(tz, 2022, 5, 11, 9, 0), policy(timezone=zone))
    add_site(session)
    people = [add_person(session, f"{prefix}{i}", department="厂0") for i in range(n)]
    for p in people:
        p.unit_path = "板材公司/厂0"
        session.add(p)
    session.commit()
    ensure_units(app, Actor.cli())
    return people


def _a_minute_apart(person_ids: list[int], at: Any, n: int = 150) -> list[dict[str, Any]]:
    """``n`` scheduled appointments of W19, a minute apart from ``at``, the people in turn."""
    return [
        {
            "person_id": person_ids[i % len(person_ids)],
            "site_code": "S1",
            "week": "2022-W19",
            "starts_at": at + timedelta(minutes=i),
            "ends_at": at + timedelta(minutes=i + 30),
            "status": "scheduled",
            "reason": "plan",
            "created_at": at,
            "updated_at": at,
        }
        for i in range(n)
    ]


def test_few_rows_are_marked_by_person_and_a_bulk_statement_by_unit(
    engine: Engine, session: Session
) -> None:
    """A check-in's sample marks its person, so the weekly roll-up recounts that person's week
    and not everyone's in the unit (on PostgreSQL a unit of 750 made each check-in recount 750
    weeks and queue behind the others for seconds); a plan-sized statement is marked by unit
    and quarter hour, a few marks instead of a row each (migrations 0013_marks and
    0024_bulk_marks_quarter_hour)."""
    from sqlalchemy import insert

    from testrota.db.engine import session_scope

    people = _three_in_one_unit(engine, session, "M")
    at = local(SH, 2022, 5, 10, 9, 0)
    week = str(parse_week("2022-W19"))
    marks = select(tables.ROLLUP_DIRTY.c.unit_id, tables.ROLLUP_DIRTY.c.person_id)
    with session_scope(engine) as s:
        add_sample(s, s.get(Person, people[0].id), at)  # type: ignore[arg-type]
        ((unit_id, person_id),) = s.execute(marks).all()
        assert unit_id is not None and person_id == people[0].id
        todo = weekly.pending(s.connection(), {week}, SH)
        assert dict(todo.people) == {week: {people[0].id}} and not any(todo.units.values())
    rows = _a_minute_apart([p.id for p in people], at)  # type: ignore[misc]
    with session_scope(engine) as s:
        s.execute(insert(tables.APPOINTMENT).values(rows))  # one statement
        bulk = s.execute(marks).all()
        if engine.dialect.name == "postgresql":
            # 150 minutes from 09:00: ten quarter hours, by unit alone
            assert len(bulk) == 10 and {p for _, p in bulk} == {None}
        else:
            assert {p for _, p in bulk} == {p.id for p in people}  # SQLite: row by row
    assert _marks(engine) == 0
    assert _kept(engine) == _recounted(engine, SH, [date(2022, 5, 10)])


def test_every_zones_day_and_week_boundaries_fall_on_quarter_hours_of_utc() -> None:
    """What the bulk marks' quarter hours rely on (0024_bulk_marks_quarter_hour): a time and the
    start of its quarter hour of UTC are on the same local day when every zone's offset is a
    whole number of quarter hours, as it has been in every zone since 1980 (Monrovia's
    -0:44:30 ended in 1972, Kiritimati's -10:40 in 1979). Each zone looked at twice a month,
    which no summer time is shorter than."""
    from datetime import UTC, datetime
    from zoneinfo import available_timezones

    odd = []
    for name in sorted(available_timezones()):
        tz = ZoneInfo(name)
        at, offsets = datetime(1980, 1, 1, tzinfo=UTC), set()
        while at.year < 2040:
            offsets.add(at.astimezone(tz).utcoffset())
            at += timedelta(days=15)
        odd += [(name, o) for o in offsets if o is None or o.total_seconds() % 900]
    assert odd == []


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Europe/Berlin", date(2022, 3, 27)),  # 23 hours
        ("Asia/Kathmandu", date(2022, 5, 10)),  # UTC+5:45
        ("Australia/Lord_Howe", date(2022, 4, 3)),  # half an hour back at 02:00
    ],
)
def test_a_bulk_statement_marks_its_units_quarter_hours_and_each_day_stays_its_own(
    engine: Engine, session: Session, zone: str, day: date
) -> None:
    """A lab's sheet inserts its samples in one statement: on PostgreSQL their marks are one a
    unit and quarter hour, and samples a minute either side of local midnight still count on
    their own days (SQLite's row triggers mark each sample as it is)."""
    from sqlalchemy import insert

    from testrota.db.engine import session_scope

    tz = ZoneInfo(zone)
    people = _three_in_one_unit(engine, session, "Q", zone, n=4)
    days = [day - timedelta(days=1), day, day + timedelta(days=1)]
    midnight = datetime_at(tz, day, 0)
    # 160 samples a minute apart, the local midnight starting ``day`` among them, and the
    # next local midnight's minutes either side
    times = [midnight + timedelta(minutes=m) for m in range(-80, 80)]
    times += [datetime_at(tz, days[2], 0) + timedelta(minutes=m) for m in (-1, 0)]
    rows = [
        {
            "person_id": people[i % len(people)].id,
            "sampled_at": at,
            "result": "negative",
            "source": "lab",
            "site_code": "S1",
            "site_name": "",
            "recorded_at": at,
            "recorded_by": "lab",
        }
        for i, at in enumerate(times)
    ]
    marks = select(tables.ROLLUP_DIRTY.c.person_id, tables.ROLLUP_DIRTY.c.at)
    with session_scope(engine) as s:
        s.execute(insert(tables.TEST_RESULT).values(rows))  # one statement
        bulk = s.execute(marks).all()
        if engine.dialect.name == "postgresql":
            assert {p for p, _ in bulk} == {None}
            assert {at.timestamp() % 900 for _, at in bulk} == {0}
            quarters = {at.timestamp() // 900 for at in times}
            assert len(bulk) == len(quarters) < len(times)
    assert _marks(engine) == 0
    kept, heads = _kept(engine)
    assert (kept, heads) == _recounted(engine, tz, days)
    sampled = {
        d: {r["person_id"] for r in rows if r["sampled_at"].astimezone(tz).date() == d}
        for d in days
    }
    # each day's people tested (required that day or extra), as the samples' local days say
    assert {d: f[1] + f[2] for (_, d), f in kept.items()} == {d: len(p) for d, p in sampled.items()}


def test_an_update_marks_each_changed_rows_person_and_time_before_and_after(
    engine: Engine, session: Session
) -> None:
    """A statement that flags many appointments, moves one or changes a result marks each
    changed row's person, unit and time, before and after; one that changes nothing counted
    marks nothing. On PostgreSQL the update is marked once per statement (migration
    0016_update_marks: a results sheet's 32,000 appointments made 32,000 trigger calls), each
    mark once; SQLite's row triggers may mark a row twice, so marks are compared as sets."""
    from sqlalchemy import insert, text

    from testrota.db.engine import session_scope

    people = _three_in_one_unit(engine, session, "U")
    session.expire_all()
    unit_id = session.get(Person, people[0].id).unit_id  # type: ignore[union-attr]
    ids = [p.id for p in people]
    session.commit()  # SQLite: every transaction takes the write lock; let the others write
    assert unit_id is not None
    at = local(SH, 2022, 5, 10, 9, 0)
    a, d = tables.APPOINTMENT, tables.ROLLUP_DIRTY
    rows = _a_minute_apart(ids, at)  # type: ignore[arg-type]
    with session_scope(engine) as s:
        s.execute(insert(a).values(rows))
        sample = add_sample(s, s.get(Person, ids[1]), at)  # type: ignore[arg-type]
        sample_id = sample.id
    marks = select(d.c.unit_id, d.c.person_id, d.c.at)
    expected = {(unit_id, r["person_id"], r["starts_at"]) for r in rows}

    def changed(statement: Any) -> list[tuple[Any, ...]]:
        with session_scope(engine) as s:
            s.execute(statement)
            return [tuple(m) for m in s.execute(marks)]

    assert changed(update(a).values(updated_at=at + timedelta(hours=1))) == []
    flagged = changed(update(a).where(a.c.status == "scheduled").values(status="missed"))
    assert set(flagged) == expected
    moved_id, moved_person, moved_at = 1, rows[0]["person_id"], rows[0]["starts_at"]
    later = moved_at + timedelta(days=1)
    moved = changed(update(a).where(a.c.id == moved_id).values(starts_at=later))
    assert set(moved) == {(unit_id, moved_person, moved_at), (unit_id, moved_person, later)}
    result = changed(
        update(tables.TEST_RESULT)
        .where(tables.TEST_RESULT.c.id == sample_id)
        .values(result="positive")
    )
    assert set(result) == {(unit_id, ids[1], at)}
    if engine.dialect.name == "postgresql":
        assert len(flagged) == 150 and len(moved) == 2 and len(result) == 1  # each once
        with engine.connect() as conn:
            row_level = conn.execute(
                text(
                    "SELECT tgname FROM pg_trigger WHERE tgname IN "
                    "('rollup_appointment_update', 'rollup_testresult_update') "
                    "AND tgtype & 1 = 1"
                )
            ).all()
        assert row_level == []  # both FOR EACH STATEMENT
    assert _marks(engine) == 0
    assert _kept(engine) == _recounted(engine, SH, [date(2022, 5, 10), date(2022, 5, 11)])


def test_a_departments_missed_people_of_a_week_are_read_through_the_rollups_index(
    engine: Engine,
) -> None:
    """A supervisor's missed list starts from the roll-up's rows of people who missed a slot
    (``weekly.missed_in``): on both databases, through the index of those rows alone."""
    pw = tables.PERSON_WEEK_ROW
    rows = [
        {
            "person_id": person,
            "week": str(parse_week("2022-W19").shifted(w)),
            "department": f"部门{person % 4}",
            "grid_unit": f"网格{person % 40}",
            "required": 2,
            "missed": 1 if person % 97 == 0 else 0,
            "asked": 2,
            "counted_at": local(SH, 2022, 5, 13, 9, 0),
        }
        for w in range(-11, 1)
        for person in range(400)
    ]
    with engine.begin() as conn:
        conn.execute(pw.insert(), rows)
        conn.execute(text("ANALYZE"))
    # the rows the condition reads: its subquery out of the EXISTS, without the one person
    (subquery,) = weekly.missed_in(parse_week("2022-W19"), -1, ["部门1"]).get_children()
    person, *rest = subquery.whereclause.clauses
    assert pw.c.person_id in person.get_children()
    query = select(pw.c.person_id).where(*rest)
    with engine.connect() as conn:
        plan = query_plan(conn, query)
    assert "ix_personweek_missed" in plan, plan
