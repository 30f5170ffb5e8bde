"""One result typed in by hand (a lab phoning in a positive, an outside booth's slip)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from testrota.compliance.alerts import (
    AlertSummary,
    ContactsBooking,
    RaisedAlert,
    raise_alerts,
)
from testrota.compliance.facts import cols, find_person
from testrota.compliance.flagging import mark_done_for
from testrota.compliance.records import Sample
from testrota.compliance.result_rows import LAB, OUTSIDE, site_key
from testrota.compliance.results_parse import parse_result
from testrota.db.models import Site, TestResult
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.statuses import ResultValue

FUTURE_TOLERANCE = timedelta(minutes=10)  # a lab PC's clock a few minutes fast is not an error


class RecordedStatus(StrEnum):
    RECORDED = "recorded"  # a new sample
    UPDATED = "updated"  # the sample was known with another result (pending, say)
    UNCHANGED = "unchanged"  # known with this result already: nothing written


@dataclass(frozen=True)
class RecordedResult:
    status: RecordedStatus
    employee_no: str
    name: str
    result: ResultValue
    sampled_at: datetime
    source: str  # lab, or outside (a site that is not ours)
    site: str | None  # our site's code, or the outside site's name
    result_id: int
    alerts: list[AlertSummary]
    contacts_booking: ContactsBooking | None = None  # after the result committed

    @property
    def changed(self) -> bool:
        return self.status != RecordedStatus.UNCHANGED

    @property
    def audit_details(self) -> dict[str, Any]:
        return {
            "employee_no": self.employee_no,
            "result": self.result.value,
            "status": self.status.value,
            "sampled_at": self.sampled_at.isoformat(),
        }


def parse_result_word(text: str) -> ResultValue:
    """A result as typed (negative, 阳性 …); a UserError when it is none."""
    code = parse_result(text)
    if code is None or not text.strip():
        raise UserError(
            "{text!r} is not a result: use negative, positive, pending or invalid "
            "(阴性/阳性/待检/无效)",
            text=text,
        )
    return code


def record_result(
    session: Session,
    employee_no: str,
    sampled_at: datetime,
    result: ResultValue,
    *,
    actor: str,
    now: datetime,
    policy: Policy,
    site: str | None = None,
) -> tuple[RecordedResult, list[RaisedAlert]]:
    """Record (or update) one person's result in ``session``'s transaction; a positive raises
    its alert at once (returned, for the caller to audit and to book the contacts)."""
    if sampled_at > now + FUTURE_TOLERANCE:
        raise UserError(
            "the sampling time {at} is in the future",
            at=sampled_at.astimezone(policy.tz).isoformat(),
        )
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
    status = RecordedStatus.UNCHANGED
    if row is None:
        row = TestResult(
            person_id=person.id,
            sampled_at=sampled_at,
            result=result,
            source=source,
            site_code=site_code,
            site_name=site_name,
            recorded_at=now,
            recorded_by=actor,
        )
        session.add(row)
        status = RecordedStatus.RECORDED
    elif row.result != result:
        row.result, row.recorded_at, row.recorded_by = result, now, actor
        session.add(row)
        status = RecordedStatus.UPDATED
    session.flush()
    assert row.id is not None
    mark_done_for(session, [(person.id, sampled_at, result)], now, policy)
    raised: list[RaisedAlert] = []
    if result == ResultValue.POSITIVE and status != RecordedStatus.UNCHANGED:
        raised = raise_alerts(
            session,
            [Sample(person.id, sampled_at, result, source, site_code, row.id)],
            now,
            policy,
        )
    out = RecordedResult(
        status=status,
        employee_no=person.employee_no,
        name=person.name,
        result=result,
        sampled_at=sampled_at,
        source=source,
        site=site_code or site_name or None,
        result_id=row.id,
        alerts=[AlertSummary.of(a) for a in raised],
    )
    return out, raised


def _site(session: Session, site: str | None) -> tuple[str | None, str]:
    """A known site's code, or (None, the name as written) for an outside site."""
    text = (site or "").strip()
    if not text:
        return None, ""
    for code, name in session.execute(select(*cols(Site.code, Site.name))):
        if site_key(text) in (site_key(code), site_key(name)):
            return code, ""
    return None, text
