"""One result typed in by hand (a lab phoning in a positive, an outside booth's slip)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import col

from testrota.compliance.alerts import book_contacts, raise_alerts
from testrota.compliance.facts import cols, find_person
from testrota.compliance.flagging import mark_done_for
from testrota.compliance.records import Sample
from testrota.compliance.result_rows import LAB, OUTSIDE, site_key
from testrota.compliance.results_parse import parse_result
from testrota.db.engine import session_scope
from testrota.db.models import AuditEvent, Site, TestResult
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.statuses import ResultValue


def record_result(
    engine: Engine,
    employee_no: str,
    sampled_at: datetime,
    result: str,
    *,
    actor: str,
    now: datetime,
    policy: Policy,
    config_dir: Path,
    site: str | None = None,
) -> dict[str, Any]:
    """Record (or update) one person's result; a positive raises its alert at once."""
    code = parse_result(result)
    if code is None or not result.strip():
        raise UserError(
            f"{result!r} is not a result: use negative, positive, pending or invalid "
            "(阴性/阳性/待检/无效)"
        )
    if sampled_at > now + timedelta(minutes=10):
        raise UserError(
            f"the sampling time {sampled_at.astimezone(policy.tz).isoformat()} is in the future"
        )
    with session_scope(engine) as session:
        person = find_person(session, employee_no)
        assert person.id is not None
        site_code, site_name = _site(session, site)
        source = OUTSIDE if site_name else LAB
        row = session.scalars(
            select(TestResult).where(
                col(TestResult.person_id) == person.id,
                col(TestResult.sampled_at) == sampled_at,
                col(TestResult.source) == source,
            )
        ).first()
        status = "unchanged"
        if row is None:
            row = TestResult(
                person_id=person.id, sampled_at=sampled_at, result=code, source=source,
                site_code=site_code, site_name=site_name, recorded_at=now, recorded_by=actor,
            )
            session.add(row)
            status = "recorded"
        elif row.result != code:
            row.result, row.recorded_at, row.recorded_by = code, now, actor
            status = "updated"
        session.flush()
        mark_done_for(session, [(person.id, sampled_at, code)], now, policy)
        raised = []
        if code == ResultValue.POSITIVE and status != "unchanged":
            raised = raise_alerts(
                session,
                [Sample(person.id, sampled_at, code, source, site_code, row.id)],
                now,
                policy,
            )
        if status != "unchanged":
            session.add(
                AuditEvent(at=now, actor=actor, action="result_recorded", entity="testresult",
                           entity_id=str(row.id), details={"employee_no": person.employee_no,
                                                           "result": code, "status": status})
            )
        out: dict[str, Any] = {
            "status": status,
            "employee_no": person.employee_no,
            "name": person.name,
            "result": code,
            "sampled_at": sampled_at.astimezone(policy.tz).isoformat(),
            "source": source,
            "site": site_code or site_name or None,
            "result_id": row.id,
            "alerts": [{"alert_id": a.alert_id, "contacts": len(a.contact_ids)} for a in raised],
        }
    if raised:
        out["contacts_booking"] = book_contacts(engine, raised, now, policy, config_dir)
    return out


def _site(session: Any, site: str | None) -> tuple[str | None, str]:
    """A known site's code, or (None, the name as written) for an outside site."""
    text = (site or "").strip()
    if not text:
        return None, ""
    for code, name in session.execute(select(*cols(Site.code, Site.name))):
        if site_key(text) in (site_key(code), site_key(name)):
            return code, ""
    return None, text
