"""Excusing appointments (leave, sick, a business trip): with a reason and who said so."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlmodel import col

from testrota.compliance.facts import find_person
from testrota.compliance.flagging import flag_in_session
from testrota.compliance.reports import resolve_week
from testrota.db.engine import session_scope
from testrota.db.models import Appointment, AuditEvent
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.roster.people import AmbiguousEmployeeNo
from testrota.statuses import AppointmentStatus
from testrota.weeks import day_bounds, week_bounds

MAX_REASON = 400


class OutOfScope(UserError):
    """The person is in a department the user may not act on."""


def excuse(
    engine: Engine,
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
) -> dict[str, Any]:
    """Excuse a person's missed appointments of a week (default: this week), of one day
    (``on``: missed or still scheduled ones, for leave announced in advance), or one
    appointment by id. An excused appointment is neither done nor missed."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise UserError("give a reason for the excuse (e.g. --reason '病假 sick leave')")
    if len(reason) > MAX_REASON:
        raise UserError(f"the reason is {len(reason)} characters; keep it under {MAX_REASON}")
    tz = policy.tz
    with session_scope(engine) as session:
        flag_in_session(session, now, policy)
        try:
            person = find_person(session, employee_no)
        except AmbiguousEmployeeNo:
            if departments is None:
                raise
            # Name only the candidates this user may see.
            person = find_person(session, employee_no, departments=departments)
        if departments is not None and person.department not in departments:
            raise OutOfScope(
                f"{person.employee_no} ({person.name}) is in "
                f"{person.department or 'no department'}, which is not one of your departments"
            )
        query = select(Appointment).where(col(Appointment.person_id) == person.id)
        if appointment_id is not None:
            query = query.where(col(Appointment.id) == appointment_id)
            statuses: tuple[str, ...] = (AppointmentStatus.MISSED, AppointmentStatus.SCHEDULED)
            what = f"appointment {appointment_id}"
        elif on is not None:
            start, end = day_bounds(on, tz)
            query = query.where(
                col(Appointment.starts_at) >= start, col(Appointment.starts_at) < end
            )
            statuses = (AppointmentStatus.MISSED, AppointmentStatus.SCHEDULED)
            what = f"appointment on {on.isoformat()}"
        else:
            wk = resolve_week(week, now, policy)
            start, end = week_bounds(wk, tz)
            query = query.where(
                col(Appointment.starts_at) >= start, col(Appointment.starts_at) < end
            )
            statuses = (AppointmentStatus.MISSED,)
            what = f"missed appointment in {wk}"
        appts = [a for a in session.scalars(query.order_by(col(Appointment.starts_at)))]
        targets = [a for a in appts if a.status in statuses]
        if not targets:
            if appointment_id is not None and not appts:
                raise UserError(f"{person.employee_no} has no appointment {appointment_id}")
            states = ", ".join(sorted({a.status for a in appts})) or "none"
            raise UserError(
                f"{person.employee_no} ({person.name}) has no {what} to excuse "
                f"(appointments found: {states})"
            )
        excused = []
        for a in targets:
            assert a.id is not None
            changed = session.execute(
                update(Appointment)
                .where(col(Appointment.id) == a.id, col(Appointment.status).in_(statuses))
                .values(status=AppointmentStatus.EXCUSED, excused_reason=reason, excused_by=actor,
                        updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if not getattr(changed, "rowcount", 0):
                continue  # someone else changed it a moment ago
            session.add(
                AuditEvent(
                    at=now,
                    actor=actor,
                    action="appointment_excused",
                    entity="appointment",
                    entity_id=str(a.id),
                    details={
                        "employee_no": person.employee_no,
                        "previous_status": a.status,
                        "slot_start": a.starts_at.isoformat(),
                        "reason": reason,
                    },
                )
            )
            excused.append(
                {
                    "appointment_id": a.id,
                    "slot_start": a.starts_at.astimezone(tz).isoformat(),
                    "site": a.site_code,
                    "previous_status": a.status,
                }
            )
    return {
        "employee_no": person.employee_no,
        "name": person.name,
        "reason": reason,
        "excused_by": actor,
        "excused": excused,
    }
