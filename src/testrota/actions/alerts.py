"""Positive-result alerts: who tested positive and whom to test next, and closing an alert once
the case has been handled. (An alert is raised by the result itself: :mod:`.results`.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy import true
from sqlmodel import Session, col, select

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.auth.scope import Scope
from testrota.compliance.alerts import AlertClosed, AlertContactRow, AlertRow
from testrota.compliance.alerts import close_alert as close
from testrota.compliance.alerts import list_alerts as listed
from testrota.db import tables
from testrota.db.engine import session_scope
from testrota.db.models import Alert, AlertNote, Person, TestResult
from testrota.errors import UserError
from testrota.statuses import AlertStatus, TubeResult

__all__ = [
    "AlertClosed",
    "AlertContactRow",
    "AlertRow",
    "Alerts",
    "CloseAlert",
    "close_alert",
    "list_alerts",
]


@dataclass(frozen=True)
class Alerts:
    scope: Scope = field(default_factory=Scope.everything)  # whose alerts the reader may see
    closed: bool = False  # closed alerts too


def list_alerts(app: App, query: Alerts) -> list[AlertRow]:
    """Alerts, newest first, as ``query.scope``'s reader may see them: a supervisor gets the
    ones that concern their departments, with only their own people as contacts, and a case
    in another department without who it is (``case_visible`` false)."""
    departments = query.scope.departments
    with Session(app.read_engine) as session:
        return listed(
            session,
            status=None if query.closed else AlertStatus.OPEN,
            departments=None if departments is None else sorted(departments),
            units=query.scope.units,
        )


@dataclass(frozen=True)
class CloseAlert:
    alert_id: int
    actor: Actor
    scope: Scope = field(default_factory=Scope.everything)  # an alert of their departments
    reason: str | None = None  # why it is closed (the web asks for one); kept and audited


def close_alert(app: App, cmd: CloseAlert) -> AlertClosed:
    """Close an alert; audited as ``alert.closed`` with the reason (closing a closed one
    changes nothing)."""
    reason = (cmd.reason or "").strip() or None
    if reason is not None and len(reason) > MAX_CLOSE_REASON:
        raise UserError(
            "the reason is {length} characters; keep it under {limit}",
            length=len(reason),
            limit=MAX_CLOSE_REASON,
        )
    now = app.now()
    departments = cmd.scope.departments
    with app.write_lock, session_scope(app.engine) as session:
        out = close(
            session,
            cmd.alert_id,
            str(cmd.actor),
            now,
            departments=None if departments is None else sorted(departments),
            reason=reason,
            units=cmd.scope.units,
        )
        if out.changed:
            record(
                session,
                cmd.actor,
                Action.ALERT_CLOSED,
                "alert",
                cmd.alert_id,
                at=now,
                details={"reason": reason} if reason else None,
            )
    return out


# --- one alert, worked through: its contacts' tests as they arrive, notes, export, closing -----

MAX_NOTE = 2000
MAX_CLOSE_REASON = 400


class NoSuchAlert(UserError):
    """No alert with this id, or none this reader may see."""


@dataclass(frozen=True)
class AlertQuery:
    alert_id: int
    scope: Scope = field(default_factory=Scope.everything)
    reader: str = ""  # the reader as notes name their authors (``web:NAME``): their own notes


@dataclass(frozen=True)
class ContactTest:
    """A sample of a contact taken since the case's own: pending until the lab's result."""

    sampled_at: datetime
    result: str
    source: str
    site: str | None


@dataclass(frozen=True)
class AlertNoteRow:
    at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class PoolMember:
    employee_no: str
    name: str
    department: str
    result: str  # the member's latest result since the pool (a recheck's, once it is back)


@dataclass(frozen=True)
class PositivePool:
    """A positive pooled tube the case was in: how the case was found (混管阳性 → 单管复核)."""

    code: str
    day: date
    site: str
    ratio: int
    members: list[PoolMember]  # the members the reader may see, in the order they went in
    hidden: int  # members outside the reader's scope


@dataclass(frozen=True)
class AlertDetail:
    alert: AlertRow
    close_reason: str | None
    tests: dict[str, list[ContactTest]]  # by contact employee number, oldest first
    notes: list[AlertNoteRow]  # oldest first
    can_close: bool  # the case is in the reader's departments
    pools: list[PositivePool] = field(default_factory=list)
    hidden_notes: int = 0  # others' notes, kept from a reader who may not see the case


def alert_detail(app: App, query: AlertQuery) -> AlertDetail:
    """One alert as ``query.scope``'s reader may see it (:class:`NoSuchAlert` otherwise)."""
    with Session(app.read_engine) as session:
        return _detail(session, query)


