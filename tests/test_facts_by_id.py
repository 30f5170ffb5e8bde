"""The facts readers asked for a list of people: exactly those people's rows, in runs the
database accepts (an IN list of at most 900 on SQLite, one ``= ANY`` array on PostgreSQL), from
an ORM session or from a commit hook's Core connection, with one statement text on PostgreSQL
whatever the list's length, so the server prepares it once; and a person's facts taken from
the row already loaded are the facts read by id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import Session

from testrota.compliance.facts import (
    appointments_between,
    exemptions_between,
    facts_of_loaded,
    person_facts,
    samples_between,
)
from testrota.db.models import Appointment, Exemption, Person, TestResult
from tests.compliance_fixtures import T0, iso_week

MONDAY = datetime(2022, 5, 9, 1, 0, tzinfo=UTC)
PEOPLE = 1_000  # more than one SQLite IN list holds


def _person(number: str, **columns: Any) -> Person:
    return Person(
        employee_no=number,
        name=f"员工{number}",
        department="炼钢厂",
        grid_unit="一号网格",
        role="司机",
        created_at=T0,
        updated_at=T0,
        **columns,
    )


def _world(engine: Engine) -> list[int]:
    with Session(engine) as session:
        people = [_person(f"F{n:05d}", risk_category="driver") for n in range(PEOPLE)]
        session.add_all(people)
        session.flush()
        ids = [p.id for p in people if p.id is not None]
        for n, pid in enumerate(ids):
            start = MONDAY + timedelta(minutes=n % 600)
            session.add(
                Appointment(
                    person_id=pid,
                    site_code="S1",
                    week=iso_week(start),
                    starts_at=start,
                    ends_at=start + timedelta(minutes=30),
                    grid_unit="一号网格",
                    status="excused" if n % 10 == 0 else "scheduled",
                    reason="plan",
                    created_at=T0,
                    updated_at=T0,
                )
            )
            session.add(
                TestResult(
                    person_id=pid,
                    sampled_at=start,
                    result="invalid" if n % 7 == 0 else "pending",
                    source="checkin",
                    site_code="S1",
                    recorded_at=start,
                )
            )
        session.add(
            Exemption(
                person_id=ids[3],
                start_date=MONDAY.date(),
                end_date=MONDAY.date() + timedelta(days=2),
                reason="sick",
                created_at=T0,
            )
        )
        session.commit()
    return ids


def test_the_rows_of_the_people_asked_and_no_others(engine: Engine) -> None:
    ids = _world(engine)
    start, end = MONDAY, MONDAY + timedelta(days=1)
    asked = ids[5:960]  # 955: two IN lists on SQLite
    texts: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def note(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if "FROM appointment" in statement:
            texts.append(statement)

    with Session(engine) as session:
        appts = appointments_between(session, start, end, person_ids=asked)
        assert sorted(a.person_id for a in appts) == sorted(asked)
        assert appointments_between(session, start, end, person_ids=[]) == []
        assert len(appointments_between(session, start, end)) == PEOPLE
        excused = appointments_between(session, start, end, person_ids=asked, statuses=["excused"])
        assert {a.person_id for a in excused} == {
            pid for n, pid in enumerate(ids) if pid in set(asked) and n % 10 == 0
        }
        samples = samples_between(session, start, end, person_ids=asked)
        counting = {pid for n, pid in enumerate(ids) if n % 7 != 0}
        assert sorted(s.person_id for s in samples) == sorted(set(asked) & counting)
        everything = samples_between(session, start, end, person_ids=asked, counting_only=False)
        assert len(everything) == len(asked)
    with engine.connect() as conn:  # the commit hooks read through their Core connection
        assert len(appointments_between(conn, start, end, person_ids=ids[:3])) == 3
        assert [e.person_id for e in exemptions_between(conn, start.date(), end.date())] == [ids[3]]
        assert exemptions_between(conn, start.date(), end.date(), person_ids=ids[4:]) == []
        assert samples_between(conn, end, end + timedelta(days=1), person_ids=ids) == []
    event.remove(engine, "before_cursor_execute", note)

    by_ids = [
        t for t in texts if ("person_id = ANY" in t or "person_id IN" in t) and "status IN" not in t
    ]
    if engine.dialect.name == "postgresql":
        # 955 ids and 3 ids: the same text, one array parameter
        assert len(by_ids) == 2 and by_ids[0] == by_ids[1] and "ANY" in by_ids[0]
    else:
        assert len(by_ids) == 3  # two lists for the 955, one for the 3


def test_a_loaded_persons_facts_are_the_facts_read_by_id(engine: Engine) -> None:
    """The check-in takes the facts of the person it locked instead of reading them again:
    the same facts, the override's rule included (an empty override: not high-risk)."""
    rates = {"driver": 3, "canteen": 2}.get
    cases = [(o, m) for o in (None, "", "canteen") for m in (None, "driver")]
    with Session(engine) as session:
        people = [
            _person(
                f"C{n}",
                risk_category=matched,
                override_category=override,
                person_type="co_resident" if n % 2 else "employee",
                active=bool(n % 3),
            )
            for n, (override, matched) in enumerate(cases)
        ]
        session.add_all(people)
        session.flush()
        for person in people:
            assert person.id is not None
            assert facts_of_loaded(person, rates) == person_facts(session, person.id, rates)
        categories = [facts_of_loaded(p).category for p in people]
        assert categories == [None, "driver", None, None, "canteen", "canteen"]
