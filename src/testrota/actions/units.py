"""The group's unit tree: list it (``testrota units``), and build it on first use after an
upgrade (a roster import keeps it in step from then on)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.db import tables
from testrota.db.engine import session_scope
from testrota.db.locks import PEOPLE_LOCK, hold
from testrota.org.units import Unit, UnitSync, load_units, needs_sync, sync_units


@dataclass(frozen=True)
class UnitListing:
    """A unit as ``units --format json`` prints it; ``people`` counts everyone below it too."""

    path: str
    name: str
    level: int
    level_name: str
    kind: str
    code: str | None
    parent: str | None
    people: int


@dataclass(frozen=True)
class ListUnits:
    actor: Actor


def ensure_units(app: App, actor: Actor) -> UnitSync | None:
    """Build the units and each person's unit when some active person has none (the first
    use after an upgrade); audited as ``units.synced``. None when nothing was to do."""
    with app.engine.connect() as conn:
        if not needs_sync(conn):
            return None
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        hold(session.connection(), PEOPLE_LOCK)
        if not needs_sync(session.connection()):
            return None  # placed by another process (or a roster import) while this waited
        return place_units_in(app, session, actor, now)


def place_units_in(app: App, session: Session, actor: Actor, now: datetime) -> UnitSync:
    """Build the units and place everyone in ``session``'s transaction, audited as
    ``units.synced``: for :func:`ensure_units`, and for a rebuild that counts after it."""
    hold(session.connection(), PEOPLE_LOCK)  # again for ensure_units: a lock held is taken at once
    done = sync_units(session.connection(), app.org, now)
    record(
        session,
        actor,
        Action.UNITS_SYNCED,
        "orgunit",
        at=now,
        details={"units_added": done.units_added, "people_moved": done.people_moved},
    )
    return done


def list_units(app: App, cmd: ListUnits) -> list[UnitListing]:
    """Every unit in tree order, with its level's name and how many active people it holds."""
    ensure_units(app, cmd.actor)
    org = app.org
    person = tables.PERSON
    with app.read_engine.connect() as conn:
        units = load_units(conn)
        direct: dict[int, int] = dict(
            conn.execute(
                select(person.c.unit_id, func.count())
                .where(person.c.active.is_(True), person.c.unit_id.is_not(None))
                .group_by(person.c.unit_id)
            ).all()
        )
    totals = _totals(units, direct)
    by_id = {u.id: u for u in units}
    return [
        UnitListing(
            path=u.path,
            name=u.name,
            level=u.level,
            level_name=org.level_name(u.level, grid=u.kind == "grid"),
            kind=u.kind,
            code=u.code,
            parent=by_id[u.parent_id].path if u.parent_id in by_id else None,
            people=totals.get(u.id, 0),
        )
        for u in sorted(units, key=lambda u: u.path.split("/"))
    ]


def _totals(units: list[Unit], direct: dict[int, int]) -> dict[int, int]:
    totals = dict(direct)
    for u in sorted(units, key=lambda u: -u.level):
        if u.parent_id is not None and u.id in totals:
            totals[u.parent_id] = totals.get(u.parent_id, 0) + totals[u.id]
    return totals


def resolve_units(app: App, texts: list[str], actor: Actor) -> list[str]:
    """The full paths of units a person named (paths with or without the root, or codes);
    a UserError for one that does not exist (import the roster first)."""
    from testrota.org.units import find_unit

    ensure_units(app, actor)
    with app.read_engine.connect() as conn:
        return [find_unit(conn, app.org, t).path for t in texts if t.strip()]
