"""Where a check-in happens: site staff scan or type a code at the tent, from any door."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from testrota.actions.codes import claim_of, person_of_claim
from testrota.actions.tubes import Placement, put_in_tube, tube_site
from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.auth.scope import Scope
from testrota.codes import CodeClaim, looks_like_code
from testrota.compliance.checkin import CheckInResult, record_check_in
from testrota.compliance.facts import facts_of_loaded, find_person
from testrota.db.engine import is_postgres, session_scope
from testrota.db.models import Person


@dataclass(frozen=True)
class CheckIn:
    # As typed or scanned: an employee number (case, full-width forms and lost zeros
    # forgiven) or a personal code (testrota.codes) from a phone or a printed badge.
    employee_no: str
    actor: Actor
    site: str | None = None  # None: the tube's site, else that of the slot expected in
    at: datetime | None = None  # when the sample was taken; None: now
    scope: Scope = field(default_factory=Scope.everything)  # whom this actor may check in
    tube: str | None = None  # the open tube the swab goes into (testrota.actions.tubes)


def check_in(app: App, cmd: CheckIn) -> CheckInResult:
    """Record that a person was sampled, and audit it; a repeat within the same visit records
    nothing and says so.

    An unknown, ambiguous (``AmbiguousEmployeeNo`` lists the candidates) or inactive number,
    a forged or expired personal code, an unknown site or a time in the future is a UserError,
    and nothing is written.
    """
    now = app.now()
    at = cmd.at or now
    # Checked before the transaction: a forged code costs no lock.
    claim = claim_of(app, cmd.employee_no) if looks_like_code(cmd.employee_no) else None
    with app.write_lock:
        try:
            return _check_in(app, cmd, claim, at, now)
        except IntegrityError:
            # Two scans of one person at the same instant on two PostgreSQL connections: the
            # unique (person, sampled_at, source) key kept one; this one is the repeat.
            return _check_in(app, cmd, claim, at, now)


def _check_in(
    app: App, cmd: CheckIn, claim: CodeClaim | None, at: datetime, now: datetime
) -> CheckInResult:
    with session_scope(app.engine) as session:
        # The row lock makes two scans of one person on two web processes take turns
        # (PostgreSQL); SQLite's BEGIN IMMEDIATE already does.
        lock = is_postgres(app.engine)
        # The scope as the lists apply it: departments and, for a user given units, the
        # units and everything below them (a namesake department elsewhere is nobody here).
        within = cmd.scope.where(col(Person.department))
        if claim is not None:
            person = person_of_claim(session, claim, lock=lock, within=within)
        else:
            person = find_person(session, cmd.employee_no, lock=lock, within=within)
        site = cmd.site
        if cmd.tube and not site:
            site = tube_site(session, cmd.tube)
        result = record_check_in(
            session, person, site, at, str(cmd.actor), app.policy, now, app.config_dir
        )
        if claim is not None:
            result = replace(result, identified_by="code")
        placed = None
        if cmd.tube:
            assert person.id is not None and result.result_id is not None
            placed = put_in_tube(
                session,
                cmd.tube,
                facts_of_loaded(person),
                result.result_id,
                result.site,
                result.at,
                str(cmd.actor),
                app.policy,
                lock=lock,
            )
            tube_text, tube_params = _tube_message(placed)
            result = replace(
                result,
                tube=placed.code,
                tube_places_left=placed.places_left,
                tube_closed=placed.closed,
                tube_ratio=placed.ratio,
                tube_members=placed.members,
                tube_open=placed.places_left > 0,
                message=result.message + " " + tube_text.format(**tube_params),
                message_parts=[
                    *result.message_parts,
                    {"template": tube_text, "params": tube_params},
                ],
            )
        if result.recorded or (placed is not None and not placed.already):
            record(
                session,
                cmd.actor,
                Action.CHECKED_IN,
                "person",
                result.employee_no,
                at=now,
                details={
                    "site": result.site,
                    "result_id": result.result_id,
                    "expected": result.expected,
                    "sampled_at": at.isoformat(),
                    "identified_by": result.identified_by,
                    "tube": result.tube,
                    "tube_closed": result.tube_closed,
                },
            )
        return result


def _tube_message(placed: Placement) -> tuple[str, dict[str, Any]]:
    """What check-in says about the tube, as a template and its parameters."""
    if placed.already:
        return "Already in tube {code}.", {"code": placed.code}
    if placed.closed:
        return "Tube {code} is full and closed.", {"code": placed.code}
    return "Tube {code}: {n} place(s) left.", {"code": placed.code, "n": placed.places_left}
