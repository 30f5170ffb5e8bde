"""People for the risk service and CLI tests, classified the way a roster import does it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from testrota.db.models import Person
from testrota.risk.matcher import match_many, storage_fields, with_person_override
from testrota.risk.service import load_role_overrides
from testrota.risk.vocabulary import Vocabulary

NOW = datetime(2022, 5, 9, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@dataclass(frozen=True)
class Row:
    employee_no: str
    role: str
    department: str
    category_column: str | None = None
    active: bool = True


def import_rows(session: Session, rows: list[Row], vocab: Vocabulary) -> None:
    """What the roster sync does with risk matching: match every distinct key once with HR's
    role mappings, then put each person's own override on top. Existing people are updated,
    so calling it twice is a re-import."""
    overrides = load_role_overrides(session)
    matches = match_many(
        {(r.role, r.department, r.category_column) for r in rows}, vocab, overrides
    )
    for row in rows:
        person = session.exec(select(Person).where(Person.employee_no == row.employee_no)).first()
        if person is None:
            person = Person(
                employee_no=row.employee_no,
                name=f"员工{row.employee_no}",
                created_at=NOW,
                updated_at=NOW,
            )
        person.role = row.role
        person.department = row.department
        person.category_column = row.category_column
        person.active = row.active
        match = with_person_override(
            matches[(row.role, row.department, row.category_column)],
            person.override_category,
            person.override_reason,
        )
        for name, value in storage_fields(match).items():
            setattr(person, name, value)
        session.add(person)
    session.commit()


def person(session: Session, employee_no: str) -> Person:
    """The person as stored now; the read's transaction is ended (on SQLite it would hold the
    write lock a use case called next needs)."""
    session.expire_all()
    found = session.exec(select(Person).where(Person.employee_no == employee_no)).one()
    session.commit()
    return found


def plant(prefix: str = "") -> list[Row]:
    """A small plant: drivers, furnace crew, weighbridge clerks, a crane operator, retirees."""
    rows = [Row(f"{prefix}D{i}", "司机", "运输部") for i in range(3)]
    rows += [Row(f"{prefix}F{i}", "炉前工", "炼铁厂") for i in range(5)]
    rows += [Row(f"{prefix}S{i}", "司磅员", "计量中心") for i in range(2)]
    rows += [Row(f"{prefix}C0", "天车工", "炼钢厂")]
    rows += [Row(f"{prefix}G{i}", "门卫", "炼钢厂", active=False) for i in range(4)]
    return rows
