"""Check-in at a testing site: the sample is recorded now, as a pending result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlmodel import Session, col

from testrota.compliance.facts import (
    appointments_between,
    cols,
    facts_of_loaded,
    rate_lookup,
    samples_between,
    widen,
)
from testrota.compliance.flagging import mark_done_for
from testrota.compliance.records import Sample, counts_as_test
from testrota.compliance.standing import standing_of
from testrota.compliance.visits import (
    earlier_checkin,
    expected_appointment,
    next_appointment,
    visit_for,
)
from testrota.db import tables
from testrota.db.engine import core
from testrota.db.models import Person, Site, Slot
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.statuses import ResultValue
from testrota.weeks import day_bounds, local_date, week_bounds, week_of

CHECKIN = "checkin"
RECORDED = "recorded"
ALREADY = "already_checked_in"
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class CheckInResult:
    """What the site page and ``testrota checkin`` show after a scan."""

    status: str  # recorded | already_checked_in
    recorded: bool  # False: a repeat within the same visit, nothing written
    employee_no: str
    name: str
    department: str
    grid_unit: str
    site: str | None
    at: datetime
    expected: bool  # the person had a slot now (here, or anywhere when no site was given)
    slot_start: datetime | None
    slot_end: datetime | None
    appointment_id: int | None
    next_slot_start: datetime | None
    next_slot_site: str | None
    tests_this_week: int
    required: int
    result_id: int | None
    message: str
    identified_by: str = "employee_no"  # or "code": a personal code was scanned
    tube: str | None = None  # the tube the swab went into
    tube_places_left: int | None = None
    tube_closed: bool = False  # this swab filled the tube, which closed by itself
    tube_ratio: int | None = None
    tube_members: int | None = None
    tube_open: bool = False  # the tube still takes swabs
    # ``message`` as templates and their parameters, for a door in its user's language
    message_parts: list[dict[str, Any]] = field(default_factory=list, compare=False)


def record_check_in(
    session: Session,
    person_row: Person,
    site_code: str | None,
    at: datetime,
    actor: str,
    policy: Policy,
    now: datetime,
    config_dir: Path | None,
) -> CheckInResult:
    """Record, in ``session``'s transaction, that ``person_row`` was sampled at ``at`` (at
    ``site_code`` when given, else at the site of the slot they were expected in).

    A second check-in within the same visit (slot) records nothing and says so. An inactive
    person, an unknown site or a time in the future is a UserError.
    """
    if at.tzinfo is None:
        raise ValueError("record_check_in needs an aware datetime")
    tz = policy.tz
    if at > now + FUTURE_TOLERANCE:
        raise UserError("the check-in time {at} is in the future", at=at.astimezone(tz).isoformat())
    if not person_row.active:
        raise UserError(
            "{employee_no} ({name}) is no longer on the active roster; ask HR to re-activate "
            "them before checking in",
            employee_no=person_row.employee_no,
            name=person_row.name,
        )
    assert person_row.id is not None
    person = facts_of_loaded(person_row, rate_lookup(config_dir, policy))
    site = _known_site(session, site_code)
    week = week_of(at, tz)
    week_start, week_end = week_bounds(week, tz)
    day_from, day_to = widen(*day_bounds(local_date(at, tz), tz))
    # The person's appointments and samples are read once each, over the widened day (the slot
    # they are expected in, the visit, what the sample marks done) and the week (their
    # standing) together: two statements fewer for every scan at the tent.
    around = appointments_between(
        session, min(day_from, week_start), max(day_to, week_end), person_ids=[person.id]
    )
    appts = [a for a in around if day_from <= a.starts_at < day_to]
    expected = expected_appointment(at, site, appts, policy)
    if site is None and expected is not None:
        site = expected.site_code
    # a slot of the site is the visit only when no appointment is: most check-ins read none
    slots = _slots_holding(session, site, at) if site and expected is None else []
    visit = visit_for(at, expected, slots, policy)
    samples = samples_between(
        session,
        min(visit.start, week_start),
        max(visit.end, week_end),
        person_ids=[person.id],
        counting_only=False,
    )
    earlier = earlier_checkin(
        visit,
        [s for s in samples if s.source == CHECKIN and visit.start <= s.sampled_at < visit.end],
    )
    result_id: int | None = None
    if earlier is None:
        sample = {
            "person_id": person.id,
            "sampled_at": at,
            "result": ResultValue.PENDING,
            "source": CHECKIN,
            "site_code": site,
            "site_name": "",
            "recorded_at": now,
            "recorded_by": actor,
        }
        result_id = session.execute(_ADD_SAMPLE, sample).scalar_one()
        samples.append(Sample(person.id, at, ResultValue.PENDING, CHECKIN, site, result_id))
        # ``appts`` is the person's widened day, the window mark_done_for would read
        mark_done_for(session, [(person.id, at, ResultValue.PENDING)], now, policy, appts)
    # The week as read before this sample marked its appointment done: what is shown of it
    # (tests, required, the next slot) does not depend on an appointment being done.
    standing = standing_of(
        session,
        person,
        week,
        policy,
        [a for a in around if week_start <= a.starts_at < week_end],
        [s for s in samples if week_start <= s.sampled_at < week_end and counts_as_test(s.result)],
    )
    upcoming = next_appointment(at, standing.appointments) if expected is None else None
    status = RECORDED if earlier is None else ALREADY
    message, params = _message(
        person.name, person.employee_no, status, at, earlier, expected, upcoming, policy
    )
    return CheckInResult(
        status=status,
        recorded=earlier is None,
        employee_no=person.employee_no,
        name=person.name,
        department=person.department,
        grid_unit=person.grid_unit,
        site=site,
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
        message=message.format(**params),
        message_parts=[{"template": message, "params": params}],
    )


def _known_site(session: Session, site_code: str | None) -> str | None:
    code = (site_code or "").strip()
    if not code:
        return None
    conn = core(session)
    # the desk sends the site's own code: one row, not the register's
    if conn.scalars(_SITE_CODE, {"code": code}).first() is not None:
        return code
    codes: list[str] = list(conn.scalars(_SITE_CODES))
    if not codes:
        return code  # no site register yet: take the code as given
    folded = {c.casefold(): c for c in codes}
    if code.casefold() in folded:
        return folded[code.casefold()]
    raise UserError(
        "unknown site {site!r}; the sites are: {sites}",
        site=code,
        sites=", ".join(sorted(codes)[:12]),
    )


# Built once and bound at each check-in: a statement built anew cost the web process more CPU
# than the database spent running it.
_SITE_CODES = select(*cols(Site.code))
_SITE_CODE = select(*cols(Site.code)).where(col(Site.code) == bindparam("code"))
_ADD_SAMPLE = insert(tables.TEST_RESULT).returning(tables.TEST_RESULT.c.id)
_SLOTS_HOLDING = select(*cols(Slot.starts_at, Slot.ends_at)).where(
    col(Slot.site_code) == bindparam("site"),
    col(Slot.starts_at) <= bindparam("at"),
    col(Slot.starts_at) > bindparam("since"),
    col(Slot.ends_at) > bindparam("at"),  # the slots holding ``at``, not the day's
)


def _slots_holding(session: Session, site: str, at: datetime) -> list[tuple[datetime, datetime]]:
    params = {"site": site, "at": at, "since": at - timedelta(days=1)}
    return [(r.starts_at, r.ends_at) for r in core(session).execute(_SLOTS_HOLDING, params)]


def _message(
    name: str,
    employee_no: str,
    status: str,
    at: datetime,
    earlier: Any,
    expected: Any,
    upcoming: Any,
    policy: Policy,
) -> tuple[str, dict[str, str]]:
    """What the check-in says, as a template and its parameters."""
    tz = policy.tz

    def hm(value: datetime) -> str:
        return value.astimezone(tz).strftime("%H:%M")

    who = {"name": name, "employee_no": employee_no}
    if status == ALREADY:
        return (
            "{name} ({employee_no}) already checked in at {at} in this slot; nothing to do.",
            {**who, "at": hm(earlier.sampled_at)},
        )
    if expected is not None:
        return (
            "{name} ({employee_no}) checked in at {at}: expected in this slot "
            "({start}–{end} at {site}).",
            {
                **who,
                "at": hm(at),
                "start": hm(expected.starts_at),
                "end": hm(expected.ends_at),
                "site": expected.site_code,
            },
        )
    if upcoming is not None and local_date(upcoming.starts_at, tz) == local_date(at, tz):
        return (
            "{name} ({employee_no}) checked in at {at}: not expected now (their slot today is "
            "{start}–{end} at {site}); the test counts for today.",
            {
                **who,
                "at": hm(at),
                "start": hm(upcoming.starts_at),
                "end": hm(upcoming.ends_at),
                "site": upcoming.site_code,
            },
        )
    return (
        "{name} ({employee_no}) checked in at {at}: no slot booked now; the test is recorded.",
        {**who, "at": hm(at)},
    )
