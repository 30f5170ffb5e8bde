"""Reading people back out, in the shape the contract promises (``people --format json``)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from testrota.db.models import Person

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
