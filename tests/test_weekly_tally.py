"""The weekly roll-up counts a week's appointments and test days in SQL (one row a person, not
one an appointment or a sample); these hold the SQL to the Python definitions the compliance
report uses, on both databases, in a zone with a change to summer time and in Shanghai's."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from testrota.compliance.facts import appointments_between, samples_between
from testrota.compliance.records import ExemptionFacts, Tally
from testrota.compliance.tallies import appointment_tallies, days_tested_in_week
from testrota.compliance.weekly import tally
from testrota.db.models import Exemption, Person
from testrota.statuses import AppointmentReason, AppointmentStatus
from testrota.weeks import local_date, parse_week, week_bounds
from tests.compliance_fixtures import add_appt, add_person, add_sample, add_site
from tests.test_rollup import datetime_at

# Berlin's 27 March 2022 has 23 hours: the week 2022-W12 ends with it.
WEEK = parse_week("2022-W12")
ZONES = ["Europe/Berlin", "Asia/Shanghai"]
MINUTES = [0, 1, 59, 60 * 12, 60 * 23 - 1, 60 * 23, 60 * 24 - 1]


def _world(session: Session, zone: str, seed: int) -> tuple[ZoneInfo, random.Random, list[Person]]:
    """The zone, a seeded random source and 20 people at a site."""
    add_site(session)
    people = [add_person(session, f"T{i:03d}") for i in range(20)]
    session.commit()
    return ZoneInfo(zone), random.Random(seed), people


def _near_midnights(rnd: random.Random, tz: ZoneInfo) -> datetime:
    """A time close to a local midnight (or noon) of the week or a day either side of it:
    rows outside the week must not count, and each must land on its own local day."""
    day = WEEK.monday + timedelta(days=rnd.randrange(-1, 8))
    at: datetime = datetime_at(tz, day, rnd.choice(MINUTES))
    return at


@pytest.mark.parametrize("zone", ZONES)
def test_a_weeks_tallies_counted_in_sql_equal_the_python_tally(
    engine: Engine, session: Session, zone: str
) -> None:
    tz, rnd, people = _world(session, zone, 3)
    for _ in range(300):
        add_appt(
            session,
            rnd.choice(people),
            _near_midnights(rnd, tz),
            status=rnd.choice(list(AppointmentStatus)),
            reason=rnd.choice(list(AppointmentReason)),
        )
    # Half the people exempt for a span of days, some from before the week or past its end:
    # their appointments excused on those local days are not taken off what is asked.
    start, end = week_bounds(WEEK, tz)
    exemptions = []
    for person in people[::2]:
        first = WEEK.monday + timedelta(days=rnd.randrange(-3, 7))
        last = first + timedelta(days=rnd.randrange(0, 5))
        exemptions.append(ExemptionFacts(person.id or 0, first, last))
        session.add(
            Exemption(
                person_id=person.id, start_date=first, end_date=last, reason="x", created_at=start
            )
        )
    session.commit()
    everyone = appointments_between(session, start, end)
    expected = {p.id: tally(p.id, everyone, exemptions, tz) for p in people if p.id is not None}
    expected = {pid: t for pid, t in expected.items() if t != Tally()}
    without = {p.id: tally(p.id, everyone) for p in people if p.id is not None}
    session.commit()  # SQLite: the read holds the only write lock until it ends
    with engine.connect() as conn:
        assert appointment_tallies(conn, WEEK, tz) == expected
        some = sorted(expected)[::3]
        assert appointment_tallies(conn, WEEK, tz, person_ids=some) == {
            pid: expected[pid] for pid in some
        }
    # Every field is exercised, and a contact's booking is both added and, excused, not.
    for name in ("done", "missed", "excused", "excused_planned", "contact"):
        assert sum(getattr(t, name) for t in expected.values()) > 0, name
    assert any(t.excused > t.excused_planned for t in expected.values())
    # and some excused appointment fell on an exempt day (the exemptions changed a tally)
    assert any(t.excused_planned < without[pid].excused_planned for pid, t in expected.items())


@pytest.mark.parametrize("zone", ZONES)
def test_a_weeks_test_days_placed_in_sql_equal_the_local_dates(
    engine: Engine, session: Session, zone: str
) -> None:
    tz, rnd, people = _world(session, zone, 5)
    taken: set[tuple[object, ...]] = set()
    for _ in range(250):
        person = rnd.choice(people)
        at = _near_midnights(rnd, tz)
        source = rnd.choice(["checkin", "lab"])
        if (person.id, at, source) in taken:
            continue
        taken.add((person.id, at, source))
        result = rnd.choice(["pending", "negative", "invalid"])
        add_sample(session, person, at, result=result, source=source)
    session.commit()
    start, end = week_bounds(WEEK, tz)
    expected: dict[int, set[date]] = {}
    for s in samples_between(session, start, end):  # counting samples only
        expected.setdefault(s.person_id, set()).add(local_date(s.sampled_at, tz))
    session.commit()
    with engine.connect() as conn:
        assert days_tested_in_week(conn, WEEK, tz) == expected
        some = sorted(expected)[::2]
        assert days_tested_in_week(conn, WEEK, tz, person_ids=some) == {
            pid: expected[pid] for pid in some
        }
    assert {d for days in expected.values() for d in days} == set(WEEK.days)
