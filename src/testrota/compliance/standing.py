"""One person's standing this week: tests, required, and a green / amber / red light."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from testrota.compliance.facts import (
    appointments_between,
    exemptions_between,
    find_person,
    last_test_dates,
    person_facts,
    rate_lookup,
    samples_between,
)
from testrota.compliance.flagging import flag_in_session
from testrota.compliance.records import AppointmentFacts, PersonFacts
from testrota.compliance.visits import next_appointment
from testrota.compliance.weekly import PersonWeek, person_week
from testrota.db.engine import session_scope
from testrota.policy import Policy
from testrota.weeks import IsoWeek, local_date, week_bounds, week_of

GREEN, AMBER, RED = "green", "amber", "red"


def light(pw: PersonWeek) -> str:
    """Green: compliant this week. Red: missed a slot and not made up. Amber: still due."""
    if pw.compliant:
        return GREEN
    return RED if pw.missed else AMBER


@dataclass(frozen=True)
class Standing:
    person: PersonFacts
    week: PersonWeek
    appointments: list[AppointmentFacts]


def load_standing(
    session: Session, person: PersonFacts, week: IsoWeek, policy: Policy
) -> Standing:
    tz = policy.tz
    start, end = week_bounds(week, tz)
    appts = appointments_between(session, start, end, person_ids=[person.id])
    days = {local_date(s.sampled_at, tz) for s in samples_between(
        session, start, end, person_ids=[person.id]
    )}
    exemptions = exemptions_between(session, week.monday, week.monday + timedelta(days=6),
                                    [person.id])
    pw = person_week(person, week, policy, appts, days, exemptions)
    return Standing(person, pw, appts)


def person_status(
    engine: Engine,
    employee_no: str,
    now: datetime,
    policy: Policy,
    config_dir: Path | None = None,
) -> dict[str, Any]:
    """The status lookup for gate guards and site staff: a light and the facts behind it."""
    tz = policy.tz
    with session_scope(engine) as session:
        flag_in_session(session, now, policy)
        found = find_person(session, employee_no)
        assert found.id is not None
        person = person_facts(session, found.id, rate_lookup(config_dir, policy))
        standing = load_standing(session, person, week_of(now, tz), policy)
        last = last_test_dates(session, [person.id], now + timedelta(seconds=1)).get(person.id)
    pw = standing.week
    upcoming = next_appointment(now, standing.appointments)
    return {
        "employee_no": person.employee_no,
        "name": person.name,
        "department": person.department,
        "grid_unit": person.grid_unit,
        "active": person.active,
        "week": str(pw.week),
        "status": light(pw),
        "tests_this_week": pw.tests,
        "required": pw.required,
        "missed_this_week": pw.missed,
        "compliant": pw.compliant,
        "last_test_at": last.astimezone(tz).isoformat() if last else None,
        "next_slot_start": upcoming.starts_at.astimezone(tz).isoformat() if upcoming else None,
        "next_slot_site": upcoming.site_code if upcoming else None,
    }
