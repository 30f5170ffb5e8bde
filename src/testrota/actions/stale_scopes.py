"""Supervisors whose department or unit no longer has anyone on the roster: for HR's eyes.

Read after every roster import (its summary names them) and on the users list and page. The
likely new names come from the moves a roster import saw; the import records them with its
audit event (``renamed``), so the users page can still suggest them after that import. Nothing
here changes a scope: HR does that, with ``testrota users set`` or on the users page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, exists, select

from testrota.app import App
from testrota.audit import Action, Actor
from testrota.auth.scope import OFFICE_ROLES
from testrota.auth.stale import Moves, StaleScope, Supervisor, find_stale, move_counts
from testrota.db import tables
from testrota.org.config import OrgConfig

PERSON, UNIT, USER, AUDIT = tables.PERSON, tables.ORG_UNIT, tables.USER, tables.AUDIT_EVENT
RECENT_IMPORTS = 10  # how many roster imports' renames the users page still suggests


@dataclass(frozen=True)
class FindStaleScopes:
    actor: Actor
    # The web user asking (None: the operator at the terminal): only HR and admins see other
    # users' scopes, so anyone else gets nothing.
    viewer_role: str | None = None


def find_stale_scopes(app: App, query: FindStaleScopes) -> list[StaleScope]:
    """Every active supervisor's department or unit with no active person, with a likely
    new name where a recent roster import moved most of its people to one place."""
    if query.viewer_role is not None and query.viewer_role not in OFFICE_ROLES:
        return []
    from testrota.actions.units import ensure_units

    ensure_units(app, query.actor)  # a database not placed in units yet would look all stale
    with app.read_engine.connect() as conn:
        return stale_scopes_in(conn, recorded_moves(conn))


def stale_scopes_in(conn: Connection, moves: Moves = Moves()) -> list[StaleScope]:
    """:func:`find_stale_scopes` in ``conn``'s transaction (a roster import's, before it
    commits). Two aggregated reads of the people, however many there are: the departments
    the supervisors name that have someone active, and the units someone active sits in."""
    supervisors = _supervisors(conn)
    if not supervisors:
        return []
    named = {d for s in supervisors if not s.units for d in s.departments}
    if named:  # and where their people may have gone: a suggestion must have people itself
        named |= {new for old in named for new in moves.departments.get(old, {})}
    departments: set[str] = set()
    if named:
        departments = set(
            conn.execute(
                select(PERSON.c.department)
                .where(PERSON.c.active.is_(True), PERSON.c.department.in_(sorted(named)))
                .distinct()
            ).scalars()
        )
    occupied: list[str] = []
    if any(s.units for s in supervisors):
        someone = exists().where(and_(PERSON.c.unit_id == UNIT.c.id, PERSON.c.active.is_(True)))
        occupied = list(conn.execute(select(UNIT.c.path).where(someone)).scalars())
    return find_stale(supervisors, departments, occupied, moves)


def _supervisors(conn: Connection) -> list[Supervisor]:
    rows = conn.execute(
        select(USER.c.name, USER.c.departments, USER.c.units)
        .where(USER.c.role == "supervisor", USER.c.active.is_(True))
        .order_by(USER.c.name)
    ).all()
    return [Supervisor(name, tuple(depts or ()), tuple(units or ())) for name, depts, units in rows]


def recorded_moves(conn: Connection) -> Moves:
    """The renames the latest roster imports recorded (the newest wins a name)."""
    rows = conn.execute(
        select(AUDIT.c.details)
        .where(AUDIT.c.action == Action.ROSTER_IMPORTED.value)
        .order_by(AUDIT.c.id.desc())
        .limit(RECENT_IMPORTS)
    ).scalars()
    moves = Moves()
    for details in rows:
        renamed = (details or {}).get("renamed") or {}
        moves = moves.merged(
            Moves(_counts(renamed.get("department")), _counts(renamed.get("unit")))
        )
    return moves


def _counts(value: Any) -> dict[str, dict[str, int]]:
    """``{old: [new, people]}`` as recorded, read defensively: it is stored JSON."""
    if not isinstance(value, Mapping):
        return {}
    out: dict[str, dict[str, int]] = {}
    for old, pair in value.items():
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], int):
            out[str(old)] = {str(pair[0]): pair[1]}
    return out


def as_recorded(stale: Iterable[StaleScope]) -> dict[str, dict[str, list[Any]]]:
    """The suggestions of ``stale`` as an import's audit event keeps them."""
    out: dict[str, dict[str, list[Any]]] = {}
    for s in stale:
        if s.moved_to:
            out.setdefault(s.kind, {})[s.entry] = [s.moved_to, s.moved_people]
    return out


def import_moves(
    org: OrgConfig, moved: Iterable[tuple[tuple[str, str, str], tuple[str, str, str]]]
) -> Moves:
    """Where a roster import moved people: each ``(old, new)`` pair of their
    ``(unit_path, department, grid_unit)``, as moves between departments and unit paths."""
    from testrota.org.paths import unit_chain

    leaf: dict[tuple[str, str, str], str] = {}

    def path(key: tuple[str, str, str]) -> str:
        if key not in leaf:  # a few distinct keys for any number of people
            leaf[key] = unit_chain(org, *key)[-1].path
        return leaf[key]

    pairs = list(moved)
    return Moves(
        move_counts((old[1], new[1]) for old, new in pairs),
        move_counts((path(old), path(new)) for old, new in pairs),
    )
