"""The daily roll-up kept current: each unit's own figures per local day (``unitday``) and its
head-count (``unitheads``), counted again for exactly the keys a transaction touched, before it
commits, with the same grouped SQL the report used to run over everyone.

How a change reaches it:

1. database triggers (migration ``0009_rollup``) mark each changed appointment, sample, tube
   membership, tube result and person in ``rollupdirty``, in the changing transaction (a row
   per changed row; PostgreSQL's bulk inserts and deletes a row per unit and quarter hour of
   the statement, which is on the same local day in every zone in use), so no writer (a use
   case, a bulk COPY, the planner's Core connection) can forget one;
2. :func:`attach` hooks the primary engine's commit: :func:`absorb` turns those rows into
   (unit, local day) keys, counts the keys again from raw rows, writes them and deletes the
   rows, all before the transaction's own COMMIT; a failure rolls the whole change back.
   A key only a few people's own rows changed (a check-in, a result, an excuse) is not
   counted again when its people's parts of the day are kept (``personday``, and the
   unit-day row's ``people_known``): the figures move by what those people's parts changed
   (:func:`move_by_parts`), so the work grows with the change, not with the unit. Counting a
   key whole keeps its people's parts; counting whole days (a plan, an import) drops them;
3. a reader (:func:`read_day`) reads the roll-up and counts from raw rows any key still marked
   (a write through an engine without the hook, or the "count everything" mark an upgraded
   database carries until ``testrota rollup rebuild``), so what it shows is always right.

On PostgreSQL two transactions may touch the same key: each takes a transaction-scoped advisory
lock per key (a large change one per day) before it counts, so the second counts (or moves
the figures and its people's parts) after the first has committed, and sees its rows (READ
COMMITTED: each statement sees what was committed before it began). Locks are taken in one
order (days, then keys), so two writers cannot wait on each other. SQLite has one writer at a
time.

Days are local to the policy's time zone; changing the zone needs a rebuild.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BindParameter,
    Connection,
    Engine,
    RowMapping,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    null,
    or_,
    select,
    text,
    union,
    union_all,
    update,
)

from testrota.db import tables
from testrota.db.bulk import bulk_insert, delete_ids
from testrota.db.id_filter import one_of
from testrota.db.locks import take_locks
from testrota.db.statistics import planner_settings
from testrota.org.daily import CHECKIN_SOURCE, LAB_SOURCE
from testrota.weeks import day_bounds, local_date

PERSON, APPOINTMENT, TEST_RESULT = tables.PERSON, tables.APPOINTMENT, tables.TEST_RESULT
UNIT_DAY, UNIT_HEADS, DIRTY = tables.UNIT_DAY, tables.UNIT_HEADS, tables.ROLLUP_DIRTY
PERSON_DAY = tables.PERSON_DAY
CHUNK = 2_000  # ids in one IN (...): well under SQLite's limit on bound parameters
# Above this many keys a transaction locks and counts whole days (a plan, an import): fewer
# advisory locks than PostgreSQL's lock table holds, and one grouped query a day.
MANY_KEYS = 400
# Above this many people moved (or left, came back, changed type) in one transaction, the hook
# counts every day holding a row whole rather than looking up each person's days.
MANY_PEOPLE = 20_000
# Whole days counted by one statement: a plan's commit touches 8. Each row's day is found by a
# CASE with a branch a day, so a rebuild of a year goes a week or so at a time.
DAYS_A_STATEMENT = 8
FEW_UNITS = 50  # units whose people are looked up first, so each person's index finds the day
KEEP_PARTS = 8  # keys counted whole by one transaction that keep their people's parts
# Parts of days this long ago are let go by the nightly job: a late result or excuse of an
# older day counts its unit's day whole, as every change did before parts were kept.
PARTS_KEPT_DAYS = 14
# Advisory lock keys: one namespace byte above a unit id and a day, so they meet no other lock.
_KEY_NS, _DAY_NS, _HEADS_NS, _ALL_HEADS = 0x52, 0x53, 0x54, 0x55

Key = tuple[int, date]  # (unit id, local day)
T = TypeVar("T")


@dataclass
class DayFigures:
    """A unit's own figures of one day (the roll-up's row)."""

    required: int = 0
    tested: int = 0
    extra: int = 0
    positive: int = 0
    pooled: int = 0
    single: int = 0
    pool_positive: int = 0
    untested: dict[str, int] = field(default_factory=dict)  # by stored excuse code, "" none

    def is_empty(self) -> bool:
        return not any(
            (
                self.required,
                self.tested,
                self.extra,
                self.positive,
                self.pooled,
                self.single,
                self.pool_positive,
            )
        )

    def add_people(
        self, code: str | None, n: Any, required: Any, tested: Any, extra: Any, positive: Any
    ) -> None:
        """Add one group of the people count's rows (``n`` people untested for ``code``)."""
        self.required += int(required or 0)
        self.tested += int(tested or 0)
        self.extra += int(extra or 0)
        self.positive += int(positive or 0)
        if code is not None:
            self.untested[code] = self.untested.get(code, 0) + int(n)

    def add(self, part: PersonPart, active: bool, sign: int = 1) -> None:
        """Add (``sign`` -1: take away) one person's part of the day. An inactive person's
        samples still count in the tube figures, not in the people's."""
        if active:
            sampled = part.samples > 0
            self.required += sign * part.due
            self.tested += sign * (part.due and sampled)
            self.extra += sign * (not part.due and sampled)
            self.positive += sign * part.positive
            if part.due and not sampled:
                n = self.untested.get(part.code, 0) + sign
                if n:
                    self.untested[part.code] = n
                else:
                    del self.untested[part.code]
        self.pooled += sign * part.pooled
        self.single += sign * (part.samples - part.pooled)
        self.pool_positive += sign * part.pool_positive


@dataclass(frozen=True)
class PersonPart:
    """One person's own part of a local day (a ``personday`` row): what they add to their
    unit's :class:`DayFigures`."""

    due: bool = False  # an appointment of the day not cancelled
    code: str = ""  # the smallest of those appointments' excuse codes ("" one not excused)
    positive: bool = False
    samples: int = 0  # each swab once per tube it went into (a check-in and its lab result one)
    pooled: int = 0  # of them, in a pooled tube
    pool_positive: bool = False  # a pooled tube of theirs that day came back positive

    def is_empty(self) -> bool:
        return not (self.due or self.samples)


@dataclass(frozen=True)
class Heads:
    people: int = 0
    employees: int = 0
    co_residents: int = 0
    third_party: int = 0
    boosted: int = 0


