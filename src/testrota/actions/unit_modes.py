"""The emergency modes the reader's units are in on a day or over the week being viewed (the
dashboard's board), read only.

The mode changes are few; the unit tree is read only on a day some change covers, so a group
in normal mode pays one small query per dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Connection, or_, select

from testrota.app import App
from testrota.auth.scope import Scope
from testrota.db import tables
from testrota.org.mode_board import ModeSetting, UnitModeNow, UnitRow, mode_board, week_board


@dataclass(frozen=True)
class UnitModes:
    scope: Scope = field(default_factory=Scope.everything)
    day: date | None = None  # None: today in the policy's zone
    last: date | None = None  # the board over day..last (a week); None: ``day`` only


def unit_modes(app: App, query: UnitModes) -> list[UnitModeNow]:
    """The board of :func:`testrota.org.mode_board.mode_board` for the reader's scope, or of
    :func:`~testrota.org.mode_board.week_board` over ``day`` to ``last``."""
    day = query.day or app.now().astimezone(app.tz).date()
    last = max(query.last or day, day)
    with app.read_engine.connect() as conn:
        settings = settings_on(conn, day, last)
        if not settings:
            return []
        units = unit_rows(conn)
    if last == day:
        return mode_board(units, settings, day, query.scope.allows_unit)
    days = [day + timedelta(days=n) for n in range((last - day).days + 1)]
    return week_board(units, settings, days, query.scope.allows_unit)


def settings_on(conn: Connection, day: date, last: date | None = None) -> list[ModeSetting]:
    """The mode changes covering ``day``, or any day from ``day`` to ``last``."""
    last = last or day
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
            change.c.start_date <= last,
            or_(change.c.end_date.is_(None), change.c.end_date >= day),
        )
    ).all()
    return [ModeSetting(*r) for r in rows]


def unit_rows(conn: Connection) -> list[UnitRow]:
    unit = tables.ORG_UNIT
    return [
        UnitRow(*r) for r in conn.execute(select(unit.c.id, unit.c.parent_id, unit.c.path)).all()
    ]
