"""The emergency modes the reader's units are in today (the dashboard's board), read only.

The mode changes are few; the unit tree is read only on a day some change covers, so a group
in normal mode pays one small query per dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, or_, select

from testrota.app import App
from testrota.auth.scope import Scope
from testrota.db import tables
from testrota.org.mode_board import ModeSetting, UnitModeNow, UnitRow, mode_board


@dataclass(frozen=True)
class UnitModes:
    scope: Scope = field(default_factory=Scope.everything)
    day: date | None = None  # None: today in the policy's zone


def unit_modes(app: App, query: UnitModes) -> list[UnitModeNow]:
    """The board of :func:`testrota.org.mode_board.mode_board` for the reader's scope."""
    day = query.day or app.now().astimezone(app.tz).date()
    with app.read_engine.connect() as conn:
        settings = settings_on(conn, day)
        if not settings:
            return []
        units = unit_rows(conn)
    return mode_board(units, settings, day, query.scope.allows_unit)


def settings_on(conn: Connection, day: date) -> list[ModeSetting]:
    """The mode changes covering ``day``."""
    change = tables.UNIT_MODE_CHANGE
    rows = conn.execute(
        select(
            change.c.id,
            change.c.unit_id,
            change.c.mode,
            change.c.start_date,
            change.c.end_date,
            change.c.reason,
            change.c.set_by,
        ).where(
            change.c.start_date <= day,
            or_(change.c.end_date.is_(None), change.c.end_date >= day),
        )
    ).all()
    return [ModeSetting(*r) for r in rows]


def unit_rows(conn: Connection) -> list[UnitRow]:
    unit = tables.ORG_UNIT
    return [
        UnitRow(*r) for r in conn.execute(select(unit.c.id, unit.c.parent_id, unit.c.path)).all()
    ]
