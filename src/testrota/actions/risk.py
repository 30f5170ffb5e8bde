"""Where high-risk categories are decided by hand: HR maps a role title, overrides one person,
or has everyone matched again after editing ``risk_categories.yaml``; and the role review list.

A category is checked against the vocabulary loaded now (:attr:`App.vocabulary`), whichever door
it came through, so a category added to ``risk_categories.yaml`` can be chosen everywhere at
once and an unknown one is refused everywhere with the same message. Every change reclassifies
the people it applies to in the same transaction, releases the coming appointments of those no
longer high-risk, and writes one audit event. Each first waits for a roster import (or a plan)
at work and holds the next off (:func:`~testrota.db.locks.hold`): people an import gave
a title to while a mapping of that title committed were written with the title's old category,
and stayed high-risk whatever the mapping said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.auth.scope import Scope
from testrota.db.engine import is_postgres, session_scope
from testrota.db.locks import PEOPLE_LOCK, hold
from testrota.errors import UserError
from testrota.risk import service as risk
from testrota.risk.matcher import count_by_category
from testrota.risk.normalize import role_key
from testrota.risk.service import RoleRow
from testrota.roster.people import get_person

if TYPE_CHECKING:
    from sqlmodel import Session

    from testrota.db.models import Person

# --- the role review list ------------------------------------------------------------------------


@dataclass(frozen=True)
class ListRoles:
    unmatched_only: bool = False  # only the titles no rule matched, most common first


def list_roles(app: App, query: ListRoles) -> list[RoleRow]:
    """Every distinct (role, department) of active people with its head-count and category."""
    from sqlmodel import Session

    vocab = app.vocabulary
    with Session(app.read_engine) as session:
        return risk.list_roles(session, query.unmatched_only, vocab=vocab)


# --- mapping a role title ------------------------------------------------------------------------


@dataclass(frozen=True)
class MapRole:
    role: str  # the title as the roster writes it
    category: str  # a code, a name in any script, "none" (not high-risk) or "clear" (unmap)
    reason: str
    actor: Actor
    department: str | None = None  # None or "": every department
    # Work out what the change would do (who, how many) and undo it: nothing is stored and
    # nothing audited. The roles page shows this before HR confirms.
    dry_run: bool = False


@dataclass(frozen=True)
class RoleMapped:
    role: str
    department: str  # "" for every department
    category: str | None
    old_category: str | None
    had_override: bool
    affected: int  # people reclassified
    released: int  # coming appointments given up by people no longer high-risk
    cleared: bool = False  # the mapping was removed: the rules decide again
    dry_run: bool = False  # nothing was stored: what the change would do
    departments: dict[str, int] = field(default_factory=dict)  # people reclassified, by department


@dataclass(frozen=True)
class _Effect:
    """What a change did, read inside its transaction (a rollback expires the people)."""

    affected: int
    released: int
    departments: dict[str, int]

    @classmethod
    def of(cls, changed: list[Person], released: int) -> _Effect:
        return cls(len(changed), released, _by_department(changed))


class _Undo(Exception):
    """Raised inside a dry run's transaction so that it rolls back, carrying what it found."""

    def __init__(self, effect: _Effect) -> None:
        super().__init__("dry run")
        self.effect = effect


