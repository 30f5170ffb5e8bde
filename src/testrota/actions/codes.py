"""Personal codes: the ones a personal page shows, the badge sheets HR prints, and reading a
scanned code back to its person at the check-in."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy import select
from sqlmodel import Session, col

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.auth.scope import Scope
from testrota.badges import Badge, find_font, pages_needed, render_sheet
from testrota.codes import CodeClaim, make_code, read_code
from testrota.db.engine import session_scope
from testrota.db.models import Person
from testrota.errors import UserError
from testrota.notify.links import signing_secret
from testrota.statuses import PersonType
from testrota.weeks import local_date

MAX_CO_RESIDENTS = 20  # a household; more is a roster error, not a family
MAX_FILTER_LENGTH = 200


@dataclass(frozen=True)
class IssuedCode:
    person_id: int
    employee_no: str
    name: str
    code: str
    issued: date
    valid_until: date
    own: bool  # False: a co-resident's, shown on their host employee's page


def _issue(app: App, person: Person, today: date, own: bool) -> IssuedCode:
    assert person.id is not None
    days = app.policy.codes.valid_days
    code = make_code(signing_secret(app.settings), person.id, today, days)
    return IssuedCode(
        person.id,
        person.employee_no,
        person.name,
        code,
        today,
        date.fromordinal(today.toordinal() + days - 1),
        own,
    )


def personal_codes(app: App, person_id: int) -> list[IssuedCode]:
    """The person's own code, then (for a host employee) their active co-residents' codes."""
    today = local_date(app.now(), app.policy.tz)
    with Session(app.read_engine) as session:
        person = session.get(Person, person_id)
        if person is None or not person.active:
            return []
        codes = [_issue(app, person, today, True)]
        if person.person_type != PersonType.CO_RESIDENT:
            residents = session.scalars(
                select(Person)
                .where(
                    col(Person.host_employee_no) == person.employee_no,
                    col(Person.person_type) == PersonType.CO_RESIDENT,
                    col(Person.active).is_(True),
                )
                .order_by(col(Person.name), col(Person.employee_no))
                .limit(MAX_CO_RESIDENTS)
            )
            codes += [_issue(app, r, today, False) for r in residents]
    return codes


def claim_of(app: App, text: str) -> CodeClaim:
    """Whom a scanned code names; :class:`testrota.codes.InvalidCode` or ``ExpiredCode``."""
    return read_code(
        signing_secret(app.settings),
        text,
        local_date(app.now(), app.policy.tz),
        app.policy.codes.valid_days,
    )


def person_of_claim(
    session: Session,
    claim: CodeClaim,
    *,
    lock: bool = False,
    departments: Collection[str] | None = None,
    within: Any = None,
) -> Person:
    """The person a genuine code names, within ``departments`` and ``within`` (a SQL
    condition, ``Scope.where``); a UserError when they are gone or outside it (the two read
    alike: a scope says nothing of others)."""
    query = select(Person).where(col(Person.id) == claim.person_id)
    if departments is not None:
        query = query.where(col(Person.department).in_(sorted(departments)))
    if within is not None:
        query = query.where(within)
    person = session.scalars(query.with_for_update() if lock else query).first()
    if person is None:
        raise UserError(
            "the person of this code is not on the roster (or not in your departments); "
            "type their employee number"
        )
    return person


# --- badge sheets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadgeSheet:
    actor: Actor
    fmt: Literal["png", "pdf"]
    department: str | None = None
    grid_unit: str | None = None
    scope: Scope = field(default_factory=Scope.everything)
    mask_names: bool = False  # the reader's role sees names masked (privacy.mask_for_roles)


@dataclass(frozen=True)
class BadgeSheetFile:
    data: bytes
    media_type: str
    file_name: str
    people: int
    pages: int
    valid_until: date
    font: str | None  # the font names were printed in; None: a font without Chinese glyphs
    warnings: list[str]


def mask_name(name: str) -> str:
    """A name with all but its first and last character hidden (``张*丰``; ``李*`` for two)."""
    chars = list(name.strip())
    if len(chars) <= 1:
        return "*" if chars else ""
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


def badge_sheet(app: App, cmd: BadgeSheet) -> BadgeSheetFile:
    """A printable sheet of the personal codes of one department's or one grid unit's active
    people, in the order of their employee numbers; audited with who printed it."""
    department = (cmd.department or "").strip()[:MAX_FILTER_LENGTH]
    grid_unit = (cmd.grid_unit or "").strip()[:MAX_FILTER_LENGTH]
    if bool(department) == bool(grid_unit):
        raise UserError("give one department or one grid unit to print badges for")
    policy = app.policy
    font = find_font(policy.codes.badge_font)
    now = app.now()
    today = local_date(now, app.policy.tz)
    # Read and drawn outside the write transaction: a sheet of two thousand takes seconds,
    # and the write lock is the check-in's too.
    with Session(app.read_engine) as session:
        query = select(Person).where(col(Person.active).is_(True))
        if department:
            query = query.where(col(Person.department) == department)
        else:
            query = query.where(col(Person.grid_unit) == grid_unit)
        within = cmd.scope.where(col(Person.department))  # a unit supervisor's: their units
        if within is not None:
            query = query.where(within)
        limit = policy.codes.max_badges
        people = list(session.scalars(query.order_by(col(Person.employee_no)).limit(limit + 1)))
    if not people:
        raise UserError(
            "nobody active in {what} {value!r}{scope}",
            what="department" if department else "grid unit",
            value=department or grid_unit,
            scope="" if cmd.scope.is_everything else " within your departments",
        )
    if len(people) > limit:
        raise UserError("more than {n} people: print a smaller group (codes.max_badges)", n=limit)
    codes = [_issue(app, p, today, True) for p in people]
    badges = [
        Badge(
            mask_name(p.name) if cmd.mask_names else p.name,
            p.employee_no,
            " · ".join(x for x in (p.department, p.grid_unit) if x),
            c.code,
            c.valid_until,
        )
        for p, c in zip(people, codes, strict=True)
    ]
    data = render_sheet(badges, cmd.fmt, font, f"{department or grid_unit} · {today.isoformat()}")
    with app.write_lock, session_scope(app.engine) as write:
        record(
            write,
            cmd.actor,
            Action.BADGES_PRINTED,
            "department" if department else "grid_unit",
            department or grid_unit,
            at=now,
            details={
                "people": len(people),
                "format": cmd.fmt,
                "valid_until": codes[0].valid_until.isoformat(),
                "masked": cmd.mask_names,
            },
        )
    warnings = []
    if font is None and any(not p.name.isascii() for p in people):
        warnings.append(
            "no font with Chinese characters was found: names print as boxes; install one "
            "(e.g. fonts-noto-cjk) or set codes.badge_font"
        )
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in (department or grid_unit))
    return BadgeSheetFile(
        data=data,
        media_type="image/png" if cmd.fmt == "png" else "application/pdf",
        file_name=f"badges-{stem}-{today.isoformat()}.{cmd.fmt}",
        people=len(people),
        pages=pages_needed(len(people)),
        valid_until=codes[0].valid_until,
        font=font,
        warnings=warnings,
    )
