"""Where exemptions are added, listed and ended (the CLI's ``exempt``; a positive result adds
one itself, :func:`exempt_positives`).

An exemption excuses a person for a range of days: they are not planned then, and their
appointments in it that are not done are excused (as ``excuse`` does, audited as
``appointment.excused``) with their pending reminders cancelled. Ending one early gives back
the coming appointments it excused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, update
from sqlmodel import Session, col

from testrota.app import App
from testrota.audit import Action, Actor, record, record_many
from testrota.auth.scope import Scope
from testrota.compliance.alerts import RaisedAlert
from testrota.compliance.excuse import (
    ExcusedAppointment,
    OutOfScope,
    check_code,
    clean_reason,
    person_in_scope,
)
from testrota.compliance.exemptions import (
    MAX_DAYS,
    POSITIVE_REASON,
    Ended,
    Exempted,
    ExemptionRow,
    check_days,
    covered,
)
from testrota.compliance.exemptions import add_exemption as add_in
from testrota.compliance.exemptions import end_exemption as end_in
from testrota.compliance.exemptions import list_exemptions as listed
from testrota.compliance.flagging import flag_due
from testrota.db import tables
from testrota.db.engine import core, session_scope
from testrota.db.models import Exemption, Person
from testrota.errors import UserError
from testrota.notify.enqueue import cancel_stale_reminders
from testrota.notify.outbox import REMINDER_KINDS
from testrota.policy import Policy
from testrota.weeks import local_date

__all__ = [
    "MAX_DAYS",
    "POSITIVE_REASON",
    "AddExemption",
    "EndExemption",
    "Ended",
    "Exempted",
    "ExemptionRow",
    "Exemptions",
    "NoSuchExemption",
    "OutOfScope",
    "ShowExemption",
    "add_exemption",
    "end_exemption",
    "exempt_positives",
    "list_exemptions",
    "show_exemption",
]


class NoSuchExemption(UserError):
    """No exemption of that id, or not one of the reader's people: the same answer for both,
    so an id tells a supervisor nothing about another department."""


@dataclass(frozen=True)
class AddExemption:
    employee_no: str
    start: date  # the first day excused
    end: date  # the last day excused (included)
    reason: str
    actor: Actor
    scope: Scope = field(default_factory=Scope.everything)  # whom the actor may exempt
    code: str | None = None  # one of policy report.excuse_reasons; None counts as "other"


def add_exemption(app: App, cmd: AddExemption) -> Exempted:
    """Exempt a person for ``cmd.start``..``cmd.end``; audited as ``exemption.added`` and each
    appointment excused as ``appointment.excused``. A person outside ``cmd.scope`` is refused
    (:class:`OutOfScope`), as are a reversed or overlong range and an empty reason."""
    reason = clean_reason(cmd.reason)
    check_days(cmd.start, cmd.end)
    now, policy = app.now(), app.policy
    code = check_code(cmd.code, policy.report.excuse_reasons)
    departments = cmd.scope.departments
    with app.write_lock, session_scope(app.engine) as session:
        flag_due(session, now, policy)  # a slot done a moment ago is done, not excused
        from testrota.actions.excuse import check_unit, person_condition

        if cmd.scope.units:
            check_unit(session, cmd.scope, cmd.employee_no)
        person = person_in_scope(
            session,
            cmd.employee_no,
            None if departments is None else sorted(departments),
            person_condition(cmd.scope),
        )
        out = add_in(
            session,
            person,
            cmd.start,
            cmd.end,
            reason,
            actor=str(cmd.actor),
            now=now,
            policy=policy,
            code=code,
        )
        _after_added(session, cmd.actor, [out], now)
    return out


def _after_added(session: Session, actor: Actor, added: Sequence[Exempted], now: datetime) -> None:
    """Audit what was added and excused, and stop the texts about the excused appointments."""
    record_many(
        session,
        actor,
        Action.EXEMPTION_ADDED,
        "exemption",
        [(e.id, e.audit_details()) for e in added],
        at=now,
    )
    record_many(
        session,
        actor,
        Action.APPOINTMENT_EXCUSED,
        "appointment",
        [
            (a.appointment_id, a.audit_details(e.employee_no, e.reason, e.code))
            for e in added
            for a in e.excused
        ],
        at=now,
    )
    _stop_texts(session, [a for e in added for a in e.excused])


def _stop_texts(session: Session, excused: Sequence[ExcusedAppointment]) -> int:
    """Cancel the excused appointments' pending reminders and close their open offers of
    another slot, as releasing an appointment does (the claim would refuse both anyway, but
    the outbox and the person's page should say so now)."""
    ids = sorted(a.appointment_id for a in excused)
    if not ids:
        return 0
    conn = core(session)
    cancelled = cancel_stale_reminders(conn, ids)
    offers = tables.RESCHEDULE_OFFER
    conn.execute(
        update(offers)
        .where(offers.c.appointment_id.in_(ids), offers.c.status == "open")
        .values(status="superseded")
    )
    return cancelled


def exempt_positives(
    session: Session, actor: Actor, raised: Sequence[RaisedAlert], now: datetime, policy: Policy
) -> list[Exempted]:
    """In the positive result's transaction: exempt each case from their sample's local day
    for ``alerts.positive_exempt_days``, reason "positive", and excuse their appointments
    then; audited as :func:`add_exemption` is. A case already exempt for all those days
    (a second positive sample, say) gets no second exemption. Closing the alert leaves the
    exemption: HR ends it (``exempt end``) when the person is back."""
    days = policy.alerts.positive_exempt_days
    if days <= 0 or not raised:
        return []
    added: list[Exempted] = []
    for alert in raised:
        first = local_date(alert.sampled_at, policy.tz)
        last = first + timedelta(days=days - 1)
        if covered(session, alert.person_id, first, last):
            continue
        person = session.get(Person, alert.person_id)
        assert person is not None
        added.append(
            add_in(
                session,
                person,
                first,
                last,
                POSITIVE_REASON,
                actor=str(actor),
                now=now,
                policy=policy,
                code=policy.positive_code,
            )
        )
    _after_added(session, actor, added, now)
    return added


@dataclass(frozen=True)
class Exemptions:
    scope: Scope = field(default_factory=Scope.everything)  # whose exemptions the reader sees
    active_on: date | None = None  # those covering this day; None: those not over by today
    include_ended: bool = False  # without active_on: those already over too
    # at most this many rows (a group's positive wave makes tens of thousands over time)
    limit: int | None = None


def list_exemptions(app: App, query: Exemptions) -> list[ExemptionRow]:
    """Exemptions by first day, of the people ``query.scope`` reaches."""
    today = local_date(app.now(), app.policy.tz)
    with Session(app.read_engine) as session:
        return listed(
            session,
            active_on=query.active_on,
            ending_from=None if query.active_on or query.include_ended else today,
            where=query.scope.where(col(Person.department)),
            limit=query.limit,
        )


@dataclass(frozen=True)
class ShowExemption:
    exemption_id: int
    scope: Scope = field(default_factory=Scope.everything)


def show_exemption(app: App, query: ShowExemption) -> ExemptionRow:
    """One exemption of the people ``query.scope`` reaches (what ending it would end), or
    :class:`NoSuchExemption`."""
    with Session(app.read_engine) as session:
        rows = listed(
            session,
            exemption_id=query.exemption_id,
            where=query.scope.where(col(Person.department)),
        )
    if not rows:
        raise NoSuchExemption("no exemption {id}", id=query.exemption_id)
    return rows[0]


@dataclass(frozen=True)
class EndExemption:
    exemption_id: int
    actor: Actor
    back_on: date | None = None  # the person's first day back; None: today
    scope: Scope = field(default_factory=Scope.everything)


def end_exemption(app: App, cmd: EndExemption) -> Ended:
    """End an exemption early: ``cmd.back_on`` is the first day the person is tested again
    (an exemption not yet begun by then is removed). The coming appointments it excused are
    scheduled again with their reminders; audited as ``exemption.ended`` (or
    ``exemption.removed``) and each appointment as ``appointment.unexcused``."""
    now, policy = app.now(), app.policy
    back_on = cmd.back_on or local_date(now, policy.tz)
    with app.write_lock, session_scope(app.engine) as session:
        exemption = session.get(Exemption, cmd.exemption_id)
        person = session.get(Person, exemption.person_id) if exemption else None
        if exemption is None or person is None or not _reaches(session, cmd.scope, person):
            # The same answer for someone else's exemption: its id tells a supervisor nothing.
            raise NoSuchExemption("no exemption {id}", id=cmd.exemption_id)
        out = end_in(session, exemption, person, back_on, now=now, policy=policy)
        record(
            session,
            cmd.actor,
            Action.EXEMPTION_REMOVED if out.removed else Action.EXEMPTION_ENDED,
            "exemption",
            out.id,
            at=now,
            details=out.audit_details(),
        )
        record_many(
            session,
            cmd.actor,
            Action.APPOINTMENT_UNEXCUSED,
            "appointment",
            [(i, {"employee_no": out.employee_no, "exemption": out.id}) for i in out.restored],
            at=now,
        )
        _revive_reminders(session, out.restored, now)
    return out


def _reaches(session: Session, scope: Scope, person: Person) -> bool:
    return scope.allows(person.department) and scope.reaches(session.connection(), person.unit_id)


def _revive_reminders(session: Session, appointment_ids: Sequence[int], now: datetime) -> None:
    """The reminders the exemption cancelled, pending again for the appointments given back.
    An outbox row's key is its appointment, kind and slot, so the reminder job would not make
    them anew; one whose slot has begun stays cancelled."""
    if not appointment_ids:
        return
    m = tables.MESSAGE
    core(session).execute(
        update(m)
        .where(
            and_(
                m.c.appointment_id.in_(list(appointment_ids)),
                m.c.kind.in_(REMINDER_KINDS),
                m.c.status == "cancelled",
                m.c.expires_at > now,
            )
        )
        .values(status="pending", error_message=None)
    )
