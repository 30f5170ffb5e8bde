"""Positive results (动态清零): an alert and its contacts at once, extra tests for the contacts."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from testrota.compliance.contacts import find_contacts, slot_window
from testrota.compliance.facts import (
    chunks,
    cols,
    person_facts_row,
    samples_between,
    select_people,
    unit_members,
)
from testrota.compliance.records import PersonFacts, Sample
from testrota.db.models import Alert, AlertContact, Appointment, Person, Slot, TestResult
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.statuses import AlertStatus, AppointmentReason, AppointmentStatus, ContactReason
from testrota.weeks import local_date

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RaisedAlert:
    """An alert just raised, in the caller's transaction (the use case audits it)."""

    alert_id: int
    person_id: int
    employee_no: str
    result_id: int
    sampled_at: datetime
    site_code: str | None
    contact_ids: list[int] = field(default_factory=list)

    @property
    def audit_details(self) -> dict[str, Any]:
        return {
            "employee_no": self.employee_no,
            "sampled_at": self.sampled_at.isoformat(),
            "site": self.site_code,
            "contacts": len(self.contact_ids),
        }


@dataclass(frozen=True)
class AlertSummary:
    """An alert raised by a result, as the result's answer reports it."""

    alert_id: int
    employee_no: str
    contacts: int

    @classmethod
    def of(cls, raised: RaisedAlert) -> AlertSummary:
        return cls(raised.alert_id, raised.employee_no, len(raised.contact_ids))


def raise_alerts(
    session: Session, positives: Iterable[Sample], now: datetime, policy: Policy
) -> list[RaisedAlert]:
    """In the caller's transaction: one alert per positive sample that has none yet, with its
    contacts. ``positives`` must carry their TestResult ids. The caller audits what is raised
    (``Action.ALERT_RAISED``, :attr:`RaisedAlert.audit_details`)."""
    raised: list[RaisedAlert] = []
    wanted = [s for s in positives if s.id is not None]
    if not wanted:
        return raised
    have = set(
        session.scalars(
            select(*cols(Alert.result_id)).where(col(Alert.result_id).in_([s.id for s in wanted]))
        )
    )
    for sample in wanted:
        if sample.id in have:
            continue
        case_row = session.execute(select_people().where(col(Person.id) == sample.person_id)).one()
        case = person_facts_row(case_row)
        window: tuple[datetime, datetime] | None = None
        site_samples: list[Sample] = []
        if sample.site_code:
            window = slot_window(
                sample.sampled_at,
                _slots_at(session, sample.site_code, sample.sampled_at),
                policy.tz,
            )
            site_samples = samples_between(session, *window, counting_only=False)
        contacts = find_contacts(
            case, sample, unit_members(session, case.unit), site_samples, window
        )
        assert sample.id is not None
        alert = Alert(
            person_id=case.id, result_id=sample.id, created_at=now, status=AlertStatus.OPEN
        )
        session.add(alert)
        session.flush()
        assert alert.id is not None
        for c in contacts:
            session.add(AlertContact(alert_id=alert.id, person_id=c.person_id, reason=c.reason))
        have.add(sample.id)
        raised.append(
            RaisedAlert(
                alert.id,
                case.id,
                case.employee_no,
                sample.id,
                sample.sampled_at,
                sample.site_code,
                [c.person_id for c in contacts],
            )
        )
    session.flush()
    return raised


def _slots_at(session: Session, site: str, at: datetime) -> list[tuple[datetime, datetime]]:
    """The site's slots around ``at``: from the slot table and from appointments there."""
    lo = at - timedelta(days=1)
    slots = {
        (r.starts_at, r.ends_at)
        for r in session.execute(
            select(*cols(Slot.starts_at, Slot.ends_at)).where(
                col(Slot.site_code) == site, col(Slot.starts_at) <= at, col(Slot.starts_at) > lo
            )
        )
    }
    slots.update(
        (r.starts_at, r.ends_at)
        for r in session.execute(
            select(*cols(Appointment.starts_at, Appointment.ends_at))
            .where(
                col(Appointment.site_code) == site,
                col(Appointment.starts_at) <= at,
                col(Appointment.starts_at) > lo,
                col(Appointment.ends_at) > at,
                col(Appointment.status) != AppointmentStatus.CANCELLED,
            )
            .distinct()
        )
    )
    return sorted(slots)


