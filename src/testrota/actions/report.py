"""The group's daily report (日报): figures per unit for a day (``report daily``, the report
page) and their confirmation upward (``report confirm``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, delete, insert, select

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.auth.scope import Scope
from testrota.db import tables
from testrota.db.engine import session_scope
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
    scope: Scope = field(default_factory=Scope.everything)  # whose units the reader may see


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
    now = app.now()
    with app.read_engine.connect() as conn:
        top = find_unit(conn, org, _unit_of(cmd, org.root))
        if not cmd.scope.allows_unit(top.path):
            raise OutOfUnits("{unit} is not one of your units", unit=top.path)
        inputs = _read_day(conn, top, start, end, cmd.day)
        from testrota.org.modes import load_changes, modes_on

        changes = load_changes(conn, cmd.day, cmd.day)
        modes = modes_on({u.id: u.parent_id for u in load_units(conn)}, changes, cmd.day)
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
        now=now,
        deadline=confirm_deadline(app, cmd.day),
        modes=modes,
    )
    return DailyReportOut(cmd.day, top.path, rows)


class OutOfUnits(UserError):
    """A unit the reader's scope does not reach (the web answers 404, as for a person)."""


def _unit_of(cmd: DailyReport, root: str) -> str:
    if cmd.unit:
        return cmd.unit
    units = sorted(cmd.scope.units or ())
    if cmd.scope.is_everything:
        return root
    if len(units) == 1:
        return units[0]
    raise UserError("choose one of your units: {units}", units=", ".join(units) or "none")


def confirm_deadline(app: App, day: date) -> datetime:
    """When a day's figures are due upward: ``report.confirm_by`` (local) the next morning."""
    policy = app.policy
    return datetime.combine(day + timedelta(days=1), policy.report.confirm_by, policy.tz)


@dataclass(frozen=True)
class ConfirmReport:
    day: date
    unit: str
    actor: Actor
    note: str = ""
    scope: Scope = field(default_factory=Scope.everything)  # whose units the actor confirms


@dataclass(frozen=True)
class Confirmed:
    unit: str
    day: date
    confirmed_by: str
    confirmed_at: datetime
    note: str
    late: bool  # after report.confirm_by the next morning
    replaced: bool  # an earlier confirmation of the same day was replaced
    figures: dict[str, int]


def confirm_report(app: App, cmd: ConfirmReport) -> Confirmed:
    """A unit's supervisor confirms the day's figures upward, with a note; the figures as they
    are now are kept, so a later change shows. Confirming again replaces the earlier one.
    Audited as ``report.confirmed``."""
    note = " ".join((cmd.note or "").split())
    if len(note) > MAX_NOTE:
        raise UserError(
            "the note is {length} characters; keep it under {limit}",
            length=len(note),
            limit=MAX_NOTE,
        )
    now = app.now()
    today = now.astimezone(app.policy.tz).date()
    if cmd.day > today:
        raise UserError(
            "{day} has not happened yet; confirm a day's figures once it is over",
            day=cmd.day.isoformat(),
        )
    out = daily_report(
        app, DailyReport(cmd.day, cmd.actor, unit=cmd.unit, levels=0, scope=cmd.scope)
    )
    [row] = out.rows
    figures = row.figures()
    late = now > confirm_deadline(app, cmd.day)
    with app.write_lock, session_scope(app.engine) as session:
        conn = session.connection()
        gone = conn.execute(
            delete(CONFIRMATION).where(
                CONFIRMATION.c.unit_id == row.unit_id, CONFIRMATION.c.day == cmd.day
            )
        )
        replaced = bool(getattr(gone, "rowcount", 0))
        conn.execute(
            insert(CONFIRMATION).values(
                unit_id=row.unit_id,
                day=cmd.day,
                confirmed_by=str(cmd.actor),
                confirmed_at=now,
                note=note,
                figures=figures,
            )
        )
        record(
            session,
            cmd.actor,
            Action.REPORT_CONFIRMED,
            "orgunit",
            row.unit_id,
            at=now,
            details={
                "unit": row.path,
                "day": cmd.day.isoformat(),
                "note": note,
                "late": late,
                "replaced": replaced,
                **figures,
            },
        )
    return Confirmed(row.path, cmd.day, str(cmd.actor), now, note, late, replaced, figures)


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


@dataclass(frozen=True)
class RemindLate:
    actor: Actor  # the job


def remind_late(app: App, cmd: RemindLate) -> int:
    """Text each supervisor whose unit has not confirmed yesterday's figures, once past
    ``report.confirm_by``; once per supervisor, unit and day. Returns the texts added."""
    from testrota.notify.templates import load_templates
    from testrota.org.reminders import enqueue_late_texts

    now, policy = app.now(), app.policy
    day = now.astimezone(policy.tz).date() - timedelta(days=1)
    deadline = confirm_deadline(app, day)
    if now <= deadline:
        return 0
    templates = load_templates(app.config_dir, policy.sms.max_segments)
    with app.write_lock, session_scope(app.engine) as session:
        return enqueue_late_texts(
            session.connection(),
            day,
            deadline,
            now,
            policy,
            templates,
            app.settings.public_url,
        )
