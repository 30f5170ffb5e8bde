"""Twilio's webhooks, signed with the real RequestValidator: replies, opt-outs, rescheduling."""

from __future__ import annotations

import random
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from twilio.request_validator import RequestValidator

from testrota.clock import FixedClock
from testrota.db.models import (
    Appointment,
    AuditEvent,
    InboundMessage,
    Message,
    Person,
    RescheduleOffer,
)
from testrota.notify.backends import TwilioBackend
from testrota.notify.dispatcher import Dispatcher
from testrota.notify.enqueue import sync_reminders
from testrota.notify.links import read_personal_token
from testrota.settings import Settings
from testrota.web.twilio_routes import router
from tests.bounded import wait_for
from tests.fake_twilio import AUTH_TOKEN, FakeTwilio
from tests.notify_data import (
    PUBLIC_URL,
    add_appointment,
    add_person,
    add_site,
    add_slot,
    add_user,
    messages,
    notify_settings,
    phone,
    policy,
    twilio_settings,
)

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 5, 9, 19, 0, tzinfo=SH)  # Monday evening


def make_app(settings: Settings) -> FastAPI:
    """Only the webhooks, as they run before (and without) the rest of the web app."""
    app = FastAPI()
    app.state.settings = settings
    app.include_router(router)
    return app


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return notify_settings(settings, twilio_auth_token=AUTH_TOKEN, now=NOW.isoformat())


@pytest.fixture
def client(hook_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(make_app(hook_settings)) as c:
        yield c


def signed(
    path: str, params: dict[str, str], token: str = AUTH_TOKEN, base: str = PUBLIC_URL
) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(base + path, params)}


_sids = iter(range(10**6))


def text(client: TestClient, from_number: str, body: str, sid: str | None = None) -> Any:
    params = {
        "From": from_number,
        "To": "+15005550006",
        "Body": body,
        "MessageSid": sid or f"SMin{next(_sids):030d}",
        "AccountSid": "AC1",
    }
    return client.post("/twilio/inbound", data=params, headers=signed("/twilio/inbound", params))


def reply_of(response: Any) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response"
    return "".join(m.text or "" for m in root.iter("Message"))


def fresh(session: Session, model: Any, ident: int) -> Any:
    obj = session.exec(
        select(model).where(model.id == ident).execution_options(populate_existing=True)
    ).one()
    session.commit()
    return obj


# ---------------------------------------------------------------- signatures


def test_unsigned_or_wrongly_signed_requests_are_refused_and_change_nothing(
    client: TestClient, session: Session
) -> None:
    person = add_person(session, 1)
    params = {"From": phone(1), "Body": "STOP", "MessageSid": "SMx"}
    assert client.post("/twilio/inbound", data=params).status_code == 403
    wrong = signed("/twilio/inbound", params, token="not-the-token")
    assert client.post("/twilio/inbound", data=params, headers=wrong).status_code == 403
    # Signed for another URL (the signature covers the URL Twilio was given).
    other = signed("/twilio/inbound", params, base="https://evil.example.com")
    assert client.post("/twilio/inbound", data=params, headers=other).status_code == 403
    # Signed, then tampered with.
    good = signed("/twilio/inbound", params)
    tampered = dict(params, Body="START")
    assert client.post("/twilio/inbound", data=tampered, headers=good).status_code == 403
    status = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    assert (
        client.post(
            "/twilio/status", data=status, headers=signed("/twilio/inbound", status)
        ).status_code
        == 403
    )
    assert fresh(session, Person, person.id).opted_out is False
    assert session.exec(select(InboundMessage)).all() == []


def test_without_an_auth_token_nothing_can_be_verified(
    settings: Settings, engine: Engine, session: Session
) -> None:
    add_person(session, 1)
    with TestClient(make_app(notify_settings(settings))) as c:
        assert text(c, phone(1), "STOP").status_code == 403


# ---------------------------------------------------------------- opt-out, opt-in, help


@pytest.mark.parametrize(
    "word",
    [
        "STOP",
        "stop.",
        "ＳＴＯＰ",
        "退订",
        "TD",
        "td",
        "UNSUBSCRIBE",
        # Chinese runs on without spaces: these were "unknown", and the texts went on
        "我要退订",
        "退订，谢谢",
        "退订谢谢",
        "请帮我退订短信",
    ],
)
def test_stop_words_opt_out(client: TestClient, session: Session, word: str) -> None:
    person = add_person(session, 1)
    reply = reply_of(text(client, phone(1), word))
    assert "退订" in reply and "START" in reply
    assert fresh(session, Person, person.id).opted_out is True
    # On the record as the texter, by the last digits of the number only.
    (event,) = session.exec(select(AuditEvent).where(AuditEvent.entity_id == str(person.id))).all()
    assert (event.action, event.actor) == ("person.opted_out", f"sms:{phone(1)[-4:]}")


