"""Where a check-in happens: site staff scan or type a code at the tent, from any door."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.auth.scope import Scope
from testrota.compliance.checkin import CheckInResult, record_check_in
from testrota.compliance.facts import find_person
from testrota.db.engine import is_postgres, session_scope


@dataclass(frozen=True)
class CheckIn:
    employee_no: str  # as typed or scanned: case, full-width forms and lost zeros forgiven
    actor: Actor
    site: str | None = None  # None: the site of the slot the person is expected in
    at: datetime | None = None  # when the sample was taken; None: now
    scope: Scope = field(default_factory=Scope.everything)  # whom this actor may check in


def check_in(app: App, cmd: CheckIn) -> CheckInResult:
    """Record that a person was sampled, and audit it; a repeat within the same visit records
    nothing and says so.

    An unknown, ambiguous (``AmbiguousEmployeeNo`` lists the candidates) or inactive number,
    an unknown site or a time in the future is a UserError, and nothing is written.
    """
    now = app.now()
    at = cmd.at or now
    with app.write_lock:
        try:
            return _check_in(app, cmd, at, now)
        except IntegrityError:
            # Two scans of one person at the same instant on two PostgreSQL connections: the
            # unique (person, sampled_at, source) key kept one; this one is the repeat.
            return _check_in(app, cmd, at, now)


def _check_in(app: App, cmd: CheckIn, at: datetime, now: datetime) -> CheckInResult:
    with session_scope(app.engine) as session:
        # The row lock makes two scans of one person on two web processes take turns
        # (PostgreSQL); SQLite's BEGIN IMMEDIATE already does.
        person = find_person(
            session,
            cmd.employee_no,
            lock=is_postgres(app.engine),
            departments=cmd.scope.departments,
        )
        result = record_check_in(
            session, person, cmd.site, at, str(cmd.actor), app.policy, now, app.config_dir
        )
        if result.recorded:
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
                },
            )
        return result
