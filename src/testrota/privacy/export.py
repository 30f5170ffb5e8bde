"""``testrota export-person``: everything held on one person, as one JSON document.

What a person may ask to see: their roster record and classification, their appointments,
samples and results, exemptions, every text sent to them and every reply from them, the alerts
about them and those they were a contact in, and the audit events about them. Times are shown
in the policy's time zone. The export itself is recorded in the audit log (who and when, not
what).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select

from testrota.db import tables
from testrota.policy import Policy
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
CLASSIFICATION_FIELDS = ("risk_category", "risk_categories", "matched_by", "matched_text",
                         "override_category", "override_reason", "category_column")


def _plain(value: Any, tz: tzinfo) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _rows(conn: Connection, query: Any, tz: tzinfo) -> list[dict[str, Any]]:
    return [{k: _plain(v, tz) for k, v in row.items()} for row in conn.execute(query).mappings()]


def collect_person(conn: Connection, employee_no: str, policy: Policy, now: datetime
                   ) -> dict[str, Any]:
    """The export document of one person (raises UserError when there is none)."""
    tz = policy.tz
    person = find_person(conn, employee_no)
    keys = person_keys(conn, person)
    pid = keys.id
    record = {k: _plain(v, tz) for k, v in person.items()}
    classification = {k: record.get(k) for k in CLASSIFICATION_FIELDS}
    classification["risk_categories"] = [
        c for c in (person.get("risk_categories") or "").split(",") if c
    ]
    classification["high_risk"] = person.get("risk_category") is not None
    co_residents = list(conn.execute(
        select(P.c.employee_no).where(P.c.host_employee_no == keys.employee_no)
        .order_by(P.c.employee_no)
    ).scalars())
    alerts = _rows(conn, select(AL).where(AL.c.person_id == pid).order_by(AL.c.id), tz)
    contacts: dict[int, int] = dict(conn.execute(
        select(AC.c.alert_id, func.count()).where(AC.c.alert_id.in_([a["id"] for a in alerts]))
        .group_by(AC.c.alert_id)
    ).all()) if alerts else {}
    for alert in alerts:
        # how many were traced, not who: the contacts are other people
        alert["contacts"] = contacts.get(alert["id"], 0)
    contact_of = _rows(conn, select(AC.c.alert_id, AC.c.reason, AL.c.created_at.label("alert_at"))
                       .select_from(AC.join(AL, AL.c.id == AC.c.alert_id))
                       .where(AC.c.person_id == pid).order_by(AC.c.alert_id), tz)
    document: dict[str, Any] = {
        "format": FORMAT,
        "exported_at": now.astimezone(tz).isoformat(),
        "employee_no": keys.employee_no,
        "person": record,
        "classification": classification,
        "household": {"host_employee_no": person.get("host_employee_no"),
                      "co_residents": co_residents},
        "appointments": _rows(conn, select(A).where(A.c.person_id == pid)
                              .order_by(A.c.starts_at, A.c.id), tz),
        "test_results": _rows(conn, select(TR).where(TR.c.person_id == pid)
                              .order_by(TR.c.sampled_at, TR.c.id), tz),
        "exemptions": _rows(conn, select(EX).where(EX.c.person_id == pid)
                            .order_by(EX.c.start_date, EX.c.id), tz),
        "messages": _rows(conn, select(M).where(M.c.person_id == pid)
                          .order_by(M.c.due_at, M.c.id), tz),
        "inbound_messages": _rows(conn, select(IN).where(inbound_condition(keys))
                                  .order_by(IN.c.received_at, IN.c.id), tz),
        "reschedule_offers": _rows(conn, select(RO).where(RO.c.person_id == pid)
                                   .order_by(RO.c.created_at, RO.c.id), tz),
        "alerts": alerts,
        "contact_of": contact_of,
        "audit_events": _rows(conn, select(AE).where(audit_condition(keys))
                              .order_by(AE.c.at, AE.c.id), tz),
    }
    document["counts"] = {
        k: len(v) for k, v in document.items() if isinstance(v, list)
    }
    return document


def export_person(engine: Engine, employee_no: str, policy: Policy, now: datetime,
                  actor: str) -> dict[str, Any]:
    """:func:`collect_person`, recording the export (not its content) in the audit log."""
    with engine.connect() as conn:
        document = collect_person(conn, employee_no, policy, now)
    table: Table = tables.AUDIT_EVENT
    with engine.begin() as conn:
        conn.execute(table.insert().values(
            at=now, actor=actor, action="person.export", entity="person",
            entity_id=document["employee_no"], details={"sections": document["counts"]},
        ))
    return document