@pytest.mark.parametrize(
    ("reply", "command"),
    [
        ("确认，谢谢", "confirm"),
        ("好的谢谢", "confirm"),
        ("是的", "confirm"),
        ("可以", "confirm"),
        ("Yes, thanks", "confirm"),
        ("改约到周三", "reschedule"),
        ("我想改约", "reschedule"),
        ("帮助我", "help"),
        ("恢复短信", "start"),
        # a yes is not read into a reply that only starts like one
        ("好像不对", "unknown"),
        ("是不是改约了", "unknown"),
        ("谢谢", "unknown"),
    ],
)
def test_a_reply_is_read_as_people_write_it(reply: str, command: str) -> None:
    from testrota.notify.inbound import parse_command

    assert parse_command(reply) == command


def test_start_opts_back_in_and_help_sends_the_personal_link(
    client: TestClient, session: Session, hook_settings: Settings
) -> None:
    person = add_person(session, 1, language="en", opted_out=True)
    reply = reply_of(text(client, phone(1), "START"))
    assert reply.startswith("Testrota: texts resumed")
    assert fresh(session, Person, person.id).opted_out is False
    reply = reply_of(text(client, phone(1), "help"))
    assert "reply R" in reply
    token = reply.rsplit("/me/", 1)[1].split()[0]
    assert read_personal_token(hook_settings, token, max_age=60) == person.id
    # Anything else gets the help text too.
    assert "reply R" in reply_of(text(client, phone(1), "what is this?"))


def test_a_supervisor_can_stop_the_digest(client: TestClient, session: Session) -> None:
    user = add_user(session, "sup", "supervisor", phone_number=phone(77))
    reply_of(text(client, phone(77), "STOP"))
    from testrota.db.models import User

    assert fresh(session, User, user.id).opted_out is True


def test_unknown_numbers_are_told_to_ask_hr(client: TestClient, session: Session) -> None:
    assert "未登记" in reply_of(text(client, phone(999), "HELP"))


def test_a_retried_webhook_is_applied_once(client: TestClient, session: Session) -> None:
    person = add_person(session, 1)
    first = reply_of(text(client, phone(1), "STOP", sid="SMsame"))
    reply_of(text(client, phone(1), "START"))
    again = reply_of(text(client, phone(1), "STOP", sid="SMsame"))  # Twilio's retry
    assert again == first
    assert fresh(session, Person, person.id).opted_out is False  # the retry changed nothing
    assert len(session.exec(select(InboundMessage)).all()) == 2


# ---------------------------------------------------------------- R, then confirm


def _week(session: Session) -> tuple[Person, Appointment, dict[str, Any]]:
    add_site(session)
    person = add_person(session, 1)
    other = add_person(session, 2)
    current = add_slot(session, datetime(2022, 5, 10, 9, 30, tzinfo=SH))
    full = add_slot(session, datetime(2022, 5, 10, 10, 0, tzinfo=SH), capacity=1)
    free = add_slot(session, datetime(2022, 5, 10, 10, 30, tzinfo=SH), capacity=1)
    later = add_slot(session, datetime(2022, 5, 10, 11, 0, tzinfo=SH), capacity=5)
    appt = add_appointment(session, person, current.starts_at, slot=current)
    add_appointment(session, other, full.starts_at, slot=full)
    return person, appt, {"current": current, "full": full, "free": free, "later": later}


