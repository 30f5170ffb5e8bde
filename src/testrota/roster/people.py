"""Reading people back out, in the shape the contract promises (``people --format json``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from testrota.db.models import Person
from testrota.errors import UserError
from testrota.roster.numbers import loose_key, number_key, pick_number

MAX_TYPED = 64  # the longest employee number the roster accepts
MAX_CANDIDATES = 200  # people sharing a number once leading zeros are ignored: a few at most
CANDIDATES_SHOWN = 10

PEOPLE_COLUMNS = [
    "employee_no",
    "name",
    "department",
    "grid_unit",
    "role",
    "phone",
    "person_type",
    "active",
    "risk_category",
    "matched_by",
    "matched_text",
]


def person_row(p: Person) -> dict[str, Any]:
    return {
        "employee_no": p.employee_no,
        "name": p.name,
        "department": p.department,
        "grid_unit": p.grid_unit,
        "role": p.role,
        "phone": p.phone,
        "phone_valid": p.phone_valid,
        "person_type": p.person_type,
        "host_employee_no": p.host_employee_no,
        "shift": p.shift,
        "language": p.language,
        "vaccination": p.vaccination,
        "active": p.active,
        "opted_out": p.opted_out,
        "risk_category": p.risk_category,
        "risk_categories": [c for c in p.risk_categories.split(",") if c],
        "matched_by": p.matched_by,
        "matched_text": p.matched_text,
    }


def list_people(
    session: Session,
    *,
    include_inactive: bool = False,
    high_risk_only: bool = False,
    department: str | None = None,
) -> list[dict[str, Any]]:
    query = select(Person)
    if not include_inactive:
        query = query.where(col(Person.active).is_(True))
    if high_risk_only:
        query = query.where(col(Person.risk_category).is_not(None))
    if department:
        query = query.where(Person.department == department)
    query = query.order_by(col(Person.department), col(Person.employee_no))
    return [person_row(p) for p in session.exec(query)]


class AmbiguousEmployeeNo(UserError):
    """A typed number that could be several people; ``candidates`` lists them."""

    def __init__(self, typed: str, candidates: list[dict[str, str]]) -> None:
        self.typed = typed
        self.candidates = candidates
        shown = ", ".join(
            f"{c['employee_no']} ({c['name']}, {c['department']})" if c["department"]
            else f"{c['employee_no']} ({c['name']})"
            for c in candidates[:CANDIDATES_SHOWN]
        )
        more = (
            f" and {len(candidates) - CANDIDATES_SHOWN} more"
            if len(candidates) > CANDIDATES_SHOWN else ""
        )
        super().__init__(
            f"employee number {typed!r} could be {len(candidates)} people: {shown}{more}; "
            "type the whole number"
        )


def find_by_number(
    session: Session,
    typed: str,
    *,
    departments: Collection[str] | None = None,
    lock: bool = False,
) -> Person | None:
    """The person a typed or scanned employee number means, or None when nobody matches.

    Forgives case, full-width forms, spaces and missing leading zeros (``roster.numbers``);
    raises :class:`AmbiguousEmployeeNo` when the number could be several people.
    ``departments`` limits the people considered (a supervisor's scope); ``lock`` takes the
    person's row lock (PostgreSQL) so two scans of one person take turns.
    """
    raw = (typed or "").strip()[:MAX_TYPED]
    if not raw:
        return None
    scoped = select(Person)
    if departments is not None:
        scoped = scoped.where(col(Person.department).in_(sorted(departments)))
    # The usual case first: the number exactly as stored, through its unique index.
    exact = scoped.where(Person.employee_no == raw)
    person = session.exec(exact.with_for_update() if lock else exact).first()
    if person is not None:
        return person
    loose = loose_key(raw)
    if not loose and not number_key(raw):
        return None
    # A scan of one column, only when the exact look-up missed.
    similar = scoped.where(func.ltrim(func.upper(col(Person.employee_no)), "0") == loose)
    found = {p.employee_no: p for p in session.exec(similar.limit(MAX_CANDIDATES))}
    pick = pick_number(raw, found)
    if pick.number is not None:
        if lock:
            chosen = scoped.where(Person.employee_no == pick.number)
            return session.exec(chosen.with_for_update()).first()
        return found[pick.number]
    if pick.candidates:
        raise AmbiguousEmployeeNo(
            raw,
            [
                {"employee_no": n, "name": found[n].name, "department": found[n].department}
                for n in pick.candidates
            ],
        )
    return None
