"""What an employee does with their own appointments and texts through the personal page:
see where and when they may move a test or make up a missed one, book it, and stop or restart
texts.

The choice of slots is :mod:`testrota.scheduling.makeup` (pure); booking re-checks the slot
under a lock on its row (PostgreSQL; SQLite writes one at a time) with the same rule, so two
people taking the last place cannot both get it. Each change writes one audit event naming the
actor: ``me:<employee_no>`` when the person used their link, the staff member when one did it
for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.db.engine import is_postgres, session_scope
from testrota.db.models import Appointment, Person, Site, Slot
from testrota.errors import UserError
from testrota.notify.reschedule import BOOKED, SlotOption, makeup_booked, slot_options
from testrota.scheduling import makeup
from testrota.scheduling.makeup import WalkIn
from testrota.statuses import AppointmentReason, AppointmentStatus

if TYPE_CHECKING:
    from testrota.scheduling.sites import SiteSpec

MOVE, MAKEUP = "move", "makeup"


@dataclass(frozen=True)
class SiteInfo:
    """What a person is told about a site: its name, address and a map link."""

    code: str
    name: str
    address: str
    map_url: str


@dataclass(frozen=True)
class SlotChoice:
    slot_id: int
    site_code: str
    starts_at: datetime
    ends_at: datetime
    free: int


@dataclass(frozen=True)
class DayChoices:
    day: date
    slots: list[SlotChoice]


@dataclass(frozen=True)
class ChoicesFor:
    person_id: int
    appointment_id: int


@dataclass(frozen=True)
class RescheduleChoices:
    appointment_id: int
    mode: str  # move (a coming test, within its week) | makeup (a missed one)
    days: list[DayChoices]  # earliest day first
    walk_in: list[WalkIn]  # where and when to walk in: shown when no slot fits
    sites: dict[str, SiteInfo] = field(default_factory=dict)  # every site named above

    @property
    def empty(self) -> bool:
        return not self.days


class NotChangeable(UserError):
    """Not this person's appointment, or no longer one that can move (started, done, made up)."""


class UnknownSlot(UserError):
    """The slot asked for does not exist (never did, or a re-plan removed it)."""


class SlotGone(UserError):
    """The slot filled up or no longer fits the rules since the page was shown."""


def site_infos(app: App, session: Session) -> dict[str, SiteInfo]:
    """Every site by code: the database's names and addresses, ``sites.yaml``'s map links."""
    specs = {s.code: s for s in _specs(app)}
    out: dict[str, SiteInfo] = {}
    for site in session.exec(select(Site)):
        spec = specs.get(site.code)
        address = site.address or (spec.address if spec else "")
        out[site.code] = SiteInfo(site.code, site.name, address, _map_url(spec, site.name, address))
    for code, spec in specs.items():
        if code not in out:
            out[code] = SiteInfo(code, spec.name, spec.address, _map_url(spec, spec.name, ""))
    return out


def _map_url(spec: SiteSpec | None, name: str, address: str) -> str:
    if spec is not None and spec.map_url:
        return spec.map_url
    from urllib.parse import quote

    # Amap's own search page: the maps people here already use, and it needs no key.
    return "https://uri.amap.com/search?keyword=" + quote(f"{name} {address}".strip())


def _specs(app: App) -> list[SiteSpec]:
    from testrota.scheduling.sites import load_sites

    try:
        return load_sites(app.config_dir, app.policy)
    except UserError:  # a broken sites.yaml: every site serves everyone, no walk-in hours
        return []


def _target(session: Session, person: Person, appointment_id: int, now: datetime) -> str | None:
    """``move`` or ``makeup`` when the person may change this appointment, else None."""
    appt = session.get(Appointment, appointment_id)
    if appt is None or appt.person_id != person.id:
        return None
    if appt.status == AppointmentStatus.SCHEDULED and appt.starts_at > now:
        return MOVE
    if appt.status == AppointmentStatus.MISSED and not makeup_booked(session, appt.id):
        return MAKEUP
    return None


@dataclass(frozen=True)
class _Rules:
    """What decides which slots a person may take, read once per request."""

    sites: list[SiteSpec]
    zones: dict[str, tzinfo]
    default_tz: tzinfo

    def zone(self, code: str) -> tzinfo:
        return self.zones.get(code, self.default_tz)

    def serves(self, person: Person, code: str) -> bool:
        spec = next((s for s in self.sites if s.code == code), None)
        return spec is None or spec.serves(person.department, person.grid_unit)