def test_r_offers_the_next_free_slot_and_y_books_it(
    client: TestClient, session: Session, engine: Engine, hook_settings: Settings
) -> None:
    person, appt, slots = _week(session)
    sync_reminders(engine, NOW - timedelta(hours=2), policy(), hook_settings)
    reply = reply_of(text(client, phone(1), "R"))
    assert "10:30" in reply and "Y" in reply and "120" in reply
    offer = session.exec(select(RescheduleOffer)).one()
    session.commit()
    assert (offer.slot_id, offer.mode, offer.status) == (slots["free"].id, "move", "open")
    assert fresh(session, Appointment, appt.id).starts_at == slots["current"].starts_at

    reply = reply_of(text(client, phone(1), "确认"))
    assert "已改约" in reply and "10:30" in reply
    moved = fresh(session, Appointment, appt.id)
    assert (moved.slot_id, moved.starts_at, moved.reason) == (
        slots["free"].id,
        slots["free"].starts_at,
        "reschedule",
    )
    # The reminders follow: the old slot's pending text is cancelled, the new slot has one.
    rows = [m for m in messages(session) if m.person_id == person.id]
    pending = [m for m in rows if m.status == "pending"]
    assert pending and all(m.expires_at == slots["free"].starts_at for m in pending)
    assert all(
        m.status == "cancelled"
        for m in rows
        if m.expires_at == slots["current"].starts_at and m.status != "sent"
    )
    # Nothing left to confirm.
    assert "没有待确认" in reply_of(text(client, phone(1), "Y"))


def test_the_gap_between_a_persons_tests_is_kept(
    client: TestClient, session: Session, hook_settings: Settings
) -> None:
    add_site(session)
    person = add_person(session, 1)
    monday = add_slot(session, datetime(2022, 5, 9, 9, 0, tzinfo=SH))
    add_slot(session, datetime(2022, 5, 10, 9, 0, tzinfo=SH))  # a day after Monday's test
    wednesday = add_slot(session, datetime(2022, 5, 11, 9, 0, tzinfo=SH))
    thursday = add_slot(session, datetime(2022, 5, 12, 9, 0, tzinfo=SH))
    add_appointment(session, person, monday.starts_at, slot=monday, status="done")
    add_appointment(session, person, wednesday.starts_at, slot=wednesday)
    reply = reply_of(text(client, phone(1), "R"))
    offer = session.exec(select(RescheduleOffer)).one()
    session.commit()
    # Moving Wednesday's test: Tuesday is one day from Monday's (min gap 2); Thursday is not.
    assert offer.slot_id == thursday.id
    assert "5月12日" in reply


def test_a_slot_taken_before_the_confirmation_gets_a_new_offer(
    client: TestClient, session: Session
) -> None:
    _person, appt, slots = _week(session)
    reply_of(text(client, phone(1), "R"))
    # Someone else takes the last place of the offered slot meanwhile.
    add_appointment(session, add_person(session, 3), slots["free"].starts_at, slot=slots["free"])
    reply = reply_of(text(client, phone(1), "Y"))
    assert "已满" in reply and "11:00" in reply
    assert fresh(session, Appointment, appt.id).slot_id == slots["current"].id
    offers = session.exec(select(RescheduleOffer).order_by(col(RescheduleOffer.id))).all()
    session.commit()
    assert [o.status for o in offers] == ["expired", "open"]
    assert "已改约" in reply_of(text(client, phone(1), "Y"))
    assert fresh(session, Appointment, appt.id).slot_id == slots["later"].id


def test_an_offer_expires(
    client: TestClient, session: Session, settings: Settings, engine: Engine
) -> None:
    _person, appt, slots = _week(session)
    reply_of(text(client, phone(1), "R"))
    later = notify_settings(
        settings, twilio_auth_token=AUTH_TOKEN, now=(NOW + timedelta(hours=3)).isoformat()
    )
    with TestClient(make_app(later)) as c:
        assert "没有待确认" in reply_of(text(c, phone(1), "Y"))
    assert fresh(session, Appointment, appt.id).slot_id == slots["current"].id


def test_after_a_missed_test_r_books_a_makeup(
    client: TestClient, session: Session, engine: Engine, hook_settings: Settings
) -> None:
    add_site(session)
    person = add_person(session, 1)
    missed_slot = add_slot(session, datetime(2022, 5, 9, 9, 0, tzinfo=SH))
    makeup = add_slot(session, datetime(2022, 5, 11, 9, 0, tzinfo=SH))
    missed = add_appointment(
        session, person, missed_slot.starts_at, slot=missed_slot, status="missed"
    )
    session.add(
        Message(
            kind="missed",
            dedupe_key=f"missed:appt:{missed.id}",
            person_id=person.id,
            appointment_id=missed.id,
            to=phone(1),
            body="x",
            due_at=NOW,
            status="sent",
            sent_at=NOW,
            created_at=NOW,
        )
    )
    session.commit()
    assert "5月11日" in reply_of(text(client, phone(1), "R"))
    assert "已改约" in reply_of(text(client, phone(1), "Y"))
    appts = session.exec(select(Appointment).order_by(col(Appointment.id))).all()
    session.commit()
    assert [(a.status, a.slot_id, a.reason) for a in appts] == [
        ("missed", missed_slot.id, "plan"),
        ("scheduled", makeup.id, "reschedule"),
    ]


