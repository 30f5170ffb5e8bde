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
    return ModeSet(change_id, unit.path, mode, cmd.start, cmd.end, reason, str(cmd.actor), now)
