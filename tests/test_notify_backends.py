"""The SMS backends: one contract for both, and the real twilio client against the fake API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from testrota.notify.backends import (
    ConsoleBackend,
    SmsBackend,
    TwilioBackend,
    build_backend,
    mask_phone,
)
from testrota.notify.failures import Failure, SendFailure
from testrota.policy import SmsPolicy
from testrota.settings import Settings, get_settings
from tests.fake_twilio import FakeTwilio


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def _twilio_settings(fake: FakeTwilio, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "sms_backend": "twilio",
        "twilio_account_sid": fake.account_sid,
        "twilio_auth_token": fake.auth_token,
        "twilio_from": "+15005550006",
        "twilio_api_base": fake.base_url,
        "public_url": "https://rota.example.com",
    }
    values.update(overrides)
    return get_settings(**values)


@pytest.fixture(params=["console", "twilio"])
def backend(request: pytest.FixtureRequest, fake: FakeTwilio) -> Iterator[SmsBackend]:
    sender: SmsBackend
    if request.param == "console":
        sender = ConsoleBackend()
    else:
        sender = TwilioBackend(_twilio_settings(fake), SmsPolicy(request_timeout_seconds=5))
    yield sender
    sender.close()


# ---------------------------------------------------------------- the contract


def test_contract_send_then_look_up(backend: SmsBackend) -> None:
    since = datetime.now(UTC)
    result = backend.send("+8613800000001", "核酸提醒 5月10日 09:30", 42)
    assert result.sid and result.status in ("queued", "accepted", "sent")
    fetched = backend.fetch(result.sid)
    assert fetched is not None
    assert (fetched.sid, fetched.to, fetched.body) == (
        result.sid,
        "+8613800000001",
        "核酸提醒 5月10日 09:30",
    )
    found = backend.find("+8613800000001", "核酸提醒 5月10日 09:30", since)
    assert found is not None and found.sid == result.sid


def test_contract_lookups_of_what_was_never_sent(backend: SmsBackend) -> None:
    backend.send("+8613800000001", "one text", 1)
    assert backend.find("+8613800000001", "another text", datetime.now(UTC)) is None
    assert backend.find("+8613800000002", "one text", datetime.now(UTC)) is None
    assert backend.fetch("SM" + "0" * 32) is None


def test_contract_find_respects_the_time(backend: SmsBackend) -> None:
    backend.send("+8613800000001", "old text", 1)
    later = datetime.now(UTC) + timedelta(hours=1)
    assert backend.find("+8613800000001", "old text", later) is None


# ---------------------------------------------------------------- twilio specifics


def test_twilio_requests_reach_the_api_base_with_sender_and_callback(fake: FakeTwilio) -> None:
    backend = TwilioBackend(_twilio_settings(fake), SmsPolicy())
    backend.send("+8613800000001", "hello", 7)
    (received,) = fake.received
    assert received.params["From"] == "+15005550006"
    assert received.params["StatusCallback"] == "https://rota.example.com/twilio/status?m=7"
    assert "MessagingServiceSid" not in received.params


def test_twilio_messaging_service_as_sender(fake: FakeTwilio) -> None:
    settings = _twilio_settings(
        fake, twilio_from=None, twilio_messaging_service_sid="MG" + "1" * 32
    )
    TwilioBackend(settings, SmsPolicy()).send("+8613800000001", "hello", 7)
    (received,) = fake.received
    assert received.params["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in received.params
    assert fake.messages[0].status == "accepted"


def test_api_base_with_a_path_prefix(fake: FakeTwilio) -> None:
    settings = _twilio_settings(fake, twilio_api_base=fake.base_url + "/prefix")
    with pytest.raises(SendFailure) as info:
        TwilioBackend(settings, SmsPolicy()).send("+8613800000001", "x", 1)
    # The fake does not serve /prefix/...: a 404 proves the prefix went on the wire.
    assert info.value.http_status == 404


def test_no_callback_when_real_twilio_cannot_reach_a_local_url(fake: FakeTwilio) -> None:
    settings = _twilio_settings(fake, public_url="http://127.0.0.1:8000")
    backend = TwilioBackend(settings, SmsPolicy())
    assert backend._callback is not None  # a local fake is fine
    real = get_settings(
        sms_backend="twilio",
        twilio_account_sid="AC1",
        twilio_auth_token="t",
        twilio_from="+15005550006",
        public_url="http://localhost:8000",
    )
    assert TwilioBackend(real, SmsPolicy())._callback is None


@pytest.mark.parametrize(
    ("kind", "rfc9457", "failure", "code"),
    [
        ("429", False, Failure.RETRY, "20429"),
        ("429", True, Failure.RETRY, "20429"),  # TwilioServiceException, not TwilioRestException
        ("500", False, Failure.RETRY, "20500"),
        ("503", True, Failure.RETRY, "20503"),
        ("21610", False, Failure.OPTED_OUT, "21610"),
        ("21610", True, Failure.OPTED_OUT, "21610"),
        ("21211", False, Failure.INVALID_NUMBER, "21211"),
        ("21614", False, Failure.INVALID_NUMBER, "21614"),
        ("21408", False, Failure.REJECTED, "21408"),
        ("drop_before", False, Failure.AMBIGUOUS, None),
        ("drop_after", False, Failure.AMBIGUOUS, None),
    ],
)
def test_twilio_failures_are_classified(
    fake: FakeTwilio, kind: str, rfc9457: bool, failure: Failure, code: str | None
) -> None:
    backend = TwilioBackend(_twilio_settings(fake), SmsPolicy())
    fake.fail(kind, rfc9457=rfc9457)
    with pytest.raises(SendFailure) as info:
        backend.send("+8613800000001", "x", 1)
    assert info.value.kind is failure
    assert info.value.code == code
    # The next send goes through: the failure was injected once.
    assert backend.send("+8613800000001", "y", 2).sid.startswith("SM")


def test_twilio_connection_refused_is_retryable(fake: FakeTwilio) -> None:
    backend = TwilioBackend(_twilio_settings(fake), SmsPolicy(request_timeout_seconds=2))
    backend.send("+8613800000001", "warm up the connection pool", 1)
    fake.stop()
    with pytest.raises(SendFailure) as info:
        backend.send("+8613800000001", "x", 1)
    assert info.value.kind is Failure.RETRY


def test_twilio_read_timeout_is_ambiguous(fake: FakeTwilio) -> None:
    backend = TwilioBackend(_twilio_settings(fake), SmsPolicy(request_timeout_seconds=0.2))
    fake.latency = 0.6
    with pytest.raises(SendFailure) as info:
        backend.send("+8613800000001", "slow", 1)
    assert info.value.kind is Failure.AMBIGUOUS
    time.sleep(0.6)  # the fake finishes the request after the client gave up
    fake.latency = 0
    # The fake accepted it after all: exactly why it must be looked up, not resent.
    found = backend.find("+8613800000001", "slow", datetime.now(UTC) - timedelta(seconds=5))
    assert found is not None


def test_wrong_credentials_fail_without_retrying(fake: FakeTwilio) -> None:
    backend = TwilioBackend(_twilio_settings(fake, twilio_auth_token="wrong"), SmsPolicy())
    with pytest.raises(SendFailure) as info:
        backend.send("+8613800000001", "x", 1)
    assert info.value.kind is Failure.REJECTED and info.value.http_status == 401


def test_list_lookup_follows_pages(fake: FakeTwilio) -> None:
    backend = TwilioBackend(_twilio_settings(fake), SmsPolicy())
    since = datetime.now(UTC)
    for i in range(120):
        backend.send("+8613800000001", f"text {i}", i)
    found = backend.find("+8613800000001", "text 0", since)  # the oldest: on the third page
    assert found is not None and found.body == "text 0"
    assert fake.request_count("list") >= 3


# ---------------------------------------------------------------- choosing a backend


def test_build_backend_and_refusing_twilio_without_credentials(fake: FakeTwilio) -> None:
    assert isinstance(
        build_backend(get_settings(sms_backend="console"), SmsPolicy()), ConsoleBackend
    )
    assert isinstance(build_backend(_twilio_settings(fake), SmsPolicy()), TwilioBackend)
    with pytest.raises(ValueError, match="TWILIO_AUTH_TOKEN"):
        get_settings(
            sms_backend="twilio",
            twilio_account_sid="AC1",
            twilio_auth_token=None,
            twilio_from="+15005550006",
        )
    with pytest.raises(ValueError, match="TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"):
        get_settings(
            sms_backend="twilio",
            twilio_account_sid="AC1",
            twilio_auth_token="t",
            twilio_from=None,
            twilio_messaging_service_sid=None,
        )


def test_numbers_are_masked_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    assert mask_phone("+8613812345678") == "+86138****5678"
    with caplog.at_level("INFO", logger="testrota.sms"):
        ConsoleBackend().send("+8613812345678", "核酸提醒", 1)
    assert "+86138****5678" in caplog.text and "+8613812345678" not in caplog.text
    assert "核酸提醒" in caplog.text
