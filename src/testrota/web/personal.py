"""The personal page behind the link in every text (``/me/{token}``): no sign-in.

A person sees their appointments, moves one to another free slot of the same site and week
(or books a make-up test for a missed one) within the rules the SMS "R" reply follows, and
opts out of texts or back in. Booking goes through the SMS area's own ``book``, which locks the
slot and re-checks capacity, the gap between tests and the person's shift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from testrota.app import App
from testrota.db.engine import session_scope
from testrota.db.models import Appointment, AuditEvent, Person, RescheduleOffer, Slot
from testrota.errors import UserError

BOOKED = ("scheduled", "done")
# The offer row a booking on this page leaves (it keeps a make-up from being booked twice) is
# marked as the web's, not given the person's phone: it was never texted, and no SMS reply
# may confirm or supersede it.
WEB_OFFER = "web"


@dataclass(frozen=True)
class Choice:
    slot_id: int
    starts_at: datetime
    ends_at: datetime
    free: int


def person_from_token(app: App, token: str) -> Person | None:
    """The active person a token names, or None (forged, expired, or no longer here)."""
    from testrota.notify.links import InvalidLink, read_personal_token

    try:
        person_id = read_personal_token(
            app.settings,
            token,
            timedelta(days=app.policy.web.personal_link_days),
            now=app.now(),
        )
    except (InvalidLink, UserError):
        return None
    with Session(app.engine) as session:
        person = session.get(Person, person_id)
    return person if person is not None and person.active else None


def appointments(app: App, person: Person) -> list[Appointment]:
    """Last week's, this week's and later appointments, oldest first."""
    since = app.now() - timedelta(days=8)
    with Session(app.engine) as session:
        return list(
            session.exec(
                select(Appointment)
                .where(
                    Appointment.person_id == person.id,
                    col(Appointment.starts_at) >= since,
                    col(Appointment.status) != "cancelled",
                )
                .order_by(col(Appointment.starts_at))
            )
        )


def _target(session: Session, person: Person, appointment_id: int, now: datetime) -> Any:
    from testrota.notify.reschedule import Target

    appt = session.get(Appointment, appointment_id)
    if appt is None or appt.person_id != person.id:
        return None
    if appt.status == "scheduled" and appt.starts_at > now:
        return Target("move", appt, person)
    if appt.status == "missed":
        already = session.exec(
            select(RescheduleOffer).where(
                RescheduleOffer.appointment_id == appt.id,
                RescheduleOffer.status == "confirmed",
                RescheduleOffer.mode == "makeup",
            )
        ).first()
        return None if already else Target("makeup", appt, person)
    return None


def choices(app: App, person: Person, appointment_id: int) -> list[Choice] | None:
    """Free slots the appointment may move to (None when it cannot be moved at all)."""
    from testrota.notify.reschedule import SlotOption, choose_slot, site_zone

    policy = app.policy
    now = app.now()
    with Session(app.engine) as session:
        target = _target(session, person, appointment_id, now)
        if target is None:
            return None
        appt = target.appointment
        tz = site_zone(session, appt.site_code, policy)
        slots = list(
            session.exec(
                select(Slot).where(Slot.site_code == appt.site_code, Slot.week == appt.week)
            )
        )
        counts = (
            dict(
                session.exec(
                    select(Appointment.slot_id, func.count())
                    .where(
                        col(Appointment.slot_id).in_([s.id for s in slots]),
                        col(Appointment.status).in_(BOOKED),
                    )
                    .group_by(col(Appointment.slot_id))
                ).all()
            )
            if slots
            else {}
        )
        other_days: list[date] = [
            a.starts_at.astimezone(tz).date()
            for a in session.exec(
                select(Appointment).where(
                    Appointment.person_id == person.id,
                    Appointment.week == appt.week,
                    col(Appointment.status).in_(BOOKED),
                    Appointment.id != appt.id,
                )
            )
        ]
    earliest = now + timedelta(minutes=policy.reminders.reschedule_lead_minutes)
    shift = policy.shifts.get((person.shift or "").strip().lower())
    exclude = appt.slot_id if target.mode == "move" else None
    out = []
    for s in sorted(slots, key=lambda s: s.starts_at):
        option = SlotOption(
            s.id or 0,
            s.site_code,
            s.week,
            s.starts_at,
            s.ends_at,
            s.capacity,
            int(counts.get(s.id, 0)),
        )
        # The SMS reply's own rule decides, one slot at a time, so the page offers exactly
        # the slots "R" could have offered.
        if (
            choose_slot(
                [option],
                other_days,
                earliest,
                policy.testing.min_gap_days,
                tz,
                shift,
                exclude_slot=exclude,
            )
            is not None
        ):
            out.append(
                Choice(option.slot_id, s.starts_at, s.ends_at, option.capacity - option.booked)
            )
    return out


class UnknownSlot(UserError):
    """The slot asked for does not exist (never did, or a re-plan removed it)."""


def move(app: App, person: Person, appointment_id: int, slot_id: int, *, actor: str) -> Appointment:
    """Book ``slot_id`` for the appointment; a UserError when the slot is no longer possible.

    ``actor`` is who the audit names: ``me:<employee no>`` when the person used their link,
    a user's name when a signed-in user did it for them."""
    from testrota.notify.reschedule import book

    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        target = _target(session, person, appointment_id, now)
        if target is None:
            raise UserError("this appointment can no longer be changed")
        if session.get(Slot, slot_id) is None:
            # checked first: the offer below refers to the slot, and the database would refuse
            raise UnknownSlot(f"there is no slot {slot_id}")
        offer = RescheduleOffer(
            person_id=person.id or 0,
            appointment_id=appointment_id,
            slot_id=slot_id,
            mode=target.mode,
            phone=WEB_OFFER,
            status="open",
            created_at=now,
            expires_at=now + timedelta(minutes=10),
        )
        session.add(offer)
        session.flush()
        booked = book(session, offer, now, app.policy)
        if booked is None:
            raise UserError("that slot was just taken or no longer fits the rules; pick another")
        session.add(
            AuditEvent(
                at=now,
                actor=actor,
                action="appointment.reschedule",
                entity="appointment",
                entity_id=str(booked.id),
                details={
                    "from_appointment": appointment_id,
                    "slot_id": slot_id,
                    "mode": target.mode,
                    "via": "personal page",
                    "employee_no": person.employee_no,
                },
            )
        )
        booked_id = booked.id
    _sync_reminders(app, [booked_id] if booked_id else [])
    return booked


def _sync_reminders(app: App, appointment_ids: list[int]) -> None:
    """Replace the reminders of a moved appointment at once (the worker would, a bit later)."""
    from testrota.notify.enqueue import sync_reminders

    sync_reminders(app.engine, app.now(), app.policy, app.settings, appointment_ids=appointment_ids)


def set_opt_out(app: App, person: Person, value: bool, *, actor: str) -> None:
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        row = session.get(Person, person.id)
        if row is None or row.opted_out == value:
            return
        row.opted_out = value
        row.updated_at = now
        session.add(row)
        session.add(
            AuditEvent(
                at=now,
                actor=actor,
                action="person.opt_out" if value else "person.opt_in",
                entity="person",
                entity_id=row.employee_no,
                details={"via": "personal page"},
            )
        )