@dataclass
class Pending:
    """What the marked changes ask to be counted again."""

    keys: set[Key] = field(default_factory=set)
    # Of those keys: the people whose own rows changed them, and the keys that must be counted
    # whole (a bulk statement's mark names no person; a person moved, left or came back)
    people: dict[Key, set[int]] = field(default_factory=lambda: defaultdict(set))
    whole_keys: set[Key] = field(default_factory=set)
    heads: set[int] = field(default_factory=set)  # units whose head-count may have changed
    ids: list[int] = field(default_factory=list)  # the marks read, but "count everything"
    everything: bool = False  # an upgraded database not rebuilt yet
    # Days to count whole, for every unit: most of the roster moved (only for the hook, see
    # :func:`pending`'s ``many_people``)
    days: set[date] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.keys or self.heads or self.ids or self.days)


# --- counting from raw rows ----------------------------------------------------------------


def _n(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def count_days(
    conn: Connection, day: date, tz: ZoneInfo, unit_ids: Collection[int] | None
) -> dict[int, DayFigures]:
    """Each unit's own figures of ``day`` from raw rows (``unit_ids`` None: every unit), the
    daily report's definitions (:func:`testrota.org.daily.classify`) asked of the database:
    each person's part (:func:`day_parts`' statement) added up by their unit in SQL, as
    :meth:`DayFigures.add` adds one. Reading a row a person instead cost 5 to 300 times the
    CPU for 10 to 125 units of 800 (a flagging run's keys, a reader's stale ones)."""
    start, end = day_bounds(day, tz)
    out: dict[int, DayFigures] = {}
    for units, few in _unit_parts(conn, unit_ids):
        query = _figures_query(conn.dialect.name, few is not None, units is not None)
        params = {"start": start, "end": end, "units": units, "people": few}
        for unit_id, code, n, required, tested, extra, positive, *tubes in conn.execute(
            query, params
        ):
            f = out.setdefault(unit_id, DayFigures())
            f.add_people(code, n, required, tested, extra, positive)
            pooled, samples, pool_positive = (int(v or 0) for v in tubes)
            f.pooled += pooled
            f.single += samples - pooled
            f.pool_positive += pool_positive
    return out


@cache
def _figures_query(dialect: str, by_people: bool, by_units: bool) -> Select[Any]:
    """:func:`count_days`' statement: :func:`_parts_query` summed by unit and untested code."""
    parts = _parts_query(dialect, by_people, by_units).subquery()
    active, due = parts.c.active.is_(True), parts.c.code.is_not(None)
    sampled = parts.c.samples > 0
    untested_code = case((and_(active, due, parts.c.samples == 0), parts.c.code), else_=None)
    return select(
        parts.c.unit_id,
        untested_code,
        func.count(),
        _n(and_(active, due)),
        _n(and_(active, due, sampled)),
        _n(and_(active, parts.c.code.is_(None), sampled)),
        _n(and_(active, parts.c.positive == 1)),
        func.sum(parts.c.pooled),
        func.sum(parts.c.samples),
        func.sum(parts.c.in_pool),
    ).group_by(parts.c.unit_id, untested_code)


def _unit_parts(
    conn: Connection, unit_ids: Collection[int] | None
) -> Iterator[tuple[list[int] | None, list[int] | None]]:
    """The (units, their people when few) to ask for in turn: a few units' people by id, so
    each person's index finds the day whatever the planner thinks of it."""
    parts: Iterable[list[int] | None] = (
        [None] if unit_ids is None else _chunked(sorted(unit_ids), CHUNK)
    )
    for units in parts:
        few = _people_of(conn, units) if units is not None and len(units) <= FEW_UNITS else None
        yield units, few


def day_parts(
    conn: Connection,
    day: date,
    tz: ZoneInfo,
    unit_ids: Collection[int] | None = None,
) -> dict[int, tuple[int, bool, PersonPart]]:
    """Each person's part of ``day`` from raw rows, with their unit and whether they are
    active, for the people of ``unit_ids`` (None: everyone in a unit). A person with nothing
    that day has no entry."""
    start, end = day_bounds(day, tz)
    out: dict[int, tuple[int, bool, PersonPart]] = {}
    for units, few in _unit_parts(conn, unit_ids):
        _read_parts(conn, start, end, units, few, out)
    return out


def _people_of(conn: Connection, unit_ids: list[int]) -> list[int] | None:
    """The people of a few units (a check-in's grid unit), when not too many."""
    p = PERSON
    ids = [r[0] for r in conn.execute(select(p.c.id).where(p.c.unit_id.in_(unit_ids)))]
    return ids if len(ids) <= CHUNK else None


def _read_parts(
    conn: Connection,
    start: datetime,
    end: datetime,
    unit_ids: list[int] | None,
    people: list[int] | None,
    out: dict[int, tuple[int, bool, PersonPart]],
) -> None:
    query = _parts_query(conn.dialect.name, people is not None, unit_ids is not None)
    params: dict[str, Any] = {"start": start, "end": end, "units": unit_ids, "people": people}
    for person_id, unit_id, active, code, positive, samples, pooled, in_pool in conn.execute(
        query, params
    ):
        out[person_id] = (unit_id, bool(active), _part(code, positive, samples, pooled, in_pool))


def _part(code: Any, positive: Any, samples: Any, pooled: Any, in_pool: Any) -> PersonPart:
    """A part from the counting query's columns (``code`` None: nothing due that day)."""
    return PersonPart(
        due=code is not None,
        code=code or "",
        positive=bool(positive),
        samples=int(samples or 0),
        pooled=int(pooled or 0),
        pool_positive=bool(in_pool),
    )


def _bounds() -> tuple[BindParameter[datetime], BindParameter[datetime]]:
    """A day's ``:start`` and ``:end``, typed by the columns they are compared with."""
    return bindparam("start"), bindparam("end")


def _pool_columns(person_id: Any) -> tuple[Any, Any]:
    """The tube counts' shared columns: how many samples went into a pooled tube (ratio above
    1), and each sample's person when that pooled tube came back positive (else NULL)."""
    tube = tables.TUBE
    pooled = func.coalesce(func.sum(case((tube.c.ratio > 1, 1), else_=0)), 0)
    in_positive_pool = case(
        (and_(tube.c.ratio > 1, tube.c.result == "positive"), person_id), else_=None
    )
    return pooled, in_positive_pool


def _swabs(source: Any) -> Any:
    """A person's samples of a day, one per swab (grouped by person and day, over their rows
    joined to the tubes they went into): each row once per tube, less the ``lab`` results
    that are the second row of a check-in's swab, paired one to one within the day (see
    :func:`testrota.org.daily.tube_counts`). Counted, not matched: no row is compared with
    another, so the statement stays one pass over the day's rows, however many there are."""
    checkins = func.sum(case((source == CHECKIN_SOURCE, 1), else_=0))
    labs = func.sum(case((source == LAB_SOURCE, 1), else_=0))
    return func.count() - case((checkins < labs, checkins), else_=labs)


def _due_and_sampled(dialect: str, by_people: bool, by_units: bool) -> tuple[Any, Any]:
    """The day's (``:start``, ``:end``) subqueries of a part: each person's smallest excuse
    code of their due appointments, and their samples' counts (of ``:people`` or of the
    people of ``:units`` when asked)."""
    a, t, p, member, tube = APPOINTMENT, TEST_RESULT, PERSON, tables.TUBE_MEMBER, tables.TUBE
    start, end = _bounds()
    code_of = case((a.c.status == "excused", func.coalesce(a.c.excused_code, "other")), else_="")
    due = select(a.c.person_id, func.min(code_of).label("code")).where(
        a.c.starts_at >= start, a.c.starts_at < end, a.c.status != "cancelled"
    )
    pooled, in_positive_pool = _pool_columns(t.c.person_id)
    # each swab once per tube it went into, as the tube counts always counted them
    sampled = (
        select(
            t.c.person_id,
            func.max(case((t.c.result == "positive", 1), else_=0)).label("positive"),
            _swabs(t.c.source).label("samples"),
            pooled.label("pooled"),
            func.count(in_positive_pool.distinct()).label("in_pool"),
        )
        .select_from(
            t.outerjoin(member, member.c.result_id == t.c.id).outerjoin(
                tube, tube.c.id == member.c.tube_id
            )
        )
        .where(t.c.sampled_at >= start, t.c.sampled_at < end)
    )
    if by_people:
        due = due.where(one_of(a.c.person_id, "people", dialect))
        sampled = sampled.where(one_of(t.c.person_id, "people", dialect))
    elif by_units:
        mine = select(p.c.id).where(one_of(p.c.unit_id, "units", dialect))
        due = due.where(a.c.person_id.in_(mine))
        sampled = sampled.where(t.c.person_id.in_(mine))
    return due.group_by(a.c.person_id).subquery(), sampled.group_by(t.c.person_id).subquery()


def _part_columns(d: Any, s: Any) -> tuple[Any, ...]:
    """A part's columns of :func:`_due_and_sampled`'s subqueries, in :func:`_part`'s order."""
    return (
        d.c.code,
        *(func.coalesce(c, 0).label(c.name) for c in (s.c.positive, s.c.samples)),
        *(func.coalesce(c, 0).label(c.name) for c in (s.c.pooled, s.c.in_pool)),
    )


@cache
def _parts_query(dialect: str, by_people: bool, by_units: bool) -> Select[Any]:
    """Each person's part of a day (``:start``, ``:end``), of ``:people`` and/or ``:units``.
    Built once a shape and bound at each run: building it anew at each check-in cost more CPU
    than PostgreSQL spent running it."""
    p = PERSON
    d, s = _due_and_sampled(dialect, by_people, by_units)
    # Only people due or sampled that day are looked at, not the whole roster.
    anyone = union(select(d.c.person_id), select(s.c.person_id)).subquery()
    query = (
        select(p.c.id, p.c.unit_id, p.c.active, *_part_columns(d, s))
        .select_from(
            anyone.join(p, p.c.id == anyone.c.person_id)
            .outerjoin(d, d.c.person_id == p.c.id)
            .outerjoin(s, s.c.person_id == p.c.id)
        )
        .where(p.c.unit_id.is_not(None))
    )
    return query.where(one_of(p.c.unit_id, "units", dialect)) if by_units else query


@cache
def _moved_query(dialect: str) -> Select[Any]:
    """Each of ``:people``: their unit, whether they are active, whether they have a part of
    the day (``:start``, ``:end``) now and what it is, and the part kept of ``:day`` (NULLs
    when none is): what :func:`move_by_parts` reads, in one statement."""
    p, kept = PERSON, PERSON_DAY
    d, s = _due_and_sampled(dialect, True, False)
    now = or_(d.c.person_id.is_not(None), s.c.person_id.is_not(None))
    return (
        select(
            p.c.id,
            p.c.unit_id,
            p.c.active,
            now,
            *_part_columns(d, s),
            *(kept.c[name] for name in _PART_FIELDS),
        )
        .select_from(
            p.outerjoin(d, d.c.person_id == p.c.id)
            .outerjoin(s, s.c.person_id == p.c.id)
            .outerjoin(kept, and_(kept.c.person_id == p.c.id, kept.c.day == bindparam("day")))
        )
        .where(one_of(p.c.id, "people", dialect))
    )


_PART_FIELDS = ("due", "code", "positive", "samples", "pooled", "pool_positive")  # PersonPart's


def count_whole_days(
    conn: Connection, days: Collection[date], tz: ZoneInfo
) -> dict[date, dict[int, DayFigures]]:
    """Every unit's own figures of each of ``days``, as :func:`count_days` counts one day for
    every unit, but in one pass over the rows of up to :data:`DAYS_A_STATEMENT` consecutive
    days: each appointment and sample is placed on its local day by the days' UTC bounds
    (:func:`testrota.weeks.day_bounds`, so a day of 23 or 25 hours is counted as the report
    counts it), and each person's events of a day are summed once before the one join to
    person. A plan's commit (8 days) and a rebuild count this way; counting day by day read
    the person table once a day and joined each day's due and sampled people to it twice."""
    out: dict[date, dict[int, DayFigures]] = {day: {} for day in days}
    with _whole_day_plans(conn):
        for run in _runs(sorted(out)):
            for i in range(0, len(run), DAYS_A_STATEMENT):
                part = run[i : i + DAYS_A_STATEMENT]
                bounds = [day_bounds(day, tz) for day in part]
                _count_people_days(conn, part, bounds, out)
                _count_tubes_days(conn, part, bounds, out)
    return out


# While whole days are counted on PostgreSQL: no nested loops, and room to aggregate in memory.
_WHOLE_DAY_SETTINGS = {"enable_nestloop": "off", "work_mem": "64MB"}


def _whole_day_plans(conn: Connection) -> AbstractContextManager[None]:
    """In a plan's commit the day's rows were written by this very transaction, and the
    statistics do not know them: PostgreSQL estimated a few hundred rows for 600,000 and
    joined each to person through its index, 200,000 look-ups a day at 100,000 people (1.6 s
    instead of 0.4 s), and its hash aggregates spilled to disk at the default 4 MB. A whole
    day's count is always every row of the day, so hash joins are right whatever the
    statistics say."""
    return planner_settings(conn, _WHOLE_DAY_SETTINGS)


def _runs(days: list[date]) -> Iterator[list[date]]:
    """Sorted days in runs of consecutive days: each run is one range of rows."""
    run: list[date] = []
    for day in days:
        if run and (day - run[-1]).days != 1:
            yield run
            run = []
        run.append(day)
    if run:
        yield run


def _day_of(at: Any, days: list[date], bounds: list[tuple[datetime, datetime]]) -> Any:
    """The ordinal of the local day holding ``at`` (a row already within the days' range)."""
    return case(
        *((at < end, day.toordinal()) for day, (_, end) in zip(days, bounds, strict=True)),
        else_=None,
    )


def _count_people_days(
    conn: Connection,
    days: list[date],
    bounds: list[tuple[datetime, datetime]],
    out: dict[date, dict[int, DayFigures]],
) -> None:
    a, t, p = APPOINTMENT, TEST_RESULT, PERSON
    start, end = bounds[0][0], bounds[-1][1]
    code_of = case((a.c.status == "excused", func.coalesce(a.c.excused_code, "other")), else_="")
    # One row per appointment or sample: "due" with its excuse code ("" when not excused; the
    # smallest of a day's codes is the person's, as in count_days), or "sampled".
    events = union_all(
        select(
            a.c.person_id.label("person_id"),
            _day_of(a.c.starts_at, days, bounds).label("day"),
            code_of.label("code"),
            literal(1).label("due"),
            literal(0).label("sampled"),
            literal(0).label("positive"),
        ).where(a.c.starts_at >= start, a.c.starts_at < end, a.c.status != "cancelled"),
        select(
            t.c.person_id,
            _day_of(t.c.sampled_at, days, bounds),
            cast(null(), String),
            literal(0),
            literal(1),
            case((t.c.result == "positive", 1), else_=0),
        ).where(t.c.sampled_at >= start, t.c.sampled_at < end),
    ).subquery()
    per = (
        select(
            events.c.person_id,
            events.c.day,
            func.min(events.c.code).label("code"),
            func.max(events.c.due).label("due"),
            func.max(events.c.sampled).label("sampled"),
            func.max(events.c.positive).label("positive"),
        )
        .group_by(events.c.person_id, events.c.day)
        .subquery()
    )
    is_due, was_sampled = per.c.due == 1, per.c.sampled == 1
    untested_code = case((and_(is_due, per.c.sampled == 0), per.c.code), else_=None)
    query = (
        select(
            p.c.unit_id,
            per.c.day,
            untested_code.label("code"),
            func.count(),
            func.sum(per.c.due),
            _n(and_(is_due, was_sampled)),
            _n(and_(per.c.due == 0, was_sampled)),
            func.sum(per.c.positive),
        )
        .select_from(per.join(p, p.c.id == per.c.person_id))
        .where(p.c.active.is_(True), p.c.unit_id.is_not(None))
        .group_by(p.c.unit_id, per.c.day, untested_code)
    )
    for unit_id, ordinal, *figures in conn.execute(query):
        out[date.fromordinal(ordinal)].setdefault(unit_id, DayFigures()).add_people(*figures)


def _count_tubes_days(
    conn: Connection,
    days: list[date],
    bounds: list[tuple[datetime, datetime]],
    out: dict[date, dict[int, DayFigures]],
) -> None:
    """The tube figures of every unit, by local day: each person's swabs of a day counted
    first (:func:`_swabs` pairs a check-in with its lab result within the person's day), then
    summed by unit, as :func:`_due_and_sampled` counts one day's."""
    t, p, member, tube = TEST_RESULT, PERSON, tables.TUBE_MEMBER, tables.TUBE
    start, end = bounds[0][0], bounds[-1][1]
    samples = (
        select(
            t.c.id, t.c.person_id, t.c.source, _day_of(t.c.sampled_at, days, bounds).label("day")
        )
        .where(t.c.sampled_at >= start, t.c.sampled_at < end)
        .subquery()
    )
    pooled, in_positive_pool = _pool_columns(samples.c.person_id)
    per = (
        select(
            samples.c.person_id,
            samples.c.day,
            pooled.label("pooled"),
            _swabs(samples.c.source).label("samples"),
            func.max(case((in_positive_pool.is_not(None), 1), else_=0)).label("in_pool"),
        )
        .select_from(
            samples.outerjoin(member, member.c.result_id == samples.c.id).outerjoin(
                tube, tube.c.id == member.c.tube_id
            )
        )
        .group_by(samples.c.person_id, samples.c.day)
        .subquery()
    )
    query = (
        select(
            p.c.unit_id,
            per.c.day,
            func.sum(per.c.pooled),
            func.sum(per.c.samples),
            func.sum(per.c.in_pool),
        )
        .select_from(per.join(p, p.c.id == per.c.person_id))
        .where(p.c.unit_id.is_not(None))
        .group_by(p.c.unit_id, per.c.day)
    )
    for unit_id, ordinal, n_pooled, n_samples, positive in conn.execute(query):
        f = out[date.fromordinal(ordinal)].setdefault(unit_id, DayFigures())
        f.pooled += int(n_pooled)
        f.single += int(n_samples) - int(n_pooled)
        f.pool_positive += int(positive)


def count_heads(conn: Connection, unit_ids: Collection[int] | None) -> dict[int, Heads]:
    """Each unit's own active people by type, and the boosted, from the person rows."""
    p = PERSON
    out: dict[int, Heads] = {}
    parts: Iterable[list[int] | None] = (
        [None] if unit_ids is None else _chunked(sorted(unit_ids), CHUNK)
    )
    for part in parts:
        query = (
            select(
                p.c.unit_id,
                func.count(),
                _n(p.c.person_type == "employee"),
                _n(p.c.person_type == "co_resident"),
                _n(p.c.person_type == "third_party"),
                _n(p.c.booster.is_(True)),
            )
            .where(p.c.active.is_(True), p.c.unit_id.is_not(None))
            .group_by(p.c.unit_id)
        )
        if part is not None:
            query = query.where(p.c.unit_id.in_(part))
        for unit_id, people, emp, co, third, boosted in conn.execute(query):
            out[unit_id] = Heads(
                int(people), int(emp or 0), int(co or 0), int(third or 0), int(boosted or 0)
            )
    return out


# --- what is marked -------------------------------------------------------------------------


def read_marks(conn: Connection) -> Sequence[Any]:
    """Every mark: (id, unit_id, person_id, at, whole_person), the driver's values (a
    results sheet's 300,000 marks, each through SQLAlchemy's types, cost seconds). Read once
    a commit: both roll-ups count from them."""
    return conn.exec_driver_sql(f'SELECT {_MARK_COLUMNS} FROM "{DIRTY.name}"').all()


_MARK_COLUMNS = 'id, unit_id, person_id, "at", whole_person'  # as read_all_marks reads them


@dataclass(frozen=True)
class Marks:
    """Both roll-ups' marks, read in one statement by the commit hook."""

    daily: Sequence[Any]  # as :func:`read_marks` reads them
    weekly: Sequence[tuple[int, int]]  # weeklydirty's (id, person_id)
    taken: bool = False  # deleted as they were read (:func:`take_all_marks`)
    # weekcovered's (week, fingerprint), read with them (None: not read)
    held: Sequence[tuple[str, str]] | None = None


def read_all_marks(conn: Connection) -> Marks:
    """Every mark of both roll-ups: a commit with none (a scan's receipt, a sign-in) then
    costs one statement, not one a table and the weekly roll-up's look at the weeks held."""
    weekly_name = tables.WEEKLY_DIRTY.name
    rows = conn.exec_driver_sql(
        f'SELECT 0, {_MARK_COLUMNS} FROM "{DIRTY.name}" '
        f'UNION ALL SELECT 1, id, NULL, person_id, NULL, NULL FROM "{weekly_name}"'
    ).all()
    return Marks(
        [tuple(r[1:]) for r in rows if r[0] == 0],
        [(r[1], r[3]) for r in rows if r[0] == 1],
    )


# A "count everything" mark names neither a unit nor a person: it stays for a rebuild.
_COUNTED = "unit_id IS NOT NULL OR person_id IS NOT NULL"


def take_all_marks(conn: Connection, *, weekly: bool) -> Marks:
    """The commit hook's marks (``weekly``: the weekly roll-up's too).

    On PostgreSQL they are deleted as they are read: a check-in's commit sends one statement
    for what was a read and a delete. A mark another transaction is deleting (one left over by
    a writer without the hook) is skipped, not waited for: that transaction counts it, and
    waiting could close a cycle with the advisory locks it goes on to take (a rebuild takes
    its days' locks first)."""
    if conn.dialect.name != "postgresql":
        # one writer at a time: read in one statement, deleted once counted
        return read_all_marks(conn) if weekly else Marks(read_marks(conn), [])
    daily_sql = (
        f'DELETE FROM "{DIRTY.name}" WHERE id IN (SELECT id FROM "{DIRTY.name}" '
        f"WHERE {_COUNTED} FOR UPDATE SKIP LOCKED) RETURNING {_MARK_COLUMNS}"
    )
    if not weekly:
        rows = conn.exec_driver_sql(daily_sql).all()
        return Marks([tuple(r) for r in rows], [], taken=True)
    weekly_name, covered = tables.WEEKLY_DIRTY.name, tables.WEEK_COVERED.name
    # ... and the weeks the weekly roll-up holds, which it reads next: one round trip
    rows = conn.exec_driver_sql(
        f"WITH d AS ({daily_sql}), "
        f'w AS (DELETE FROM "{weekly_name}" WHERE id IN (SELECT id FROM "{weekly_name}" '
        "FOR UPDATE SKIP LOCKED) RETURNING id, person_id) "
        f"SELECT 0, {_MARK_COLUMNS}, NULL, NULL FROM d "
        "UNION ALL SELECT 1, id, NULL, person_id, NULL, NULL, NULL, NULL FROM w "
        f'UNION ALL SELECT 2, NULL, NULL, NULL, NULL, NULL, week, fingerprint FROM "{covered}"'
    ).all()
    return Marks(
        [tuple(r[1:6]) for r in rows if r[0] == 0],
        [(r[1], r[3]) for r in rows if r[0] == 1],
        taken=True,
        held=[(r[6], r[7]) for r in rows if r[0] == 2],
    )


def pending(
    conn: Connection,
    tz: ZoneInfo,
    many_people: int | None = None,
    marks: Sequence[Any] | None = None,
) -> Pending:
    """The keys and units the marked changes ask to be counted again (reads only).

    ``many_people``: above this many people moved, left, came back or changed type, every day
    from the first to the last holding a row is to be counted whole (``days``) instead of
    looking up each person's days (the hook's choice; a reader keeps exact keys). ``marks``:
    :func:`read_marks`' rows when read already."""
    out = Pending()
    whole: dict[int, set[int]] = defaultdict(set)  # person -> their units then and now
    # each distinct time placed on its day once: a results sheet's 300,000 marks share a few
    # thousand sampling times
    day_of: dict[Any, date] = {}
    for mark_id, unit_id, person_id, at, whole_person in (
        read_marks(conn) if marks is None else marks
    ):
        if unit_id is None and person_id is None:
            out.everything = True
            continue
        out.ids.append(mark_id)
        if unit_id is None:
            continue  # someone outside the tree: no unit's figures change
        elif whole_person:
            out.heads.add(unit_id)
            if person_id is not None:
                whole[person_id].add(unit_id)
        elif at is not None:
            day = day_of.get(at)
            if day is None:
                day = day_of[at] = local_date(_aware(at), tz)
            out.keys.add((unit_id, day))
            if person_id is None:
                out.whole_keys.add((unit_id, day))
            else:
                out.people[(unit_id, day)].add(person_id)
    if whole and many_people is not None and len(whole) > many_people:
        # Placing a roster in units, a reorganisation: looking up each person's days read
        # every appointment and sample through the person index and placed each on its day
        # in Python (most of three minutes at 300,000 people), to name nearly every day.
        span = days_with_data(conn, tz)
        if span is not None:
            first, last = span
            out.days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    elif whole:
        # A person who moved, left, came back or changed type: every day they have an
        # appointment or a sample is a day of the units they were and are in.
        for day_of_person in _days_of(conn, sorted(whole), tz):
            person_id, day = day_of_person
            for unit_id in whole[person_id]:
                out.keys.add((unit_id, day))
                out.whole_keys.add((unit_id, day))
    # a key a moved person's own row also changed is counted whole too: their part is the
    # same, but it now adds up in another unit
    out.whole_keys.update(k for k, people in out.people.items() if not people.isdisjoint(whole))
    return out


def _days_of(conn: Connection, person_ids: list[int], tz: ZoneInfo) -> Iterator[tuple[int, date]]:
    a, t = APPOINTMENT, TEST_RESULT
    # One statement, its id list bound at each run: building ``in_(part)`` anew coerces every
    # id of a roster's 300,000 people as a literal.
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    query = union(
        select(a.c.person_id, a.c.starts_at.label("at")).where(a.c.person_id.in_(ids)),
        select(t.c.person_id, t.c.sampled_at.label("at")).where(t.c.person_id.in_(ids)),
    )
    # ... and the days they still have a part of: one kept while they were outside the tree,
    # where nobody's figures move, is stale, and their new unit's count writes it again
    kept = select(PERSON_DAY.c.person_id, PERSON_DAY.c.day).where(PERSON_DAY.c.person_id.in_(ids))
    for part in _chunked(person_ids, CHUNK):
        seen: set[tuple[int, date]] = set()
        for person_id, at in conn.execute(query, {"ids": part}):
            # UNION's columns lose the UTC type on SQLite: read them back through it
            key = (person_id, local_date(_aware(at), tz))
            if key not in seen:
                seen.add(key)
                yield key
        for person_id, day in conn.execute(kept, {"ids": part}):
            if (person_id, day) not in seen:
                seen.add((person_id, day))
                yield person_id, day


def _aware(at: Any) -> datetime:
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    assert isinstance(at, datetime)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


# --- writing ----------------------------------------------------------------------------------


def absorb(
    conn: Connection,
    tz: ZoneInfo,
    now: datetime,
    marks: Sequence[Any] | None = None,
    *,
    taken: bool = False,
) -> Pending:
    """Count again what this transaction (and any left over) marked, write it and clear the
    marks: called before COMMIT by the hook; a "count everything" mark is left for a rebuild
    (a check-in must not recount a year). ``marks``: as :func:`pending` takes them;
    ``taken``: they are deleted already."""
    todo = pending(conn, tz, MANY_PEOPLE, marks)
    if not todo:
        return todo
    _lock(conn, todo)
    if todo.keys or todo.heads or todo.days:
        # Counted after the lock: a key another transaction was counting is seen committed.
        keys = todo.keys
        if len(keys) <= MANY_KEYS:
            keys = keys - move_by_parts(conn, todo, tz, now)
        write(conn, keys, todo.heads, tz, now, todo.days)
    if not taken:
        delete_ids(conn, DIRTY, todo.ids)
    return todo


def move_by_parts(conn: Connection, todo: Pending, tz: ZoneInfo, now: datetime) -> set[Key]:
    """Move the figures of each key whose change came from a few people's own rows by what
    their parts of the day changed, where the key's people's parts are all kept
    (``people_known``); returns the keys so moved. The work grows with the people changed,
    not with the unit: a check-in in a unit of 800 no longer reads 800 people's day. The
    caller holds each key's lock, which every writer of those people's parts takes too."""
    asked = {
        key: people
        for key, people in todo.people.items()
        if key not in todo.whole_keys and key[1] not in todo.days
    }
    known = _known_figures(conn, asked)
    by_day: dict[date, dict[int, set[int]]] = defaultdict(dict)
    for unit_id, day in known:
        by_day[day][unit_id] = asked[(unit_id, day)]
    moved: set[Key] = set()
    for day, units in sorted(by_day.items()):
        people: set[int] = set().union(*units.values())
        new, old = _parts_now_and_kept(conn, day, tz, people)
        for unit_id, of_unit in units.items():
            f = known[(unit_id, day)]
            if any(p not in old or old[p][0] != unit_id for p in of_unit):
                continue  # gone or moved since the mark was made: the key is counted whole
            for person_id in of_unit:
                _, active, before = old[person_id]
                f.add(before, active, -1)
                f.add(new[person_id][2] if person_id in new else EMPTY_PART, active)
            moved.add((unit_id, day))
        changed = {p for u in units for p in units[u] if (u, day) in moved}
        _write_parts(conn, day, changed, {p: new[p][2] for p in changed if p in new})
    for unit_id, day in sorted(moved):
        f = known[(unit_id, day)]
        key = {"key_unit": unit_id, "key_day": day}
        if f.is_empty():
            conn.execute(_DROP_DAY_ROW, key)
        else:
            # the figures only: setting the key columns too made every update a non-HOT one
            # that rewrote both of the table's indexes
            row = _day_row(unit_id, day, f, now, people_known=True)
            del row["unit_id"], row["day"]
            conn.execute(_SET_DAY_ROW, {**row, **key})
    return moved


EMPTY_PART = PersonPart()
# A check-in's few keys and people are read and written with these, built once and bound at
# each commit: built anew, they cost a check-in more CPU than the database spent on them.
_DAY_ROW_KEY = (UNIT_DAY.c.unit_id == bindparam("key_unit"), UNIT_DAY.c.day == bindparam("key_day"))
_DROP_DAY_ROW = delete(UNIT_DAY).where(*_DAY_ROW_KEY)
_SET_DAY_ROW = update(UNIT_DAY).where(*_DAY_ROW_KEY)  # SET: the figures bound with the key
_KNOWN_FIGURES = select(UNIT_DAY).where(
    UNIT_DAY.c.day == bindparam("day"),
    UNIT_DAY.c.unit_id.in_(bindparam("units", expanding=True)),
    UNIT_DAY.c.people_known,
)
_DROP_PARTS = delete(PERSON_DAY).where(
    PERSON_DAY.c.day == bindparam("day"),
    PERSON_DAY.c.person_id.in_(bindparam("people", expanding=True)),
)


def _known_figures(conn: Connection, keys: Collection[Key]) -> dict[Key, DayFigures]:
    """The figures of the ``keys`` whose people's parts are all kept."""
    out: dict[Key, DayFigures] = {}
    by_day: dict[date, list[int]] = defaultdict(list)
    for unit_id, day in keys:
        by_day[day].append(unit_id)
    for day, unit_ids in by_day.items():
        for part in _chunked(sorted(unit_ids), CHUNK):
            for r in conn.execute(_KNOWN_FIGURES, {"day": day, "units": part}).mappings():
                out[(r["unit_id"], day)] = _figures_of(r)
    return out


def _parts_now_and_kept(
    conn: Connection, day: date, tz: ZoneInfo, people: Collection[int]
) -> tuple[dict[int, tuple[int, bool, PersonPart]], dict[int, tuple[int | None, bool, PersonPart]]]:
    """``people``'s parts of ``day`` from raw rows, as :func:`day_parts` gives them (someone
    with nothing that day, or outside the tree, has no entry), and each one's unit, whether
    they are active and their kept part (empty when none is kept)."""
    start, end = day_bounds(day, tz)
    query = _moved_query(conn.dialect.name)
    new: dict[int, tuple[int, bool, PersonPart]] = {}
    old: dict[int, tuple[int | None, bool, PersonPart]] = {}
    for chunk in _chunked(sorted(people), CHUNK):
        params = {"start": start, "end": end, "day": day, "people": chunk}
        for person_id, unit_id, active, now, *columns in conn.execute(query, params):
            if now and unit_id is not None:
                new[person_id] = (unit_id, bool(active), _part(*columns[:5]))
            kept = columns[5:]
            old[person_id] = (
                unit_id,
                bool(active),
                EMPTY_PART if kept[0] is None else PersonPart(*kept),
            )
    return new, old


def _write_parts(
    conn: Connection, day: date, people: Collection[int], parts: Mapping[int, PersonPart]
) -> None:
    """Replace ``people``'s kept parts of ``day`` with ``parts`` (someone not in it has none).
    A part is written over the one kept (a check-in's person has one: a statement, not a
    delete and an insert); only the people left without a part are deleted."""
    for chunk in _chunked(sorted(set(people) - parts.keys()), CHUNK):
        conn.execute(_DROP_PARTS, {"day": day, "people": chunk})
    rows = [_part_row(p, day, part) for p, part in sorted(parts.items())]
    if rows:
        conn.execute(_put_parts(conn.dialect.name), rows)


@cache
def _put_parts(dialect: str) -> Any:
    """``personday``'s insert that replaces a person's kept part of the day, if any."""
    from sqlalchemy.dialects import postgresql, sqlite

    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(PERSON_DAY)
    key = [PERSON_DAY.c.person_id, PERSON_DAY.c.day]
    figures = {c.name: statement.excluded[c.name] for c in PERSON_DAY.c if c not in key}
    return statement.on_conflict_do_update(index_elements=key, set_=figures)


def _part_row(person_id: int, day: date, part: PersonPart) -> dict[str, Any]:
    return {"person_id": person_id, "day": day, **asdict(part)}


def write(
    conn: Connection,
    keys: Collection[Key],
    head_units: Collection[int],
    tz: ZoneInfo,
    now: datetime,
    days: Collection[date] = (),
) -> int:
    """Replace the roll-up's rows of ``keys``, of every unit on ``days``, and the head-counts
    of ``head_units`` with what the raw rows say now. Returns the day rows written.

    Many keys (a plan, an import) count each of their days whole, in one grouped query a day
    rather than thousands of units in IN lists; :func:`_lock` took those days exclusively."""
    by_day: dict[date, set[int]] = defaultdict(set)
    for unit_id, day in keys:
        by_day[day].add(unit_id)
    written = 0
    whole = set(days) | (set(by_day) if len(keys) > MANY_KEYS else set())
    written += _count_whole(conn, sorted(whole), tz, now)
    for day, unit_ids in sorted(by_day.items()):
        if day in whole:
            continue
        # A few keys (a check-in's) are counted person by person and keep each person's
        # part: the next change of a few of these people moves the figures by their parts
        # (:func:`move_by_parts`). More (a flagging run, a mid-size plan) are summed by unit:
        # a row a person would cost CPU and writes for nothing; their parts are kept at each
        # key's first check-in.
        keep = len(keys) <= KEEP_PARTS
        parts = day_parts(conn, day, tz, unit_ids) if keep else {}
        figures: dict[int, DayFigures] = {}
        if keep:
            for unit_id, active, part in parts.values():
                figures.setdefault(unit_id, DayFigures()).add(part, active)
        else:
            figures = count_days(conn, day, tz, unit_ids)
        for chunk in _chunked(sorted(unit_ids), CHUNK):
            conn.execute(
                delete(UNIT_DAY).where(UNIT_DAY.c.day == day, UNIT_DAY.c.unit_id.in_(chunk))
            )
            if keep:
                of_units = select(PERSON.c.id).where(PERSON.c.unit_id.in_(chunk))
                conn.execute(
                    delete(PERSON_DAY).where(
                        PERSON_DAY.c.day == day, PERSON_DAY.c.person_id.in_(of_units)
                    )
                )
        if parts:
            # by COPY on PostgreSQL: a unit's 800 rows take a tenth of an executemany's time
            bulk_insert(conn, PERSON_DAY, [_part_row(p, day, v[2]) for p, v in parts.items()])
        rows = [
            _day_row(u, day, f, now, people_known=keep)
            for u, f in figures.items()
            if not f.is_empty()
        ]
        if rows:
            conn.execute(insert(UNIT_DAY), rows)
        written += len(rows)
    if head_units:
        heads = count_heads(conn, head_units)
        for chunk in _chunked(sorted(head_units), CHUNK):
            conn.execute(delete(UNIT_HEADS).where(UNIT_HEADS.c.unit_id.in_(chunk)))
        rows_h = [_heads_row(u, h) for u, h in heads.items()]
        if rows_h:
            conn.execute(insert(UNIT_HEADS), rows_h)
    return written


def _count_whole(conn: Connection, days: list[date], tz: ZoneInfo, now: datetime) -> int:
    """Count ``days`` whole and replace their rows, a few weeks' figures in memory at a time
    whatever the span asked; returns the rows written."""
    written = 0
    for i in range(0, len(days), DAYS_A_STATEMENT * 4):
        part = days[i : i + DAYS_A_STATEMENT * 4]
        written += _replace_days(conn, count_whole_days(conn, part, tz), now)
    return written


def _replace_days(
    conn: Connection, figures: Mapping[date, Mapping[int, DayFigures]], now: datetime
) -> int:
    """Replace the roll-up's rows of whole days with ``figures``; returns the rows written."""
    rows = [
        _day_row(u, day, f, now)
        for day, by_unit in sorted(figures.items())
        for u, f in by_unit.items()
        if not f.is_empty()
    ]
    for part in _chunked(sorted(figures), CHUNK):
        conn.execute(delete(UNIT_DAY).where(UNIT_DAY.c.day.in_(part)))
        # counted by unit, not person: the days' parts would be stale, so none is kept
        conn.execute(delete(PERSON_DAY).where(PERSON_DAY.c.day.in_(part)))
    if rows:
        bulk_insert(conn, UNIT_DAY, rows)
    return len(rows)


def rebuild(conn: Connection, days: Iterable[date], tz: ZoneInfo, now: datetime) -> int:
    """Count ``days`` of every unit, and every head-count, again from raw rows. Returns the
    day rows written."""
    written = 0
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ALL_HEADS << 56})
    wanted = sorted(set(days))
    for day in wanted:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": (_DAY_NS << 56) | day.toordinal()}
            )
    written += _count_whole(conn, wanted, tz, now)
    heads = count_heads(conn, None)
    conn.execute(delete(UNIT_HEADS))
    if heads:
        conn.execute(insert(UNIT_HEADS), [_heads_row(u, h) for u, h in heads.items()])
    return written


