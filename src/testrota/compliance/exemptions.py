"""Exemptions: days a person is excused and not planned (leave, or positive until they are
back). Adding one excuses the person's appointments of those days that are not done; ending
one early gives back the coming ones it excused. Each function works in the caller's
transaction; the use case (``testrota.actions.exemptions``) checks scope and audits."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session, col

from testrota.compliance.excuse import ExcusedAppointment, excuse_appointments
from testrota.db.models import Appointment, Exemption, Person
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.statuses import AppointmentStatus
from testrota.weeks import day_start, local_date

# A year and a day: a long sick leave fits, a typo in the year (2202) does not.
MAX_DAYS = 366
# The days an exemption may name. Far outside, a day's local midnight is no datetime at all
# (year 1 in Shanghai is before year 1 in UTC): refused with a message, not an overflow.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
# What an exemption excuses: anything not done, whether its slot is still to come or was missed.
NOT_DONE = (AppointmentStatus.SCHEDULED, AppointmentStatus.MISSED)
# The reason of the exemption a positive result adds by itself; a row's ``source`` tells it from
# one HR typed (the table keeps no other mark: HR writing "positive" means the same thing).
POSITIVE_REASON = "positive"


@dataclass(frozen=True)
class Exempted:
    """An exemption just added, with the appointments it excused."""

    id: int
    person_id: int
    employee_no: str
    name: str
    start_date: date
    end_date: date  # included
    reason: str
    code: str | None
    created_by: str
    excused: list[ExcusedAppointment]

    def audit_details(self) -> dict[str, Any]:
        return {
            "employee_no": self.employee_no,
            "start": self.start_date.isoformat(),
            "end": self.end_date.isoformat(),
            "reason": self.reason,
            "excused": len(self.excused),
            **({"code": self.code} if self.code else {}),
        }


@dataclass(frozen=True)
class ExemptionRow:
    id: int
    employee_no: str
    name: str
    department: str
    grid_unit: str
    start_date: date
    end_date: date  # included
    reason: str
    created_by: str
    created_at: datetime
    source: str = "manual"  # "positive": added by a positive result; "manual": by a person


def check_day(day: date) -> None:
    """A UserError unless ``day`` is one an exemption may name (FIRST_DAY..LAST_DAY)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise UserError(
            "{day} is out of range: give a day from {first} to {last}",
            day=day.isoformat(),
            first=FIRST_DAY.isoformat(),
            last=LAST_DAY.isoformat(),
        )


def check_days(start: date, end: date) -> None:
    """A UserError unless ``start``..``end`` (both included) is a range of at most MAX_DAYS
    within FIRST_DAY..LAST_DAY."""
    check_day(start)
    check_day(end)
    if end < start:
        raise UserError(
            "the exemption ends ({end}) before it starts ({start})",
            start=start.isoformat(),
            end=end.isoformat(),
        )
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise UserError(
            "an exemption of {days} days is too long; give at most {limit} days and add "
            "another one when it runs out",
            days=days,
            limit=MAX_DAYS,
        )


def excuse_days(
    session: Session,
    person_id: int,
    first: date,
    last: date,
    *,
    reason: str,
    code: str | None,
    actor: str,
    now: datetime,
    policy: Policy,
) -> list[ExcusedAppointment]:
    """Excuse the person's appointments starting on local days ``first``..``last`` that are
    not done (scheduled or missed), as an excuse does."""
    start, end = day_start(first, policy.tz), day_start(last + timedelta(days=1), policy.tz)
    targets = list(
        session.scalars(
            select(Appointment)
            .where(
                col(Appointment.person_id) == person_id,
                col(Appointment.starts_at) >= start,
                col(Appointment.starts_at) < end,
                col(Appointment.status).in_(NOT_DONE),
            )
            .order_by(col(Appointment.starts_at))
        )
    )
    return excuse_appointments(
        session, targets, NOT_DONE, reason=reason, code=code, actor=actor, now=now
    )


