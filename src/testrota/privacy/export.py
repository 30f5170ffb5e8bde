"""``testrota export-person``: everything held on one person.

What a person may ask to see: their roster record and classification, their appointments,
samples and results, exemptions, every text sent to them and every reply from them, the alerts
about them and those they were a contact in, and the audit events about them. The use case
(:func:`testrota.actions.privacy.export_person`) records the export in the audit log (who and
when, not what); the door shows times in the policy's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from testrota.privacy.records import (
    AC,
    AE,
    AL,
    EX,
    IN,
    RO,
    TR,
    A,
    M,
    P,
    audit_condition,
    find_person,
    inbound_condition,
    person_keys,
)

FORMAT = "testrota.person-export/1"
CLASSIFICATION_FIELDS = (
    "risk_category",
    "risk_categories",
    "matched_by",
    "matched_text",
    "override_category",
    "override_reason",
    "category_column",
)


@dataclass(frozen=True)
class Household:
    host_employee_no: str | None  # a co-resident's host employee
    co_residents: list[str]  # the people living with an employee


@dataclass(frozen=True)
class PersonExport:
    """Everything held on one person; each section is a list of that table's rows, every
    column of them (datetimes aware: the door shows them in the policy's zone)."""

    format: str
    exported_at: datetime
    employee_no: str
    person: dict[str, Any]
    classification: dict[str, Any]
    household: Household
    appointments: list[dict[str, Any]]
    test_results: list[dict[str, Any]]
    exemptions: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    inbound_messages: list[dict[str, Any]]
    reschedule_offers: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    contact_of: list[dict[str, Any]]  # alerts in which they were traced as a contact
    audit_events: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)  # rows per section


def _plain(value: Any) -> Any:
    return None if isinstance(value, bytes) else value


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in conn.execute(query).mappings()]


def collect_person(conn: Connection, employee_no: str, now: datetime) -> PersonExport:
    """The export of one person (raises UserError when there is none)."""
    person = find_person(conn, employee_no)
    keys = person_keys(conn, person)
    pid = keys.id
    record = {k: _plain(v) for k, v in person.items()}
    classification = {k: record.get(k) for k in CLASSIFICATION_FIELDS}
    classification["risk_categories"] = [
        c for c in (person.get("risk_categories") or "").split(",") if c
    ]
    classification["high_risk"] = person.get("risk_category") is not None
    co_residents = list(
        conn.execute(
            select(P.c.employee_no)
            .where(P.c.host_employee_no == keys.employee_no)
            .order_by(P.c.employee_no)
        ).scalars()
    )
    alerts = _rows(conn, select(AL).where(AL.c.person_id == pid).order_by(AL.c.id))
    contacts: dict[int, int] = (
        dict(
            conn.execute(
                select(AC.c.alert_id, func.count())
                .where(AC.c.alert_id.in_([a["id"] for a in alerts]))
                .group_by(AC.c.alert_id)
            ).all()
        )
        if alerts
        else {}
    )
    for alert in alerts:
        # how many were traced, not who: the contacts are other people
        alert["contacts"] = contacts.get(alert["id"], 0)
    contact_of = _rows(
        conn,
        select(AC.c.alert_id, AC.c.reason, AL.c.created_at.label("alert_at"))
        .select_from(AC.join(AL, AL.c.id == AC.c.alert_id))
        .where(AC.c.person_id == pid)
        .order_by(AC.c.alert_id),
    )
    export = PersonExport(
        format=FORMAT,
        exported_at=now,
        employee_no=keys.employee_no,
        person=record,
        classification=classification,
        household=Household(person.get("host_employee_no"), co_residents),
        appointments=_rows(
            conn, select(A).where(A.c.person_id == pid).order_by(A.c.starts_at, A.c.id)
        ),
        test_results=_rows(
            conn, select(TR).where(TR.c.person_id == pid).order_by(TR.c.sampled_at, TR.c.id)
        ),
        exemptions=_rows(
            conn, select(EX).where(EX.c.person_id == pid).order_by(EX.c.start_date, EX.c.id)
        ),
        messages=_rows(conn, select(M).where(M.c.person_id == pid).order_by(M.c.due_at, M.c.id)),
        inbound_messages=_rows(
            conn, select(IN).where(inbound_condition(keys)).order_by(IN.c.received_at, IN.c.id)
        ),
        reschedule_offers=_rows(
            conn, select(RO).where(RO.c.person_id == pid).order_by(RO.c.created_at, RO.c.id)
        ),
        alerts=alerts,
        contact_of=contact_of,
        audit_events=_rows(
            conn, select(AE).where(audit_condition(keys)).order_by(AE.c.at, AE.c.id)
        ),
    )
    counts = {
        f.name: len(getattr(export, f.name))
        for f in fields(export)
        if isinstance(getattr(export, f.name), list)
    }
    return replace(export, counts=counts)
