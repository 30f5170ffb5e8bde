"""The group's daily report (日报): figures per unit for a day (``report daily``, the report
page) and their confirmation upward (``report confirm``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, case, delete, func, insert, select

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.auth.scope import Scope
from testrota.db import tables
from testrota.db.engine import session_scope
from testrota.errors import UserError
from testrota.org.daily import (
    ConfirmationIn,
    DailyRow,
    TubeFigures,
    UnitCounts,
    UnitIn,
    reason_of,
    roll_up,
)
from testrota.org.modes import load_changes, modes_on
from testrota.org.rollup import (
    DayFigures,
    DayRead,
    Heads,
    count_days,
    count_heads,
    read_day,
)
from testrota.org.units import Unit, ancestors, find_unit, load_units
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
    # count the day from raw rows instead of the roll-up: a check, and the benchmark's side
    # by side (the answers are the same; only the time differs)
    from_raw: bool = False


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
        below = load_units(conn, under=top.path)
        reasons = list(policy.report.excuse_reasons)
        # each unit's own figures from the roll-up kept current by every change
        inputs = _read_day(conn, top, below, policy.tz, cmd.day, reasons, cmd.from_raw)
        changes = load_changes(conn, cmd.day, cmd.day)
        # A mode set above the unit reaches it: the units above take part in the inheritance.
        tree = [*ancestors(conn, top.path), *below]
        modes = modes_on({u.id: u.parent_id for u in tree}, changes, cmd.day) if changes else {}
        key_posts = _key_posts(conn, start, end, None if top.parent_id is None else below)
    units, counts, tubes, confirmations = inputs
    rows = roll_up(
        units,
        counts,
        reasons=list(policy.report.excuse_reasons),
        level_names=org.levels,
        grid_level=org.grid_level,
        tubes=tubes,
        confirmations=confirmations,
        top=top.id,
        levels=cmd.levels,
        now=now,
        deadline=confirm_deadline(app, cmd.day),
        modes=modes,
        key_posts=key_posts,
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
    if cmd.day == today:  # its figures are still moving: confirmed now, they would change
        raise UserError(
            "{day} is not over yet; confirm its figures from tomorrow",
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


def day_counts(read: DayRead, reasons: Sequence[str]) -> tuple[list[UnitCounts], TubeFigures]:
    """The roll-up's day as the pure report's input: each unit's own counts, its untested
    filed under the policy's reasons as they are now, and its tubes."""
    known = list(reasons)
    out: list[UnitCounts] = []
    for unit_id in read.heads.keys() | read.figures.keys():
        h = read.heads.get(unit_id, Heads())
        f = read.figures.get(unit_id, DayFigures())
        untested: dict[str, int] = {}
        for code, n in f.untested.items():
            why = reason_of(code, known)
            untested[why] = untested.get(why, 0) + n
        out.append(
            UnitCounts(
                unit_id,
                h.people,
                h.employees,
                h.co_residents,
                h.third_party,
                h.boosted,
                f.required,
                f.tested,
                f.extra,
                f.positive,
                untested,
            )
        )
    tubes = TubeFigures(
        {u: f.pooled for u, f in read.figures.items() if f.pooled},
        {u: f.single for u, f in read.figures.items() if f.single},
        {u: f.pool_positive for u, f in read.figures.items() if f.pool_positive},
    )
    return out, tubes


def raw_day_counts(
    conn: Connection,
    day: date,
    tz: ZoneInfo,
    unit_ids: Collection[int] | None,
    reasons: Sequence[str],
) -> list[UnitCounts]:
    """Each unit's own counts of ``day`` counted from raw rows, bypassing the roll-up (what
    the roll-up must equal; the benchmark's side by side)."""
    read = DayRead(count_days(conn, day, tz, unit_ids), count_heads(conn, unit_ids), 0)
    return day_counts(read, reasons)[0]


def _key_posts(
    conn: Connection, start: datetime, end: datetime, below: list[Unit] | None
) -> dict[int, list[tuple[str, bool]]]:
    """Each unit's key posts (the roles of people marked as holding one) and whether someone
    holding each was tested that day."""
    p, t = PERSON, TEST_RESULT
    tested = (
        select(t.c.person_id)
        .where(t.c.sampled_at >= start, t.c.sampled_at < end)
        .distinct()
        .subquery()
    )
    covered = func.max(case((tested.c.person_id.is_not(None), 1), else_=0))
    query = (
        select(p.c.unit_id, p.c.role, covered)
        .select_from(p.outerjoin(tested, tested.c.person_id == p.c.id))
        .where(p.c.key_post.is_(True), p.c.active.is_(True), p.c.unit_id.is_not(None))
        .group_by(p.c.unit_id, p.c.role)
    )
    if below is not None:
        query = query.where(p.c.unit_id.in_([u.id for u in below]))
    out: dict[int, list[tuple[str, bool]]] = {}
    for unit_id, role, ok in conn.execute(query).all():
        out.setdefault(unit_id, []).append((role or "", bool(ok)))
    return out


def _read_day(
    conn: Connection,
    top: Unit,
    below: list[Unit],
    tz: ZoneInfo,
    day: date,
    reasons: Sequence[str],
    from_raw: bool = False,
) -> tuple[list[UnitIn], list[UnitCounts], TubeFigures, list[ConfirmationIn]]:
    units = [UnitIn(u.id, u.parent_id, u.path, u.name, u.level, u.kind, u.code) for u in below]
    unit_ids = None if top.parent_id is None else [u.id for u in below]
    read = (
        DayRead(count_days(conn, day, tz, unit_ids), count_heads(conn, unit_ids), 0)
        if from_raw
        else read_day(conn, day, tz, unit_ids)
    )
    counts, tubes = day_counts(read, reasons)
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
    return units, counts, tubes, confirmations


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
