"""``testrota rollup rebuild``: count the daily and weekly roll-ups again from raw rows (after
an upgrade, a change of the policy's time zone, testing rules or categories' rates, or to check
it), in one audited transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection
from sqlmodel import Session

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.db.engine import session_scope
from testrota.errors import UserError
from testrota.weeks import IsoWeek, recent_weeks, week_of

if TYPE_CHECKING:
    from testrota.compliance.facts import RateLookup

MAX_DAYS = 3_660  # ten years: a bound on one rebuild's work


@dataclass(frozen=True)
class RebuildRollup:
    actor: Actor
    first: date | None = None  # None: the first day holding an appointment or a sample
    last: date | None = None  # None: the last such day


@dataclass(frozen=True)
class RollupRebuilt:
    first: date | None
    last: date | None
    days: int  # days counted
    rows: int  # (unit, day) rows written
    whole: bool  # every day was counted: readers no longer count from raw rows
    weeks: list[str] = field(default_factory=list)  # ISO weeks the weekly roll-up now holds
    week_rows: int = 0  # (person, week) rows written


def rebuild_rollup(app: App, cmd: RebuildRollup) -> RollupRebuilt:
    """Count every unit's figures of the days asked (default: every day with data) and every
    head-count again from raw rows; audited as ``rollup.rebuilt``."""
    from testrota.org.rollup import UNIT_DAY, clear_marks, days_with_data, rebuild

    if cmd.first and cmd.last and cmd.first > cmd.last:
        raise UserError(
            "--from {first} is after --to {last}",
            first=cmd.first.isoformat(),
            last=cmd.last.isoformat(),
        )
    whole = cmd.first is None and cmd.last is None
    if not whole:
        from testrota.actions.units import ensure_units

        ensure_units(app, cmd.actor)  # people placed in units first: their figures need one
    # A rebuild follows a bulk load or an upgrade, and the units may just have placed every
    # person: on statistics that still say nobody has a unit, PostgreSQL planned a day's count
    # as a nested loop and the rebuild at 300,000 people ran for more than 15 minutes instead
    # of a few seconds a day.
    _analyze(app, "person", "appointment", "testresult")
    tz, now = app.policy.tz, app.now()
    with app.write_lock, session_scope(app.engine) as session:
        conn = session.connection()
        if whole and _place_units(app, session, cmd.actor, now):
            # In this transaction, so the marks placing everyone leaves are cleared by this
            # rebuild, which counts everything they name: placed in a commit of its own, its
            # hook counted every day of every person moved first (most of a rebuild's 6
            # minutes at 300,000 people). ANALYZE in the transaction sees its own updates.
            _analyze_in(conn, "person")
        span = days_with_data(conn, tz)
        first = cmd.first or (span[0] if span else None)
        last = cmd.last or (span[1] if span else None)
        days: list[date] = []
        if first is not None and last is not None and first <= last:
            count = (last - first).days + 1
            if count > MAX_DAYS:
                raise UserError(
                    "{days} days is too many for one rebuild; give at most {limit} "
                    "with --from and --to",
                    days=count,
                    limit=MAX_DAYS,
                )
            days = [first + timedelta(days=i) for i in range(count)]
        if whole:
            conn.execute(UNIT_DAY.delete())  # days without data any more keep no rows
        rows = rebuild(conn, days, tz, now)
        if whole:
            clear_marks(conn)  # everything they name was just counted
        held = weeks_wanted(app)
        week_rows = _count_weeks(app, conn, held)
        record(
            session,
            cmd.actor,
            Action.ROLLUP_REBUILT,
            "unitday",
            at=now,
            details={
                "from": first.isoformat() if first else None,
                "to": last.isoformat() if last else None,
                "days": len(days),
                "rows": rows,
                "whole": whole,
                "weeks": [str(w) for w in held],
                "week_rows": week_rows,
            },
        )
    _analyze(app)
    return RollupRebuilt(first, last, len(days), rows, whole, [str(w) for w in held], week_rows)


@dataclass(frozen=True)
class HoldWeeks:
    actor: Actor


@dataclass(frozen=True)
class WeeksHeld:
    counted: list[str]  # weeks counted now: new to the roll-up, or held under another policy
    rows: int  # (person, week) rows written
    dropped: list[str]  # weeks no longer needed, let go


def hold_weeks(app: App, cmd: HoldWeeks) -> WeeksHeld:
    """Keep the weekly roll-up holding the weeks the dashboard reads (the trend's weeks up to
    this one, and the next): the worker's nightly job. A new week begins every Monday, and a
    change of the testing policy or the categories' rates leaves the weeks held under the old
    fingerprint unread; without this the dashboard would count from raw rows (17 s at 300,000
    people) until someone ran ``rollup rebuild``. Only the weeks missing are counted; weeks
    that fell out of the trend are let go, so the table stays the trend's size."""
    from sqlalchemy import delete, inspect, select

    from testrota.org import weekly

    wanted = weeks_wanted(app)
    with app.write_lock, session_scope(app.engine) as session:
        conn = session.connection()
        if not inspect(conn).has_table(weekly.COVERED.name):
            return WeeksHeld([], 0, [])
        print_ = weekly.fingerprint(app.policy, app.config_dir)
        covered = {w: f for w, f in conn.execute(select(weekly.COVERED))}
        names = {str(w) for w in wanted}
        dropped = sorted(w for w in covered if w not in names)
        for part in (dropped[i : i + 500] for i in range(0, len(dropped), 500)):
            conn.execute(delete(weekly.PW).where(weekly.PW.c.week.in_(part)))
            conn.execute(delete(weekly.COVERED).where(weekly.COVERED.c.week.in_(part)))
        missing = [w for w in wanted if covered.get(str(w)) != print_]
        if missing:
            # this transaction's own upkeep first: marks left by a writer without the hook
            # are counted for the weeks already held before the new weeks are written
            weekly.absorb(conn, app.policy, _rates(app), print_, app.now())
        rows = _count_weeks(app, conn, missing)
        if missing or dropped:
            record(
                session,
                cmd.actor,
                Action.ROLLUP_WEEKS_HELD,
                "personweek",
                at=app.now(),
                details={"counted": [str(w) for w in missing], "rows": rows, "dropped": dropped},
            )
    if missing:
        _analyze(app)
    return WeeksHeld([str(w) for w in missing], rows, dropped)


