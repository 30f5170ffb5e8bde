"""The web's door onto the other areas' services: one call each, plus the audit event.

Handlers call these instead of reaching into each area, so a change in a service's signature is
absorbed here, and every change made through the web is recorded with the signed-in user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from testrota.app import App
from testrota.db.engine import session_scope
from testrota.db.models import Site
from testrota.errors import UserError


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


def write_plain_error_report(errors: list[dict[str, Any]], target: Path) -> None:
    """Row errors as an .xlsx: sheet, row (as Excel numbers it), column, value, message."""
    from testrota.compliance.export import write_xlsx

    write_xlsx(target, errors, ["sheet", "row", "column", "value", "message"], title="errors")


def plan_week(app: App, week: str, *, actor: str) -> dict[str, Any]:
    """Plan (or re-plan) a week with the planner's own service; returns its report."""
    from testrota.scheduling.service import plan_week_service

    report: dict[str, Any] = plan_week_service(
        app.engine,
        week,
        policy=app.policy,
        config_dir=app.settings.config_dir,
        now=app.now(),
        actor=actor,
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
            .values(
                status="pending",
                attempts=0,
                next_attempt_at=None,
                due_at=now,
                claimed_by=None,
                claimed_at=None,
                error_code=None,
                error_message=None,
            )
        )
        audit(
            session,
            actor=actor,
            action="message.retry",
            entity="message",
            entity_id=str(chosen[0]) if len(chosen) == 1 else "",
            now=now,
            details={"ids": chosen[:1000], "count": len(chosen)},
        )
    return len(chosen)
