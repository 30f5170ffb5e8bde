"""Setting a unit's emergency mode (``testrota mode set``), audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import insert

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.auth.scope import Scope
from testrota.db import tables
from testrota.db.engine import session_scope
from testrota.errors import UserError
from testrota.org.units import find_unit
from testrota.statuses import UnitMode

MAX_REASON = 400
MAX_DAYS = 366


@dataclass(frozen=True)
class SetMode:
    unit: str  # a path (with or without the root) or a code
    mode: str  # normal | static | onsite | wfh | keep-production
    start: date
    reason: str
    actor: Actor
    end: date | None = None  # open-ended when None
    scope: Scope = field(default_factory=Scope.everything)


@dataclass(frozen=True)
class ModeSet:
    id: int
    unit: str
    mode: str
    start: date
    end: date | None
    reason: str
    set_by: str
    set_at: datetime
    # weeks already planned that the change reaches, planned again at once (their coming
    # appointments follow the mode; reminder texts follow the new appointments as always)
    replanned: list[str] = field(default_factory=list)


def set_mode(app: App, cmd: SetMode) -> ModeSet:
    """Put a unit (and everything below it without a mode of its own) in a mode from a day;
    audited as ``unit.mode_set``. The planner honours ``static`` from the next plan or re-plan
    of the weeks it covers."""
    from testrota.actions.units import ensure_units

    mode = cmd.mode.strip().lower().replace("_", "-")
    if mode not in set(UnitMode):
        raise UserError(
            "unknown mode {mode!r}; use one of {known}",
            mode=cmd.mode,
            known=", ".join(m.value for m in UnitMode),
        )
    reason = " ".join((cmd.reason or "").split())
    if not reason or len(reason) > MAX_REASON:
        raise UserError("give a reason of 1 to {limit} characters (--reason)", limit=MAX_REASON)
    if cmd.end is not None and cmd.end < cmd.start:
        raise UserError(
            "--to {end} is before --from {start}",
            end=cmd.end.isoformat(),
            start=cmd.start.isoformat(),
        )
    if cmd.end is not None and (cmd.end - cmd.start).days >= MAX_DAYS:
        raise UserError("a mode is set for at most {days} days at a time", days=MAX_DAYS)
    ensure_units(app, cmd.actor)
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        conn = session.connection()
        unit = find_unit(conn, app.org, cmd.unit)
        if not cmd.scope.allows_unit(unit.path):
            raise UserError("{unit} is not one of your units", unit=unit.path)
        inserted = conn.execute(
            insert(tables.UNIT_MODE_CHANGE).values(
                unit_id=unit.id,
                mode=mode,
                start_date=cmd.start,
                end_date=cmd.end,
                reason=reason,
                set_by=str(cmd.actor),
                set_at=now,
            )
        ).inserted_primary_key
        assert inserted is not None
        change_id = int(inserted[0])
        record(
            session,
            cmd.actor,
            Action.MODE_SET,
            "orgunit",
            unit.id,
            at=now,
            details={
                "unit": unit.path,
                "mode": mode,
                "from": cmd.start.isoformat(),
                "to": cmd.end.isoformat() if cmd.end else None,
                "reason": reason,
            },
        )
    replanned = _replan(app, cmd.start, cmd.end, now, cmd.actor)
    return ModeSet(
        change_id, unit.path, mode, cmd.start, cmd.end, reason, str(cmd.actor), now, replanned
    )


def _replan(app: App, start: date, end: date | None, now: datetime, actor: Actor) -> list[str]:
    """Plan again the weeks already planned that the change covers and that are not over."""
    from sqlalchemy import select

    from testrota.actions.plan import PlanWeek, plan_week
    from testrota.weeks import current_week

    with app.engine.connect() as conn:
        planned = set(conn.execute(select(tables.PLAN_RUN.c.week).distinct()).scalars())
    this_week = str(current_week(now, app.policy.tz))
    first = start.isocalendar()
    weeks = []
    for label in sorted(planned):
        if label < this_week or label < f"{first[0]}-W{first[1]:02d}":
            continue
        if end is not None:
            last = end.isocalendar()
            if label > f"{last[0]}-W{last[1]:02d}":
                continue
        weeks.append(label)
    for label in weeks:
        plan_week(app, PlanWeek(actor, label))
    return weeks