def test_r_with_nothing_to_move_or_no_free_slot(client: TestClient, session: Session) -> None:
    add_site(session)
    person = add_person(session, 1)
    assert "没有需要改约" in reply_of(text(client, phone(1), "R"))
    only = add_slot(session, datetime(2022, 5, 10, 9, 0, tzinfo=SH))
    add_appointment(session, person, only.starts_at, slot=only)
    assert "暂无可改约" in reply_of(text(client, phone(1), "改约"))


# ---------------------------------------------------------------- delivery reports


def test_status_callback_updates_the_text(
    client: TestClient, session: Session, engine: Engine
) -> None:
    person = add_person(session, 1)
    row = Message(
        kind="booster",
        dedupe_key="b1",
        person_id=person.id,
        to=phone(1),
        body="x",
        due_at=NOW,
        status="sent",
        provider_sid="SMabc",
        provider_status="queued",
        created_at=NOW,
    )
    session.add(row)
    session.commit()
    path = f"/twilio/status?m={row.id}"
    params = {
        "MessageSid": "SMabc",
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "AccountSid": "AC1",
        "To": phone(1),
    }
    bad = client.post(path, data=params, headers={"X-Twilio-Signature": "nope"})
    assert bad.status_code == 403
    assert fresh(session, Message, row.id).status == "sent"
    response = client.post(path, data=params, headers=signed(path, params))
    assert response.status_code == 200 and ET.fromstring(response.text).tag == "Response"
    updated = fresh(session, Message, row.id)
    assert (updated.status, updated.provider_status, updated.error_code) == (
        "undelivered",
        "undelivered",
        "30003",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_end_to_end_delivery_reports_from_the_fake_to_a_running_server(
    engine: Engine, session: Session, settings: Settings
) -> None:
    """Dispatcher -> fake Twilio -> signed callbacks -> uvicorn -> the outbox says delivered."""
    from tests.notify_data import add_due_texts

    port = _free_port()
    with FakeTwilio(callbacks=True) as fake:
        s = twilio_settings(settings, fake, public_url=f"http://127.0.0.1:{port}")
        server = uvicorn.Server(
            uvicorn.Config(make_app(s), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_for(lambda: server.started, 30, "uvicorn to start")
        try:
            add_due_texts(engine, 5, NOW)
            pol = policy(sms={"rate_per_second": 0})
            report = Dispatcher(
                engine, TwilioBackend(s, pol.sms), pol, FixedClock(NOW), rng=random.Random(1)
            ).run()
            assert report.sent == 5
            deadline = time.monotonic() + 10
            while len(fake.callback_log) < 10 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            server.should_exit = True
            thread.join(5)
        assert [code for _, _, code in fake.callback_log] == [200] * 10
        assert all("?m=" in url for url, _, _ in fake.callback_log)
    assert {m.status for m in messages(session)} == {"delivered"}


# ---------------------------------------------------------------- inside the full web app


def test_the_web_app_serves_the_webhooks(
    hook_settings: Settings, engine: Engine, session: Session
) -> None:
    from testrota.web.app import create_app

    person = add_person(session, 1)
    with TestClient(create_app(hook_settings)) as c:
        params = {"From": phone(1), "Body": "TD", "MessageSid": "SMfull"}
        assert c.post("/twilio/inbound", data=params).status_code == 403
        response = c.post("/twilio/inbound", data=params, headers=signed("/twilio/inbound", params))
        assert "退订" in reply_of(response)
    assert fresh(session, Person, person.id).opted_out is True


def test_serve_with_worker_sends_texts_from_the_web_process(
    settings: Settings, engine: Engine, session: Session
) -> None:
    from datetime import UTC

    from testrota.web.app import create_app
    from tests.notify_data import add_due_texts

    add_due_texts(engine, 2, datetime.now(UTC) - timedelta(minutes=1))
    with TestClient(create_app(notify_settings(settings), with_worker=True)) as c:
        deadline = time.monotonic() + 20
        while {m.status for m in messages(session)} != {"sent"}:
            assert time.monotonic() < deadline
            assert c.get("/healthz").status_code == 200
            time.sleep(0.1)
