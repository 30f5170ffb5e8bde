"""Finding everything held on one person: shared by the export and the erasure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, Text, cast, or_, select
from sqlalchemy.sql.elements import ColumnElement

from testrota.db import tables
from testrota.errors import UserError

P: Table = tables.PERSON
A: Table = tables.APPOINTMENT
TR: Table = tables.TEST_RESULT
EX: Table = tables.EXEMPTION
M: Table = tables.MESSAGE
IN: Table = tables.INBOUND_MESSAGE
AL: Table = tables.ALERT
AC: Table = tables.ALERT_CONTACT
AE: Table = tables.AUDIT_EVENT
RO: Table = tables.RESCHEDULE_OFFER


@dataclass(frozen=True)
class PersonKeys:
    """The ids under which other rows refer to one person."""

    id: int
    employee_no: str
    phone: str | None
    appointment_ids: tuple[int, ...]
    result_ids: tuple[int, ...]
    alert_ids: tuple[int, ...]


def find_person(conn: Connection, employee_no: str) -> dict[str, Any]:
    number = (employee_no or "").strip()
    if not number:
        raise UserError("give an employee number, e.g. testrota export-person 10023")
    row = conn.execute(select(P).where(P.c.employee_no == number)).mappings().first()
    if row is None:
        raise UserError(
            "no person with employee number {number!r}; `testrota people --all` lists them "
            "(an erased person keeps no employee number)",
            number=number,
        )
    return dict(row)


def person_keys(conn: Connection, person: dict[str, Any]) -> PersonKeys:
    pid = person["id"]
    return PersonKeys(
        id=pid,
        employee_no=person["employee_no"],
        phone=person["phone"],
        appointment_ids=tuple(conn.execute(select(A.c.id).where(A.c.person_id == pid)).scalars()),
        result_ids=tuple(conn.execute(select(TR.c.id).where(TR.c.person_id == pid)).scalars()),
        alert_ids=tuple(conn.execute(select(AL.c.id).where(AL.c.person_id == pid)).scalars()),
    )


def json_mentions(column: Any, value: str) -> ColumnElement[bool]:
    """``column`` (JSON) holds the string ``value`` somewhere, as a whole JSON string.

    Both databases keep the JSON text as SQLAlchemy wrote it (``json.dumps``), so the quoted,
    escaped form of ``value`` is what to look for.
    """
    return cast(column, Text).contains(json.dumps(value), autoescape=True)


def audit_condition(keys: PersonKeys) -> ColumnElement[bool]:
    """Audit events about the person: on them, on their appointments, results and alerts, or
    naming their employee number anywhere in the details (a results import, a plan report)."""
    parts: list[ColumnElement[bool]] = [
        (AE.c.entity == "person") & AE.c.entity_id.in_([keys.employee_no, str(keys.id)]),
        json_mentions(AE.c.details, keys.employee_no),
    ]
    for entity, ids in (
        ("appointment", keys.appointment_ids),
        ("testresult", keys.result_ids),
        ("alert", keys.alert_ids),
    ):
        if ids:
            parts.append((AE.c.entity == entity) & AE.c.entity_id.in_([str(i) for i in ids]))
    return or_(*parts)


def inbound_condition(keys: PersonKeys) -> ColumnElement[bool]:
    """Replies matched to the person, or sent from their number."""
    if keys.phone:
        return or_(IN.c.person_id == keys.id, IN.c.from_number == keys.phone)
    return IN.c.person_id == keys.id