def days_with_data(conn: Connection, tz: ZoneInfo) -> tuple[date, date] | None:
    """The first and last local day holding an appointment or a sample."""
    a, t = APPOINTMENT, TEST_RESULT
    first = [
        conn.execute(select(func.min(a.c.starts_at))).scalar(),
        conn.execute(select(func.min(t.c.sampled_at))).scalar(),
    ]
    last = [
        conn.execute(select(func.max(a.c.starts_at))).scalar(),
        conn.execute(select(func.max(t.c.sampled_at))).scalar(),
    ]
    lows = [local_date(_aware(v), tz) for v in first if v is not None]
    highs = [local_date(_aware(v), tz) for v in last if v is not None]
    if not lows:
        return None
    return min(lows), max(highs)


def let_parts_go(conn: Connection, before: date) -> int:
    """Let go of the people's parts of every day before ``before`` (their unit-days are
    counted whole at their next change, which keeps them again); returns the parts let go.
    On PostgreSQL each day is taken exclusively first, so no change is moving a day's figures
    by parts being let go."""
    pd = PERSON_DAY
    query = select(pd.c.day).where(pd.c.day < before).distinct().order_by(pd.c.day)
    days = [d for (d,) in conn.execute(query)]
    if conn.dialect.name == "postgresql":
        take_locks(conn, [((_DAY_NS << 56) | d.toordinal(), False) for d in days])
    gone = 0
    for part in _chunked(days, CHUNK):
        conn.execute(
            update(UNIT_DAY)
            .where(UNIT_DAY.c.day.in_(part), UNIT_DAY.c.people_known)
            .values(people_known=False)
        )
        gone += conn.execute(delete(pd).where(pd.c.day.in_(part))).rowcount
    return gone


