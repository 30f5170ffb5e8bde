"""Check-in at a testing site: the sample is recorded now, as a pending result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from testrota.compliance.facts import (
    appointments_between,
    cols,
    find_person,
    person_facts,
    rate_lookup,
    samples_between,
    widen,
)
from testrota.compliance.flagging import mark_done_for
from testrota.compliance.records import PENDING
from testrota.compliance.standing import load_standing
from testrota.compliance.visits import (
    earlier_checkin,
    expected_appointment,
    next_appointment,
    visit_for,
)
from testrota.db.engine import is_postgres, session_scope
from testrota.db.models import Site, Slot, TestResult
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.weeks import day_bounds, local_date, week_of

CHECKIN = "checkin"
RECORDED = "recorded"
ALREADY = "already_checked_in"
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class CheckInResult:
    """What the site page and ``testrota checkin`` show after a scan."""

    status: str  # recorded | already_checked_in
    employee_no: str
    name: str
    department: str
    grid_unit: str
    site_code: str | None
    at: datetime
    expected: bool
    slot_start: datetime | None
    slot_end: datetime | None
    appointment_id: int | None
    next_slot_start: datetime | None
    next_slot_site: str | None
    tests_this_week: int
    required: int
    result_id: int | None
    message: str

    @property
    def recorded(self) -> bool:
        return self.status == RECORDED

    def as_dict(self, policy: Policy) -> dict[str, Any]:
        tz = policy.tz

        def local(value: datetime | None) -> str | None:
            return value.astimezone(tz).isoformat() if value else None

        return {
            "status": self.status,
            "recorded": self.recorded,
            "employee_no": self.employee_no,
            "name": self.name,
            "department": self.department,
            "grid_unit": self.grid_unit,
            "site": self.site_code,
            "at": local(self.at),
            "expected": self.expected,
            "slot_start": local(self.slot_start),
            "slot_end": local(self.slot_end),
            "appointment_id": self.appointment_id,
            "next_slot_start": local(self.next_slot_start),
            "next_slot_site": self.next_slot_site,
            "tests_this_week": self.tests_this_week,
            "required": self.required,
            "result_id": self.result_id,
            "message": self.message,
        }


def check_in(
    engine: Engine,
    employee_no: str,
    site_code: str | None,
    at: datetime,
    actor: str,
    policy: Policy,
    now: datetime | None = None,
    config_dir: Path | None = None,
) -> CheckInResult:
    """Record that a person was sampled at ``at`` (at ``site_code``, when given).

    A second check-in within the same visit (slot) records nothing and says so. An unknown or
    inactive employee number, an unknown site or a time in the future is a UserError.
    """
    if at.tzinfo is None:
        raise ValueError("check_in needs an aware datetime")
    now = now or at
    if at > now + FUTURE_TOLERANCE:
        raise UserError(
            f"the check-in time {at.astimezone(policy.tz).isoformat()} is in the future"
        )
    try:
        with session_scope(engine) as session:
            return _check_in(session, engine, employee_no, site_code, at, actor, policy, now,
                             config_dir)
    except IntegrityError:
        # Two scans of the same person at the same instant on two PostgreSQL connections: the
        # unique (person, sampled_at, source) key kept one; report the second as the repeat.
        with session_scope(engine) as session:
            return _check_in(session, engine, employee_no, site_code, at, actor, policy, now,
                             config_dir)


def _check_in(
    session: Session,
    engine: Engine,
    employee_no: str,
    site_code: str | None,
    at: datetime,
    actor: str,
    policy: Policy,
    now: datetime,
    config_dir: Path | None,
) -> CheckInResult:
    tz = policy.tz
    # The row lock makes two scans of one person on two web processes take turns (PostgreSQL);
    # SQLite's BEGIN IMMEDIATE already does.
    person_row = find_person(session, employee_no, lock=is_postgres(engine))
    if not person_row.active:
        raise UserError(
            f"{person_row.employee_no} ({person_row.name}) is no longer on the active roster; "
            "ask HR to re-activate them before checking in"
        )
    person = person_facts(person_row, rate_lookup(config_dir, policy))
    site = _known_site(session, site_code)
    day_start, day_end = day_bounds(local_date(at, tz), tz)
    appts = appointments_between(session, *widen(day_start, day_end), person_ids=[person.id])
    expected = expected_appointment(at, site, appts, policy)
    if site is None and expected is not None:
        site = expected.site_code
    slots = _slots_around(session, site, at) if site else []
    visit = visit_for(at, expected, slots, policy)
    earlier = earlier_checkin(
        visit,
        [
            s
            for s in samples_between(
                session, visit.start, visit.end, person_ids=[person.id], counting_only=False
            )
            if s.source == CHECKIN
        ],
    )
    result_id: int | None = None
    if earlier is None:
        row = TestResult(
            person_id=person.id,
            sampled_at=at,
            result=PENDING,
            source=CHECKIN,
            site_code=site,
            recorded_at=now,
            recorded_by=actor,
        )
        session.add(row)
        session.flush()
        result_id = row.id
        mark_done_for(session, [(person.id, at, PENDING)], now, policy)
    standing = load_standing(session, person, week_of(at, tz), policy)
    upcoming = next_appointment(at, standing.appointments) if expected is None else None
    status = RECORDED if earlier is None else ALREADY
    return CheckInResult(
        status=status,
        employee_no=person.employee_no,
        name=person.name,
        department=person.department,
        grid_unit=person.grid_unit,
        site_code=site,
        at=at if earlier is None else earlier.sampled_at,
        expected=expected is not None,
        slot_start=expected.starts_at if expected else (visit.start if visit.slot_known else None),
        slot_end=expected.ends_at if expected else (visit.end if visit.slot_known else None),
        appointment_id=expected.id if expected else None,
        next_slot_start=upcoming.starts_at if upcoming else None,
        next_slot_site=upcoming.site_code if upcoming else None,
        tests_this_week=standing.week.tests,
        required=standing.week.required,
        result_id=result_id if earlier is None else earlier.id,
        message=_message(person.name, person.employee_no, status, at, earlier, expected,
                         upcoming, policy),
    )


def _known_site(session: Session, site_code: str | None) -> str | None:
    code = (site_code or "").strip()
    if not code:
        return None
    codes = list(session.scalars(select(*cols(Site.code))))
    if not codes:
        return code  # no site register yet: take the code as given
    folded = {c.casefold(): c for c in codes}
    if code.casefold() in folded:
        return folded[code.casefold()]
    shown = ", ".join(sorted(codes)[:12])
    raise UserError(f"unknown site {code!r}; the sites are: {shown}")


def _slots_around(session: Session, site: str, at: datetime) -> list[tuple[datetime, datetime]]:
    query = select(*cols(Slot.starts_at, Slot.ends_at)).where(
        col(Slot.site_code) == site,
        col(Slot.starts_at) <= at,
        col(Slot.starts_at) > at - timedelta(days=1),
    )
    return [(r.starts_at, r.ends_at) for r in session.execute(query)]


def _message(
    name: str,
    employee_no: str,
    status: str,
    at: datetime,
    earlier: Any,
    expected: Any,
    upcoming: Any,
    policy: Policy,
) -> str:
    tz = policy.tz

    def hm(value: datetime) -> str:
        return value.astimezone(tz).strftime("%H:%M")

    who = f"{name} ({employee_no})"
    if status == ALREADY:
        return f"{who} already checked in at {hm(earlier.sampled_at)} in this slot; nothing to do."
    if expected is not None:
        return (
            f"{who} checked in at {hm(at)}: expected in this slot "
            f"({hm(expected.starts_at)}–{hm(expected.ends_at)} at {expected.site_code})."
        )
    if upcoming is not None and local_date(upcoming.starts_at, tz) == local_date(at, tz):
        return (
            f"{who} checked in at {hm(at)}: not expected now (their slot today is "
            f"{hm(upcoming.starts_at)}–{hm(upcoming.ends_at)} at {upcoming.site_code}); "
            "the test counts for today."
        )
    return f"{who} checked in at {hm(at)}: no slot booked now; the test is recorded."
