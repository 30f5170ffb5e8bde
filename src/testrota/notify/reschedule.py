"""Rescheduling by SMS: "R" offers the next free slot, a confirming reply books it.

The choice is pure (:func:`choose_slot`); the shell reads the site's slots of that week, counts
who is booked, and books under a lock on the slot row (PostgreSQL; SQLite writes one at a time),
re-checking capacity so two people confirming the last place cannot both get it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from testrota.db.models import Appointment, Person, RescheduleOffer, Site, Slot
from testrota.policy import Policy, ShiftRule

BOOKED = ("scheduled", "done")  # what takes a place in a slot, and counts for the gap rule


@dataclass(frozen=True)
class SlotOption:
    slot_id: int
    site_code: str
    week: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int


def _fits_shift(start: datetime, tz: tzinfo, shift: ShiftRule | None) -> bool:
    if shift is None or not shift.windows:
        return True
    t = start.astimezone(tz).time()
    for w in shift.windows:
        if w.start <= w.end and w.start <= t < w.end:
            return True
        if w.start > w.end and (t >= w.start or t < w.end):
            return True
    return False


def choose_slot(
    options: Iterable[SlotOption],
    other_days: Sequence[date],
    earliest: datetime,
    min_gap_days: int,
    tz: tzinfo,
    shift: ShiftRule | None = None,
    exclude_slot: int | None = None,
) -> SlotOption | None:
    """The first slot from ``earliest`` on with room, in the person's shift, at least
    ``min_gap_days`` (local calendar days) from each of their other tests that week."""
    for option in sorted(options, key=lambda o: (o.starts_at, o.slot_id)):
        if option.slot_id == exclude_slot or option.starts_at < earliest:
            continue
        if option.booked >= option.capacity:
            continue
        day = option.starts_at.astimezone(tz).date()
        if any(abs((day - other).days) < max(1, min_gap_days) for other in other_days):
            continue
        if not _fits_shift(option.starts_at, tz, shift):
            continue
        return option
    return None


@dataclass(frozen=True)
class Target:
    mode: str  # move | makeup
    appointment: Appointment
    person: Person


def makeup_booked(session: Session, appointment_id: int | None) -> bool:
    """Whether a missed appointment already has its make-up (booked, done or itself missed),
    by whichever door: the make-up names it, and one booked before it could (a text reply's
    confirmed offer) is found by that offer."""
    if appointment_id is None:
        return False
    made_up = session.exec(
        select(Appointment.id).where(
            Appointment.makeup_for == appointment_id, Appointment.status != "cancelled"
        )
    ).first()
    if made_up is not None:
        return True
    offered = session.exec(
        select(RescheduleOffer.id).where(
            RescheduleOffer.appointment_id == appointment_id,
            RescheduleOffer.status == "confirmed",
            RescheduleOffer.mode == "makeup",
        )
    ).first()
    return offered is not None


def site_zone(session: Session, site_code: str, policy: Policy) -> ZoneInfo:
    site = session.exec(select(Site).where(Site.code == site_code)).first()
    try:
        return ZoneInfo(site.timezone) if site and site.timezone else policy.tz
    except (KeyError, ValueError):
        return policy.tz


def site_name(session: Session, site_code: str) -> str:
    site = session.exec(select(Site).where(Site.code == site_code)).first()
    return site.name if site else site_code


def _options(
    session: Session, site_code: str, week: str, ids: Sequence[int] | None = None
) -> list[SlotOption]:
    query = select(Slot).where(Slot.site_code == site_code, Slot.week == week)
    if ids is not None:
        query = query.where(col(Slot.id).in_(ids))
    return slot_options(session, list(session.exec(query)))


def slot_options(session: Session, slots: Sequence[Slot]) -> list[SlotOption]:
    """``slots`` with how many appointments each holds already (the rules need both)."""
    if not slots:
        return []
    counts = dict(
        session.exec(
            select(Appointment.slot_id, func.count())
            .where(
                col(Appointment.slot_id).in_([s.id for s in slots]),
                col(Appointment.status).in_(BOOKED),
            )
            .group_by(col(Appointment.slot_id))
        ).all()
    )
    return [
        SlotOption(
            s.id or 0,
            s.site_code,
            s.week,
            s.starts_at,
            s.ends_at,
            s.capacity,
            int(counts.get(s.id, 0)),
        )
        for s in slots
    ]


def _other_days(session: Session, target: Target, tz: tzinfo) -> list[date]:
    rows = session.exec(
        select(Appointment).where(
            Appointment.person_id == target.person.id,
            Appointment.week == target.appointment.week,
            col(Appointment.status).in_(BOOKED),
            Appointment.id != target.appointment.id,
        )
    )
    return [a.starts_at.astimezone(tz).date() for a in rows]


def find_slot(
    session: Session,
    target: Target,
    now: datetime,
    policy: Policy,
    only: Sequence[int] | None = None,
) -> SlotOption | None:
    """The next free slot for ``target`` at its site, in its week (or among ``only``)."""
    tz = site_zone(session, target.appointment.site_code, policy)
    earliest = now + timedelta(minutes=policy.reminders.reschedule_lead_minutes)
    return choose_slot(
        _options(session, target.appointment.site_code, target.appointment.week, only),
        _other_days(session, target, tz),
        earliest,
        policy.testing.min_gap_days,
        tz,
        policy.shifts.get((target.person.shift or "").strip().lower()),
        exclude_slot=target.appointment.slot_id if target.mode == "move" else None,
    )


def make_offer(
    session: Session, target: Target, slot: SlotOption, phone: str, now: datetime, policy: Policy
) -> RescheduleOffer:
    """Record an offer (superseding this number's open ones) in the caller's transaction."""
    for old in session.exec(
        select(RescheduleOffer).where(
            RescheduleOffer.phone == phone, RescheduleOffer.status == "open"
        )
    ):
        old.status = "superseded"
        session.add(old)
    offer = RescheduleOffer(
        person_id=target.person.id or 0,
        appointment_id=target.appointment.id,
        slot_id=slot.slot_id,
        mode=target.mode,
        phone=phone,
        status="open",
        created_at=now,
        expires_at=now + timedelta(minutes=policy.reminders.offer_valid_minutes),
    )
    session.add(offer)
    return offer


def book(
    session: Session, offer: RescheduleOffer, now: datetime, policy: Policy
) -> Appointment | None:
    """Apply an offer in the caller's transaction; None when the slot or the person no longer
    allows it (full, gap broken, appointment already started or changed)."""
    slot_query = select(Slot).where(Slot.id == offer.slot_id)
    if session.get_bind().dialect.name == "postgresql":
        slot_query = slot_query.with_for_update()  # confirmations of one slot queue here
    slot = session.exec(slot_query).first()
    person = session.get(Person, offer.person_id)
    appointment = session.get(Appointment, offer.appointment_id) if offer.appointment_id else None
    if slot is None or person is None or appointment is None:
        return None
    if offer.mode == "move" and (appointment.status != "scheduled" or appointment.starts_at <= now):
        return None
    if offer.mode == "makeup" and appointment.status != "missed":
        return None
    target = Target(offer.mode, appointment, person)
    if find_slot(session, target, now, policy, only=[slot.id or 0]) is None:
        return None
    if offer.mode == "move":
        appointment.slot_id = slot.id
        appointment.site_code = slot.site_code
        appointment.starts_at = slot.starts_at
        appointment.ends_at = slot.ends_at
        appointment.reason = "reschedule"
        appointment.updated_at = now
        session.add(appointment)
        booked = appointment
    else:
        booked = Appointment(
            person_id=person.id or 0,
            slot_id=slot.id,
            site_code=slot.site_code,
            week=slot.week,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            grid_unit=person.grid_unit,
            status="scheduled",
            reason="reschedule",
            makeup_for=appointment.id,
            created_at=now,
            updated_at=now,
        )
        session.add(booked)
    offer.status = "confirmed"
    session.add(offer)
    session.flush()
    return booked
