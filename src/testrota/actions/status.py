"""The status lookup: one person's light this week (green: compliant, amber: a test still due,
red: missed a slot and not made up), for gate guards and site staff (the CLI's ``status``, the
``/status`` page, ``/api/status``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from testrota.actions.flagging import flag_due
from testrota.app import App
from testrota.auth.scope import Scope
from testrota.compliance.facts import UnknownEmployeeNo, find_person, rate_lookup
from testrota.compliance.standing import Light, PersonStatus
from testrota.compliance.standing import person_status as status_of

__all__ = ["Light", "PersonStatus", "Status", "UnknownEmployeeNo", "person_status"]


@dataclass(frozen=True)
class Status:
    employee_no: str  # as typed or scanned: case, full-width forms and lost zeros forgiven
    scope: Scope = field(default_factory=Scope.everything)  # whom the reader may look up


def person_status(app: App, query: Status) -> PersonStatus:
    """The person's standing this week. A number that is nobody in scope is
    :class:`UnknownEmployeeNo`; one that could be several people is
    ``roster.people.AmbiguousEmployeeNo`` (with the candidates in scope). Flags what is due
    first."""
    departments = query.scope.departments
    with Session(app.read_engine) as session:
        person = find_person(session, query.employee_no, departments=departments)
        if not query.scope.reaches(session.connection(), person.unit_id):
            raise UnknownEmployeeNo(
                "unknown employee number {number!r}: check the number or import the roster",
                number=query.employee_no.strip(),
            )
    assert person.id is not None
    flag_due(app)
    with Session(app.read_engine) as session:
        return status_of(
            session, person.id, app.now(), app.policy, rate_lookup(app.config_dir, app.policy)
        )
