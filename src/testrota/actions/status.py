"""The status lookup: one person's light this week (green: compliant, amber: a test still due,
red: missed a slot and not made up), for gate guards and site staff (the CLI's ``status``, the
``/status`` page, ``/api/status``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col

from testrota.actions.codes import claim_of, person_of_claim
from testrota.actions.flagging import flag_due
from testrota.app import App
from testrota.auth.scope import Scope
from testrota.codes import looks_like_code
from testrota.compliance.facts import (
    UnknownEmployeeNo,
    facts_of_loaded,
    find_person,
    rate_lookup,
)
from testrota.compliance.standing import Light, PersonStatus
from testrota.compliance.standing import person_status as status_of
from testrota.db.models import Person

__all__ = ["Light", "PersonStatus", "Status", "UnknownEmployeeNo", "person_status"]


@dataclass(frozen=True)
class Status:
    # As typed or scanned: an employee number (case, full-width forms and lost zeros
    # forgiven) or a personal code (testrota.codes).
    employee_no: str
    scope: Scope = field(default_factory=Scope.everything)  # whom the reader may look up


def person_status(app: App, query: Status) -> PersonStatus:
    """The person's standing this week. A number that is nobody in scope is
    :class:`UnknownEmployeeNo`; one that could be several people is
    ``roster.people.AmbiguousEmployeeNo`` (with the candidates in scope). Flags what is due
    first."""
    # Departments and units as the lists apply them: an ambiguous number lists, and a
    # number missing its zeros finds, only people in scope.
    within = query.scope.where(col(Person.department))
    # Checked before any read: a forged code costs nothing.
    claim = claim_of(app, query.employee_no) if looks_like_code(query.employee_no) else None
    flag_due(app)
    # One session for the person and their standing: a connection (and its check that the
    # server is there) fewer than a session each, and the person read once.
    with Session(app.read_engine) as session:
        if claim is not None:
            person = person_of_claim(session, claim, within=within)
        else:
            person = find_person(session, query.employee_no, within=within)
        if not query.scope.reaches(session.connection(), person.unit_id):
            raise UnknownEmployeeNo(
                "unknown employee number {number!r}: check the number or import the roster",
                number=query.employee_no.strip(),
            )
        rates = rate_lookup(app.config_dir, app.policy)
        return status_of(session, facts_of_loaded(person, rates), app.now(), app.policy)