def _detail(session: Session, query: AlertQuery) -> AlertDetail:
    departments = query.scope.departments
    rows = listed(
        session,
        status=None,
        departments=None if departments is None else sorted(departments),
        units=query.scope.units,
    )
    row = next((a for a in rows if a.id == query.alert_id), None)
    alert = session.get(Alert, query.alert_id)
    if row is None or alert is None:
        raise NoSuchAlert("no alert {alert_id}", alert_id=query.alert_id)
    since = row.sampled_at or row.created_at
    numbers = [c.employee_no for c in row.contacts]
    tests: dict[str, list[ContactTest]] = {n: [] for n in numbers}
    if numbers:
        found = session.exec(
            select(Person.employee_no, TestResult)
            .join(TestResult, col(TestResult.person_id) == col(Person.id))
            .where(col(Person.employee_no).in_(numbers), col(TestResult.sampled_at) > since)
            .order_by(col(TestResult.sampled_at))
            .limit(5000)
        ).all()
        for number, result in found:
            tests[number].append(
                ContactTest(
                    result.sampled_at,
                    result.result,
                    result.source,
                    result.site_code or result.site_name or None,
                )
            )
    notes = [
        AlertNoteRow(n.at, n.author, n.text)
        for n in session.exec(
            select(AlertNote)
            .where(AlertNote.alert_id == query.alert_id)
            .order_by(col(AlertNote.at), col(AlertNote.id))
            .limit(500)
        )
    ]
    if not row.case_visible:
        # Notes and the closing reason are written by those who see the case, and name it
        # ("the case is 李娜, B001"): a contact's supervisor in another department reads their
        # own notes only, and no reason.
        mine = [n for n in notes if query.reader and n.author == query.reader]
        return AlertDetail(row, None, tests, mine, False, [], hidden_notes=len(notes) - len(mine))
    pools = _positive_pools(session, alert.person_id, since, query.scope)
    return AlertDetail(row, alert.close_reason, tests, notes, True, pools)


# A positive pool this long before the case's own sample is how the case was found.
POOL_LOOKBACK = timedelta(days=3)


def _positive_pools(
    session: Session, person_id: int, since: datetime, scope: Scope
) -> list[PositivePool]:
    tube, member, person = tables.TUBE, tables.TUBE_MEMBER, tables.PERSON
    conn = session.connection()
    pools = conn.execute(
        sa_select(tube.c.id, tube.c.code, tube.c.day, tube.c.site_code, tube.c.ratio)
        .join(member, member.c.tube_id == tube.c.id)
        .where(
            member.c.person_id == person_id,
            tube.c.ratio > 1,
            tube.c.result == TubeResult.POSITIVE,
            tube.c.opened_at >= since - POOL_LOOKBACK,
            tube.c.opened_at <= since,
        )
        .order_by(tube.c.opened_at)
    ).all()
    out = []
    visible = scope.where(person.c.department)
    for tube_id, code, day, site, ratio in pools:
        rows = conn.execute(
            sa_select(
                person.c.id,
                person.c.employee_no,
                person.c.name,
                person.c.department,
                (visible if visible is not None else true()).label("visible"),
            )
            .join(member, member.c.person_id == person.c.id)
            .where(member.c.tube_id == tube_id)
            .order_by(member.c.added_at, member.c.id)
        ).all()
        shown = [r for r in rows if r.visible]
        latest = _latest_results(conn, [r.id for r in shown], since - POOL_LOOKBACK)
        out.append(
            PositivePool(
                code,
                day,
                site,
                ratio,
                [
                    PoolMember(r.employee_no, r.name, r.department, latest.get(r.id, "pending"))
                    for r in shown
                ],
                len(rows) - len(shown),
            )
        )
    return out


def _latest_results(conn: Any, person_ids: list[int], since: datetime) -> dict[int, str]:
    t = tables.TEST_RESULT
    latest: dict[int, str] = {}
    if person_ids:
        for pid, result in conn.execute(
            sa_select(t.c.person_id, t.c.result)
            .where(t.c.person_id.in_(person_ids), t.c.sampled_at >= since)
            .order_by(t.c.sampled_at, t.c.id)
        ):
            latest[pid] = result
    return latest


@dataclass(frozen=True)
class AddAlertNote:
    alert_id: int
    text: str
    actor: Actor
    scope: Scope = field(default_factory=Scope.everything)


def add_alert_note(app: App, cmd: AddAlertNote) -> AlertNoteRow:
    """Write a note on an alert the actor may see; audited as ``alert.noted``."""
    text = cmd.text.strip()
    if not text:
        raise UserError("write the note first")
    if len(text) > MAX_NOTE:
        raise UserError("a note is at most {limit} characters", limit=MAX_NOTE)
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        _detail(session, AlertQuery(cmd.alert_id, cmd.scope))  # may they see it at all
        session.add(AlertNote(alert_id=cmd.alert_id, at=now, author=str(cmd.actor), text=text))
        record(
            session,
            cmd.actor,
            Action.ALERT_NOTED,
            "alert",
            cmd.alert_id,
            at=now,
            details={"length": len(text)},
        )
    return AlertNoteRow(now, str(cmd.actor), text)


@dataclass(frozen=True)
class ExportAlert:
    alert_id: int
    actor: Actor
    scope: Scope = field(default_factory=Scope.everything)


def export_alert(app: App, cmd: ExportAlert) -> AlertDetail:
    """One alert for a spreadsheet; audited as ``alert.exported`` (it lists contacts' phones)."""
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        detail = _detail(session, AlertQuery(cmd.alert_id, cmd.scope, str(cmd.actor)))
        record(
            session,
            cmd.actor,
            Action.ALERT_EXPORTED,
            "alert",
            cmd.alert_id,
            at=now,
            details={"contacts": len(detail.alert.contacts)},
        )
    return detail
