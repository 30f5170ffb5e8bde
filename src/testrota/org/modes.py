"""Units' emergency modes (静态管控, 驻厂, 居家办公, 保产保供): which mode a unit is in on a
day (pure), and the planner's share: ``static`` tests everyone daily with each grid unit in slots
of its own; ``onsite`` tests the people living on site daily at on-site sites and nobody else;
``wfh`` books nobody at a site."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, or_, select

from testrota.db import tables
from testrota.org.units import PERSON, UNIT
from testrota.policy import Policy, SurgeRule
from testrota.scheduling.model import DateRange, PlanPerson
from testrota.statuses import UnitMode

CHANGE = tables.UNIT_MODE_CHANGE


@dataclass(frozen=True, slots=True)
class ModeChange:
    id: int
    unit_id: int
    mode: str
    start: date
    end: date | None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def modes_on(
    parents: Mapping[int, int | None], changes: Iterable[ModeChange], day: date
) -> dict[int, str]:
    """Each unit's mode on ``day``: the latest change covering the day on the unit, else the
    nearest unit above with one, else ``normal``.

    Args:
        parents: unit id -> its parent's id (None for the root), for every unit.
        changes: the mode changes (any days; those not covering ``day`` are ignored).
    """
    own: dict[int, ModeChange] = {}
    for c in changes:
        if c.covers(day) and (c.unit_id not in own or c.id > own[c.unit_id].id):
            own[c.unit_id] = c
    out: dict[int, str] = {}

    def mode_of(unit_id: int) -> str:
        chain = []
        current: int | None = unit_id
        found = UnitMode.NORMAL.value
        while current is not None:
            if current in out:
                found = out[current]
                break
            chain.append(current)
            if current in own:
                found = own[current].mode
                break
            current = parents.get(current)
        for u in chain:
            out[u] = found
        return found

    for unit_id in parents:
        mode_of(unit_id)
    return out


def load_changes(conn: Connection, first: date, last: date) -> list[ModeChange]:
    """The mode changes overlapping ``first`` .. ``last``."""
    rows = conn.execute(
        select(CHANGE.c.id, CHANGE.c.unit_id, CHANGE.c.mode, CHANGE.c.start_date, CHANGE.c.end_date)
        .where(
            CHANGE.c.start_date <= last,
            or_(CHANGE.c.end_date.is_(None), CHANGE.c.end_date >= first),
        )
        .order_by(CHANGE.c.id)
    )
    return [ModeChange(*row) for row in rows]


def _week_modes(conn: Connection, monday: date) -> list[dict[int, str]] | None:
    """Each unit's mode on each day of the week from ``monday`` (seven mappings), or None when
    no mode change touches the week."""
    changes = load_changes(conn, monday, monday + timedelta(days=6))
    if not changes:
        return None
    parents = {u.id: u.parent_id for u in conn.execute(select(UNIT.c.id, UNIT.c.parent_id))}
    return [modes_on(parents, changes, monday + timedelta(days=d)) for d in range(7)]


def _units_in(days: list[dict[int, str]], mode: UnitMode) -> list[int]:
    return sorted({u for on in days for u, m in on.items() if m == mode})


def with_static_units(conn: Connection, policy: Policy, monday: date) -> Policy:
    """``policy`` with one surge rule per day a unit is in ``static`` mode this week: everyone
    in the unit (and below it) tested daily, whatever their category; and likewise, in
    ``onsite`` mode, the people living on site (驻厂). Which slots they may use is
    :func:`with_mode_flags`'s part."""
    days = _week_modes(conn, monday)
    if days is None:
        return policy
    rules: list[SurgeRule] = []
    for offset, on in enumerate(days):
        day = monday + timedelta(days=offset)
        static = sorted(u for u, m in on.items() if m == UnitMode.STATIC)
        onsite = sorted(u for u, m in on.items() if m == UnitMode.ONSITE)
        if not static and not onsite:
            continue
        people = _people_in(conn, static) | _people_in(conn, onsite, on_site=True)
        if people:
            rules.append(
                SurgeRule(
                    name=f"static {day.isoformat()}",
                    start=day,
                    end=day,
                    tests_per_week=7,
                    person_ids=people,
                    min_gap_days=1,
                )
            )
    if not rules:
        return policy
    testing = policy.testing.model_copy(update={"surge": [*policy.testing.surge, *rules]})
    return policy.model_copy(update={"testing": testing})