def clear_marks(conn: Connection) -> None:
    """Forget every mark (after a rebuild that counted everything they name). PostgreSQL
    truncates: a million deleted marks (a rebuild after a bulk load) would otherwise leave dead
    rows that every commit's look for marks reads through until autovacuum comes by."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("TRUNCATE rollupdirty"))
    else:
        conn.execute(delete(DIRTY))


def _day_row(
    unit_id: int, day: date, f: DayFigures, now: datetime, people_known: bool = False
) -> dict[str, Any]:
    return {
        "people_known": people_known,
        "unit_id": unit_id,
        "day": day,
        "required": f.required,
        "tested": f.tested,
        "extra": f.extra,
        "positive": f.positive,
        "pooled": f.pooled,
        "single": f.single,
        "pool_positive": f.pool_positive,
        "untested": dict(sorted(f.untested.items())),
        "counted_at": now,
    }


def _figures_of(r: RowMapping) -> DayFigures:
    """A ``unitday`` row's figures."""
    return DayFigures(
        r["required"],
        r["tested"],
        r["extra"],
        r["positive"],
        r["pooled"],
        r["single"],
        r["pool_positive"],
        {str(k): int(v) for k, v in (r["untested"] or {}).items()},
    )


def _heads_row(unit_id: int, h: Heads) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "people": h.people,
        "employees": h.employees,
        "co_residents": h.co_residents,
        "third_party": h.third_party,
        "boosted": h.boosted,
    }