def _rules(app: App, session: Session) -> _Rules:
    zones: dict[str, tzinfo] = {}
    for site in session.exec(select(Site)):
        try:
            zones[site.code] = ZoneInfo(site.timezone) if site.timezone else app.tz
        except (KeyError, ValueError):
            zones[site.code] = app.tz
    return _Rules(_specs(app), zones, app.tz)


def _other_days(
    session: Session, person: Person, weeks: set[str], appt: Appointment, rules: _Rules
) -> dict[str, list[date]]:
    """The local days of the person's other booked tests, by week (the gap rule's input)."""
    out: dict[str, list[date]] = {}
    if not weeks:
        return out
    for other in session.exec(
        select(Appointment).where(
            Appointment.person_id == person.id,
            col(Appointment.week).in_(sorted(weeks)),
            col(Appointment.status).in_(BOOKED),
            Appointment.id != appt.id,
        )
    ):
        day = other.starts_at.astimezone(rules.zone(other.site_code)).date()
        out.setdefault(other.week, []).append(day)
    return out


def _fitting(
    app: App,
    session: Session,
    person: Person,
    appt: Appointment,
    mode: str,
    now: datetime,
    rules: _Rules,
    only_slot: int | None = None,
) -> list[SlotOption]:
    policy = app.policy
    earliest = now + timedelta(minutes=policy.reminders.reschedule_lead_minutes)
    latest = makeup.latest_makeup(now, app.tz) if mode == MAKEUP else None
    query = select(Slot).where(col(Slot.starts_at) >= earliest)
    if mode == MOVE:
        query = query.where(Slot.week == appt.week)  # the week's count stays whole
    elif latest is not None:
        query = query.where(col(Slot.starts_at) < latest)
    if only_slot is not None:
        query = query.where(Slot.id == only_slot)
        if is_postgres(app.engine):
            query = query.with_for_update()  # bookings of one slot queue here
    slots = list(session.exec(query.order_by(col(Slot.starts_at)).limit(5000)))
    options = slot_options(session, slots)
    return makeup.pick(
        options,
        other_days=_other_days(session, person, {o.week for o in options}, appt, rules),
        earliest=earliest,
        latest=latest,
        min_gap_days=policy.testing.min_gap_days,
        zone=rules.zone,
        shift=policy.shifts.get((person.shift or "").strip().lower()),
        serves=lambda code: rules.serves(person, code),
        exclude_slot=appt.slot_id if mode == MOVE else None,
    )


def reschedule_choices(app: App, query: ChoicesFor) -> RescheduleChoices | None:
    """The slots the appointment may move to, or the make-ups a missed one may have, grouped
    by day; with where and when to walk in. None when it cannot be changed at all."""
    now = app.now()
    with Session(app.engine) as session:
        person = session.get(Person, query.person_id)
        if person is None or not person.active:
            return None
        mode = _target(session, person, query.appointment_id, now)
        appt = session.get(Appointment, query.appointment_id)
        if mode is None or appt is None:
            return None
        rules = _rules(app, session)
        fitting = _fitting(app, session, person, appt, mode, now, rules)
        days = [
            DayChoices(
                day,
                [
                    SlotChoice(
                        o.slot_id, o.site_code, o.starts_at, o.ends_at, o.capacity - o.booked
                    )
                    for o in slots
                ],
            )
            for day, slots in makeup.by_day(fitting, app.tz)
        ]
        walk_in = makeup.walk_in(rules.sites, person.department, person.grid_unit, now)
        infos = site_infos(app, session)
    named = {s.site_code for d in days for s in d.slots} | {w.site_code for w in walk_in}
    named.add(appt.site_code)
    return RescheduleChoices(
        appointment_id=query.appointment_id,
        mode=mode,
        days=days,
        walk_in=walk_in,
        sites={code: infos[code] for code in named if code in infos},
    )


@dataclass(frozen=True)
class RescheduleAppointment:
    person_id: int
    appointment_id: int
    slot_id: int
    actor: Actor  # Actor.me(employee_no) through their link; the staff member acting for them
    via: str = "personal page"


@dataclass(frozen=True)
class Rescheduled:
    appointment_id: int  # the appointment booked: the same one moved, or the new make-up
    from_appointment_id: int
    mode: str
    site_code: str
    starts_at: datetime
    ends_at: datetime


