"""The dispatcher on both databases, sending through the real twilio client to the fake API."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.clock import FixedClock
from testrota.db.models import AuditEvent, Message, Person
from testrota.notify.backends import ConsoleBackend, TwilioBackend
from testrota.notify.dispatcher import Dispatcher, dispatch_due
from testrota.notify.enqueue import sync_reminders
from testrota.notify.status import record_status
from testrota.policy import Policy
from testrota.settings import Settings
from tests.bounded import join_all, wait_for
from tests.fake_twilio import FakeTwilio
from tests.notify_data import (
    add_appointment,
    add_due_texts,
    add_person,
    add_site,
    messages,
    notify_settings,
    phone,
    policy,
    twilio_settings,
)

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 5, 9, 10, 0, tzinfo=SH)


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def fast(**sms: Any) -> Policy:
    """No rate limit, quick retries: the tests control time through the clock."""
    values: dict[str, Any] = {"rate_per_second": 0, "concurrency": 8}
    values.update(sms)
    return policy(sms=values)


def run(engine: Engine, backend: Any, pol: Policy, at: datetime, **kwargs: Any) -> Any:
    return Dispatcher(engine, backend, pol, FixedClock(at), rng=random.Random(1), **kwargs).run()


def twilio(settings: Settings, fake: FakeTwilio, pol: Policy) -> TwilioBackend:
    return TwilioBackend(twilio_settings(settings, fake), pol.sms)


def by_status(session: Session) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in messages(session):
        counts[m.status] = counts.get(m.status, 0) + 1
    return counts


# ---------------------------------------------------------------- the happy path


def test_due_texts_are_sent_once_and_future_ones_wait(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    add_due_texts(engine, 30, NOW - timedelta(minutes=1))
    add_due_texts(engine, 5, NOW + timedelta(hours=1), first=100)
    pol = fast()
    report = run(engine, twilio(settings, fake, pol), pol, NOW)
    assert (report.sent, report.failed, report.retried, report.skipped) == (30, 0, 0, 0)
    assert len(fake.messages) == 30
    rows = messages(session)
    sent = [m for m in rows if m.status == "sent"]
    assert len(sent) == 30
    assert {m.provider_sid for m in sent} == {m.sid for m in fake.messages}
    assert all(m.attempts == 1 and m.claimed_by and m.sent_at == NOW for m in sent)
    assert all(m.provider_status == "queued" for m in sent)
    assert by_status(session)["pending"] == 5
    # Running again sends nothing more.
    assert run(engine, twilio(settings, fake, pol), pol, NOW).sent == 0
    assert len(fake.messages) == 30


def test_reminders_from_the_plan_reach_the_console(
    engine: Engine, session: Session, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    s = notify_settings(settings)
    add_site(session)
    person = add_person(session, 1)
    add_appointment(session, person, datetime(2022, 5, 10, 9, 30, tzinfo=SH))
    sync_reminders(engine, NOW, policy(), s)
    evening = datetime(2022, 5, 9, 18, 1, tzinfo=SH)
    with caplog.at_level("INFO", logger="testrota.sms"):
        report = dispatch_due(engine, s, fast(), FixedClock(evening))
    assert report.sent == 1
    assert "5月10日周二 09:30" in caplog.text and "一号采样点" in caplog.text
    assert by_status(session) == {"sent": 1, "pending": 1}


def test_what_must_not_go_out_is_closed_not_sent(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    s = notify_settings(settings)
    add_site(session)
    keep = add_person(session, 1)
    opted = add_person(session, 2, opted_out=True)
    moved = add_person(session, 3)
    add_appointment(session, keep, datetime(2022, 5, 10, 9, 30, tzinfo=SH))
    add_appointment(session, opted, datetime(2022, 5, 10, 9, 30, tzinfo=SH))
    appt = add_appointment(session, moved, datetime(2022, 5, 10, 9, 30, tzinfo=SH))
    sync_reminders(engine, NOW, policy(), s)
    # Moved by someone after the rows were made, and no sync since: the claim itself refuses.
    appt.starts_at = datetime(2022, 5, 10, 15, 0, tzinfo=SH)
    session.add(appt)
    session.commit()
    evening = datetime(2022, 5, 9, 18, 5, tzinfo=SH)
    pol = fast()
    report = run(engine, twilio(settings, fake, pol), pol, evening)
    assert report.sent == 1 and report.skipped == 2
    assert [m.to for m in fake.messages] == [phone(1)]
    eve = {m.person_id: m for m in messages(session) if m.kind == "reminder_eve"}
    assert eve[opted.id].status == "skipped"
    assert eve[moved.id].status == "cancelled"
    # Texts whose slot has started are closed as expired, whatever else is wrong with them.
    late = datetime(2022, 5, 10, 9, 31, tzinfo=SH)
    report = run(engine, twilio(settings, fake, pol), pol, late)
    assert report.sent == 0 and report.skipped == 3
    assert by_status(session)["expired"] == 3
    assert len(fake.messages) == 1


# ---------------------------------------------------------------- failures


def test_429_and_5xx_are_retried_with_backoff_then_sent(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    add_due_texts(engine, 3, NOW)
    fake.fail("429", times=2)
    fake.fail("500", times=1)
    pol = fast(retry_base_seconds=30, retry_max_seconds=600)
    report = run(engine, twilio(settings, fake, pol), pol, NOW)
    assert (report.sent, report.retried) == (0, 3)
    rows = messages(session)
    assert all(m.status == "pending" and m.attempts == 1 for m in rows)
    waits = [(m.next_attempt_at - NOW).total_seconds() for m in rows if m.next_attempt_at]
    assert all(15 <= w <= 30 for w in waits)  # half fixed, half jitter
    assert {m.error_code for m in rows} == {"20429", "20500"}
    # Not before the backoff has passed...
    assert run(engine, twilio(settings, fake, pol), pol, NOW + timedelta(seconds=10)).sent == 0
    # ...then they go.
    report = run(engine, twilio(settings, fake, pol), pol, NOW + timedelta(seconds=31))
    assert report.sent == 3
    assert by_status(session) == {"sent": 3}
    assert all(m.attempts == 2 for m in messages(session))


def test_retries_stop_at_the_limit(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    add_due_texts(engine, 1, NOW)
    fake.fail("503", times=None)
    pol = fast(max_attempts=3, retry_base_seconds=1, retry_max_seconds=1)
    at = NOW
    for _ in range(3):
        run(engine, twilio(settings, fake, pol), pol, at)
        at += timedelta(minutes=1)
    (row,) = messages(session)
    assert (row.status, row.attempts, row.error_code) == ("failed", 3, "20503")
    assert len(fake.received) == 3 and fake.messages == []


def test_network_refused_is_retried(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    add_due_texts(engine, 2, NOW)
    pol = fast()
    backend = twilio(settings, fake, pol)
    fake.stop()
    report = run(engine, backend, pol, NOW)
    assert report.retried == 2
    fake.restart()
    report = run(engine, backend, pol, NOW + timedelta(minutes=5))
    assert report.sent == 2 and len(fake.messages) == 2


def test_unsubscribed_recipient_is_opted_out_and_not_texted_again(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    add_due_texts(engine, 2, NOW)
    add_due_texts(engine, 1, NOW + timedelta(hours=1), first=1000)
    pol = fast()
    fake.fail("21610", to=phone(1))
    report = run(engine, twilio(settings, fake, pol), pol, NOW)
    assert (report.sent, report.failed, report.opted_out) == (1, 1, 1)
    person = session.exec(select(Person).where(Person.phone == phone(1))).one()
    assert person.opted_out is True
    audit = session.exec(select(AuditEvent)).one()
    session.commit()
    assert (audit.action, audit.actor, audit.entity_id) == (
        "person.opted_out",
        "provider:twilio",
        str(person.id),
    )
    failed = next(m for m in messages(session) if m.status == "failed")
    assert failed.error_code == "21610" and "unsubscribed" in (failed.error_message or "")
    # A later text to the same number is skipped, never sent.
    with engine.begin() as conn:
        conn.execute(
            Message.__table__.update()
            .where(  # type: ignore[attr-defined]
                Message.__table__.c.to == phone(1000)
            )
            .values(
                to=phone(1),  # type: ignore[attr-defined]
                person_id=person.id,
            )
        )
    report = run(engine, twilio(settings, fake, pol), pol, NOW + timedelta(hours=2))
    assert report.skipped == 1 and report.sent == 0


@pytest.mark.parametrize("code", ["21211", "21614"])
def test_invalid_numbers_are_flagged_for_hr(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio, code: str
) -> None:
    add_due_texts(engine, 1, NOW)
    pol = fast()
    fake.fail(code)
    report = run(engine, twilio(settings, fake, pol), pol, NOW)
    assert (report.failed, report.invalid_numbers, report.retried) == (1, 1, 0)
    (person,) = session.exec(select(Person)).all()
    session.commit()
    assert person.phone_valid is False
    assert messages(session)[0].error_code == code
    (event,) = session.exec(select(AuditEvent)).all()
    assert (event.action, event.actor, event.entity_id) == (
        "person.phone_invalid",
        "provider:twilio",
        str(person.id),
    )


def test_other_client_errors_fail_at_once_with_code_and_message(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    add_due_texts(engine, 1, NOW)
    pol = fast()
    fake.fail("21408", rfc9457=True)
    report = run(engine, twilio(settings, fake, pol), pol, NOW)
    assert (report.failed, report.retried) == (1, 0)
    (row,) = messages(session)
    assert row.status == "failed" and row.error_code == "21408"
    assert "Permission to send" in (row.error_message or "")


@pytest.mark.parametrize(("drop", "accepted"), [("drop_after", True), ("drop_before", False)])
def test_a_dropped_reply_is_looked_up_never_blindly_resent(
    engine: Engine,
    session: Session,
    settings: Settings,
    fake: FakeTwilio,
    drop: str,
    accepted: bool,
) -> None:
    add_due_texts(engine, 1, NOW)
    pol = fast(sending_timeout_minutes=10)
    fake.fail(drop)
    report = run(engine, twilio(settings, fake, pol), pol, NOW)
    assert report.unknown == 1
    (row,) = messages(session)
    assert row.status == "unknown"
    assert len(fake.messages) == (1 if accepted else 0)
    # Not looked up (nor resent) before the provider has surely settled it.
    assert run(engine, twilio(settings, fake, pol), pol, NOW + timedelta(minutes=5)).sent == 0
    report = run(engine, twilio(settings, fake, pol), pol, NOW + timedelta(minutes=11))
    assert report.resolved == 1
    assert len(fake.messages) == 1  # found (drop_after) or sent now (drop_before): once
    (row,) = messages(session)
    assert row.status == "sent" and row.provider_sid == fake.messages[0].sid
    assert report.sent == (0 if accepted else 1)


def test_a_row_left_sending_by_a_dead_dispatcher_is_resolved_by_lookup(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    ids = add_due_texts(engine, 2, NOW)
    pol = fast()
    backend = twilio(settings, fake, pol)
    # A dispatcher claimed both and died after the provider accepted the first one.
    with engine.begin() as conn:
        from testrota.notify.claims import claim_due

        claimed = claim_due(conn, NOW, "dead-worker", 10)
    assert [c.id for c in claimed] == ids
    backend.send(claimed[0].to, claimed[0].body, claimed[0].id)
    # Before the timeout nothing happens to them.
    assert run(engine, backend, pol, NOW + timedelta(minutes=5)).sent == 0
    assert by_status(session) == {"sending": 2}
    report = run(engine, backend, pol, NOW + timedelta(minutes=11))
    assert report.resolved == 2 and report.sent == 1
    assert by_status(session) == {"sent": 2}
    assert sorted(m.body for m in fake.messages) == sorted(c.body for c in claimed)


def test_lookup_by_sid_after_a_status_callback_came_first(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    (mid,) = add_due_texts(engine, 1, NOW)
    pol = fast()
    backend = twilio(settings, fake, pol)
    with engine.begin() as conn:
        from testrota.notify.claims import claim_due

        (row,) = claim_due(conn, NOW, "dead-worker", 10)
    sid = backend.send(row.to, row.body, row.id).sid
    assert record_status(engine, NOW, sid=sid, status="sent", message_id=mid)
    fake.set_status(sid, "delivered")
    report = run(engine, backend, pol, NOW + timedelta(minutes=11))
    assert report.resolved == 1
    (msg,) = messages(session)
    assert (msg.status, msg.provider_sid, msg.provider_status) == ("delivered", sid, "delivered")
    assert fake.request_count("fetch") == 1 and fake.request_count("list") == 0


# ---------------------------------------------------------------- quiet hours, rate, shutdown


def test_quiet_hours_hold_a_late_text_until_morning(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    (_mid,) = add_due_texts(engine, 1, datetime(2022, 5, 9, 21, 50, tzinfo=SH))
    with engine.begin() as conn:
        conn.execute(Message.__table__.update().values(tz="Asia/Shanghai"))  # type: ignore[attr-defined]
    pol = fast()
    report = run(engine, twilio(settings, fake, pol), pol, datetime(2022, 5, 9, 22, 10, tzinfo=SH))
    assert (report.sent, report.deferred) == (0, 1)
    (row,) = messages(session)
    assert row.status == "pending" and row.attempts == 0
    assert row.due_at == datetime(2022, 5, 10, 7, 0, tzinfo=SH)
    report = run(engine, twilio(settings, fake, pol), pol, datetime(2022, 5, 10, 7, 0, tzinfo=SH))
    assert report.sent == 1 and len(fake.messages) == 1


def test_rate_limit_is_never_exceeded(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    add_due_texts(engine, 16, NOW)
    pol = fast(rate_per_second=5, concurrency=8)
    started = time.monotonic()
    report = run(engine, twilio(settings, fake, pol), pol, NOW)
    elapsed = time.monotonic() - started
    assert report.sent == 16
    stamps = sorted(r.at for r in fake.received)
    assert stamps[-1] - stamps[0] >= (16 - 1 - 1) / 5 * 0.9  # one token of burst at most
    for i, t in enumerate(stamps):
        in_one_second = sum(1 for u in stamps[i:] if u - t < 1.0)
        # 5 a second plus the one-token burst; one more for a request delayed on its way.
        assert in_one_second <= 5 + 1 + 1
    assert elapsed < 10


def test_rate_limit_is_shared_by_dispatchers(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    add_due_texts(engine, 15, NOW)
    pol = fast(rate_per_second=5)
    threads = [
        threading.Thread(target=run, args=(engine, twilio(settings, fake, pol), pol, NOW))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    join_all(threads)
    stamps = sorted(r.at for r in fake.received)
    assert len(stamps) == 15 and len(fake.messages) == 15
    assert stamps[-1] - stamps[0] >= (15 - 2) / 5 * 0.9


def test_stopping_releases_what_was_not_started(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    add_due_texts(engine, 40, NOW)
    fake.latency = 0.2
    pol = fast(concurrency=2, batch_size=40)
    stop = threading.Event()
    result: list[Any] = []
    worker = threading.Thread(
        target=lambda: result.append(run(engine, twilio(settings, fake, pol), pol, NOW, stop=stop))
    )
    worker.start()
    wait_for(lambda: len(fake.received) >= 3, 30, "the first sends")
    stop.set()
    join_all([worker], 10)
    (report,) = result
    counts = by_status(session)
    assert "sending" not in counts
    assert counts["sent"] == report.sent == len(fake.messages)
    assert counts["pending"] == 40 - report.sent
    # At most twice the pool is claimed ahead; what had not started went back untouched.
    assert 0 <= report.released <= 4
    assert all(
        m.attempts == 0 and m.claimed_by is None for m in messages(session) if m.status == "pending"
    )


def test_release_gives_back_only_ones_own_untouched_claims(
    engine: Engine, session: Session
) -> None:
    from testrota.notify import claims

    add_due_texts(engine, 4, NOW)
    with engine.begin() as conn:
        mine = claims.claim_due(conn, NOW, "me", 2)
        theirs = claims.claim_due(conn, NOW, "them", 2)
    with engine.begin() as conn:
        assert claims.release(conn, "me", [c.id for c in mine + theirs]) == 2
    rows = {m.id: m for m in messages(session)}
    assert all(
        rows[c.id].status == "pending"
        and rows[c.id].attempts == 0
        and rows[c.id].claimed_by is None
        for c in mine
    )
    assert all(rows[c.id].status == "sending" and rows[c.id].claimed_by == "them" for c in theirs)


def test_many_threads_of_two_dispatchers_send_each_text_once(
    engine: Engine, session: Session, settings: Settings, fake: FakeTwilio
) -> None:
    add_due_texts(engine, 300, NOW)
    fake.latency = 0.005
    pol = fast(concurrency=16, batch_size=50)
    threads = [
        threading.Thread(target=run, args=(engine, twilio(settings, fake, pol), pol, NOW))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    join_all(threads)
    assert len(fake.messages) == 300
    assert max(fake.count_by_body().values()) == 1
    assert by_status(session) == {"sent": 300}


# ---------------------------------------------------------------- delivery reports


def test_status_reports_move_forward_only(
    engine: Engine, session: Session, settings: Settings
) -> None:
    (mid,) = add_due_texts(engine, 1, NOW)
    pol = fast()
    run(engine, ConsoleBackend(), pol, NOW)
    (row,) = messages(session)
    sid = row.provider_sid or ""
    assert record_status(engine, NOW, sid=sid, status="delivered")
    assert not record_status(engine, NOW, sid=sid, status="sent")  # late, older news
    assert messages(session)[0].status == "delivered"
    assert record_status(engine, NOW, sid=sid, status="undelivered", error_code="30003")
    (row,) = messages(session)
    assert (row.status, row.error_code) == ("undelivered", "30003")
    assert not record_status(engine, NOW, sid="SMother", status="delivered")
    assert not record_status(engine, NOW, sid="SMother", status="delivered", message_id=mid)


def test_a_report_that_beats_the_dispatchers_record_is_kept(
    engine: Engine, session: Session, settings: Settings
) -> None:
    (mid,) = add_due_texts(engine, 1, NOW)
    from testrota.notify import claims

    with engine.begin() as conn:
        claims.claim_due(conn, NOW, "w1", 10)
    assert record_status(engine, NOW, sid="SM1", status="delivered", message_id=mid)
    assert messages(session)[0].status == "sending"
    with engine.begin() as conn:
        claims.record_sent(conn, "w1", NOW, [{"b_id": mid, "b_sid": "SM1", "b_pstatus": "queued"}])
    (row,) = messages(session)
    assert (row.status, row.provider_status) == ("delivered", "delivered")


# ---------------------------------------------------------------- the command


def test_dispatch_command_prints_the_contract_json(cli: Any, engine: Engine) -> None:
    add_due_texts(engine, 3, datetime(2022, 5, 9, 1, 0, tzinfo=UTC))
    env = {"TESTROTA_NOW": "2022-05-09T10:00:00+08:00", "TESTROTA_SECRET_KEY": "x" * 32}
    result = cli("dispatch", "--once", "--json", env=env)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {"sent", "failed", "retried", "skipped"} <= set(document)
    assert document["sent"] == 3


def test_dispatch_command_refuses_twilio_without_credentials(cli: Any) -> None:
    result = cli(
        "dispatch",
        "--once",
        env={"TESTROTA_SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": ""},
    )
    assert result.exit_code == 2
    assert "TWILIO_ACCOUNT_SID" in result.output and "Traceback" not in result.output