def _by_department(people: list[Person]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for person in people:
        counts[person.department] = counts.get(person.department, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def map_role(app: App, cmd: MapRole) -> RoleMapped:
    """Map a role title (in one department, or everywhere) to a category or to "not high-risk",
    or remove the mapping (``clear``: see :func:`unmap_role`), and reclassify everyone it
    applies to.

    People with a per-person override or a recognised category column keep theirs (those
    rules come first). With ``dry_run`` the change is made and undone in one transaction, so
    the counts are exactly those a real change would have had at that moment.
    """
    if risk.says_clear(cmd.category):
        unmapped, was = _unmap(
            app,
            UnmapRole(cmd.role, cmd.reason, cmd.actor, cmd.department, dry_run=cmd.dry_run),
        )
        return RoleMapped(
            role=unmapped.role,
            department=unmapped.department,
            category=None,
            old_category=was,
            had_override=True,
            affected=unmapped.affected,
            released=unmapped.released,
            cleared=True,
            dry_run=cmd.dry_run,
            departments=unmapped.departments,
        )
    reason = risk.require_reason(cmd.reason)
    rk = role_key(cmd.role)
    if not rk:
        raise UserError("the role title is empty: give the title as it appears in the roster")
    vocab = app.vocabulary
    category = risk.parse_category(cmd.category, vocab)
    dk = role_key(cmd.department or "")
    role, department = cmd.role.strip(), (cmd.department or "").strip() if dk else ""
    now = app.now()
    old: dict[str, str | None] | None = None
    try:
        with app.write_lock, session_scope(app.engine) as session:
            hold(session.connection(), PEOPLE_LOCK)
            existing = risk.find_role_override(session, rk, dk)
            old = {"category": existing.category, "reason": existing.reason} if existing else None
            changed, released = _map_in(
                app, session, (rk, dk), (role, department), category, reason, cmd.actor, now
            )
            effect = _Effect.of(changed, released)
            if cmd.dry_run:
                raise _Undo(effect)
            record(
                session,
                cmd.actor,
                Action.ROLE_MAPPED,
                "role_override",
                _role_id(rk, dk),
                at=now,
                details={
                    "role": role,
                    "department": department,
                    "old": old,
                    "new": {"category": category, "reason": reason},
                    "reason": reason,
                    "affected": len(changed),
                    "released": released,
                },
            )
    except _Undo as undone:
        effect = undone.effect
    return RoleMapped(
        role=role,
        department=department,
        category=category,
        old_category=old["category"] if old else None,
        had_override=old is not None,
        affected=effect.affected,
        released=effect.released,
        dry_run=cmd.dry_run,
        departments=effect.departments,
    )


def _map_in(
    app: App,
    session: Session,
    keys: tuple[str, str],
    shown: tuple[str, str],
    category: str | None,
    reason: str,
    actor: Actor,
    now: datetime,
) -> tuple[list[Person], int]:
    """Store the mapping and reclassify its people in ``session``: (who changed, released)."""
    (rk, dk), (role, department) = keys, shown
    risk.upsert_role_override(
        session,
        {
            "role_key": rk,
            "department_key": dk,
            "role": role,
            "department": department,
            "category": category,
            "reason": reason,
            "created_by": str(actor),
            "created_at": now,
        },
    )
    changed = risk.reclassify_role(session, rk, dk, now, app.vocabulary)
    return changed, risk.release(session, changed, now, app.policy)


@dataclass(frozen=True)
class UnmapRole:
    role: str
    reason: str
    actor: Actor
    department: str | None = None  # the mapping of this department; None: the one for all
    dry_run: bool = False  # what removing it would do; nothing stored, nothing audited


@dataclass(frozen=True)
class RoleUnmapped:
    role: str
    department: str
    affected: int
    released: int
    dry_run: bool = False
    departments: dict[str, int] = field(default_factory=dict)  # people reclassified, by department


def unmap_role(app: App, cmd: UnmapRole) -> RoleUnmapped:
    """Remove HR's mapping of a role title; its people are matched by the rules again (those it
    leaves not high-risk give up their coming appointments)."""
    return _unmap(app, cmd)[0]


def _unmap(app: App, cmd: UnmapRole) -> tuple[RoleUnmapped, str | None]:
    """The mapping removed, and the category it had."""
    reason = risk.require_reason(cmd.reason)
    rk, dk = role_key(cmd.role), role_key(cmd.department or "")
    vocab = app.vocabulary
    now = app.now()
    try:
        with app.write_lock, session_scope(app.engine) as session:
            hold(session.connection(), PEOPLE_LOCK)
            existing = risk.find_role_override(session, rk, dk)
            if existing is None:
                if dk:
                    raise UserError(
                        "no mapping of the role {role!r} in department {department!r}; "
                        "`testrota roles` lists them",
                        role=cmd.role,
                        department=cmd.department,
                    )
                raise UserError(
                    "no mapping of the role {role!r} for every department; "
                    "`testrota roles` lists them",
                    role=cmd.role,
                )
            old = {"category": existing.category, "reason": existing.reason}
            role, department = existing.role, existing.department
            session.delete(existing)
            session.flush()
            changed = risk.reclassify_role(session, rk, dk, now, vocab)
            released = risk.release(session, changed, now, app.policy)
            effect = _Effect.of(changed, released)
            if cmd.dry_run:
                raise _Undo(effect)
            record(
                session,
                cmd.actor,
                Action.ROLE_UNMAPPED,
                "role_override",
                _role_id(rk, dk),
                at=now,
                details={
                    "role": role,
                    "department": department,
                    "old": old,
                    "new": None,
                    "reason": reason,
                    "affected": len(changed),
                    "released": released,
                },
            )
    except _Undo as undone:
        effect = undone.effect
    unmapped = RoleUnmapped(
        role=role,
        department=department,
        affected=effect.affected,
        released=effect.released,
        dry_run=cmd.dry_run,
        departments=effect.departments,
    )
    return unmapped, old["category"]


def _role_id(rk: str, dk: str) -> str:
    return f"{rk}@{dk}" if dk else rk


# --- one person ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverridePerson:
    employee_no: str
    category: str  # a code, a name in any script, "none" (not high-risk) or "clear" (automatic)
    reason: str
    actor: Actor
    scope: Scope = field(default_factory=Scope.everything)  # whom this actor may change


@dataclass(frozen=True)
class PersonOverridden:
    employee_no: str
    category: str | None  # their category now (None: not high-risk)
    old_category: str | None
    released: int  # coming appointments given up (no longer high-risk)
    cleared: bool = False  # the override was removed: the rules classify them again


def override_person(app: App, cmd: OverridePerson) -> PersonOverridden:
    """Fix one person's category (it beats every rule and survives re-imports), or remove that
    override (``clear``). They are reclassified at once; made not high-risk, they give up their
    coming appointments.

    A person outside ``scope`` is :class:`~testrota.roster.people.NoSuchPerson`.
    """
    reason = risk.require_reason(cmd.reason)
    vocab = app.vocabulary
    clear = risk.says_clear(cmd.category)
    category = None if clear else risk.parse_category(cmd.category, vocab)
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        hold(session.connection(), PEOPLE_LOCK)
        person = get_person(
            session,
            cmd.employee_no,
            departments=cmd.scope.departments,
            lock=is_postgres(app.engine),
        )
        old_category = person.risk_category
        if clear:
            if person.override_category is None:
                raise UserError(
                    "employee {employee_no} has no override to clear",
                    employee_no=person.employee_no,
                )
            old = {
                "override_category": person.override_category,
                "risk_category": person.risk_category,
            }
            person.override_category = None
            person.override_reason = None
            changed = risk.classify_people(session, [person], vocab, now)
            action, new = Action.CATEGORY_OVERRIDE_CLEARED, {"risk_category": person.risk_category}
        else:
            old = {
                "override_category": person.override_category,
                "risk_category": person.risk_category,
                "matched_by": person.matched_by,
            }
            risk.set_person_override(person, category, reason, now)
            session.add(person)
            session.flush()
            changed = [person]
            action, new = Action.CATEGORY_OVERRIDDEN, {"override_category": category}
        released = risk.release(session, changed, now, app.policy)
        record(
            session,
            cmd.actor,
            action,
            "person",
            person.employee_no,
            at=now,
            details={"old": old, "new": new, "reason": reason, "released": released},
        )
        return PersonOverridden(
            employee_no=person.employee_no,
            category=person.risk_category,
            old_category=old_category,
            released=released,
            cleared=clear,
        )


# --- everyone ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reclassify:
    actor: Actor


@dataclass(frozen=True)
class Reclassified:
    people: int
    changed: int
    high_risk: int  # active high-risk people now
    by_category: dict[str, int]  # active high-risk people per primary category, largest first
    released: int


def reclassify(app: App, cmd: Reclassify) -> Reclassified:
    """Match everyone again with the vocabulary and HR's mappings as they are now (after
    editing ``risk_categories.yaml``)."""
    vocab = app.vocabulary
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        hold(session.connection(), PEOPLE_LOCK)
        people = risk.everyone(session)
        changed = risk.classify_people(session, people, vocab, now)
        released = risk.release(session, changed, now, app.policy)
        summary = count_by_category(p.risk_category for p in people if p.active)
        record(
            session,
            cmd.actor,
            Action.RECLASSIFIED,
            "person",
            "",
            at=now,
            details={
                "people": len(people),
                "changed": len(changed),
                "high_risk": summary,
                "released": released,
            },
        )
    return Reclassified(
        people=len(people),
        changed=len(changed),
        high_risk=sum(summary.values()),
        by_category=summary,
        released=released,
    )
