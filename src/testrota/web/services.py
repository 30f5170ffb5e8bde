"""The web's door onto the other areas' services: one call each, plus the audit event.

Handlers call these instead of reaching into each area, so a change in a service's signature is
absorbed here, and every change made through the web is recorded with the signed-in user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from testrota.app import App
from testrota.auth.scope import Scope
from testrota.db.engine import session_scope
from testrota.db.models import Person, Site
from testrota.errors import UserError


def person_status(app: App, employee_no: str) -> dict[str, Any]:
    """The green / amber / red light of one person this week, with the facts behind it."""
    from testrota.compliance.service import person_status as status

    with app.write_lock:  # it flags what is due first
        return status(app.engine, employee_no, app.now(), app.policy, app.settings.config_dir)


def site_choices(app: App, session: Session) -> list[tuple[str, str]]:
    """Testing sites as (code, name): the database's, else ``config/sites.yaml``'s."""
    rows = session.exec(select(Site).order_by(col(Site.code))).all()
    if rows:
        return [(s.code, s.name) for s in rows]
    from testrota.scheduling.sites import load_sites

    try:
        return [(s.code, s.name) for s in load_sites(app.settings.config_dir, app.policy)]
    except UserError:  # a broken sites.yaml: the page still works, without a site list
        return []


def import_results(app: App, path: Path, *, actor: str, dry_run: bool,
                   sheet: str | None = None) -> dict[str, Any]:
    from testrota.compliance.service import import_results as run

    return run(app.engine, path, app.policy, app.settings.config_dir, actor, app.now(),
               sheet=sheet or None, dry_run=dry_run)


def write_plain_error_report(errors: list[dict[str, Any]], target: Path) -> None:
    """Row errors as an .xlsx: sheet, row (as Excel numbers it), column, value, message."""
    from testrota.compliance.export import write_xlsx

    write_xlsx(target, errors, ["sheet", "row", "column", "value", "message"], title="errors")


def results_error_report(preview: dict[str, Any], target: Path) -> None:
    """A results preview's unmatched rows and row errors in one .xlsx."""
    write_plain_error_report([*preview.get("unmatched", []), *preview.get("errors", [])], target)


def plan_week(app: App, week: str, *, actor: str) -> dict[str, Any]:
    """Plan (or re-plan) a week with the planner's own service; returns its report."""
    from testrota.scheduling.service import plan_week_service

    report: dict[str, Any] = plan_week_service(
        app.engine, week, policy=app.policy, config_dir=app.settings.config_dir,
        now=app.now(), actor=actor,
    )
    return report


def retry_messages(app: App, ids: list[int] | None, *, actor: str) -> int:
    """Put failed texts back in the queue (all failed ones when ``ids`` is None).

    The dispatcher sends them again like any due text; opted-out people stay skipped by it.
    """
    from sqlalchemy import update

    from testrota.auth.users import audit
    from testrota.db.models import Message

    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        query = select(Message.id).where(Message.status == "failed")
        if ids is not None:
            query = query.where(col(Message.id).in_(ids))
        chosen = [i for i in session.exec(query) if i is not None]
        if not chosen:
            return 0
        session.execute(
            update(Message)
            .where(col(Message.id).in_(chosen), col(Message.status) == "failed")
            .values(status="pending", attempts=0, next_attempt_at=None, due_at=now,
                    claimed_by=None, claimed_at=None, error_code=None, error_message=None)
        )
        audit(session, actor=actor, action="message.retry", entity="message",
              entity_id=str(chosen[0]) if len(chosen) == 1 else "", now=now,
              details={"ids": chosen[:1000], "count": len(chosen)})
    return len(chosen)


def missed_list(app: App, scope: Scope, *, week: str | None, department: str = "",
                grid_unit: str = "") -> list[dict[str, Any]]:
    """The missed-test list of ``week`` within ``scope`` (narrowed to ``department``)."""
    from testrota.compliance.service import missed_list as run

    narrowed = scope.narrow(department)
    with app.write_lock:  # it flags what is due first
        rows: list[dict[str, Any]] = run(
            app.engine, app.now(), app.policy, week=week or None,
            departments=None if narrowed.departments is None else sorted(narrowed.departments),
            grid_unit=grid_unit or None, config_dir=app.settings.config_dir)
    return rows


def compliance_report(app: App, scope: Scope, *, week: str | None,
                      department: str = "") -> dict[str, Any]:
    """Required, scheduled, done, missed and the rate per department and grid unit, in scope."""
    from testrota.compliance.service import compliance_report as run

    narrowed = scope.narrow(department)
    report: dict[str, Any] = run(
        app.engine, app.now(), app.policy, week=week or None,
        departments=None if narrowed.departments is None else sorted(narrowed.departments),
        config_dir=app.settings.config_dir,
    )
    return report


def alerts(app: App, scope: Scope, *, closed: bool = False) -> list[dict[str, Any]]:
    """Positive-result alerts as ``scope``'s user may see them: a supervisor gets the ones
    that concern their departments, with only their own people as contacts, and a case in
    another department without who it is (``case_visible`` false)."""
    from testrota.compliance.service import list_alerts

    return list_alerts(app.engine, app.policy, status=None if closed else "open",
                       departments=None if scope.departments is None
                       else sorted(scope.departments))


def excuse(app: App, scope: Scope, *, employee_no: str, reason: str, actor: str,
           appointment_id: int | None = None, week: str | None = None) -> dict[str, Any]:
    """Excuse a missed appointment; a person outside ``scope`` is refused (OutOfScope)."""
    from testrota.compliance.service import excuse as run

    with app.write_lock:
        result: dict[str, Any] = run(
            app.engine, employee_no, reason, actor=actor, now=app.now(), policy=app.policy,
            week=week or None, appointment_id=appointment_id,
            departments=None if scope.departments is None else sorted(scope.departments),
        )
    return result


def person_department(app: App, employee_no: str) -> str | None:
    """The department of a person, or None when there is no such person."""
    with Session(app.engine) as session:
        return session.exec(
            select(Person.department).where(Person.employee_no == employee_no.strip())
        ).first()