def reschedule_appointment(app: App, cmd: RescheduleAppointment) -> Rescheduled:
    """Move a coming test to ``slot_id``, or book it as the make-up of a missed one.

    Refused (:class:`NotChangeable`, :class:`UnknownSlot`, :class:`SlotGone`) when the
    appointment may not change, the slot does not exist, or it filled up or no longer fits
    the rules since it was offered. Audited as ``appointment.rescheduled``.
    """
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        person = session.get(Person, cmd.person_id)
        if person is None or not person.active:
            raise NotChangeable("this appointment can no longer be changed")
        mode = _target(session, person, cmd.appointment_id, now)
        appt = session.get(Appointment, cmd.appointment_id)
        if mode is None or appt is None:
            raise NotChangeable("this appointment can no longer be changed")
        slot = session.get(Slot, cmd.slot_id)
        if slot is None:
            raise UnknownSlot("there is no slot {slot_id}", slot_id=cmd.slot_id)
        rules = _rules(app, session)
        if not _fitting(app, session, person, appt, mode, now, rules, only_slot=slot.id):
            raise SlotGone("that slot was just taken or no longer fits the rules; pick another")
        before = {"site": appt.site_code, "starts_at": appt.starts_at.isoformat()}
        if mode == MOVE:
            appt.slot_id = slot.id
            appt.site_code = slot.site_code
            appt.week = slot.week
            appt.starts_at = slot.starts_at
            appt.ends_at = slot.ends_at
            appt.reason = AppointmentReason.RESCHEDULE
            appt.updated_at = now
            booked = appt
        else:
            booked = Appointment(
                person_id=person.id or 0,
                slot_id=slot.id,
                site_code=slot.site_code,
                week=slot.week,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                grid_unit=person.grid_unit,
                status=AppointmentStatus.SCHEDULED,
                reason=AppointmentReason.RESCHEDULE,
                makeup_for=appt.id,
                created_at=now,
                updated_at=now,
            )
        session.add(booked)
        session.flush()
        record(
            session,
            cmd.actor,
            Action.APPOINTMENT_RESCHEDULED,
            "appointment",
            booked.id or 0,
            at=now,
            details={
                "employee_no": person.employee_no,
                "mode": mode,
                "from_appointment": appt.id,
                "from": before,
                "slot_id": slot.id,
                "site": slot.site_code,
                "starts_at": slot.starts_at.isoformat(),
                "via": cmd.via,
            },
        )
        out = Rescheduled(
            booked.id or 0, appt.id or 0, mode, slot.site_code, slot.starts_at, slot.ends_at
        )
    _sync_reminders(app, [out.appointment_id])
    return out


def _sync_reminders(app: App, appointment_ids: list[int]) -> None:
    """Replace the reminders of a moved or new appointment at once (the worker would, a bit
    later; a reminder for the old time must not go out meanwhile)."""
    from testrota.notify.enqueue import sync_reminders

    sync_reminders(app.engine, app.now(), app.policy, app.settings, appointment_ids=appointment_ids)


@dataclass(frozen=True)
class SetTextsOptOut:
    person_id: int
    opted_out: bool  # True: no more texts; False: texts again
    actor: Actor
    via: str = "personal page"


@dataclass(frozen=True)
class TextsOptOut:
    employee_no: str
    opted_out: bool
    changed: bool  # False: it already was so (nothing written, nothing audited)


def set_texts_opt_out(app: App, cmd: SetTextsOptOut) -> TextsOptOut:
    """Stop texting a person, or start again; audited as ``person.opted_out`` /
    ``person.opted_in`` when it changes anything."""
    now = app.now()
    with app.write_lock, session_scope(app.engine) as session:
        person = session.get(Person, cmd.person_id)
        if person is None or not person.active:
            raise NotChangeable("this link is no longer valid")
        if person.opted_out == cmd.opted_out:
            return TextsOptOut(person.employee_no, person.opted_out, changed=False)
        person.opted_out = cmd.opted_out
        person.updated_at = now
        session.add(person)
        record(
            session,
            cmd.actor,
            Action.PERSON_OPTED_OUT if cmd.opted_out else Action.PERSON_OPTED_IN,
            "person",
            person.employee_no,
            at=now,
            details={"via": cmd.via},
        )
        return TextsOptOut(person.employee_no, cmd.opted_out, changed=True)
