"""The group's daily report (日报): figures per unit for a day (``report daily``, the report
page) and their confirmation upward (``report confirm``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Select, select

from testrota.app import App
from testrota.audit import Actor
from testrota.db import tables
from testrota.errors import UserError
from testrota.org.daily import (
    AppointmentIn,
    ConfirmationIn,
    DailyRow,
    PersonIn,
    SampleIn,
    TubeFigures,
    UnitIn,
    roll_up,
)
from testrota.org.units import UNIT, Unit, find_unit, load_units, subtree_condition
from testrota.weeks import day_bounds

PERSON, APPOINTMENT, TEST_RESULT = tables.PERSON, tables.APPOINTMENT, tables.TEST_RESULT
CONFIRMATION = tables.REPORT_CONFIRMATION
MAX_LEVELS = 8
MAX_NOTE = 400


@dataclass(frozen=True)
class DailyReport:
    day: date
    actor: Actor
    unit: str | None = None  # a path (with or without the root's name) or a unit code
    levels: int | None = None  # levels below the unit to show (None: all)


@dataclass(frozen=True)
class DailyReportOut:
    day: date
    unit: str  # the full path of the unit the report is for
    rows: list[DailyRow]


def daily_report(app: App, cmd: DailyReport) -> DailyReportOut:
    """The day's figures of ``cmd.unit`` (default: the whole group) and every unit below it,
    each including its descendants', with each unit's confirmation."""
    from testrota.actions.units import ensure_units

    if cmd.levels is not None and not 0 <= cmd.levels <= MAX_LEVELS:
        raise UserError("--levels {levels}: give 0 to {most}", levels=cmd.levels, most=MAX_LEVELS)
    ensure_units(app, cmd.actor)
    org, policy = app.org, app.policy
    start, end = day_bounds(cmd.day, policy.tz)
    with app.read_engine.connect() as conn:
        top = find_unit(conn, org, cmd.unit) if cmd.unit else find_unit(conn, org, org.root)
        inputs = _read_day(conn, top, start, end, cmd.day)
    units, people, appointments, samples, confirmations = inputs
    rows = roll_up(
        units,
        people,
        appointments,
        samples,
        reasons=list(policy.report.excuse_reasons),
        level_names=org.levels,
        grid_level=org.grid_level,
        tubes=tube_figures(start, end),
        confirmations=confirmations,
        top=top.id,
        levels=cmd.levels,
    )
    return DailyReportOut(cmd.day, top.path, rows)


def tube_figures(start: datetime, end: datetime) -> TubeFigures:
    """Pooled and single-tube samples of the day, per person. The seam for pooled sampling:
    until tubes are recorded every sample is counted only as a sample, and these are zero."""
    return TubeFigures()


def _in_subtree(query: Select[Any], person_id: Any, top: Unit) -> Select[Any]:
    if top.parent_id is None:
        return query  # the root: everyone
    below = select(UNIT.c.id).where(subtree_condition(top.path))
    people = select(PERSON.c.id).where(PERSON.c.unit_id.in_(below))
    return query.where(person_id.in_(people))


def _read_day(
    conn: Connection, top: Unit, start: datetime, end: datetime, day: date
) -> tuple[list[UnitIn], list[PersonIn], list[AppointmentIn], list[SampleIn], list[ConfirmationIn]]:
    units = [
        UnitIn(u.id, u.parent_id, u.path, u.name, u.level, u.kind, u.code)
        for u in load_units(conn)
        if u.path == top.path or u.path.startswith(top.path + "/")
    ]
    people_q = _in_subtree(
        select(PERSON.c.id, PERSON.c.unit_id, PERSON.c.person_type, PERSON.c.booster).where(
            PERSON.c.active.is_(True)
        ),
        PERSON.c.id,
        top,
    )
    people = [PersonIn(*row) for row in conn.execute(people_q)]
    appts_q = _in_subtree(
        select(APPOINTMENT.c.person_id, APPOINTMENT.c.status, APPOINTMENT.c.excused_code).where(
            APPOINTMENT.c.starts_at >= start, APPOINTMENT.c.starts_at < end
        ),
        APPOINTMENT.c.person_id,
        top,
    )
    appointments = [AppointmentIn(*row) for row in conn.execute(appts_q)]
    samples_q = _in_subtree(
        select(TEST_RESULT.c.person_id, TEST_RESULT.c.result).where(
            TEST_RESULT.c.sampled_at >= start, TEST_RESULT.c.sampled_at < end
        ),
        TEST_RESULT.c.person_id,
        top,
    )
    samples = [SampleIn(*row) for row in conn.execute(samples_q)]
    ids = {u.id for u in units}
    confirmations = [
        ConfirmationIn(*row)
        for row in conn.execute(
            select(
                CONFIRMATION.c.unit_id,
                CONFIRMATION.c.confirmed_by,
                CONFIRMATION.c.confirmed_at,
                CONFIRMATION.c.note,
                CONFIRMATION.c.figures,
            ).where(CONFIRMATION.c.day == day)
        )
        if row[0] in ids
    ]
    return units, people, appointments, samples, confirmations