def weeks_wanted(app: App) -> list[IsoWeek]:
    """The weeks the dashboard reads: the trend's weeks up to this one, and the next (planned
    already)."""
    this_week = week_of(app.now(), app.policy.tz)
    return recent_weeks(this_week.shifted(1), app.policy.testing.trend_weeks + 1)


def _rates(app: App) -> RateLookup:
    from testrota.compliance.facts import rate_lookup

    return rate_lookup(app.config_dir, app.policy)


def _count_weeks(app: App, conn: Connection, weeks: list[IsoWeek]) -> int:
    """Count ``weeks`` whole for everyone under today's policy, and hold them."""
    if not weeks:
        return 0
    from testrota.org import weekly

    print_ = weekly.fingerprint(app.policy, app.config_dir)
    return weekly.rebuild(conn, weeks, app.policy, _rates(app), print_, app.now())


def _place_units(app: App, session: Session, actor: Actor, now: datetime) -> bool:
    """``ensure_units`` in the caller's transaction; whether anyone was placed."""
    from testrota.actions.units import place_units_in
    from testrota.org.units import needs_sync

    if not needs_sync(session.connection()):
        return False
    place_units_in(app, session, actor, now)
    return True


def _analyze_in(conn: Connection, *tables: str) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy import text

        for table in tables:
            conn.execute(text(f"ANALYZE {table}"))


def _analyze(app: App, *tables: str) -> None:
    """Fresh planner statistics for ``tables`` (default: the weekly roll-up just written:
    without them a supervisor's sum scans every held week, 0.4 s at 300,000 people, instead of
    their units' rows, 20 ms)."""
    if app.engine.dialect.name == "postgresql":
        from sqlalchemy import text

        with app.engine.connect() as conn:
            for table in tables or ("personweek",):
                conn.execute(text(f"ANALYZE {table}"))
            conn.commit()


@dataclass(frozen=True)
class LetPartsGo:
    actor: Actor


@dataclass(frozen=True)
class PartsLetGo:
    before: date  # the parts of days before this one were let go
    parts: int


def let_parts_go(app: App, cmd: LetPartsGo) -> PartsLetGo:
    """Let go of the people's parts of the days before the last ``PARTS_KEPT_DAYS``, which
    only a late change would use (it then counts its unit's day whole): the worker's nightly
    job, so the table holds a fortnight of check-ins, not every day since the start."""
    from testrota.org import rollup
    from testrota.weeks import local_date

    before = local_date(app.now(), app.policy.tz) - timedelta(days=rollup.PARTS_KEPT_DAYS)
    with app.write_lock, session_scope(app.engine) as session:
        parts = rollup.let_parts_go(session.connection(), before)
    return PartsLetGo(before, parts)
