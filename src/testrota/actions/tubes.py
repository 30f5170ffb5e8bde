"""Tubes at the tent: open one, put swabs in it (through the check-in), close it, list them.

The rules are :mod:`testrota.sampling.tubes`'s; this module reads and writes them. A refusal is a
UserError raised inside the transaction, so nothing of the scan is written.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session, col

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.compliance.checkin import FUTURE_TOLERANCE, _known_site
from testrota.compliance.records import PersonFacts
from testrota.db import tables
from testrota.db.engine import core, session_scope
from testrota.db.models import Person, Tube, TubeMember
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.sampling.tubes import (
    Candidate,
    TubeState,
    check_member,
    clean_tube_code,
    ratio_for,
    refuse_reopen,
)
from testrota.statuses import TubeStatus
from testrota.weeks import local_date

MAX_LISTED = 5000  # tubes in one listing: a large site's day is a few hundred


@dataclass(frozen=True)
class TubeView:
    """A tube as ``testrota tubes`` and the scan console show it."""

    code: str
    site: str
    ratio: int
    status: str
    members: list[str]  # employee numbers, in the order they went in
    opened_at: datetime
    closed_at: datetime | None
    result: str | None
    day: date
    grid_unit: str
    places_left: int
    packed_at: datetime | None
    gene_text: str
    ct: float | None
    already: bool = False  # the command found it done already and wrote nothing


def _view(tube: Tube, members: list[str], already: bool = False) -> TubeView:
    return TubeView(
        code=tube.code,
        site=tube.site_code,
        ratio=tube.ratio,
        status=tube.status,
        members=members,
        opened_at=tube.opened_at,
        closed_at=tube.closed_at,
        result=tube.result,
        day=tube.day,
        grid_unit=tube.grid_unit,
        places_left=max(tube.ratio - len(members), 0) if tube.status == TubeStatus.OPEN else 0,
        packed_at=tube.packed_at,
        gene_text=tube.gene_text,
        ct=tube.ct,
        already=already,
    )


def _members(session: Session, tube_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    if not tube_ids:
        return out
    rows = session.execute(
        select(col(TubeMember.tube_id), col(Person.employee_no))
        .join(Person, col(Person.id) == col(TubeMember.person_id))
        .where(col(TubeMember.tube_id).in_(tube_ids))
        .order_by(col(TubeMember.tube_id), col(TubeMember.added_at), col(TubeMember.id))
    )
    for tube_id, employee_no in rows:
        out[tube_id].append(employee_no)
    return out


# Built once and bound at each scan (every swab reads its tube and the tube's members).
_TUBE = select(Tube).where(col(Tube.code) == bindparam("code"))
_TUBE_LOCKED = _TUBE.with_for_update()
# One read for the three questions of a swab: the tube's count, whether this swab (or this
# person) is in it or in another tube already, and the person's other open tube.
_MEMBERS = (
    select(
        col(TubeMember.tube_id),
        col(TubeMember.person_id),
        col(TubeMember.result_id),
        col(Tube.code),
        col(Tube.status),
    )
    .join(Tube, col(Tube.id) == col(TubeMember.tube_id))
    .where(
        (col(TubeMember.tube_id) == bindparam("tube_id"))
        | (
            (col(TubeMember.person_id) == bindparam("person_id"))
            & (
                (col(Tube.status) == TubeStatus.OPEN)
                | (col(TubeMember.result_id) == bindparam("result_id"))
            )
        )
    )
)


_ADD_MEMBER = insert(tables.TUBE_MEMBER)


def _tube(session: Session, code: str, *, lock: bool = False) -> Tube | None:
    return session.scalars(_TUBE_LOCKED if lock else _TUBE, {"code": code}).first()


def _state(tube: Tube, members: int) -> TubeState:
    return TubeState(
        tube.code,
        tube.site_code,
        tube.day,
        tube.ratio,
        tube.status,
        tube.grid_unit,
        members,
        tube.opened_at,
    )


# --- open -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenTube:
    code: str
    site: str
    actor: Actor
    ratio: int | None = None  # None: the policy's (testing.pooling)
    at: datetime | None = None  # when it was opened; None: now


def open_tube(app: App, cmd: OpenTube) -> TubeView:
    """Open a tube at a site; opening the same tube again that day is a harmless repeat.

    A code used on another day, or already closed, or open at another site, an unknown site, a
    ratio other than 1, 5, 10 or 20, or a time in the future is a UserError.
    """
    now = app.now()
    at = cmd.at or now
    policy = app.policy
    if at > now + FUTURE_TOLERANCE:
        raise UserError("the time {at} is in the future", at=at.astimezone(policy.tz).isoformat())
    code = clean_tube_code(cmd.code)
    day = local_date(at, policy.tz)
    ratio = ratio_for(day, cmd.ratio, policy)
    with app.write_lock, session_scope(app.engine) as session:
        site = _known_site(session, cmd.site)
        if site is None:
            raise UserError("give the site the tube is used at (--site)")
        existing = _tube(session, code, lock=True)
        if existing is not None and existing.id is not None:
            refuse_reopen(_state(existing, 0), day, site)
            if cmd.ratio is not None and cmd.ratio != existing.ratio:
                raise UserError(
                    "tube {code} is open for {ratio} swabs already",
                    code=code,
                    ratio=existing.ratio,
                )
            return _view(existing, _members(session, [existing.id])[existing.id], already=True)
        tube = Tube(
            code=code,
            site_code=site,
            day=day,
            ratio=ratio,
            status=TubeStatus.OPEN,
            opened_at=at,
            opened_by=str(cmd.actor),
        )
        session.add(tube)
        session.flush()
        record(
            session,
            cmd.actor,
            Action.TUBE_OPENED,
            "tube",
            code,
            at=now,
            details={"site": site, "ratio": ratio, "day": day.isoformat()},
        )
        return _view(tube, [])


# --- close ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloseTube:
    code: str
    actor: Actor


def close_tube(app: App, cmd: CloseTube) -> TubeView:
    """Close a tube by hand (before its ratio: the last people of the session). Closing a
    closed tube again is a harmless repeat; an empty or unknown tube is a UserError."""
    now = app.now()
    code = clean_tube_code(cmd.code)
    with app.write_lock, session_scope(app.engine) as session:
        tube = _tube(session, code, lock=True)
        if tube is None or tube.id is None:
            raise UserError("no tube {code}: open it first", code=code)
        members = _members(session, [tube.id])[tube.id]
        if tube.status != TubeStatus.OPEN:
            return _view(tube, members, already=True)
        if not members:
            raise UserError("tube {code} is empty: nothing to close", code=code)
        tube.status = TubeStatus.CLOSED
        tube.closed_at = now
        tube.closed_by = str(cmd.actor)
        session.add(tube)
        record(
            session,
            cmd.actor,
            Action.TUBE_CLOSED,
            "tube",
            code,
            at=now,
            details={"members": len(members), "ratio": tube.ratio, "by_hand": True},
        )
        return _view(tube, members)


# --- list -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListTubes:
    day: date | None = None  # None: today, locally
    site: str | None = None


def list_tubes(app: App, cmd: ListTubes) -> list[TubeView]:
    """The tubes of a day (and site), in the order they were opened, with their members."""
    day = cmd.day or local_date(app.now(), app.policy.tz)
    with Session(app.read_engine) as session:
        query = select(Tube).where(col(Tube.day) == day)
        if cmd.site:
            site = _known_site(session, cmd.site)
            query = query.where(col(Tube.site_code) == site)
        tubes = list(
            session.scalars(query.order_by(col(Tube.opened_at), col(Tube.id)).limit(MAX_LISTED))
        )
        members = _members(session, [t.id for t in tubes if t.id is not None])
        return [_view(t, members.get(t.id or 0, [])) for t in tubes]


# --- packing for the courier ----------------------------------------------------------------------


@dataclass(frozen=True)
class PackTubes:
    site: str
    count: int  # the tubes the packer counted into the courier's box
    actor: Actor
    day: date | None = None  # None: today, locally


@dataclass(frozen=True)
class Packed:
    site: str
    day: date
    tubes: list[str]  # the codes packed now (all of the day's, when ``already``)
    swabs: int
    already: bool  # they were packed before: nothing written


MAX_COUNT = 10_000


def pack_tubes(app: App, cmd: PackTubes) -> Packed:
    """Mark the site's closed tubes of the day as packed, when the count handed to the courier
    is the system's; a tube still open with swabs, or a count that differs, is a UserError that
    says which tubes, and nothing is written."""
    if not 0 <= cmd.count <= MAX_COUNT:
        raise UserError("count the tubes: 0 to {n}", n=MAX_COUNT)
    now = app.now()
    day = cmd.day or local_date(now, app.policy.tz)
    with app.write_lock, session_scope(app.engine) as session:
        site = _known_site(session, cmd.site)
        if site is None:
            raise UserError("give the site whose tubes are packed (--site)")
        tubes = list(
            session.scalars(
                select(Tube)
                .where(col(Tube.day) == day, col(Tube.site_code) == site)
                .order_by(col(Tube.opened_at), col(Tube.id))
                .with_for_update()
            )
        )
        members = _members(session, [t.id for t in tubes if t.id is not None])
        still_open = [
            t.code for t in tubes if t.status == TubeStatus.OPEN and members.get(t.id or 0)
        ]
        if still_open:
            raise UserError(
                "tube(s) {codes} still open with swabs: close them before packing",
                codes=", ".join(still_open[:20]),
            )
        closed = [t for t in tubes if t.status == TubeStatus.CLOSED]
        packed = [t for t in tubes if t.status == TubeStatus.PACKED]
        if not closed and packed and cmd.count == len(packed):
            swabs = sum(len(members.get(t.id or 0, [])) for t in packed)
            return Packed(site, day, [t.code for t in packed], swabs, True)
        if cmd.count != len(closed):
            raise UserError(
                "{site} has {n} closed tube(s) of {day} to pack and {count} were counted: find "
                "the difference before the courier leaves ({codes})",
                site=site,
                n=len(closed),
                day=day.isoformat(),
                count=cmd.count,
                codes=", ".join(t.code for t in closed[:50]) or "none",
            )
        if not closed:
            raise UserError("{site} has no closed tube of {day} to pack", site=site, day=day)
        codes = [t.code for t in closed]
        session.execute(
            update(Tube)
            .where(col(Tube.id).in_([t.id for t in closed]))
            .values(status=TubeStatus.PACKED, packed_at=now, packed_by=str(cmd.actor))
        )
        swabs = sum(len(members.get(t.id or 0, [])) for t in closed)
        record(
            session,
            cmd.actor,
            Action.TUBE_PACKED,
            "site",
            site,
            at=now,
            details={
                "day": day.isoformat(),
                "tubes": codes[:500],
                "count": len(codes),
                "swabs": swabs,
            },
        )
        return Packed(site, day, codes, swabs, False)


# --- a swab into a tube (inside the check-in's transaction) ---------------------------------


@dataclass(frozen=True)
class Placement:
    code: str
    places_left: int
    closed: bool  # this swab filled it: it closed by itself
    already: bool  # the sample was in this tube already: nothing written
    ratio: int = 0
    members: int = 0
    site: str = ""


def put_in_tube(
    session: Session,
    tube_code: str,
    person: PersonFacts,
    result_id: int,
    site: str | None,
    at: datetime,
    actor: str,
    policy: Policy,
    *,
    lock: bool,
) -> Placement:
    """Put the sample ``result_id`` of ``person`` into the tube, closing it at its ratio; a
    UserError (the caller's transaction then writes nothing) when the rules refuse it."""
    code = clean_tube_code(tube_code)
    tube = _tube(session, code, lock=lock)
    if tube is None or tube.id is None:
        raise UserError("no tube {code}: open it first (tube open)", code=code)
    conn = core(session)  # a scan's two Core statements, past the ORM's execute
    rows = conn.execute(
        _MEMBERS, {"tube_id": tube.id, "person_id": person.id, "result_id": result_id}
    ).all()
    count = sum(1 for r in rows if r.tube_id == tube.id)
    placed = next(
        (
            r
            for r in rows
            if r.result_id == result_id or (r.tube_id == tube.id and r.person_id == person.id)
        ),
        None,
    )
    if placed is not None:
        if placed.tube_id == tube.id:
            left = max(tube.ratio - count, 0) if tube.status == TubeStatus.OPEN else 0
            return Placement(code, left, False, True, tube.ratio, count, tube.site_code)
        raise UserError(
            "{employee_no} was sampled into tube {other} already in this visit",
            employee_no=person.employee_no,
            other=placed.code,
        )
    other_open = next(
        (
            r.code
            for r in rows
            if r.person_id == person.id and r.tube_id != tube.id and r.status == TubeStatus.OPEN
        ),
        None,
    )
    check_member(
        _state(tube, count),
        Candidate(person.employee_no, person.grid_unit, person.category),
        site,
        other_open,
        policy,
    )
    member = {
        "tube_id": tube.id,
        "person_id": person.id,
        "result_id": result_id,
        "added_at": at,
        "added_by": actor,
    }
    conn.execute(_ADD_MEMBER, member)
    count += 1
    values: dict[str, object] = {}
    if count == 1:
        values["grid_unit"] = person.grid_unit
    elif tube.grid_unit != person.grid_unit:
        values["grid_unit"] = ""  # mixed (the policy allows it): no one unit to point at
    closed = count >= tube.ratio
    if closed:
        values.update(status=TubeStatus.CLOSED, closed_at=at, closed_by=actor)
    if values:
        session.execute(update(Tube).where(col(Tube.id) == tube.id).values(**values))
    return Placement(
        code, max(tube.ratio - count, 0), closed, False, tube.ratio, count, tube.site_code
    )


def tube_site(session: Session, tube_code: str) -> str | None:
    """The site of a tube (the check-in's site when none was given), None when unknown."""
    try:
        code = clean_tube_code(tube_code)
    except UserError:
        return None
    tube = _tube(session, code)
    return tube.site_code if tube is not None else None
