"""A supervisor calls someone who missed a test: the number is given out only on that action,
to a reader who may act on the person, and the audit says who asked for whose number."""

from __future__ import annotations

from dataclasses import dataclass, field

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.auth.scope import Scope
from testrota.db.engine import session_scope
from testrota.errors import UserError
from testrota.roster.people import NoSuchPerson, get_person


@dataclass(frozen=True)
class CallPerson:
    employee_no: str
    actor: Actor
    scope: Scope = field(default_factory=Scope.everything)  # whose numbers the actor may have
    via: str = "missed list"


@dataclass(frozen=True)
class CallNumber:
    employee_no: str
    name: str
    phone: str  # E.164, for a tel: link


def call_person(app: App, cmd: CallPerson) -> CallNumber:
    """The phone number to call; audited as ``person.phone_revealed`` (without the number).

    A person outside ``cmd.scope`` is :class:`~testrota.roster.people.NoSuchPerson`; one
    without a usable number is refused."""
    now = app.now()
    departments = cmd.scope.departments
    with app.write_lock, session_scope(app.engine) as session:
        person = get_person(
            session,
            cmd.employee_no,
            departments=None if departments is None else sorted(departments),
        )
        if not cmd.scope.reaches(session.connection(), person.unit_id):
            # a department of the same name elsewhere in the group is not a unit supervisor's
            raise NoSuchPerson(cmd.employee_no)
        if not person.phone:
            raise UserError(
                "{employee_no} has no phone number that can be called; ask HR to fix the roster",
                employee_no=person.employee_no,
            )
        record(
            session,
            cmd.actor,
            Action.PHONE_REVEALED,
            "person",
            person.employee_no,
            at=now,
            details={"via": cmd.via},
        )
        return CallNumber(person.employee_no, person.name, person.phone)
