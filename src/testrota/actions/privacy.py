"""A person's privacy requests: everything held on them (export), and their erasure."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.db import tables
from testrota.db.locks import PEOPLE_LOCK, hold
from testrota.errors import UserError
from testrota.privacy.erase import EraseReport, check_reason, erase, erased_number, person_id
from testrota.privacy.export import PersonExport, collect_person
from testrota.statuses import Role


@dataclass(frozen=True)
class ExportPerson:
    employee_no: str
    actor: Actor  # who asks: recorded, with when, not what


def export_person(app: App, cmd: ExportPerson) -> PersonExport:
    """Everything held on one person; the export (not its content) is audited."""
    now = app.now()
    with app.engine.connect() as conn:
        export = collect_person(conn, cmd.employee_no, now)
    with app.write_lock, app.engine.begin() as conn:
        record(
            conn,
            cmd.actor,
            Action.PERSON_EXPORTED,
            "person",
            export.employee_no,
            at=now,
            details={"sections": export.counts},
        )
    return export


@dataclass(frozen=True)
class ErasePerson:
    employee_no: str
    reason: str  # kept in the audit log: no personal data in it
    actor: Actor
    deactivate: bool = False  # also take a person still on the roster off it
    # The actor names a user of this app, who must be an active admin: erasure is an admin's
    # decision. (The person at the terminal without --by may, like every command there.)
    as_user: bool = False


def erase_person(app: App, cmd: ErasePerson) -> EraseReport:
    """Anonymise one person, keeping the anonymous counts (see :mod:`testrota.privacy.erase`):
    everything in one transaction, or nothing."""
    reason = check_reason(cmd.reason)
    if cmd.as_user:
        _require_admin(app, cmd.actor.name)
    now = app.now()
    try:
        with app.write_lock, app.engine.begin() as conn:
            # After a roster import at work: one that had read the person before the erasure
            # committed wrote their new details into the erased row.
            hold(conn, PEOPLE_LOCK)
            report, was_active = erase(conn, cmd.employee_no, now, deactivate=cmd.deactivate)
            record(
                conn,
                cmd.actor,
                Action.PERSON_ERASED,
                "person",
                report.employee_no,
                at=now,
                details={"reason": reason, "deactivated": was_active, "counts": report.counts},
            )
    except IntegrityError as exc:
        with app.engine.connect() as conn:
            taken = erased_number(person_id(conn, cmd.employee_no))
        raise UserError(
            "could not erase {employee_no}: another person already has employee number {taken} "
            "(a roster imported one?); nothing was changed: rename that person first",
            employee_no=cmd.employee_no,
            taken=taken,
        ) from exc
    return report


def _require_admin(app: App, name: str) -> None:
    user = tables.USER
    with app.engine.connect() as conn:
        row = conn.execute(select(user.c.role, user.c.active).where(user.c.name == name)).first()
    if row is None or not row.active or row.role != Role.ADMIN:
        raise UserError(
            "--by {name!r} is not an active admin user; only admins may erase "
            "(testrota users add NAME --role admin)",
            name=name,
        )