@dataclass(frozen=True)
class ContactsBooking:
    """The extra tests booked for a positive case's contacts (after the alert committed)."""

    contacts: int  # people to book
    booked: int
    earliest: date | None = None  # the first day they were booked from (the next local day)
    unscheduled: list[dict[str, Any]] = field(default_factory=list)  # the planner's reasons
    error: str | None = None  # why nothing could be booked (no site has room, say)


def book_contacts(
    engine: Engine,
    raised: Iterable[RaisedAlert],
    now: datetime,
    policy: Policy,
    config_dir: Path,
) -> ContactsBooking | None:
    """Book every contact an extra test on the next local day (the planner's mid-week path);
    None when there is nobody to book.

    Runs after the alert's own transaction has committed: the alert and its contacts stand even
    when booking fails (no site has room, say), and the failure is reported, not raised.
    """
    person_ids = sorted({pid for a in raised for pid in a.contact_ids})
    if not person_ids:
        return None
    from testrota.scheduling.service import add_midweek
    from testrota.scheduling.sites import load_sites

    tomorrow = local_date(now, policy.tz) + timedelta(days=1)
    try:
        sites = load_sites(config_dir, policy)
        outcome = add_midweek(
            engine,
            person_ids,
            now,
            policy,
            sites,
            reason=AppointmentReason.CONTACT,
            earliest=tomorrow,
            config_dir=config_dir,
        )
    except UserError as exc:
        log.warning("contacts not booked: %s", exc)
        return ContactsBooking(len(person_ids), 0, error=str(exc))
    return ContactsBooking(
        len(person_ids),
        int(outcome.get("booked", 0)),
        tomorrow,
        list(outcome.get("unscheduled", [])),
    )


@dataclass(frozen=True)
class AlertContactRow:
    employee_no: str
    name: str
    department: str
    grid_unit: str
    phone: str | None
    reason: ContactReason
    extra_slot_start: datetime | None  # the extra test booked for them, if any


@dataclass(frozen=True)
class AlertRow:
    """A positive case and the contacts to test, as one reader may see them.

    ``case_visible`` false: a case in a department the reader does not see; its name,
    employee number, department and grid unit are None.
    """

    id: int
    status: AlertStatus
    created_at: datetime
    case_visible: bool
    employee_no: str | None
    name: str | None
    department: str | None
    grid_unit: str | None
    sampled_at: datetime | None
    site: str | None
    source: str | None
    closed_by: str | None
    closed_at: datetime | None
    contact_count: int
    contacts: list[AlertContactRow]