@dataclass(frozen=True, slots=True)
class WeekFlags:
    """Who the modes constrain this week (a whole week: a unit static on any day of it keeps
    its grid units apart all week, which is stricter than the mode, never looser)."""

    apart: frozenset[int]  # people whose unit is in static mode: their grid unit tests alone
    onsite: frozenset[int]  # people living on site whose unit is in onsite mode


def week_flags(conn: Connection, monday: date) -> WeekFlags:
    days = _week_modes(conn, monday)
    if days is None:
        return WeekFlags(frozenset(), frozenset())
    return WeekFlags(
        _people_in(conn, _units_in(days, UnitMode.STATIC)),
        _people_in(conn, _units_in(days, UnitMode.ONSITE), on_site=True),
    )


def with_mode_flags(people: list[PlanPerson], flags: WeekFlags) -> list[PlanPerson]:
    """``people`` marked for the planner: ``apart`` (static) and ``onsite`` (residents)."""
    if not flags.apart and not flags.onsite:
        return people
    marked = flags.apart | flags.onsite
    return [
        p._replace(apart=p.id in flags.apart, onsite=p.id in flags.onsite) if p.id in marked else p
        for p in people
    ]


def apart_grid_units(conn: Connection, flags: WeekFlags) -> frozenset[str]:
    """The planner's grid units (the grid unit, else the department) of the people kept apart,
    so a mid-week booking of anyone else keeps out of their slots."""
    if not flags.apart:
        return frozenset()
    out: set[str] = set()
    ids = sorted(flags.apart)
    for start in range(0, len(ids), 5000):
        for grid, department in conn.execute(
            select(PERSON.c.grid_unit, PERSON.c.department).where(
                PERSON.c.id.in_(ids[start : start + 5000])
            )
        ):
            out.add(grid or department or "")
    return frozenset(out)


def _people_in(
    conn: Connection, unit_ids: Sequence[int], on_site: bool | None = None
) -> frozenset[int]:
    # modes_on has already passed the mode down to every unit below (a unit below set back to
    # normal is not among these), so the people are those sitting in one of these units.
    if not unit_ids:
        return frozenset()
    query = select(PERSON.c.id).where(PERSON.c.active.is_(True), PERSON.c.unit_id.in_(unit_ids))
    if on_site is not None:
        query = query.where(PERSON.c.on_site.is_(on_site))
    return frozenset(conn.execute(query).scalars())


def with_wfh_days(conn: Connection, people: list[PlanPerson], monday: date) -> list[PlanPerson]:
    """``people`` with the days they are not booked at a site as exemptions: their unit works
    from home (``wfh``; a result from outside, community testing counts as any sample does),
    or it is closed on site (``onsite``) and they do not live there."""
    sunday = monday + timedelta(days=6)
    changes = load_changes(conn, monday, sunday)
    if not any(c.mode in (UnitMode.WFH, UnitMode.ONSITE) for c in changes):
        return people
    parents = {u.id: u.parent_id for u in conn.execute(select(UNIT.c.id, UNIT.c.parent_id))}
    home: dict[int, list[date]] = {}  # unit -> its wfh days this week
    closed: dict[int, list[date]] = {}  # unit -> its onsite days: off for those living out
    for offset in range(7):
        day = monday + timedelta(days=offset)
        for unit_id, mode in modes_on(parents, changes, day).items():
            if mode == UnitMode.WFH:
                home.setdefault(unit_id, []).append(day)
            elif mode == UnitMode.ONSITE:
                closed.setdefault(unit_id, []).append(day)
    if not home and not closed:
        return people
    rows = conn.execute(
        select(PERSON.c.id, PERSON.c.unit_id, PERSON.c.on_site).where(
            PERSON.c.unit_id.in_(sorted(home.keys() | closed.keys()))
        )
    ).all()
    # Both, when a unit changes mode mid-week: closed on site Monday to Wednesday, at home
    # from Thursday, someone living out comes to no site all week.
    days_of = {
        pid: sorted({*home.get(unit_id, []), *([] if resident else closed.get(unit_id, []))})
        for pid, unit_id, resident in rows
    }
    out = []
    for p in people:
        days = days_of.get(p.id)
        if days:
            extra = tuple(DateRange(d, d, "wfh") for d in days)
            p = p._replace(exemptions=p.exemptions + extra)
        out.append(p)
    return out