def _lock(conn: Connection, todo: Pending) -> None:
    if conn.dialect.name != "postgresql":
        return  # SQLite: this transaction already holds the only write lock
    wanted: list[tuple[int, bool]] = []  # (key, shared)
    if todo.heads:
        many_heads = len(todo.heads) > MANY_KEYS
        wanted.append((_ALL_HEADS << 56, not many_heads))
        if not many_heads:
            wanted += [((_HEADS_NS << 56) | u, False) for u in sorted(todo.heads)]
    many = len(todo.keys) > MANY_KEYS
    key_days = {day for _, day in todo.keys}
    whole = todo.days | key_days if many else todo.days  # counted whole: the day exclusively
    for d in sorted(key_days | todo.days):
        wanted.append(((_DAY_NS << 56) | d.toordinal(), d not in whole))
    wanted += [
        ((_KEY_NS << 56) | (u << 24) | d.toordinal(), False)
        for u, d in sorted(todo.keys)
        if d not in whole
    ]
    take_locks(conn, wanted)


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayRead:
    figures: Mapping[int, DayFigures]  # unit -> its own figures of the day
    heads: Mapping[int, Heads]  # unit -> its own people now
    from_raw: int  # keys counted from raw rows because a change was still marked


def read_day(
    conn: Connection, day: date, tz: ZoneInfo, unit_ids: Collection[int] | None
) -> DayRead:
    """A day's figures and the head-counts of ``unit_ids`` (None: every unit) from the roll-up,
    with any key still marked counted from raw rows instead."""
    todo = pending(conn, tz)
    if todo.everything:
        return DayRead(count_days(conn, day, tz, unit_ids), count_heads(conn, unit_ids), -1)
    figures: dict[int, DayFigures] = {}
    heads: dict[int, Heads] = {}
    day_q = select(UNIT_DAY).where(UNIT_DAY.c.day == day)
    heads_q = select(UNIT_HEADS)
    parts: Iterable[list[int] | None] = (
        [None] if unit_ids is None else _chunked(sorted(unit_ids), CHUNK)
    )
    for part in parts:
        dq, hq = day_q, heads_q
        if part is not None:
            dq = dq.where(UNIT_DAY.c.unit_id.in_(part))
            hq = hq.where(UNIT_HEADS.c.unit_id.in_(part))
        for r in conn.execute(dq).mappings():
            figures[r["unit_id"]] = _figures_of(r)
        for r in conn.execute(hq).mappings():
            heads[r["unit_id"]] = Heads(
                r["people"], r["employees"], r["co_residents"], r["third_party"], r["boosted"]
            )
    wanted = None if unit_ids is None else set(unit_ids)
    stale = {u for u, d in todo.keys if d == day and (wanted is None or u in wanted)}
    if stale:
        fresh = count_days(conn, day, tz, stale)
        for u in stale:
            figures.pop(u, None)
            if u in fresh:
                figures[u] = fresh[u]
    stale_heads = {u for u in todo.heads if wanted is None or u in wanted}
    if stale_heads:
        fresh_heads = count_heads(conn, stale_heads)
        for u in stale_heads:
            heads.pop(u, None)
            if u in fresh_heads:
                heads[u] = fresh_heads[u]
    return DayRead(figures, heads, len(stale) + len(stale_heads))