def list_alerts(
    session: Session,
    *,
    status: AlertStatus | None = AlertStatus.OPEN,
    departments: Collection[str] | None = None,
    units: Collection[str] | None = None,
) -> list[AlertRow]:
    """Alerts (open ones by default), newest first, each with its contacts.

    With ``departments`` (a supervisor's scope) only alerts that concern those departments are
    listed (the case or a contact is in one), and only the contacts in them are shown. A case
    outside them is "a positive case in another department": ``case_visible`` is false and
    its name, employee number, department and grid unit are None, so a supervisor learns who
    of their own people to test, not who tested positive elsewhere. ``units`` (a supervisor
    given units) narrows "their own" to the people sitting in those units.
    """
    scope = set(departments) if departments is not None else None
    query = select(Alert).order_by(col(Alert.created_at).desc(), col(Alert.id).desc())
    if status:
        query = query.where(col(Alert.status) == status)
    alerts = list(session.scalars(query))
    if not alerts:
        return []
    alert_ids = [a.id for a in alerts if a.id is not None]
    contacts: dict[int, list[AlertContact]] = {}
    for part in chunks(alert_ids):
        for c in session.scalars(
            select(AlertContact).where(col(AlertContact.alert_id).in_(list(part)))
        ):
            contacts.setdefault(c.alert_id, []).append(c)
    person_ids = {a.person_id for a in alerts} | {
        c.person_id for cs in contacts.values() for c in cs
    }
    people: dict[int, PersonFacts] = {}
    for part in chunks(sorted(person_ids)):
        for r in session.execute(select_people().where(col(Person.id).in_(list(part)))):
            people[r.id] = person_facts_row(r)
    inside: set[int] | None = None
    if units:
        from testrota.org.units import unit_condition

        inside = set()
        for part in chunks(sorted(person_ids)):
            inside.update(
                session.scalars(
                    select(col(Person.id)).where(
                        col(Person.id).in_(list(part)), unit_condition(sorted(units))
                    )
                )
            )

    def theirs(person_id: int) -> bool:
        assert scope is not None
        return people[person_id].department in scope and (inside is None or person_id in inside)

    results: dict[int, TestResult] = {}
    for part in chunks(sorted({a.result_id for a in alerts})):
        query_results = select(TestResult).where(col(TestResult.id).in_(list(part)))
        for tr in session.scalars(query_results):
            assert tr.id is not None
            results[tr.id] = tr
    booked = _contact_bookings(session, person_ids, min(a.created_at for a in alerts))
    out: list[AlertRow] = []
    for a in alerts:
        assert a.id is not None
        case = people[a.person_id]
        mine = list(contacts.get(a.id, []))
        if scope is not None:
            mine = [c for c in mine if theirs(c.person_id)]
            if not theirs(a.person_id) and not mine:
                continue
        result = results.get(a.result_id)
        visible = scope is None or theirs(a.person_id)
        out.append(
            AlertRow(
                id=a.id,
                status=AlertStatus(a.status),
                created_at=a.created_at,
                case_visible=visible,
                employee_no=case.employee_no if visible else None,
                name=case.name if visible else None,
                department=case.department if visible else None,
                grid_unit=case.grid_unit if visible else None,
                sampled_at=result.sampled_at if result else None,
                site=(result.site_code or result.site_name or None) if result else None,
                source=result.source if result else None,
                # who closed it would tell the case's department (their supervisor did)
                closed_by=a.closed_by if visible else None,
                closed_at=a.closed_at,
                contact_count=len(mine),
                contacts=[
                    AlertContactRow(
                        employee_no=people[c.person_id].employee_no,
                        name=people[c.person_id].name,
                        department=people[c.person_id].department,
                        grid_unit=people[c.person_id].grid_unit,
                        phone=people[c.person_id].phone,
                        reason=ContactReason(c.reason),
                        extra_slot_start=_first_after(booked.get(c.person_id, []), a.created_at),
                    )
                    for c in sorted(mine, key=lambda c: people[c.person_id].employee_no)
                ],
            )
        )
    return out


def _contact_bookings(
    session: Session, person_ids: Collection[int], since: datetime
) -> dict[int, list[datetime]]:
    out: dict[int, list[datetime]] = {}
    for part in chunks(sorted(person_ids)):
        for r in session.execute(
            select(*cols(Appointment.person_id, Appointment.starts_at)).where(
                col(Appointment.person_id).in_(list(part)),
                col(Appointment.reason) == AppointmentReason.CONTACT,
                col(Appointment.starts_at) >= since,
                col(Appointment.status) != AppointmentStatus.CANCELLED,
            )
        ):
            out.setdefault(r.person_id, []).append(r.starts_at)
    return out


def _first_after(starts: list[datetime], after: datetime) -> datetime | None:
    later = sorted(s for s in starts if s >= after)
    return later[0] if later else None


@dataclass(frozen=True)
class AlertClosed:
    id: int
    status: AlertStatus
    changed: bool  # False: it was closed already


def close_alert(
    session: Session,
    alert_id: int,
    actor: str,
    now: datetime,
    *,
    departments: Collection[str] | None = None,
    reason: str | None = None,
    units: Collection[str] | None = None,
) -> AlertClosed:
    """Close an open alert (the case has been handled), in the caller's transaction; the
    caller audits a change. An alert of a case outside ``departments`` is refused."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise UserError("no alert {alert_id}", alert_id=alert_id)
    person = session.get(Person, alert.person_id)
    if departments is not None and (person is None or person.department not in departments):
        raise UserError("alert {alert_id} is not in your departments", alert_id=alert_id)
    if units and person is not None:
        from testrota.org.units import unit_condition

        found = session.scalar(
            select(col(Person.id)).where(col(Person.id) == person.id, unit_condition(sorted(units)))
        )
        if found is None:
            raise UserError("alert {alert_id} is not in your departments", alert_id=alert_id)
    if alert.status == AlertStatus.CLOSED:
        return AlertClosed(alert_id, AlertStatus.CLOSED, changed=False)
    alert.status, alert.closed_by, alert.closed_at = AlertStatus.CLOSED, actor, now
    alert.close_reason = reason
    session.add(alert)
    session.flush()
    return AlertClosed(alert_id, AlertStatus.CLOSED, changed=True)
