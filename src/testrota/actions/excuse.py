"""Where a missed (or coming) test is excused: leave, sickness, a business trip, with a reason
and who said so (the CLI's ``excuse``, the missed page's form, ``/api/excuse``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from testrota.app import App
from testrota.audit import Action, Actor, record_many
from testrota.auth.scope import Scope
from testrota.compliance.excuse import (
    Excused,
    ExcusedAppointment,
    OutOfScope,
    check_code,
    clean_reason,
)
from testrota.compliance.excuse import excuse as excuse_in
from testrota.compliance.flagging import flag_due
from testrota.db.engine import session_scope

__all__ = ["Excuse", "Excused", "ExcusedAppointment", "OutOfScope", "excuse"]


@dataclass(frozen=True)
class Excuse:
    employee_no: str
    reason: str
    actor: Actor
    week: str | None = None  # the missed appointments of this ISO week (default: this week)
    on: date | None = None  # instead: that day's appointments, missed or still to come
    appointment_id: int | None = None  # instead: this one appointment
    scope: Scope = field(default_factory=Scope.everything)  # whom the actor may excuse
    # One of policy report.excuse_reasons (the daily report's split); None counts as "other".
    code: str | None = None


def check_unit(session: Any, scope: Scope, employee_no: str) -> None:
    """A supervisor given units acts only on people sitting in them (a department of the same
    name elsewhere in the group is not theirs)."""
    from testrota.compliance.facts import find_person
    from testrota.roster.people import AmbiguousEmployeeNo

    departments = scope.departments
    try:
        person = find_person(
            session,
            employee_no,
            departments=None if departments is None else sorted(departments),
        )
    except AmbiguousEmployeeNo:
        # Within the units too: a number that could be someone in a namesake department
        # elsewhere names only the reader's own candidates.
        person = find_person(session, employee_no, within=person_condition(scope))
    if not scope.reaches(session.connection(), person.unit_id):
        raise OutOfScope(
            "{employee_no} ({name}) is in {department}, which is not one of your departments",
            employee_no=person.employee_no,
            name=person.name,
            department=person.department or "no department",
        )


def person_condition(scope: Scope) -> Any:
    """``scope`` as a condition on the people table (departments and units), or None."""
    from sqlmodel import col

    from testrota.db.models import Person

    return scope.where(col(Person.department))


def excuse(app: App, cmd: Excuse) -> Excused:
    """Excuse a person's appointments; each one excused is audited as
    ``appointment.excused``. A person outside ``cmd.scope`` is refused (:class:`OutOfScope`),
    and so is a reason that is empty or too long."""
    reason = clean_reason(cmd.reason)
    now, policy = app.now(), app.policy
    code = check_code(cmd.code, policy.report.excuse_reasons)
    departments = cmd.scope.departments
    with app.write_lock, session_scope(app.engine) as session:
        flag_due(session, now, policy)  # a slot that just ended can be excused at once
        if cmd.scope.units:
            check_unit(session, cmd.scope, cmd.employee_no)
        out = excuse_in(
            session,
            cmd.employee_no,
            reason,
            actor=str(cmd.actor),
            now=now,
            policy=policy,
            week=cmd.week,
            on=cmd.on,
            appointment_id=cmd.appointment_id,
            departments=None if departments is None else sorted(departments),
            within=person_condition(cmd.scope),
            code=code,
        )
        record_many(
            session,
            cmd.actor,
            Action.APPOINTMENT_EXCUSED,
            "appointment",
            [
                (e.appointment_id, e.audit_details(out.employee_no, out.reason, out.code))
                for e in out.excused
            ],
            at=now,
        )
    return out
