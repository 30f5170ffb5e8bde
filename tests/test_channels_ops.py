"""Operating the mainland channels: ``testrota doctor`` checks each one without sending and
without showing a secret; ``/metrics`` counts texts per channel and outcome."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update

from testrota.clock import FixedClock
from testrota.db import tables
from testrota.notify.backends import build_backend
from testrota.notify.dispatcher import Dispatcher
from testrota.observability.doctor import Check, diagnose
from testrota.observability.metrics import exposition, sample_value
from testrota.settings import Settings
from tests.fake_aliyun import ACCESS_KEY_SECRET, FakeAliyun
from tests.fake_wecom import SECRET as WECOM_SECRET
from tests.fake_wecom import FakeWecom
from tests.notify_data import SECRET, add_due_texts, notify_settings, policy

NOW = datetime.now(UTC)


@pytest.fixture
def aliyun() -> Iterator[FakeAliyun]:
    with FakeAliyun() as server:
        yield server


@pytest.fixture
def wecom() -> Iterator[FakeWecom]:
    with FakeWecom() as server:
        yield server


def _run(settings: Settings) -> dict[str, Check]:
    checks = diagnose(settings, FixedClock(NOW))
    return {c.name: c for c in checks}


def _text(checks: dict[str, Check]) -> str:
    return json.dumps([c.as_dict() for c in checks.values()], ensure_ascii=False)


def test_doctor_checks_aliyun_without_sending(
    engine: Engine, settings: Settings, aliyun: FakeAliyun
) -> None:
    checks = _run(notify_settings(settings, **aliyun.settings()))
    assert checks["aliyun templates"].status == "ok"
    assert checks["aliyun account"].status == "ok"
    assert checks["aliyun receipts"].status == "warn"  # no receipt token yet
    assert checks["channel refusals"].status == "ok"
    assert "sms backend" not in checks
    assert aliyun.messages == [] and aliyun.request_count("QuerySendDetails") == 1
    with_token = notify_settings(settings, aliyun_receipt_token="t" * 32, **aliyun.settings())
    assert _run(with_token)["aliyun receipts"].status == "ok"


def test_doctor_names_a_public_url_the_approved_wording_does_not_write(
    engine: Engine, settings: Settings, aliyun: FakeAliyun
) -> None:
    """Every personal link would go out to a dead address (or be refused by Aliyun): said by
    the doctor, and nothing is sent."""
    values: dict[str, Any] = {**aliyun.settings(), "public_url": "https://rota.steel.cn"}
    checks = _run(notify_settings(settings, **values))
    links = checks["aliyun links"]
    assert links.status == "fail" and checks["aliyun templates"].status == "ok"
    assert "rota.steel.cn/ right before ${path}" in links.message
    assert "texts of 9 template(s) fail until fixed" in links.fix  # and the rest are sent
    assert aliyun.messages == []


def test_doctor_names_wrong_aliyun_credentials_without_the_secret(
    engine: Engine, settings: Settings, aliyun: FakeAliyun
) -> None:
    wrong = "wrong-secret-that-must-not-show"
    values: dict[str, Any] = {**aliyun.settings(), "aliyun_access_key_secret": wrong}
    checks = _run(notify_settings(settings, **values))
    account = checks["aliyun account"]
    assert account.status == "fail" and "SignatureDoesNotMatch" in account.message
    assert "ALIYUN_ACCESS_KEY_SECRET" in account.fix
    assert wrong not in _text(checks) and ACCESS_KEY_SECRET not in _text(checks)
    assert SECRET not in _text(checks)


def test_doctor_checks_wecom(engine: Engine, settings: Settings, wecom: FakeWecom) -> None:
    checks = _run(notify_settings(settings, **wecom.settings()))
    assert checks["wecom app"].status == "ok"
    assert wecom.counts["gettoken"] == 1 and wecom.counts["send"] == 0
    bad = _run(notify_settings(settings, **{**wecom.settings(), "wecom_secret": "nope-nope"}))
    assert bad["wecom app"].status == "fail" and "40001" in bad["wecom app"].message
    assert "nope-nope" not in _text(bad) and WECOM_SECRET not in _text(bad)


def test_doctor_fails_when_texts_were_refused_for_our_configuration(
    engine: Engine, settings: Settings, aliyun: FakeAliyun
) -> None:
    ids = add_due_texts(engine, 3, NOW - timedelta(hours=1), with_params=True)
    with engine.begin() as conn:
        conn.execute(
            update(tables.MESSAGE)
            .where(tables.MESSAGE.c.id.in_(ids[:2]))
            .values(status="failed", error_code="isv.SMS_TEMPLATE_ILLEGAL")
        )
    refusals = _run(notify_settings(settings, **aliyun.settings()))["channel refusals"]
    assert refusals.status == "fail"
    assert "isv.SMS_TEMPLATE_ILLEGAL ×2" in refusals.message


def test_metrics_count_texts_per_channel_and_outcome(
    engine: Engine, settings: Settings, aliyun: FakeAliyun
) -> None:
    add_due_texts(engine, 4, NOW - timedelta(minutes=5), with_params=True)
    aliyun.fail("isv.MOBILE_NUMBER_ILLEGAL")
    rules = policy(sms={"rate_per_second": 0, "concurrency": 1})
    backend = build_backend(notify_settings(settings, **aliyun.settings()), rules.sms)
    Dispatcher(engine, backend, rules, FixedClock(NOW)).run()
    text = exposition(engine, NOW, rules, NOW)
    name = "testrota_texts_by_channel"
    assert sample_value(text, name, channel="aliyun", status="sent", window="1h") == 3
    assert sample_value(text, name, channel="aliyun", status="failed", window="1h") == 1
    assert sample_value(text, name, channel="aliyun", status="sent", window="24h") == 3


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {"TESTROTA_SMS_BACKEND": "aliyun", "ALIYUN_ACCESS_KEY_ID": "LTAI1"},
            "ALIYUN_ACCESS_KEY_SECRET, ALIYUN_SMS_SIGN_NAME",
        ),
        ({"TESTROTA_SMS_BACKEND": "wecom", "WECOM_CORP_ID": "ww1"}, "WECOM_SECRET, WECOM_AGENT_ID"),
        ({"TESTROTA_SMS_BACKEND": "route"}, "for aliyun: ALIYUN_ACCESS_KEY_ID"),
    ],
)
def test_dispatch_refuses_to_start_naming_what_is_missing(
    cli: Any, env: dict[str, str], named: str
) -> None:
    result = cli("dispatch", "--once", "--json", env=env)
    assert result.exit_code == 2
    assert named in result.output
    assert "Traceback" not in result.output


def test_doctor_reads_the_channels_checks_in_chinese(
    engine: Engine, settings: Settings, aliyun: FakeAliyun, wecom: FakeWecom
) -> None:
    """An operator on a Chinese terminal reads the Aliyun and WeCom findings and fixes in
    Chinese; the values they name (an endpoint, a code) are kept as they are."""
    import re

    from testrota.cli import lang
    from testrota.cli.ops_cmds import _check_name, _check_words

    ids = add_due_texts(engine, 1, NOW - timedelta(hours=1), with_params=True)
    with engine.begin() as conn:
        conn.execute(
            update(tables.MESSAGE)
            .where(tables.MESSAGE.c.id.in_(ids))
            .values(status="failed", error_code="isv.SMS_TEMPLATE_ILLEGAL")
        )
    values = {**aliyun.settings(), **wecom.settings(), "sms_backend": "route"}
    checks = _run(notify_settings(settings, **values))
    names = ("aliyun templates", "aliyun account", "aliyun receipts", "wecom app")
    try:
        lang.choose("zh")
        for name in (*names, "channel refusals"):
            message, fix = _check_words(checks[name])
            shown = f"{_check_name(name)} {message} {fix}"
            assert re.search(r"[\u4e00-\u9fff]", shown), shown
            english = checks[name].message
            assert english not in shown, (name, shown)
        message, fix = _check_words(checks["channel refusals"])
        assert message == "过去 24 小时内因我方配置被拒发的短信：isv.SMS_TEMPLATE_ILLEGAL ×1"
        assert "`testrota outbox --status failed` 会列出这些短信" in fix
    finally:
        lang.choose("en")
