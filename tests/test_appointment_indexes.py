"""The appointment indexes each reader relies on, read from the databases' own plans: a plan
writes 600,000 rows at 300,000 people, and every index they enter costs the server time, so the
readers of rows a plan never writes (missed, due) have partial indexes of their own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, text, true

from testrota.compliance.flagging import due_query
from testrota.compliance.missed_rows import missed_between
from testrota.db import lean, tables
from testrota.weeks import parse_week, week_bounds
from tests.compliance_fixtures import policy
from tests.query_plans import query_plan

P = policy()
WEEK = parse_week("2022-W19")
START, END = week_bounds(WEEK, P.tz)
NOW = END + timedelta(days=1)


def _rows(n_weeks: int = 12, people: int = 400) -> list[dict[str, Any]]:
    """Twelve weeks of two appointments a person, nearly all done; a few missed each week,
    and next week's planned."""
    rows = []
    for w in range(-n_weeks + 1, 2):
        monday = START + timedelta(weeks=w)
        for person in range(people):
            for day in (0, 3):
                at = monday + timedelta(days=day, hours=1, minutes=person % 60)
                status = "scheduled" if w == 1 else ("missed" if person % 97 == 0 else "done")
                rows.append(
                    {
                        "person_id": person,
                        "slot_id": None,
                        "site_code": "S1",
                        "week": str(WEEK.shifted(w)),
                        "starts_at": at,
                        "ends_at": at + timedelta(minutes=15),
                        "status": status,
                        "reason": "plan",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
    return rows


def _plan(engine: Engine, query: Any) -> str:
    with engine.begin() as conn:
        conn.execute(insert(tables.APPOINTMENT), _rows())
        conn.execute(text("ANALYZE"))
    with engine.connect() as conn:
        return query_plan(conn, query)


def test_the_missed_rows_of_a_week_are_read_through_their_own_index(engine: Engine) -> None:
    plan = _plan(engine, missed_between(true(), START, END))
    assert "ix_appointment_missed_starts" in plan, plan


def test_a_few_peoples_missed_weeks_are_read_through_the_missed_rows_by_person(
    engine: Engine,
) -> None:
    """The weeks in a row of a page's people: each person's missed rows, not all their rows."""
    few = lean.APPOINTMENT.c.person_id.in_([0, 97, 194])  # missed_between's own table
    plan = _plan(engine, missed_between(few, START - timedelta(weeks=8), END))
    assert "ix_appointment_missed_person" in plan, plan


def test_one_persons_missed_rows_of_a_week_are_a_look_at_the_index_by_person(
    engine: Engine,
) -> None:
    """What a supervisor's department costs the database person by person (PostgreSQL probes
    each of 10,000 people: 77,000 buffers through each person's week of appointments, 23,000
    through this index)."""
    a = tables.APPOINTMENT
    query = select(a.c.id).where(
        a.c.person_id == 97, a.c.status == "missed", a.c.starts_at >= START, a.c.starts_at < END
    )
    plan = _plan(engine, query)
    assert "ix_appointment_missed_person" in plan, plan


def test_flagging_reads_the_scheduled_rows_that_ended_through_their_own_index(
    engine: Engine,
) -> None:
    plan = _plan(engine, due_query(NOW, P))
    assert "ix_appointment_scheduled_ends" in plan, plan


def test_a_planned_appointment_enters_no_index_of_missed_rows(engine: Engine) -> None:
    """The index that (status, starts_at) was: every planned row entered it; nor does the
    index by person. Their entries are counted by ANALYZE (PostgreSQL's reltuples, SQLite's
    sqlite_stat1)."""
    rows = _rows()
    with engine.begin() as conn:
        conn.execute(insert(tables.APPOINTMENT), rows)
        conn.execute(text("ANALYZE"))
        if engine.dialect.name == "postgresql":
            query = "SELECT reltuples FROM pg_class WHERE relname = :name"
        else:
            query = "SELECT stat FROM sqlite_stat1 WHERE idx = :name"
        entries = [
            conn.execute(text(query), {"name": name}).scalar_one()
            for name in ("ix_appointment_missed_starts", "ix_appointment_missed_person")
        ]
    missed = sum(1 for r in rows if r["status"] == "missed")
    assert 0 < missed < len(rows) // 50
    assert [int(str(e).split()[0].split(".")[0]) for e in entries] == [missed, missed]
