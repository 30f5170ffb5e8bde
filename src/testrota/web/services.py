"""The web's door onto the other areas' services: one call each, plus the audit event.

Handlers call these instead of reaching into each area, so a change in a service's signature is
absorbed here, and every change made through the web is recorded with the signed-in user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from testrota.app import App
from testrota.db.engine import session_scope
from testrota.db.models import Person, Site
from testrota.errors import UserError


def _vocabulary(app: App) -> Any:
    from testrota.risk.vocabulary import load_vocabulary

    return load_vocabulary(app.settings.config_dir)


def set_person_category(
    app: App, *, employee_no: str, category: str, reason: str, actor: str
) -> dict[str, Any]:
    """HR's override of one person's category (``none``: not high-risk; ``clear``: automatic)."""
    from testrota.risk import service as risk

    vocab = _vocabulary(app)
    with app.write_lock, session_scope(app.engine) as session:
        if category == "clear":
            return risk.clear_person_override(session, employee_no, reason, actor, app.now(),
                                              vocab=vocab, policy=app.policy)
        return risk.set_person_override(session, employee_no,
                                        None if category == "none" else category, reason,
                                        actor, app.now(), vocab=vocab, policy=app.policy)


def list_roles(app: App, *, unmatched_only: bool) -> list[dict[str, Any]]:
    from testrota.risk.service import list_roles as run

    with Session(app.engine) as session:
        return run(session, unmatched_only, vocab=_vocabulary(app))


def map_role(app: App, *, role: str, department: str | None, category: str,
             reason: str, actor: str) -> dict[str, Any]:
    """Map a role title (in one department, or everywhere) to a category, to "not high-risk"
    (``none``), or back to the rules (``clear``); everyone with that title is reclassified."""
    from testrota.risk import service as risk

    vocab = _vocabulary(app)
    with app.write_lock, session_scope(app.engine) as session:
        if category == "clear":
            return risk.clear_role_override(session, role, department, reason, actor,
                                            app.now(), vocab=vocab, policy=app.policy)
        return risk.set_role_override(session, role, department,
                                      None if category == "none" else category, reason,
                                      actor, app.now(), vocab=vocab, policy=app.policy)


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


def import_roster(
    app: App,
    path: Path,
    *,
    actor: str,
    dry_run: bool,
    full: bool = False,
    force: bool = False,
    sheet: str | None = None,
    errors_report: Path | None = None,
) -> dict[str, Any]:
    """The roster import with the CLI's rules (atomic, deactivation guard, size limits)."""
    from testrota.roster.service import ImportOptions
    from testrota.roster.service import import_roster as run

    options = ImportOptions(sheet=sheet or None, dry_run=dry_run, full=full, force=force,
                            actor=actor, errors_report=errors_report)
    return run(app.engine, path, policy=app.policy, config_dir=app.settings.config_dir,
               now=app.now(), options=options)


def roster_preview(app: App, path: Path, *, actor: str, full: bool,
                   sheet: str | None) -> dict[str, Any]:
    """A dry run, plus whether applying it would trip the deactivation guard.

    The dry run is computed as if forced so HR sees what a full import would deactivate; the
    guard is then stated here and enforced again by the apply.
    """
    summary = import_roster(app, path, actor=actor, dry_run=True, full=full, force=True,
                            sheet=sheet)
    with Session(app.engine) as session:
        active = session.exec(
            select(func.count()).select_from(Person).where(col(Person.active).is_(True))
        ).one()
    share = summary.get("deactivated", 0) / active if active else 0.0
    limit = app.policy.imports.max_deactivate_share
    summary["active_before"] = int(active)
    summary["deactivate_share"] = round(share, 4)
    summary["needs_force"] = bool(full and summary.get("deactivated") and share > limit)
    summary["deactivate_limit"] = limit
    return summary


def write_plain_error_report(errors: list[dict[str, Any]], target: Path) -> None:
    """Row errors as an .xlsx: sheet, row (as Excel numbers it), column, value, message."""
    from testrota.compliance.export import write_xlsx

    write_xlsx(target, errors, ["sheet", "row", "column", "value", "message"], title="errors")


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
