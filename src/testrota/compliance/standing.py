"""One person's standing this week: tests, required, and a green / amber / red light."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session

from testrota.compliance.facts import (
    appointments_between,
    exemptions_between,
    last_test_dates,
    samples_between,
)
from testrota.compliance.records import AppointmentFacts, PersonFacts, Sample
from testrota.compliance.visits import next_appointment
from testrota.compliance.weekly import PersonWeek, person_week
from testrota.policy import Policy
from testrota.weeks import IsoWeek, local_date, week_bounds, week_of


class Light(StrEnum):
    GREEN = "green"  # compliant this week
    AMBER = "amber"  # a test still due this week
    RED = "red"  # missed a slot this week and not made up for it


def light(pw: PersonWeek) -> Light:
    """Green: compliant this week. Red: missed a slot and not made up. Amber: still due."""
    if pw.compliant:
        return Light.GREEN
    return Light.RED if pw.missed else Light.AMBER


@dataclass(frozen=True)
class Standing:
    person: PersonFacts
    week: PersonWeek
    appointments: list[AppointmentFacts]


def load_standing(session: Session, person: PersonFacts, week: IsoWeek, policy: Policy) -> Standing:
    start, end = week_bounds(week, policy.tz)
    appts = appointments_between(session, start, end, person_ids=[person.id])
    samples = samples_between(session, start, end, person_ids=[person.id])
    return standing_of(session, person, week, policy, appts, samples)


def standing_of(
    session: Session,
    person: PersonFacts,
    week: IsoWeek,
    policy: Policy,
    appointments: list[AppointmentFacts],
    samples: Iterable[Sample],
) -> Standing:
    """:func:`load_standing` from ``person``'s appointments and counting samples of ``week``,
    read already (a check-in reads them once for its slot and for the week)."""
    days = {local_date(s.sampled_at, policy.tz) for s in samples}
    exemptions = exemptions_between(
        session, week.monday, week.monday + timedelta(days=6), [person.id]
    )
    pw = person_week(person, week, policy, appointments, days, exemptions)
    return Standing(person, pw, appointments)


@dataclass(frozen=True)
class PersonStatus:
    """What the status lookup shows a gate guard: the light and the facts behind it."""

    employee_no: str
    name: str
    department: str
    grid_unit: str
    active: bool
    week: str
    status: Light
    tests_this_week: int
    required: int
    missed_this_week: int
    compliant: bool
    last_test_at: datetime | None
    next_slot_start: datetime | None
    next_slot_site: str | None
    # ok | due | missed | pool_positive | positive | inactive (testrota.sampling.states)
    state: str = "ok"


def person_status(
    session: Session, person: PersonFacts, now: datetime, policy: Policy
) -> PersonStatus:
    """One person's standing in the week of ``now``."""
    tz = policy.tz
    standing = load_standing(session, person, week_of(now, tz), policy)
    last = last_test_dates(session, [person.id], now + timedelta(seconds=1)).get(person.id)
    pw = standing.week
    upcoming = next_appointment(now, standing.appointments)
    from testrota.sampling.states import POOL_POSITIVE, POSITIVE, latest_sample, state_of

    state = state_of(light(pw), person.active, *latest_sample(session, person.id, now))
    # A positive pool is amber whatever the week's count says; a positive is red.
    shown = {POOL_POSITIVE: Light.AMBER, POSITIVE: Light.RED}.get(state, light(pw))
    return PersonStatus(
        employee_no=person.employee_no,
        name=person.name,
        department=person.department,
        grid_unit=person.grid_unit,
        active=person.active,
        week=str(pw.week),
        status=shown,
        tests_this_week=pw.tests,
        required=pw.required,
        missed_this_week=pw.missed,
        compliant=pw.compliant,
        last_test_at=last,
        next_slot_start=upcoming.starts_at if upcoming else None,
        next_slot_site=upcoming.site_code if upcoming else None,
        state=state,
    )
