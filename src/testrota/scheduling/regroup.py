"""A person's coming appointments follow them to their new grid unit.

An appointment carries its person's grid unit: the planner keeps each grid unit's people
together in a slot and apart from other units by it, a mid-week booking counts a slot's units
by it, and the schedule and the slot summary show it. When a roster import moves someone, their
coming appointments (``scheduled``, slot not started) are given the unit they are in now, in
the import's transaction. What has started, or is done, missed or excused, keeps the unit the
person had then: that is where they were (to be) tested. A re-plan gives the rows it finds
still carrying an old unit their person's (``service._this_week``).

The roll-ups count people by the person's own unit, not by this column (and an update of it
marks nothing for them), so they need nothing here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import Connection, Table, bindparam, func, select, update

from testrota.db import tables
from testrota.db.id_filter import ids_in

A: Table = tables.APPOINTMENT
P: Table = tables.PERSON
SCHEDULED = "scheduled"


def follow_grid_units(conn: Connection, person_ids: Collection[int], now: datetime) -> int:
    """Give the coming appointments of ``person_ids`` each person's grid unit as stored now,
    in the caller's transaction; returns how many appointments changed."""
    current = (
        select(func.coalesce(P.c.grid_unit, "")).where(P.c.id == A.c.person_id).scalar_subquery()
    )
    changed = 0
    for some in ids_in(conn, A.c.person_id, person_ids):
        result = conn.execute(
            update(A)
            .where(
                some,
                A.c.status == SCHEDULED,
                A.c.starts_at > now,
                A.c.grid_unit.is_distinct_from(current),
            )
            .values(grid_unit=current, updated_at=now)
        )
        changed += max(result.rowcount, 0)
    return changed


def set_grid_units(conn: Connection, units: Mapping[int, str], now: datetime) -> None:
    """Write ``units`` (appointment id -> grid unit), in the caller's transaction."""
    if not units:
        return
    conn.execute(
        update(A)
        .where(A.c.id == bindparam("aid"))
        .values(grid_unit=bindparam("unit"), updated_at=now),
        [{"aid": aid, "unit": unit} for aid, unit in sorted(units.items())],
    )
