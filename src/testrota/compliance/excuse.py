"""Excusing appointments (leave, sick, a business trip): with a reason and who said so."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session, col

from testrota.compliance.facts import find_person
from testrota.compliance.reports import resolve_week
from testrota.db.models import Appointment, Person
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.roster.people import AmbiguousEmployeeNo
from testrota.statuses import AppointmentStatus
from testrota.weeks import day_bounds, week_bounds

MAX_REASON = 400


class OutOfScope(UserError):
    """The person is in a department the user may not act on."""


@dataclass(frozen=True)
class ExcusedAppointment:
    appointment_id: int
    slot_start: datetime
    site: str
    previous_status: AppointmentStatus

    def audit_details(
        self, employee_no: str, reason: str, code: str | None = None
    ) -> dict[str, Any]:
        return {
            "employee_no": employee_no,
            "previous_status": self.previous_status.value,
            "slot_start": self.slot_start.isoformat(),
            "reason": reason,
            **({"code": code} if code else {}),
        }


@dataclass(frozen=True)
class Excused:
    employee_no: str
    name: str
    reason: str  # as stored: spaces collapsed
    excused_by: str
    excused: list[ExcusedAppointment]
    code: str | None = None  # policy report.excuse_reasons


def clean_reason(reason: str) -> str:
    """The reason with its spaces collapsed; a UserError when there is none or it is too long."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise UserError("give a reason for the excuse (e.g. --reason '病假 sick leave')")
    if len(reason) > MAX_REASON:
        raise UserError(
            "the reason is {length} characters; keep it under {limit}",
            length=len(reason),
            limit=MAX_REASON,
        )
    return reason


def check_code(code: str | None, known: Collection[str]) -> str | None:
    """An excuse's reason code, checked against the policy's list (None: not given)."""
    if code is None or not code.strip():
        return None
    code = code.strip().lower()
    if code not in known:
        raise UserError(
            "unknown excuse reason code {code!r}; use one of {known}",
            code=code,
            known=", ".join(known),
        )
    return code


def excuse(
    session: Session,
    employee_no: str,
    reason: str,
    *,
    actor: str,
    now: datetime,
    policy: Policy,
    week: str | None = None,
    on: date | None = None,
    appointment_id: int | None = None,
    departments: Collection[str] | None = None,
    within: Any = None,
    code: str | None = None,
) -> Excused:
    """Excuse, in ``session``'s transaction, a person's missed appointments of a week (default:
    this week), of one day (``on``: missed or still scheduled ones, for leave announced in
    advance), or one appointment by id. An excused appointment is neither done nor missed.

    The caller flags what is due first (so a slot that just ended can be excused) and audits
    each appointment excused. A person outside ``departments`` is :class:`OutOfScope`; a number
    that could be several people names only those within ``departments`` and ``within`` (a
    ``Scope.where`` condition: a supervisor's units keep a namesake department out).
    """
    reason = clean_reason(reason)
    tz = policy.tz
    person = person_in_scope(session, employee_no, departments, within)
    query = select(Appointment).where(col(Appointment.person_id) == person.id)
    statuses: tuple[AppointmentStatus, ...] = (
        AppointmentStatus.MISSED,
        AppointmentStatus.SCHEDULED,
    )
    if appointment_id is not None:
        query = query.where(col(Appointment.id) == appointment_id)
        nothing = (
            "{employee_no} ({name}) has no appointment {what} to excuse "
            "(appointments found: {found})"
        )
        what: object = appointment_id
    elif on is not None:
        start, end = day_bounds(on, tz)
        query = query.where(col(Appointment.starts_at) >= start, col(Appointment.starts_at) < end)
        nothing = (
            "{employee_no} ({name}) has no appointment on {what} to excuse "
            "(appointments found: {found})"
        )
        what = on.isoformat()
    else:
        wk = resolve_week(week, now, policy)
        start, end = week_bounds(wk, tz)
        query = query.where(col(Appointment.starts_at) >= start, col(Appointment.starts_at) < end)
        statuses = (AppointmentStatus.MISSED,)
        nothing = (
            "{employee_no} ({name}) has no missed appointment in {what} to excuse "
            "(appointments found: {found})"
        )
        what = str(wk)
    appts = list(session.scalars(query.order_by(col(Appointment.starts_at))))
    targets = [a for a in appts if a.status in statuses]
    if not targets:
        if appointment_id is not None and not appts:
            raise UserError(
                "{employee_no} has no appointment {appointment_id}",
                employee_no=person.employee_no,
                appointment_id=appointment_id,
            )
        raise UserError(
            nothing,
            employee_no=person.employee_no,
            name=person.name,
            what=what,
            found=", ".join(sorted({a.status for a in appts})) or "none",
        )
    excused = excuse_appointments(
        session, targets, statuses, reason=reason, code=code, actor=actor, now=now
    )
    return Excused(person.employee_no, person.name, reason, actor, excused, code)


def person_in_scope(
    session: Session,
    employee_no: str,
    departments: Collection[str] | None,
    within: Any = None,
) -> Person:
    """The person ``employee_no`` means, refused (:class:`OutOfScope`) outside ``departments``
    (None: every department); a number that could be several people names only those within
    ``departments`` and ``within`` (a ``Scope.where`` condition: a supervisor's units)."""
    try:
        person = find_person(session, employee_no)
    except AmbiguousEmployeeNo:
        if departments is None and within is None:
            raise
        # Name only the candidates this user may see.
        person = find_person(session, employee_no, departments=departments, within=within)
    if departments is not None and person.department not in departments:
        raise OutOfScope(
            "{employee_no} ({name}) is in {department}, which is not one of your departments",
            employee_no=person.employee_no,
            name=person.name,
            department=person.department or "no department",
        )
    return person


def excuse_appointments(
    session: Session,
    targets: Iterable[Appointment],
    statuses: Collection[AppointmentStatus],
    *,
    reason: str,
    code: str | None,
    actor: str,
    now: datetime,
) -> list[ExcusedAppointment]:
    """Mark ``targets`` excused, each only while it is still in one of ``statuses``, in the
    caller's transaction; the ones changed. Every door that excuses (an excuse, an exemption,
    a positive result) goes through here, so the roll-ups' triggers see the same change."""
    excused = []
    for a in targets:
        assert a.id is not None
        changed = session.execute(
            update(Appointment)
            .where(col(Appointment.id) == a.id, col(Appointment.status).in_(list(statuses)))
            .values(
                status=AppointmentStatus.EXCUSED,
                excused_reason=reason,
                excused_code=code,
                excused_by=actor,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if not getattr(changed, "rowcount", 0):
            continue  # someone else changed it a moment ago
        excused.append(
            ExcusedAppointment(a.id, a.starts_at, a.site_code, AppointmentStatus(a.status))
        )
    return excused
