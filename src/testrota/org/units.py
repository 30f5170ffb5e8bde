"""The ``orgunit`` rows and each person's unit: kept in step with the roster, and read.

:func:`sync_units` runs inside a roster import's transaction (and after an upgrade, on first
use): it adds the units the active people's rows name and points each person at theirs. Units
nobody sits in any more are kept, with their confirmations; they report zeros.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from testrota.db import tables
from testrota.db.bulk import chunks
from testrota.errors import UserError
from testrota.org.config import OrgConfig
from testrota.org.paths import SEP, UnitSpec, relative, resolve_path, unit_chain
from testrota.statuses import UnitKind

UNIT = tables.ORG_UNIT
PERSON = tables.PERSON


@dataclass(frozen=True)
class Unit:
    id: int
    parent_id: int | None
    path: str
    name: str
    level: int
    kind: str
    code: str | None


@dataclass(frozen=True)
class UnitSync:
    units_added: int
    people_moved: int


def load_units(conn: Connection, under: str | None = None) -> list[Unit]:
    """Every unit (or ``under`` and everything below it), parents before children."""
    query = select(
        UNIT.c.id,
        UNIT.c.parent_id,
        UNIT.c.path,
        UNIT.c.name,
        UNIT.c.level,
        UNIT.c.kind,
        UNIT.c.code,
    ).order_by(UNIT.c.level, UNIT.c.path)
    if under is not None:
        query = query.where(subtree_condition(under, binary=conn.dialect.name == "sqlite"))
    return [Unit(*row) for row in conn.execute(query).all()]


def ancestors(conn: Connection, path: str) -> list[Unit]:
    """The units above ``path`` (the root first)."""
    parts = path.split(SEP)
    above = [SEP.join(parts[:i]) for i in range(1, len(parts))]
    if not above:
        return []
    query = select(
        UNIT.c.id,
        UNIT.c.parent_id,
        UNIT.c.path,
        UNIT.c.name,
        UNIT.c.level,
        UNIT.c.kind,
        UNIT.c.code,
    ).where(UNIT.c.path.in_(above))
    return sorted((Unit(*row) for row in conn.execute(query).all()), key=lambda u: u.level)


def needs_sync(conn: Connection) -> bool:
    """True when a person has no unit yet (the first use after an upgrade): one look at the
    unit index, cheap enough for every report to ask."""
    if not conn.execute(select(exists().where(UNIT.c.id.is_not(None)))).scalar():
        return True  # not even the root yet (a new database)
    return bool(conn.execute(select(exists().where(PERSON.c.unit_id.is_(None)))).scalar())


# Beyond this many people changed, reading everyone is quicker than naming them.
MAX_NAMED = 20_000


def sync_units(
    conn: Connection, org: OrgConfig, now: datetime, only: Collection[int] | None = None
) -> UnitSync:
    """Add the units the people name (with their codes from org.yaml) and set every person's
    ``unit_id``, in ``conn``'s transaction. Leavers too, so that "nobody without a unit" is
    one index lookup; the reports count active people only.

    ``only``: the people whose unit may have changed (a roster import's updates); those
    without a unit yet (its new people) are always looked at. None: everyone.
    """
    query = select(
        PERSON.c.id,
        PERSON.c.unit_path,
        PERSON.c.department,
        PERSON.c.grid_unit,
        PERSON.c.unit_id,
    )
    if only is not None and len(only) <= MAX_NAMED:
        query = query.where(or_(PERSON.c.unit_id.is_(None), PERSON.c.id.in_(sorted(only))))
    people = conn.execute(query).all()
    keys = [
        (unit_path or "", department or "", grid_unit or "")
        for _, unit_path, department, grid_unit, _ in people
    ]
    placed = place_units(conn, org, now, keys)
    leaves = [placed.ids[key] for key in keys]
    moves = [
        (leaf, pid)
        for (pid, _, _, _, current), leaf in zip(people, leaves, strict=True)
        if current != leaf
    ]
    if moves:
        # Straight to the driver: a fresh roster of 100,000 people is 100,000 updates, and
        # SQLAlchemy's per-row parameter handling would double their cost.
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = f"UPDATE person SET unit_id = {mark} WHERE id = {mark}"
        for part in chunks(moves):
            conn.exec_driver_sql(sql, list(part))
    return UnitSync(placed.added, len(moves))


UnitKey = tuple[str, str, str]  # a person's (unit_path, department, grid_unit) as stored


@dataclass(frozen=True)
class Placed:
    ids: dict[UnitKey, int]  # the id of the unit where each key's people sit
    added: int  # units added


def place_units(conn: Connection, org: OrgConfig, now: datetime, keys: Iterable[UnitKey]) -> Placed:
    """The unit each ``(unit_path, department, grid_unit)`` puts a person in, adding the units
    missing (with their codes from org.yaml), in ``conn``'s transaction. A roster import asks
    before it writes its people, so each row is written with its ``unit_id`` at once instead
    of updated again after."""
    known = {u.path: u for u in load_units(conn)}
    wanted: dict[str, UnitSpec] = {}
    leaf_of: dict[UnitKey, str] = {}
    for key in keys:
        if key not in leaf_of:
            chain = unit_chain(org, *key)
            for spec in chain:
                wanted.setdefault(spec.path, spec)
            leaf_of[key] = chain[-1].path
    if not leaf_of and org.root not in known:
        wanted[org.root] = unit_chain(org, "", "", "")[0]
    added = 0
    ids = {path: u.id for path, u in known.items()}
    # Level by level, so each new unit's parent already has its id.
    missing = sorted((s for p, s in wanted.items() if p not in known), key=lambda s: s.level)
    for level in sorted({s.level for s in missing}):
        batch = [s for s in missing if s.level == level]
        conn.execute(
            insert(UNIT),
            [
                {
                    "parent_id": ids[s.parent] if s.parent is not None else None,
                    "path": s.path,
                    "name": s.name,
                    "level": s.level,
                    "kind": UnitKind.GRID if s.grid else UnitKind.UNIT,
                    "code": org.codes.get(relative(org, s.path)),
                    "created_at": now,
                }
                for s in batch
            ],
        )
        added += len(batch)
        new = conn.execute(select(UNIT.c.path, UNIT.c.id).where(UNIT.c.level == level)).all()
        ids.update({path: unit_id for path, unit_id in new})
    _update_codes(conn, org, known.values())
    return Placed({key: ids[leaf] for key, leaf in leaf_of.items()}, added)


def _update_codes(conn: Connection, org: OrgConfig, units: Iterable[Unit]) -> None:
    # org.yaml's codes may change after a unit was made
    for u in units:
        code = org.codes.get(relative(org, u.path))
        if code != u.code:
            conn.execute(update(UNIT).where(UNIT.c.id == u.id).values(code=code))


def find_unit(conn: Connection, org: OrgConfig, text: str) -> Unit:
    """The unit a person named (a path with or without the root's name, or a unit code);
    a UserError naming close matches when there is none."""
    path = resolve_path(org, text)
    row = conn.execute(
        select(
            UNIT.c.id,
            UNIT.c.parent_id,
            UNIT.c.path,
            UNIT.c.name,
            UNIT.c.level,
            UNIT.c.kind,
            UNIT.c.code,
        ).where(or_(UNIT.c.path == path, UNIT.c.code == text.strip()))
    ).first()
    if row is not None:
        return Unit(*row)
    last = path.rsplit(SEP, 1)[-1]
    near = (
        conn.execute(select(UNIT.c.path).where(UNIT.c.name == last).order_by(UNIT.c.path).limit(5))
        .scalars()
        .all()
    )
    raise UserError(
        "no unit {path}{hint}; testrota units lists them",
        path=path,
        hint=f" (did you mean {', '.join(near)}?)" if near else "",
    )


def subtree_condition(path: str, *, binary: bool = False) -> ColumnElement[bool]:
    """SQL: ``orgunit.path`` is ``path`` or below it: one prefix condition on the path.

    ``binary``: the database compares text byte by byte (SQLite), so the prefix is the range
    ``path/`` .. ``path0`` (``0`` follows ``/``), which the path's unique index answers. Else
    the path's first characters compared exactly: neither SQLite's LIKE (blind to ASCII case)
    nor a range under PostgreSQL's linguistic collations (which do not order "/" as a byte
    would) says "below" exactly; the unit table is small enough to read whole.
    """
    if binary:
        return or_(
            UNIT.c.path == path,
            and_(UNIT.c.path > path + SEP, UNIT.c.path < path + chr(ord(SEP) + 1)),
        )
    prefix = path + SEP
    return or_(UNIT.c.path == path, func.substr(UNIT.c.path, 1, len(prefix)) == prefix)


def departments_in(conn: Connection, paths: Iterable[str]) -> set[str]:
    """The departments of the people in these units and below them (a unit-scoped
    supervisor's, worked out on each request: the unit ids first, then the person index)."""
    ids = sorted({u.id for path in paths for u in load_units(conn, under=path)})
    found: set[str] = set()
    for at in range(0, len(ids), 5000):  # within every database's limit of parameters
        # Leavers' departments too: with "active" in SQL, SQLite walks the index of active
        # people (all of them) instead of the unit's; a leaver's department is still inside
        # the units, and Scope.where keeps every list to the units themselves.
        found.update(
            conn.execute(
                select(PERSON.c.department)
                .where(PERSON.c.unit_id.in_(ids[at : at + 5000]))
                .distinct()
            ).scalars()
        )
    return found


def unit_condition(paths: Iterable[str]) -> ColumnElement[bool]:
    """SQL: ``person.unit_id`` is in one of these units or below them."""
    return PERSON.c.unit_id.in_(units_below(paths))


def units_below(paths: Iterable[str]) -> Select[tuple[int]]:
    """SQL: the ids of these units and of every unit below them (a subquery that correlates
    with nothing, so a lean reader's own person table can be kept to it)."""
    return select(UNIT.c.id).where(or_(*(subtree_condition(p) for p in paths)))
