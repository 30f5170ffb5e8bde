"""Aliyun SMS: the real SDK against the fake Aliyun API, and the dispatcher over it."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from testrota.clock import FixedClock
from testrota.db import tables
from testrota.errors import UserError
from testrota.notify.aliyun import AliyunBackend, china_days, national_number
from testrota.notify.backends import TemplateValues, build_backend
from testrota.notify.dispatcher import Dispatcher
from testrota.notify.failures import Failure, SendFailure
from testrota.policy import SmsPolicy
from testrota.settings import Settings, get_settings
from tests.fake_aliyun import ACCESS_KEY_SECRET, PUBLIC_URL, FakeAliyun
from tests.notify_data import add_due_texts, messages, notify_settings, phone, policy

BOOSTER = TemplateValues(
    "booster", "zh-Hans", {"name": "张三", "link": "https://rota.example.com/me/1.Yp0aBc.sig1"}
)
EVENING = TemplateValues(
    "reminder_eve",
    "en",  # no English template: the zh-Hans one is used
    {
        "name": "Zhang San",
        "date": "5月10日周二",
        "time": "09:30",
        "site": "一号采样点",
        "link": "https://rota.example.com/me/2.Yp0aBc.sig2",
    },
)


@pytest.fixture
def fake() -> Iterator[FakeAliyun]:
    with FakeAliyun() as server:
        yield server


def _settings(fake: FakeAliyun, **overrides: object) -> Settings:
    values: dict[str, object] = dict(fake.settings())
    values.update(overrides)
    return get_settings(**values)


def _backend(fake: FakeAliyun, timeout: float = 5, **overrides: object) -> AliyunBackend:
    sms = SmsPolicy(request_timeout_seconds=timeout)
    return AliyunBackend.from_settings(_settings(fake, **overrides), sms)


# ---------------------------------------------------------------- the contract


def test_send_then_look_up_by_biz_id_and_by_our_id(fake: FakeAliyun) -> None:
    backend = _backend(fake)
    since = datetime.now(UTC)
    result = backend.send("+8613800000001", "the free text is not sent", 42, BOOSTER)
    assert result.status == "sent" and "^" in result.sid  # Aliyun's BizId
    fetched = backend.fetch(result.sid, "+8613800000001", since)
    assert fetched is not None and fetched.sid == result.sid
    assert (
        fetched.body == "【核酸检测】张三您好，请尽快接种新冠疫苗加强针。查看安排："
        "rota.example.com/me/1.Yp0aBc.sig1"
    )
    found = backend.find("+8613800000001", "ignored", since, 42)
    assert found is not None and found.sid == "out:42"
    # a sid found by OutId is looked up again the same way
    again = backend.fetch("out:42", "+8613800000001", since)
    assert again is not None and again.body == fetched.body


def test_lookups_of_what_was_never_sent(fake: FakeAliyun) -> None:
    backend = _backend(fake)
    since = datetime.now(UTC)
    backend.send("+8613800000001", "x", 1, BOOSTER)
    assert backend.find("+8613800000001", "x", since, 2) is None
    assert backend.find("+8613800000002", "x", since, 1) is None
    assert backend.fetch("123^456", "+8613800000001", since) is None
    assert backend.find("+8613800000001", "x", since + timedelta(hours=1), 1) is None


def test_the_request_carries_sign_template_values_and_out_id(fake: FakeAliyun) -> None:
    _backend(fake).send("+8613800000001", "x", 7, EVENING)
    (request,) = fake.received
    assert request.params["PhoneNumbers"] == "13800000001"
    assert request.params["SignName"] == "核酸检测"
    assert request.params["TemplateCode"] == "SMS_270000001"
    assert request.params["OutId"] == "7"
    sent = json.loads(request.params["TemplateParam"])
    # the link less the address the approved wording writes, in the template's order
    assert list(sent.items()) == [
        ("name", "Zhang San"),
        ("date", "5月10日周二"),
        ("time", "09:30"),
        ("site", "一号采样点"),
        ("path", "me/2.Yp0aBc.sig2"),
    ]
    assert fake.stats()["refused"] == {}  # signed as Aliyun checks it


def test_long_values_are_cut_to_what_the_template_was_checked_with(fake: FakeAliyun) -> None:
    values = dict(BOOSTER.params, name="欧阳" * 10)
    _backend(fake).send("+8613800000001", "x", 1, TemplateValues("booster", "zh-Hans", values))
    sent = fake.messages[0].params
    assert sent["name"] == "欧阳" * 4 + "欧…" and len(sent["name"]) == 10
    assert sent["path"] == "me/1.Yp0aBc.sig1"


@pytest.mark.parametrize(
    ("link", "says"),
    [
        # a cut link would not open: refused whole, before the wire
        ("https://rota.example.com/me/" + "x" * 40, "43 characters, more than the 35"),
        # a page elsewhere cannot follow the address the wording writes
        ("https://other.example.com/me/1.Yp0aBc.sig1", "not a page under TESTROTA_PUBLIC_URL"),
        ("https://rota.example.com/", "not a page under TESTROTA_PUBLIC_URL"),
    ],
)
def test_a_link_the_wording_cannot_carry_is_refused_before_the_wire(
    fake: FakeAliyun, link: str, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    values = TemplateValues("booster", "zh-Hans", dict(BOOSTER.params, link=link))
    with caplog.at_level(logging.ERROR), pytest.raises(SendFailure) as raised:
        _backend(fake).send("+8613800000001", "x", 9, values)
    assert raised.value.kind is Failure.REJECTED and raised.value.code == "link_not_sendable"
    assert says in raised.value.message and says in caplog.text
    assert fake.received == []


def test_wrong_secret_is_refused_loudly_and_not_retried(
    fake: FakeAliyun, caplog: pytest.LogCaptureFixture
) -> None:
    backend = _backend(fake, aliyun_access_key_secret="not-the-secret")
    with (
        caplog.at_level(logging.ERROR, logger="testrota.sms.aliyun"),
        pytest.raises(SendFailure) as info,
    ):
        backend.send("+8613800000001", "x", 1, BOOSTER)
    assert info.value.kind is Failure.REJECTED
    assert info.value.code == "SignatureDoesNotMatch"
    assert fake.messages == []
    assert "SignatureDoesNotMatch" in caplog.text
    assert "not-the-secret" not in caplog.text and ACCESS_KEY_SECRET not in caplog.text


@pytest.mark.parametrize(
    ("kind", "failure", "code", "status"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", Failure.RETRY, "isv.BUSINESS_LIMIT_CONTROL", None),
        ("isv.DAY_LIMIT_CONTROL", Failure.RETRY, "isv.DAY_LIMIT_CONTROL", None),
        ("isv.MOBILE_NUMBER_ILLEGAL", Failure.INVALID_NUMBER, "isv.MOBILE_NUMBER_ILLEGAL", None),
        ("isv.SMS_TEMPLATE_ILLEGAL", Failure.REJECTED, "isv.SMS_TEMPLATE_ILLEGAL", None),
        ("500", Failure.RETRY, "InternalError", 500),
        ("503", Failure.RETRY, "ServiceUnavailable", 503),
        ("throttling", Failure.RETRY, "Throttling.User", 400),
        ("drop_before", Failure.AMBIGUOUS, None, None),
        ("drop_after", Failure.AMBIGUOUS, None, None),
    ],
)
def test_failures_are_classified_by_meaning(
    fake: FakeAliyun, kind: str, failure: Failure, code: str | None, status: int | None
) -> None:
    backend = _backend(fake)
    fake.fail(kind)
    with pytest.raises(SendFailure) as info:
        backend.send("+8613800000001", "x", 1, BOOSTER)
    assert info.value.kind is failure
    assert info.value.code == code
    assert info.value.http_status == status
    # injected once: the next text goes through
    assert backend.send("+8613800000001", "x", 2, BOOSTER).sid


def test_a_number_aliyun_does_not_take_is_invalid(fake: FakeAliyun) -> None:
    with pytest.raises(SendFailure) as info:
        _backend(fake).send("+861380000", "x", 1, BOOSTER)
    assert info.value.kind is Failure.INVALID_NUMBER


def test_a_wrong_template_fails_loudly(fake: FakeAliyun, caplog: pytest.LogCaptureFixture) -> None:
    fake.templates = {}  # the codes in messages.yaml were never approved
    with (
        caplog.at_level(logging.ERROR, logger="testrota.sms.aliyun"),
        pytest.raises(SendFailure) as info,
    ):
        _backend(fake).send("+8613800000001", "x", 1, BOOSTER)
    assert (info.value.kind, info.value.code) == (Failure.REJECTED, "isv.SMS_TEMPLATE_ILLEGAL")
    assert "SMS_270000006" in caplog.text and "+8613800000001" not in caplog.text


def test_a_text_without_template_values_is_refused_before_the_wire(fake: FakeAliyun) -> None:
    with pytest.raises(SendFailure) as info:
        _backend(fake).send("+8613800000001", "free text only", 1, None)
    assert (info.value.kind, info.value.code) == (Failure.REJECTED, "no_template")
    assert fake.received == []


def test_connection_refused_is_retryable(fake: FakeAliyun) -> None:
    backend = _backend(fake, timeout=2)
    backend.send("+8613800000001", "warm up", 1, BOOSTER)
    fake.stop()
    with pytest.raises(SendFailure) as info:
        backend.send("+8613800000001", "x", 2, BOOSTER)
    assert info.value.kind is Failure.RETRY and info.value.http_status is None


def test_read_timeout_is_ambiguous_and_found_later(fake: FakeAliyun) -> None:
    backend = _backend(fake, timeout=0.3)
    since = datetime.now(UTC)
    fake.latency = 0.8
    with pytest.raises(SendFailure) as info:
        backend.send("+8613800000001", "slow", 9, BOOSTER)
    assert info.value.kind is Failure.AMBIGUOUS
    time.sleep(0.8)  # the fake takes the text after the client gave up
    fake.latency = 0
    backend = _backend(fake)
    found = backend.find("+8613800000001", "slow", since, 9)
    assert found is not None  # exactly why it is looked up, not sent again


# ---------------------------------------------------------------- settings and choosing


def test_settings_name_what_aliyun_is_missing(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="ALIYUN_ACCESS_KEY_SECRET, ALIYUN_SMS_SIGN_NAME"):
        get_settings(sms_backend="aliyun", aliyun_access_key_id="LTAI")
    with pytest.raises(ValueError, match="host\\[:port\\]"):
        get_settings(aliyun_endpoint="https://dysmsapi.aliyuncs.com")
    assert get_settings(aliyun_protocol="HTTP").aliyun_protocol == "http"


def test_build_backend_needs_the_approved_templates(fake: FakeAliyun, tmp_path: Any) -> None:
    assert isinstance(build_backend(_settings(fake), SmsPolicy()), AliyunBackend)
    (tmp_path / "messages.yaml").write_text(
        (_settings(fake).config_dir / "messages.yaml")
        .read_text(encoding="utf-8")
        .split("\nchannels:")[0],
        encoding="utf-8",
    )
    with pytest.raises(UserError) as info:
        build_backend(_settings(fake, config_dir=tmp_path), SmsPolicy())
    assert "messages.yaml" in str(info.value) and "channels.aliyun" in str(info.value)


def test_numbers_and_days_as_aliyun_keeps_them() -> None:
    assert national_number("+8613800000001") == "13800000001"
    assert national_number("+447700900123") == "447700900123"
    late = datetime(2022, 5, 9, 15, 58, tzinfo=UTC)  # 23:58 in Shanghai
    assert [d.day for d in china_days(late, late + timedelta(minutes=5))] == [10, 9]
    # a send just after midnight China time is also looked for on the day before
    assert [
        d.day for d in china_days(late + timedelta(minutes=4), late + timedelta(minutes=4))
    ] == [
        10,
        9,
    ]


# ---------------------------------------------------------------- through the dispatcher


def _dispatch(engine: Engine, fake: FakeAliyun, base: Settings, now: datetime) -> Any:
    settings = notify_settings(base, **fake.settings())
    rules = policy(sms={"rate_per_second": 0, "concurrency": 4})
    backend = build_backend(settings, rules.sms)
    return Dispatcher(engine, backend, rules, FixedClock(now)).run()


def test_dispatcher_sends_templates_and_records_the_channel(
    engine: Engine, settings: Settings, fake: FakeAliyun
) -> None:
    now = datetime.now(UTC)
    add_due_texts(engine, 5, now - timedelta(minutes=1), with_params=True)
    report = _dispatch(engine, fake, settings, now)
    assert report.sent == 5
    assert sorted(m.out_id or "" for m in fake.messages) == sorted(str(i) for i in _ids(engine))
    with Session(engine, expire_on_commit=False) as session:
        rows = messages(session)
    assert {(m.status, m.channel) for m in rows} == {("sent", "aliyun")}
    assert {m.provider_sid for m in rows} == {m.biz_id for m in fake.messages}


def _ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(tables.MESSAGE.c.id)).scalars())


def test_dispatcher_marks_an_illegal_number_invalid_for_hr(
    engine: Engine, settings: Settings, fake: FakeAliyun
) -> None:
    now = datetime.now(UTC)
    add_due_texts(engine, 3, now - timedelta(minutes=1), with_params=True)
    fake.fail("isv.MOBILE_NUMBER_ILLEGAL", phone=national_number(phone(2)))
    report = _dispatch(engine, fake, settings, now)
    assert (report.sent, report.failed, report.invalid_numbers) == (2, 1, 1)
    with engine.connect() as conn:
        person = tables.PERSON
        invalid = conn.execute(select(person.c.phone).where(person.c.phone_valid.is_(False)))
        assert list(invalid.scalars()) == [phone(2)]
    with Session(engine, expire_on_commit=False) as session:
        failed = [m for m in messages(session) if m.status == "failed"]
    assert failed[0].error_code == "isv.MOBILE_NUMBER_ILLEGAL"
    with engine.connect() as conn:
        events = conn.execute(select(tables.AUDIT_EVENT.c.action, tables.AUDIT_EVENT.c.actor))
        assert [tuple(e) for e in events] == [("person.phone_invalid", "provider:aliyun")]


def test_dispatcher_retries_a_throttled_text_later(
    engine: Engine, settings: Settings, fake: FakeAliyun
) -> None:
    now = datetime.now(UTC)
    add_due_texts(engine, 1, now - timedelta(minutes=1), with_params=True)
    fake.fail("isv.BUSINESS_LIMIT_CONTROL")
    report = _dispatch(engine, fake, settings, now)
    assert (report.sent, report.retried) == (0, 1)
    with Session(engine, expire_on_commit=False) as session:
        (row,) = messages(session)
    assert row.status == "pending" and row.next_attempt_at is not None
    assert row.next_attempt_at > now
    later = _dispatch(engine, fake, settings, row.next_attempt_at + timedelta(seconds=1))
    assert later.sent == 1 and len(fake.messages) == 1


def test_dispatcher_fails_a_wrong_template_loudly(
    engine: Engine, settings: Settings, fake: FakeAliyun, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    add_due_texts(engine, 2, now - timedelta(minutes=1), with_params=True)
    fake.templates = {}
    with caplog.at_level(logging.ERROR, logger="testrota.sms.aliyun"):
        report = _dispatch(engine, fake, settings, now)
    assert report.failed == 2 and report.errors == {"isv.SMS_TEMPLATE_ILLEGAL": 2}
    assert caplog.text.count("isv.SMS_TEMPLATE_ILLEGAL") >= 2
    with Session(engine, expire_on_commit=False) as session:
        assert {(m.status, m.error_code) for m in messages(session)} == {
            ("failed", "isv.SMS_TEMPLATE_ILLEGAL")
        }


def test_dispatcher_resolves_a_text_left_sending_without_resending(
    engine: Engine, settings: Settings, fake: FakeAliyun
) -> None:
    now = datetime.now(UTC)
    (mid,) = add_due_texts(engine, 1, now - timedelta(minutes=1), with_params=True)
    # A dispatcher sent it, then died before recording it.
    _backend(fake).send(
        phone(1),
        "x",
        mid,
        TemplateValues("booster", "zh-Hans", {"name": "a", "link": f"{PUBLIC_URL}/me/1"}),
    )
    with engine.begin() as conn:
        conn.execute(
            tables.MESSAGE.update()
            .where(tables.MESSAGE.c.id == mid)
            .values(status="sending", claimed_by="dead", claimed_at=now, attempts=1)
        )
    report = _dispatch(engine, fake, settings, now + timedelta(minutes=11))
    assert (report.resolved, report.sent) == (1, 0)
    assert len(fake.messages) == 1
    with Session(engine, expire_on_commit=False) as session:
        (row,) = messages(session)
    assert row.status == "sent" and row.provider_sid == f"out:{mid}"
