"""The daily report's trend: a unit's weekly testing rate over the last weeks (the report
page's table and ``/report/daily/trend.json``), read only.

Each day's ``(required, tested)`` is summed from the per-unit, per-day roll-up
(:mod:`testrota.org.rollup`) over the unit's subtree, with any key still marked counted from raw
rows; :func:`day_figures` counts the same from raw rows in one grouped query (before the roll-up
is built, and for the benchmark). The pure sums are :mod:`testrota.org.trend`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, case, func, literal, select, union_all

from testrota.actions.report import DailyReport, OutOfUnits, _unit_of
from testrota.app import App
from testrota.audit import Actor
from testrota.auth.scope import Scope
from testrota.db import tables
from testrota.errors import UserError
from testrota.org import rollup
from testrota.org.trend import MAX_WEEKS, WeekRate, trend_days, weekly_rates
from testrota.org.units import UNIT, find_unit, subtree_condition
from testrota.weeks import day_bounds

DEFAULT_WEEKS = 8


@dataclass(frozen=True)
class ReportTrend:
    day: date  # the report's day: the last week is counted up to it
    actor: Actor
    unit: str | None = None  # a path (with or without the root's name) or a unit code
    weeks: int = DEFAULT_WEEKS
    scope: Scope = field(default_factory=Scope.everything)
    from_raw: bool = False  # count from raw rows, not the roll-up (the benchmark's other side)


@dataclass(frozen=True)
class TrendOut:
    unit: str  # the full path
    weeks: list[WeekRate]


def report_trend(app: App, cmd: ReportTrend) -> TrendOut:
    """The weekly rate of ``cmd.unit`` (default: the reader's one unit, or the group) and
    everything below it, for the ``cmd.weeks`` weeks up to ``cmd.day``."""
    from testrota.actions.units import ensure_units

    if not 1 <= cmd.weeks <= MAX_WEEKS:
        raise UserError("weeks {weeks}: give 1 to {most}", weeks=cmd.weeks, most=MAX_WEEKS)
    ensure_units(app, cmd.actor)
    with app.read_engine.connect() as conn:
        # the same default unit as the report's: the reader's one unit, or the group
        named = _unit_of(DailyReport(cmd.day, cmd.actor, cmd.unit, scope=cmd.scope), app.org.root)
        unit = find_unit(conn, app.org, named)
        if not cmd.scope.allows_unit(unit.path):
            raise OutOfUnits("{unit} is not one of your units", unit=unit.path)
        days = trend_days(cmd.day, cmd.weeks)
        under = None if unit.parent_id is None else unit.path
        by_day = (
            day_figures(conn, days, app.tz, under)
            if cmd.from_raw
            else rolled_up_days(conn, days, app.tz, under)
        )
    return TrendOut(unit.path, weekly_rates(cmd.day, cmd.weeks, by_day))


def rolled_up_days(
    conn: Connection, days: list[date], tz: Any, under: str | None
) -> dict[date, tuple[int, int]]:
    """:func:`day_figures` read from the roll-up: one grouped sum over the subtree's units, and
    the keys a change has marked but not yet counted (a write without the commit hook) counted
    from raw rows in their place. A database not rolled up yet is counted from raw rows."""
    todo = rollup.pending(conn, tz)
    if todo.everything:
        return day_figures(conn, days, tz, under)
    u, d = UNIT, rollup.UNIT_DAY
    units = select(u.c.id)
    if under is not None:
        units = units.where(subtree_condition(under, binary=conn.dialect.name == "sqlite"))
    unit_ids = {int(r[0]) for r in conn.execute(units)} if todo.keys else set()
    wanted = set(days)
    stale: dict[date, set[int]] = {}
    for unit_id, day in todo.keys:
        if day in wanted and unit_id in unit_ids:
            stale.setdefault(day, set()).add(unit_id)
    totals = (
        select(d.c.day, func.sum(d.c.required), func.sum(d.c.tested))
        .where(d.c.day.in_(days), d.c.unit_id.in_(units))
        .group_by(d.c.day)
    )
    out = {day: [int(r or 0), int(s or 0)] for day, r, s in conn.execute(totals)}
    for day, stale_units in stale.items():
        # a marked key's stored row is replaced by its count from raw rows
        kept = conn.execute(
            select(func.sum(d.c.required), func.sum(d.c.tested)).where(
                d.c.day == day, d.c.unit_id.in_(sorted(stale_units))
            )
        ).one()
        sums = out.setdefault(day, [0, 0])
        sums[0] -= int(kept[0] or 0)
        sums[1] -= int(kept[1] or 0)
        for f in rollup.count_days(conn, day, tz, stale_units).values():
            sums[0] += f.required
            sums[1] += f.tested
    return {day: (sums[0], sums[1]) for day, sums in out.items() if sums[0]}


def day_figures(
    conn: Connection, days: list[date], tz: Any, under: str | None
) -> dict[date, tuple[int, int]]:
    """Each local day's ``(required, tested)`` as the daily report counts them (active people
    placed in a unit; due: an appointment that day not cancelled; tested: a sample that same
    day), for the people in ``under`` and below it (None: everyone).

    A CASE maps each instant to its local day (23 or 25 hours across a change of the clocks),
    so the whole range is one query on every database."""
    a, t, p = tables.APPOINTMENT, tables.TEST_RESULT, tables.PERSON
    bounds = [day_bounds(d, tz) for d in days]
    first, last = bounds[0][0], bounds[-1][1]

    def day_of(column: Any) -> Any:
        return case(*((column < end, i) for i, (_, end) in enumerate(bounds)), else_=None)

    people = select(p.c.id).where(p.c.active.is_(True), p.c.unit_id.is_not(None))
    if under is not None:
        binary = conn.dialect.name == "sqlite"
        below = select(UNIT.c.id).where(subtree_condition(under, binary=binary))
        people = people.where(p.c.unit_id.in_(below))
    # One grouped pass over the appointments and samples together (no join between them,
    # which PostgreSQL's parallel plans handled badly): each person-day is due, sampled or
    # both, then the due ones are counted per day.
    due = select(
        a.c.person_id.label("person_id"),
        day_of(a.c.starts_at).label("day"),
        literal(1).label("due"),
        literal(0).label("sampled"),
    ).where(
        a.c.starts_at >= first,
        a.c.starts_at < last,
        a.c.status != "cancelled",
        a.c.person_id.in_(people),
    )
    sampled = select(
        t.c.person_id.label("person_id"),
        day_of(t.c.sampled_at).label("day"),
        literal(0).label("due"),
        literal(1).label("sampled"),
    ).where(t.c.sampled_at >= first, t.c.sampled_at < last, t.c.person_id.in_(people))
    both = union_all(due, sampled).subquery()
    person_days = (
        select(
            both.c.day.label("day"),
            func.max(both.c.due).label("due"),
            func.max(both.c.sampled).label("sampled"),
        )
        .group_by(both.c.person_id, both.c.day)
        .subquery()
    )
    rows = conn.execute(
        select(person_days.c.day, func.count(), func.sum(person_days.c.sampled))
        .where(person_days.c.due == 1)
        .group_by(person_days.c.day)
    ).all()
    return {days[int(i)]: (int(required), int(tested)) for i, required, tested in rows}
