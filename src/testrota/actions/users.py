"""Adding and changing web users, from ``testrota users add`` and the /admin/users page alike.

A unit is named as a person types it (a path with or without the root's name, or a unit
code) and stored as its full path; an unknown one is refused with nothing written. Each add
and each change is one audit event (``user.added``, ``user.changed``) naming the units.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from testrota.app import App
from testrota.audit import Actor
from testrota.auth import users
from testrota.auth.users import UserInfo
from testrota.db import tables
from testrota.db.engine import session_scope
from testrota.errors import UserError

MAX_UNITS = 50  # a supervisor of more units than this is one of a unit above them
MAX_UNIT_TEXT = 400  # the length of a unit path (testrota.org.paths)


@dataclass(frozen=True)
class AddUser:
    actor: Actor
    name: str
    role: str
    password: str
    departments: tuple[str, ...] = ()
    units: tuple[str, ...] = ()  # paths or codes, as typed
    language: str = "zh"
    phone: str | None = None


@dataclass(frozen=True)
class ChangeUser:
    """None leaves a field as it is."""

    actor: Actor
    user_id: int
    role: str | None = None
    departments: tuple[str, ...] | None = None
    units: tuple[str, ...] | None = None  # paths or codes, as typed; () takes them all away
    language: str | None = None
    active: bool | None = None
    password: str | None = None
    keep_session: int | None = None  # the actor's own sign-in, kept when they change themselves


@dataclass(frozen=True)
class UnitChoice:
    """A unit offered on the users page: its path and its level's name."""

    path: str
    level_name: str


def _unit_paths(app: App, typed: tuple[str, ...], actor: Actor) -> list[str]:
    from testrota.actions.units import resolve_units

    texts = [t.strip() for t in typed if t.strip()]
    if len(texts) > MAX_UNITS:
        raise UserError("at most {n} units per user", n=MAX_UNITS)
    for t in texts:
        if len(t) > MAX_UNIT_TEXT:
            raise UserError("a unit path has at most {n} characters", n=MAX_UNIT_TEXT)
    return resolve_units(app, texts, actor) if texts else []


def add_user(app: App, cmd: AddUser) -> UserInfo:
    """Create a user with their departments and units; a name that exists is an error."""
    units = _unit_paths(app, cmd.units, cmd.actor)
    with app.write_lock, session_scope(app.engine) as session:
        return users.add_user(
            session,
            name=cmd.name,
            role=cmd.role,
            password=cmd.password,
            departments=cmd.departments,
            units=units,
            language=cmd.language,
            phone=cmd.phone,
            now=app.now(),
            actor=cmd.actor,
        )


def change_user(app: App, cmd: ChangeUser) -> UserInfo:
    """Change a user's role, departments, units, language, password or whether they may sign
    in; audited with each changed field's before and after."""
    units = _unit_paths(app, cmd.units, cmd.actor) if cmd.units is not None else None
    with app.write_lock, session_scope(app.engine) as session:
        return users.update_user(
            session,
            cmd.user_id,
            now=app.now(),
            actor=cmd.actor,
            role=cmd.role,
            departments=cmd.departments,
            units=units,
            language=cmd.language,
            active=cmd.active,
            password=cmd.password,
            keep_session=cmd.keep_session,
        )


def find_units(app: App, text: str, limit: int = 50) -> list[UnitChoice]:
    """Units whose path contains ``text`` (case and the root's name ignored), the shortest
    paths first: the users page's search when the tree is too big to scroll."""
    needle = text.strip()[:MAX_UNIT_TEXT].casefold()
    if not needle:
        return []
    unit = tables.ORG_UNIT
    with app.read_engine.connect() as conn:
        rows = conn.execute(
            select(unit.c.path, unit.c.level, unit.c.kind).order_by(unit.c.level, unit.c.path)
        ).all()
    found = [
        UnitChoice(path, app.org.level_name(level, grid=kind == "grid"))
        for path, level, kind in rows
        if needle in path.casefold()
    ]
    return found[:limit]


def unit_choices(app: App, limit: int = 5000) -> list[UnitChoice]:
    """The units above the grid units, in tree order (the page's list to choose from); a
    grid unit is still accepted when typed or found by search."""
    unit = tables.ORG_UNIT
    with app.read_engine.connect() as conn:
        rows = conn.execute(
            select(unit.c.path, unit.c.level)
            .where(unit.c.kind != "grid")
            .order_by(unit.c.path)
            .limit(limit)
        ).all()
    return [UnitChoice(path, app.org.level_name(level)) for path, level in rows]