# --- the hook -----------------------------------------------------------------------------------

Context = Callable[[], tuple[ZoneInfo, datetime] | None]
_ZONES: weakref.WeakKeyDictionary[Engine, Context] = weakref.WeakKeyDictionary()


def attach(engine: Engine, context: Context) -> None:
    """Count the roll-up again before each commit on ``engine`` (the primary). ``context``
    gives the policy's zone and now (None: the app is gone); attaching again (a new app on the
    same engine) replaces it. ``context`` must not hold the engine strongly, or the engine
    would never be collected."""
    first = engine not in _ZONES
    _ZONES[engine] = context
    if first:
        from testrota.db import writes

        writes.watch(engine)
        event.listen(engine, "commit", _before_commit)


_READY: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines whose database has the tables
_WEEKLY_READY: weakref.WeakSet[Engine] = weakref.WeakSet()  # ... and the weekly marks' (0010)


def _before_commit(conn: Connection) -> None:
    from testrota.db.writes import took_writes

    if not took_writes(conn):
        return  # a transaction that only read marked nothing
    context = _ZONES.get(conn.engine)
    found = context() if context is not None else None
    if found is None:
        return
    if conn.engine not in _READY:
        # A database not upgraded yet (`testrota init` is what upgrades it) has no marks to
        # count, and a failed look would abort the transaction being committed.
        if not inspect(conn).has_table(DIRTY.name):
            return
        _READY.add(conn.engine)
    if conn.engine not in _WEEKLY_READY and inspect(conn).has_table(tables.WEEKLY_DIRTY.name):
        _WEEKLY_READY.add(conn.engine)  # asked again at each commit until an upgrade adds it
    # the weekly roll-up reads the same marks, so it counts first
    from testrota.org import weekly

    # the weekly roll-up's upkeep writes no marks: what is read here is all there is
    weekly_ready = conn.engine in _WEEKLY_READY
    marks = take_all_marks(conn, weekly=weekly_ready)
    if not marks.daily and not marks.weekly:
        took_writes(conn)  # a delete of no marks wrote nothing
        return  # nothing this transaction wrote is counted by either roll-up
    weekly.before_commit(conn, marks)
    absorb(conn, *found, marks=marks.daily, taken=marks.taken)
    took_writes(conn)  # the counting's own writes are committed with it: nothing to carry on


def _chunked(items: list[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
