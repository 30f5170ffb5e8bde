"""Texts people send us: STOP / 退订 / TD, START, HELP, R (reschedule) and its confirmation.

:func:`parse_command` is pure; :func:`handle_inbound` applies one text and returns the reply.
It is idempotent by the provider's message SID: Twilio retries a webhook that timed out, and the
retry must neither opt someone out twice nor book a second slot.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from testrota.audit import Action, Actor, record
from testrota.db.engine import session_scope
from testrota.db.models import (
    Appointment,
    InboundMessage,
    Message,
    Person,
    RescheduleOffer,
    User,
)
from testrota.notify.links import make_personal_link
from testrota.notify.outbox import KIND_MISSED, REMINDER_KINDS
from testrota.notify.reschedule import (
    Target,
    book,
    find_slot,
    make_offer,
    makeup_booked,
    site_name,
    site_zone,
)
from testrota.notify.templates import Templates, load_templates, local_date_time
from testrota.policy import Policy
from testrota.settings import Settings

STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "退订", "TD", "退订短信"}
)
START_WORDS = frozenset({"START", "UNSTOP", "SUBSCRIBE", "恢复", "订阅"})
HELP_WORDS = frozenset({"HELP", "INFO", "帮助", "?", "？"})
RESCHEDULE_WORDS = frozenset({"R", "RESCHEDULE", "改约", "改期"})
CONFIRM_WORDS = frozenset({"Y", "YES", "OK", "确认", "是", "好", "好的", "是的", "可以", "1"})

_TRIM = re.compile(r"^[\s\.,!。，！、:：'\"“”]+|[\s\.,!。，！、:：'\"“”]+$")
# Where a reply's first word ends: a space, or punctuation (NFKC has made "，" a ",").
_WORD_END = re.compile(r"[\s.,!?;:、。'\"“”~～]+")
_COMMANDS = (
    ("stop", STOP_WORDS),
    ("start", START_WORDS),
    ("help", HELP_WORDS),
    ("reschedule", RESCHEDULE_WORDS),
    ("confirm", CONFIRM_WORDS),
)


def _chinese(words: frozenset[str]) -> tuple[str, ...]:
    # Two characters or more, longest first: a reply starting with 好 or 是 may as well be
    # 好像不对 or 是不是; only 好的, 是的 and the other words say yes.
    return tuple(
        sorted((w for w in words if not w.isascii() and len(w) > 1), key=len, reverse=True)
    )


# Chinese is written without spaces: "退订谢谢", "好的", "我要退订", "改约到周三".
_LEADING = tuple((name, _chinese(words)) for name, words in _COMMANDS)
# An opt-out or a wish to move, said at the end ("请帮我退订", "我想改约"), counts too: an
# opt-out missed keeps texting someone who asked to stop.
_TRAILING = (("stop", _chinese(STOP_WORDS)), ("reschedule", _chinese(RESCHEDULE_WORDS)))


def parse_command(body: str) -> str:
    """``stop``, ``start``, ``help``, ``reschedule``, ``confirm`` or ``unknown``.

    Case, full-width letters and surrounding punctuation do not matter ("stop", "ＳＴＯＰ",
    "Stop." and " 退订 " are all a STOP); the first word counts, as carriers do, ended by a
    space or punctuation ("确认，谢谢"). Chinese, written without spaces, counts by how the reply
    starts ("退订谢谢", "好的"), and an opt-out or a wish to move also by how it ends ("我要退订").
    """
    text = unicodedata.normalize("NFKC", body or "").strip()
    text = _TRIM.sub("", text).upper()
    if not text:
        return "unknown"
    first = _WORD_END.split(text, maxsplit=1)[0]
    for word in (text, first):
        for name, words in _COMMANDS:
            if word in words:
                return name
    for name, starts in _LEADING:
        if first.startswith(starts):
            return name
    for name, ends in _TRAILING:
        if first.endswith(ends) or text.endswith(ends):
            return name
    return "unknown"


class Render(Protocol):
    def __call__(self, kind: str, **values: object) -> str: ...


@dataclass(frozen=True)
class InboundResult:
    action: str
    reply: str
    person_id: int | None = None


def _language(people: list[Person], users: list[User], body: str, phone: str) -> str:
    if people:
        return people[0].language
    if users:
        return users[0].language
    # A stranger: Chinese for a Chinese text or a number in greater China, else English.
    chinese = not body.isascii() or phone.startswith(("+86", "+852", "+853", "+886"))
    return "zh" if chinese else "en"


def handle_inbound(
    engine: Engine,
    settings: Settings,
    policy: Policy,
    now: datetime,
    *,
    from_number: str,
    body: str,
    message_sid: str | None = None,
    templates: Templates | None = None,
) -> InboundResult:
    """Apply one inbound text and return the reply to send back (may be empty)."""
    tpl = templates or load_templates(settings.config_dir, policy.sms.max_segments)
    command = parse_command(body)
    booked_id: int | None = None
    with session_scope(engine) as session:
        if message_sid:
            seen = session.exec(
                select(InboundMessage).where(InboundMessage.provider_sid == message_sid)
            ).first()
            if seen is not None:
                return InboundResult(seen.action, seen.reply, seen.person_id)
        people = list(
            session.exec(
                select(Person)
                .where(Person.phone == from_number)
                .order_by(col(Person.active).desc(), col(Person.id))
            )
        )
        users = list(session.exec(select(User).where(User.phone == from_number)))
        lang = _language(people, users, body, from_number)
        person = people[0] if people else None

        def render(kind: str, **values: object) -> str:
            return tpl.render(kind, lang, **values).body

        def link() -> str:
            if person is None:
                return settings.public_url
            return make_personal_link(settings, person.id or 0, now)

        if command == "stop":
            action, reply = "stop", render("reply_stop")
            _set_opt_out(session, people, users, True, now, from_number)
        elif command == "start":
            action, reply = "start", render("reply_start")
            _set_opt_out(session, people, users, False, now, from_number)
        elif not people and not users:
            action, reply = "unknown_sender", render("reply_help_unknown")
        elif command == "reschedule" and person is not None:
            action, reply = _offer(session, person, people, from_number, now, policy, render, link)
        elif command == "confirm" and person is not None:
            action, reply, booked_id = _confirm(session, from_number, now, policy, render, link)
        elif person is None:
            action, reply = "help", render("reply_help", link=settings.public_url)
        else:
            action, reply = (
                ("help" if command == "help" else "unknown"),
                render("reply_help", link=link()),
            )
        session.add(
            InboundMessage(
                provider_sid=message_sid,
                from_number=from_number,
                body=body[:2000],
                received_at=now,
                person_id=person.id if person else None,
                action=action,
                reply=reply,
            )
        )
    if booked_id is not None:
        # The new slot gets its reminders now; the old slot's pending ones are cancelled.
        from testrota.notify.enqueue import sync_reminders

        sync_reminders(engine, now, policy, settings, templates=tpl, appointment_ids=[booked_id])
    return InboundResult(action, reply, person.id if person else None)


def _set_opt_out(
    session: Session,
    people: list[Person],
    users: list[User],
    value: bool,
    now: datetime,
    phone: str,
) -> None:
    for p in people:
        if p.opted_out != value:
            p.opted_out = value
            p.updated_at = now
            session.add(p)
            record(
                session,
                Actor.sms(phone),
                Action.PERSON_OPTED_OUT if value else Action.PERSON_OPTED_IN,
                "person",
                p.id or "",
                at=now,
                details={"via": "sms reply"},
            )
    for u in users:
        if u.opted_out != value:
            u.opted_out = value
            session.add(u)


def _target(session: Session, person: Person, people: list[Person], now: datetime) -> Target | None:
    """What "R" is about: the latest text we sent that invited it, else the next appointment."""
    ids = [p.id for p in people if p.id is not None]
    last = session.exec(
        select(Message)
        .where(
            col(Message.person_id).in_(ids),
            col(Message.kind).in_((*REMINDER_KINDS, KIND_MISSED)),
            col(Message.status).in_(("sent", "delivered")),
        )
        .order_by(col(Message.sent_at).desc(), col(Message.id).desc())
        .limit(1)
    ).first()
    if last is not None and last.appointment_id is not None:
        appointment = session.get(Appointment, last.appointment_id)
        owner = next((p for p in people if appointment and p.id == appointment.person_id), None)
        if appointment is not None and owner is not None:
            already = makeup_booked(session, appointment.id)
            if last.kind == KIND_MISSED and appointment.status == "missed" and not already:
                return Target("makeup", appointment, owner)
            if appointment.status == "scheduled" and appointment.starts_at > now:
                return Target("move", appointment, owner)
    upcoming = session.exec(
        select(Appointment)
        .where(
            col(Appointment.person_id).in_(ids),
            Appointment.status == "scheduled",
            Appointment.starts_at > now,
        )
        .order_by(col(Appointment.starts_at))
        .limit(1)
    ).first()
    if upcoming is None:
        return None
    owner = next(p for p in people if p.id == upcoming.person_id)
    return Target("move", upcoming, owner)


def _offer(
    session: Session,
    person: Person,
    people: list[Person],
    phone: str,
    now: datetime,
    policy: Policy,
    render: Render,
    link: Callable[[], str],
) -> tuple[str, str]:
    target = _target(session, person, people, now)
    if target is None:
        return "reschedule_nothing", render("reply_no_appointment", link=link())
    slot = find_slot(session, target, now, policy)
    if slot is None:
        return "reschedule_none", render("reply_offer_none", link=link())
    make_offer(session, target, slot, phone, now, policy)
    day, clock = local_date_time(
        slot.starts_at, site_zone(session, slot.site_code, policy), target.person.language
    )
    return "offer", render(
        "reply_offer",
        date=day,
        time=clock,
        site=site_name(session, slot.site_code),
        minutes=policy.reminders.offer_valid_minutes,
    )


def _confirm(
    session: Session,
    phone: str,
    now: datetime,
    policy: Policy,
    render: Render,
    link: Callable[[], str],
) -> tuple[str, str, int | None]:
    offer = session.exec(
        select(RescheduleOffer)
        .where(
            RescheduleOffer.phone == phone,
            RescheduleOffer.status == "open",
            RescheduleOffer.expires_at > now,
        )
        .order_by(col(RescheduleOffer.id).desc())
        .limit(1)
    ).first()
    if offer is None:
        return "confirm_nothing", render("reply_nothing_to_confirm"), None
    booked = book(session, offer, now, policy)
    if booked is not None:
        tz = site_zone(session, booked.site_code, policy)
        person = session.get(Person, offer.person_id)
        day, clock = local_date_time(booked.starts_at, tz, person.language if person else "zh")
        return (
            "confirmed",
            render(
                "reply_confirmed", date=day, time=clock, site=site_name(session, booked.site_code)
            ),
            booked.id,
        )
    # Taken meanwhile (or no longer possible): offer the next one instead.
    session.execute(
        update(RescheduleOffer).where(col(RescheduleOffer.id) == offer.id).values(status="expired")
    )
    person = session.get(Person, offer.person_id)
    appointment = session.get(Appointment, offer.appointment_id) if offer.appointment_id else None
    if person is None or appointment is None:
        return "confirm_failed", render("reply_nothing_to_confirm"), None
    target = Target(offer.mode, appointment, person)
    slot = find_slot(session, target, now, policy)
    if slot is None:
        return "confirm_failed", render("reply_offer_none", link=link()), None
    make_offer(session, target, slot, phone, now, policy)
    day, clock = local_date_time(
        slot.starts_at, site_zone(session, slot.site_code, policy), person.language
    )
    return (
        "offer_again",
        render(
            "reply_offer_again",
            date=day,
            time=clock,
            site=site_name(session, slot.site_code),
            minutes=policy.reminders.offer_valid_minutes,
        ),
        None,
    )