def add_exemption(
    session: Session,
    person: Person,
    start: date,
    end: date,
    reason: str,
    *,
    actor: str,
    now: datetime,
    policy: Policy,
    code: str | None = None,
) -> Exempted:
    """Store an exemption of ``person`` and excuse their appointments in it. ``reason`` is
    stored as given: the caller cleans it (``compliance.excuse.clean_reason``)."""
    check_days(start, end)
    assert person.id is not None
    row = Exemption(
        person_id=person.id,
        start_date=start,
        end_date=end,
        reason=reason,
        created_by=actor[:100],
        created_at=now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    excused = excuse_days(
        session,
        person.id,
        start,
        end,
        reason=reason,
        code=code,
        actor=actor,
        now=now,
        policy=policy,
    )
    return Exempted(
        row.id,
        person.id,
        person.employee_no,
        person.name,
        start,
        end,
        reason,
        code,
        row.created_by,
        excused,
    )


def covered(session: Session, person_id: int, start: date, end: date) -> bool:
    """Whether one exemption of the person already covers all of ``start``..``end``."""
    found = session.scalar(
        select(col(Exemption.id))
        .where(
            col(Exemption.person_id) == person_id,
            col(Exemption.start_date) <= start,
            col(Exemption.end_date) >= end,
        )
        .limit(1)
    )
    return found is not None


@dataclass(frozen=True)
class Ended:
    """An exemption ended early (``end_date`` moved back) or removed (``end_date`` None: it had
    not begun by the return day), with the coming appointments given back."""

    id: int
    employee_no: str
    name: str
    start_date: date
    previous_end: date
    end_date: date | None
    reason: str
    restored: list[int]  # appointment ids scheduled again

    @property
    def removed(self) -> bool:
        return self.end_date is None

    def audit_details(self) -> dict[str, Any]:
        return {
            "employee_no": self.employee_no,
            "start": self.start_date.isoformat(),
            "previous_end": self.previous_end.isoformat(),
            "end": self.end_date.isoformat() if self.end_date else None,
            "reason": self.reason,
            "restored": len(self.restored),
        }


def end_exemption(
    session: Session,
    exemption: Exemption,
    person: Person,
    back_on: date,
    *,
    now: datetime,
    policy: Policy,
) -> Ended:
    """End ``exemption`` so that ``back_on`` is the person's first day back; removed when that
    is on or before its first day. The coming appointments it excused (same reason, same
    actor, from ``back_on``, slot not started) are scheduled again, so the person is tested
    from then on; ones whose slot has begun stay excused."""
    assert exemption.id is not None
    check_day(back_on)
    if back_on > exemption.end_date:
        raise UserError(
            "exemption {id} already ends on {end}; nothing to end on {day}",
            id=exemption.id,
            end=exemption.end_date.isoformat(),
            day=back_on.isoformat(),
        )
    previous_end = exemption.end_date
    last_day = back_on - timedelta(days=1)
    new_end: date | None = None
    if last_day < exemption.start_date:
        session.delete(exemption)
    else:
        new_end = exemption.end_date = last_day
        session.add(exemption)
    session.flush()
    restored = _restore(session, exemption, back_on, previous_end, now, policy)
    return Ended(
        exemption.id,
        person.employee_no,
        person.name,
        exemption.start_date,
        previous_end,
        new_end,
        exemption.reason,
        restored,
    )


def _restore(
    session: Session,
    exemption: Exemption,
    first: date,
    last: date,
    now: datetime,
    policy: Policy,
) -> list[int]:
    start = max(day_start(first, policy.tz), now)
    end = day_start(last + timedelta(days=1), policy.tz)
    # What this exemption excused: its reason and its author, on its days. An excuse given
    # some other way (another reason, another person) is not undone here, nor one on a day
    # another of the person's exemptions still covers (two positive samples a few days apart
    # make two overlapping exemptions of one reason and author).
    others = [
        (e.start_date, e.end_date)
        for e in session.scalars(
            select(Exemption).where(
                col(Exemption.person_id) == exemption.person_id,
                col(Exemption.id) != exemption.id,
                col(Exemption.start_date) <= last,
                col(Exemption.end_date) >= first,
            )
        )
    ]
    ids: list[int] = [
        i
        for i, at in session.execute(
            select(col(Appointment.id), col(Appointment.starts_at)).where(
                col(Appointment.person_id) == exemption.person_id,
                col(Appointment.status) == AppointmentStatus.EXCUSED,
                col(Appointment.excused_reason) == exemption.reason,
                col(Appointment.excused_by) == exemption.created_by,
                col(Appointment.starts_at) >= start,
                col(Appointment.starts_at) < end,
            )
        )
        if i is not None and not any(s <= local_date(at, policy.tz) <= e for s, e in others)
    ]
    if ids:
        session.execute(
            update(Appointment)
            .where(
                col(Appointment.id).in_(ids),
                col(Appointment.status) == AppointmentStatus.EXCUSED,
            )
            .values(
                status=AppointmentStatus.SCHEDULED,
                excused_reason=None,
                excused_code=None,
                excused_by=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    return sorted(ids)


def list_exemptions(
    session: Session,
    *,
    active_on: date | None = None,
    ending_from: date | None = None,
    where: Any = None,
    departments: Collection[str] | None = None,
    exemption_id: int | None = None,
    limit: int | None = None,
) -> list[ExemptionRow]:
    """Exemptions covering ``active_on``, or (without it) ending on ``ending_from`` or later
    (None: all), by start day; only ``exemption_id`` when given. ``departments`` and ``where``
    (``Scope.where`` on the person's department) keep a supervisor to their own people."""
    query = (
        select(
            col(Exemption.id),
            col(Person.employee_no),
            col(Person.name),
            col(Person.department),
            col(Person.grid_unit),
            col(Exemption.start_date),
            col(Exemption.end_date),
            col(Exemption.reason),
            col(Exemption.created_by),
            col(Exemption.created_at),
        )
        .join(Person, col(Person.id) == col(Exemption.person_id))
        .order_by(col(Exemption.start_date), col(Person.employee_no), col(Exemption.id))
    )
    if active_on is not None:
        query = query.where(
            col(Exemption.start_date) <= active_on, col(Exemption.end_date) >= active_on
        )
    elif ending_from is not None:
        query = query.where(col(Exemption.end_date) >= ending_from)
    if exemption_id is not None:
        query = query.where(col(Exemption.id) == exemption_id)
    if departments is not None:
        query = query.where(col(Person.department).in_(sorted(departments)))
    if where is not None:
        query = query.where(where)
    if limit is not None:
        query = query.limit(limit)
    return [
        ExemptionRow(**r._mapping, source="positive" if r.reason == POSITIVE_REASON else "manual")
        for r in session.execute(query)
    ]
