"""WeCom application messages over httpx2 against the fake WeCom API, and the dispatcher's
per-member limiter."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from testrota.clock import FixedClock
from testrota.notify.backends import build_backend
from testrota.notify.dispatcher import Dispatcher
from testrota.notify.failures import Failure, SendFailure
from testrota.notify.limits import next_allowed, plan_sends
from testrota.notify.wecom import WecomBackend
from testrota.policy import ChannelsPolicy
from testrota.settings import Settings, get_settings
from tests.fake_wecom import SECRET, FakeWecom
from tests.notify_data import add_due_texts, messages, notify_settings, phone, policy

MEMBERS = {f"138{n:08d}": f"user{n}" for n in range(1, 41)}


@pytest.fixture
def fake() -> Iterator[FakeWecom]:
    with FakeWecom(MEMBERS) as server:
        yield server


def _backend(fake: FakeWecom, **overrides: object) -> WecomBackend:
    values: dict[str, object] = dict(fake.settings())
    values.update(overrides)
    return WecomBackend(get_settings(**values), ChannelsPolicy(wecom_request_timeout_seconds=2))


def test_a_text_reaches_the_member_found_by_mobile(fake: FakeWecom) -> None:
    backend = _backend(fake)
    result = backend.send(phone(1), "【核酸检测】明天09:30采样", 1)
    assert result.status == "sent" and result.sid
    (delivered,) = fake.delivered
    assert (delivered.touser, delivered.content) == ("user1", "【核酸检测】明天09:30采样")
    backend.send(phone(1), "second", 2)
    # the token and the member are remembered
    assert fake.counts["gettoken"] == 1 and fake.counts["getuserid"] == 1


def test_a_roster_member_id_is_used_as_is(fake: FakeWecom) -> None:
    _backend(fake).send("wecom:user7", "hello", 1)
    assert fake.delivered[0].touser == "user7" and fake.counts["getuserid"] == 0


def test_an_expired_token_is_refreshed_and_the_send_retried_once(fake: FakeWecom) -> None:
    backend = _backend(fake)
    backend.send(phone(1), "one", 1)
    fake.expire_tokens()
    backend.send(phone(1), "two", 2)
    assert [d.content for d in fake.delivered] == ["one", "two"]
    assert fake.counts["gettoken"] == 2
    fake.fail("expire")  # WeCom says 42001 on the send itself
    backend.send(phone(1), "three", 3)
    assert fake.counts["gettoken"] == 3 and len(fake.delivered) == 3


def test_a_resend_after_an_unknown_fate_does_not_arrive_twice(fake: FakeWecom) -> None:
    backend = _backend(fake)
    fake.fail("drop_after")
    with pytest.raises(SendFailure) as info:
        backend.send(phone(1), "the same text", 1)
    assert info.value.kind is Failure.AMBIGUOUS
    assert backend.find(phone(1), "the same text", datetime.now(UTC), 1) is None
    backend.send(phone(1), "the same text", 1)  # the recovery sends it again
    assert len(fake.delivered) == 1
    assert fake.counts["duplicate_suppressed"] == 1


@pytest.mark.parametrize(
    ("kind", "failure", "code"),
    [
        ("45009", Failure.RETRY, "45009"),
        ("-1", Failure.RETRY, "-1"),
        ("500", Failure.RETRY, None),
        ("drop_before", Failure.AMBIGUOUS, None),
    ],
)
def test_failures_are_classified(
    fake: FakeWecom, kind: str, failure: Failure, code: str | None
) -> None:
    backend = _backend(fake)
    backend.send(phone(1), "warm up", 1)
    fake.fail(kind)
    with pytest.raises(SendFailure) as info:
        backend.send(phone(1), "x", 2)
    assert (info.value.kind, info.value.code) == (failure, code)
    backend.send(phone(1), "y", 3)


def test_no_member_with_this_mobile_fails_the_text(fake: FakeWecom) -> None:
    with pytest.raises(SendFailure) as info:
        _backend(fake).send("+8613999999999", "x", 1)
    assert (info.value.kind, info.value.code) == (Failure.REJECTED, "46004")


def test_wrong_secret_fails_loudly_without_showing_it(
    fake: FakeWecom, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG), pytest.raises(SendFailure) as info:
        _backend(fake, wecom_secret="not-the-secret").send(phone(1), "x", 1)
    assert (info.value.kind, info.value.code) == (Failure.REJECTED, "40001")
    assert "40001" in caplog.text
    assert "not-the-secret" not in caplog.text and SECRET not in caplog.text


def test_connection_refused_is_retryable(fake: FakeWecom) -> None:
    backend = _backend(fake)
    fake.stop()
    with pytest.raises(SendFailure) as info:
        backend.send(phone(1), "x", 1)
    assert info.value.kind is Failure.RETRY


def test_settings_name_what_wecom_is_missing() -> None:
    with pytest.raises(ValueError, match="WECOM_SECRET, WECOM_AGENT_ID"):
        get_settings(sms_backend="wecom", wecom_corp_id="ww1")
    with pytest.raises(ValueError, match="TESTROTA_WECOM_API_BASE"):
        get_settings(wecom_api_base="qyapi.weixin.qq.com")


# ---------------------------------------------------------------- the limiter


def test_next_allowed_waits_for_the_fullest_window() -> None:
    now = datetime(2022, 5, 9, 8, 0, tzinfo=UTC)
    limits = [("wecom", timedelta(minutes=1), 3), ("wecom", timedelta(hours=1), 5)]
    assert next_allowed([], now, limits) == now
    minute = [("wecom", now - timedelta(seconds=s)) for s in (50, 30, 10)]
    assert next_allowed(minute, now, limits) == now + timedelta(seconds=10)
    hour = [("wecom", now - timedelta(minutes=m)) for m in (50, 40, 30, 20, 5)]
    assert next_allowed(hour, now, limits) == now + timedelta(minutes=10)
    # texts on another channel do not count; texts in flight ("*") count on every channel
    assert next_allowed([("aliyun", t) for _, t in minute], now, limits) == now
    assert next_allowed([("*", t) for _, t in minute], now, limits) > now
    send, defer = plan_sends([(1, "a"), (2, "a"), (3, "b"), (4, "a"), (5, "a")], {}, now, limits)
    assert send == [1, 2, 3, 4] and [i for i, _ in defer] == [5]
    assert defer[0][1] == now + timedelta(minutes=1)


def _dispatch(
    engine: Engine, base: Settings, fake: FakeWecom, now: datetime, **channels: Any
) -> Any:
    settings = notify_settings(base, **fake.settings())
    rules = policy(sms={"rate_per_second": 0, "concurrency": 4}, channels=channels)
    backend = build_backend(settings, rules.sms, rules.channels, engine)
    try:
        return Dispatcher(engine, backend, rules, FixedClock(now)).run()
    finally:
        backend.close()


def test_the_dispatcher_keeps_each_member_under_wecoms_caps(
    engine: Engine, settings: Settings, fake: FakeWecom
) -> None:
    now = datetime.now(UTC)
    ids = add_due_texts(engine, 40, now - timedelta(minutes=1))
    # forty texts, all to one member's mobile
    from sqlalchemy import update

    from testrota.db import tables

    with engine.begin() as conn:
        conn.execute(update(tables.MESSAGE).values(to=phone(1)))
        conn.execute(update(tables.PERSON).values(phone=phone(1)))
    report = _dispatch(engine, settings, fake, now)
    assert (report.sent, report.deferred) == (25, 15)
    assert fake.counts["dropped_over_limit"] == 0
    with Session(engine, expire_on_commit=False) as session:
        rows = messages(session)
    waiting = [m for m in rows if m.status == "pending"]
    assert len(waiting) == 15 and all(m.due_at > now for m in waiting)
    assert {m.channel for m in rows if m.status == "sent"} == {"wecom"}
    # a minute later the next 25 may go: the rest of them do
    fake.offset = 61
    later = _dispatch(engine, settings, fake, max(m.due_at for m in waiting))
    assert later.sent == 15
    assert len(fake.delivered) == 40 == len(ids)
    assert fake.counts["dropped_over_limit"] == 0


def test_without_our_limiter_wecom_would_drop_silently(fake: FakeWecom) -> None:
    backend = _backend(fake)
    for i in range(35):
        backend.send(phone(2), f"text {i}", i)  # every call "succeeds"
    assert len(fake.delivered) == 30 and fake.counts["dropped_over_limit"] == 5


def test_the_rosters_wecom_account_is_used_before_a_lookup(
    engine: Engine, settings: Settings, fake: FakeWecom
) -> None:
    from sqlalchemy import update

    from testrota.db import tables

    now = datetime.now(UTC)
    add_due_texts(engine, 2, now - timedelta(minutes=1))
    fake.members["99999999999"] = "zhang.wei"  # known to WeCom only by this account
    with engine.begin() as conn:
        conn.execute(
            update(tables.PERSON)
            .where(tables.PERSON.c.phone == phone(1))
            .values(wecom_userid="zhang.wei")
        )
    report = _dispatch(engine, settings, fake, now)
    assert report.sent == 2
    assert sorted(d.touser for d in fake.delivered) == ["user2", "zhang.wei"]
    assert fake.counts["getuserid"] == 1  # only for the person without an account
