"""``testrota doctor``: each check finds what is wrong and says how to fix it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from testrota.clock import FixedClock
from testrota.db.engine import make_engine
from testrota.db.schema import head_revision
from testrota.observability.doctor import Check, check_webhook_url, diagnose
from testrota.observability.jobs import observed_job
from testrota.settings import Settings, get_settings
from tests.notify_data import add_appointment, add_due_texts, add_person, add_site, config_dir
from tests.ops_fake_twilio import DoctorFakeTwilio
from tests.ops_runner import runner

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 5, 11, 10, 0, tzinfo=SH)  # Wednesday
SECRET = "a-long-random-secret-key-for-the-tests-0123456789"


@pytest.fixture
def fake() -> Iterator[DoctorFakeTwilio]:
    with DoctorFakeTwilio() as server:
        yield server


def _settings(base: Settings, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": base.database_url,
        "config_dir": base.config_dir,
        "secret_key": SECRET,
        "now": NOW,
    }
    values.update(overrides)
    return get_settings(**values)


def _twilio(base: Settings, fake: DoctorFakeTwilio, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "sms_backend": "twilio",
        "twilio_account_sid": fake.account_sid,
        "twilio_auth_token": fake.auth_token,
        "twilio_from": "+15005550006",
        "twilio_api_base": fake.base_url,
        "public_url": "https://rota.example-steel.com",
    }
    return _settings(base, **{**values, **overrides})


def _run(settings: Settings, wall: datetime | None = None) -> dict[str, Check]:
    checks = diagnose(
        settings, FixedClock(NOW), wall_clock=(lambda: wall) if wall else lambda: datetime.now(UTC)
    )
    return {c.name: c for c in checks}


def _statuses(checks: dict[str, Check]) -> dict[str, str]:
    return {name: c.status for name, c in checks.items()}


def test_a_healthy_installation(engine: Engine, settings: Settings) -> None:
    with observed_job(engine, "dispatch_texts", "w1"):
        pass
    checks = _run(_settings(settings))
    assert _statuses(checks) == {
        "config policy.yaml": "ok",
        "config risk_categories.yaml": "ok",
        "config roster_columns.yaml": "ok",
        "config sites.yaml": "ok",
        "config messages.yaml": "ok",
        "config result_columns.yaml": "ok",
        "secret key": "ok",
        "database": "ok",
        "schema": "ok",
        "sms backend": "warn",
        "sender capacity": "ok",
        "workers": "ok",
        "jobs": "ok",
        "outbox": "ok",
    }
    assert checks["schema"].message == f"at head ({head_revision()})"
    assert "console" in checks["sms backend"].message and checks["sms backend"].fix


def test_cli_json_and_exit_codes(engine: Engine, cli_env: dict[str, str]) -> None:
    ops = runner({**cli_env, "TESTROTA_NOW": NOW.isoformat()})
    failing = ops("doctor", "--json")
    assert failing.exit_code == 1  # no secret key
    report = json.loads(failing.stdout)
    assert report["ok"] is False and report["counts"]["fail"] == 1
    (secret,) = [c for c in report["checks"] if c["name"] == "secret key"]
    assert secret["status"] == "fail" and "TESTROTA_SECRET_KEY" in secret["message"]
    assert "secrets.token_urlsafe" in secret["fix"]
    good = ops("doctor", "--json", env={"TESTROTA_SECRET_KEY": SECRET})
    assert good.exit_code == 0, good.output
    assert json.loads(good.stdout)["ok"] is True
    human = ops("doctor", env={"TESTROTA_SECRET_KEY": SECRET})
    assert human.exit_code == 0
    assert "ok    schema" in human.stdout and "warn  sms backend" in human.stdout
    assert "fix: for production set TESTROTA_SMS_BACKEND=twilio" in human.stdout


def test_settings_that_do_not_load_are_a_failed_check(cli_env: dict[str, str]) -> None:
    ops = runner(cli_env)
    result = ops("doctor", "--json", env={"TESTROTA_SMS_BACKEND": "twilio"})
    assert result.exit_code == 1, result.output
    (check,) = json.loads(result.stdout)["checks"]
    assert check["name"] == "settings" and "TWILIO_ACCOUNT_SID" in check["message"]
    assert "Traceback" not in result.output


def test_a_broken_config_file_is_named(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    bad = config_dir(tmp_path, sms={"rate_per_secnd": 3})
    checks = _run(_settings(settings, config_dir=bad))
    assert checks["config policy.yaml"].status == "fail"
    assert "rate_per_secnd" in checks["config policy.yaml"].message
    assert checks["config sites.yaml"].status == "skip"
    assert checks["config risk_categories.yaml"].status == "ok"
    assert checks["sender capacity"].status == "skip"
    (bad / "roster_columns.yaml").write_text(
        "name: [姓名]\nfavourite_colour: [颜色]\n", encoding="utf-8"
    )
    checks = _run(_settings(settings, config_dir=bad))
    assert "favourite_colour" in checks["config roster_columns.yaml"].message
    missing = _run(_settings(settings, config_dir=tmp_path / "nowhere"))
    assert missing["config"].status == "fail" and "TESTROTA_CONFIG_DIR" in missing["config"].fix


def test_database_problems(settings: Settings, tmp_path: Path) -> None:
    absent = tmp_path / "absent.db"
    checks = _run(_settings(settings, database_url=f"sqlite:///{absent}"))
    assert checks["database"].status == "fail" and "testrota init" in checks["database"].fix
    assert not absent.exists(), "doctor never creates a database"
    assert checks["workers"].status == "skip"

    empty = tmp_path / "empty.db"
    make_engine(f"sqlite:///{empty}").dispose()
    with make_engine(f"sqlite:///{empty}").connect() as conn:
        conn.execute(text("SELECT 1"))
    checks = _run(_settings(settings, database_url=f"sqlite:///{empty}"))
    assert checks["database"].status == "ok"
    assert (checks["schema"].status, checks["schema"].fix) == ("fail", "run testrota init")

    down = _run(
        _settings(settings, database_url="postgresql+psycopg://nobody:pw@127.0.0.1:1/testrota")
    )
    assert down["database"].status == "fail" and "127.0.0.1:1" in down["database"].message
    assert "pw" not in down["database"].message  # the password is hidden


def test_a_schema_of_another_version(engine: Engine, settings: Settings) -> None:
    head = head_revision()
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    try:
        checks = _run(_settings(settings))
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert checks["schema"].status == "fail" and "unknown to this version" in (
        checks["schema"].message
    )


def test_twilio_account_and_sender(
    engine: Engine, settings: Settings, fake: DoctorFakeTwilio
) -> None:
    checks = _run(_twilio(settings, fake))
    assert _statuses(checks)["twilio account"] == "ok"
    assert checks["twilio sender"].status == "ok" and "belongs" in checks["twilio sender"].message
    assert checks["webhook url"].message.endswith(
        "POST https://rota.example-steel.com/twilio/inbound"
    )
    assert fake.lookups and fake.request_count("create") == 0  # nothing was sent

    wrong = _run(_twilio(settings, fake, twilio_auth_token="wrong-token"))
    assert wrong["twilio account"].status == "fail" and "401" in wrong["twilio account"].message
    assert "twilio sender" not in wrong

    not_ours = _run(_twilio(settings, fake, twilio_from="+15550001111"))
    assert (
        not_ours["twilio sender"].status == "fail" and "21606" in not_ours["twilio sender"].message
    )
    sender_id = _run(_twilio(settings, fake, twilio_from="STEELROTA"))
    assert sender_id["twilio sender"].status == "ok"

    fake.services = ("MG" + "1" * 32,)
    service = _run(
        _twilio(settings, fake, twilio_from=None, twilio_messaging_service_sid="MG" + "1" * 32)
    )
    assert service["twilio sender"].status == "ok"
    unknown = _run(
        _twilio(settings, fake, twilio_from=None, twilio_messaging_service_sid="MG" + "2" * 32)
    )
    assert unknown["twilio sender"].status == "fail"

    fake.account_type = "Trial"
    assert _run(_twilio(settings, fake))["twilio account"].status == "warn"
    fake.account_status = "suspended"
    assert _run(_twilio(settings, fake))["twilio account"].status == "fail"
    fake.sms_capable, fake.account_status = False, "active"
    assert _run(_twilio(settings, fake))["twilio sender"].status == "fail"


def test_twilio_unreachable(engine: Engine, settings: Settings, fake: DoctorFakeTwilio) -> None:
    s = _twilio(settings, fake)
    fake.stop()
    check = _run(s)["twilio account"]
    assert check.status == "fail" and fake.base_url in check.message
    assert "TESTROTA_TWILIO_API_BASE" in check.fix


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("https://rota.example-steel.com", "ok"),
        ("https://rota.example-steel.com/testrota", "ok"),
        ("http://rota.example-steel.com", "fail"),
        ("https://127.0.0.1:8000", "fail"),
        ("https://localhost", "fail"),
        ("https://10.1.2.3", "fail"),
        ("https://[::1]:8443", "fail"),
        ("https://rota.local", "fail"),
    ],
)
def test_webhook_url_shape(url: str, status: str) -> None:
    assert check_webhook_url(get_settings(public_url=url)).status == status


def test_sender_capacity_for_the_coming_week(
    engine: Engine, session: Session, settings: Settings, tmp_path: Path
) -> None:
    add_site(session)
    thursday = datetime(2022, 5, 12, 9, 0, tzinfo=SH)
    for n in range(1, 61):
        add_appointment(session, add_person(session, n, risk_category="driver"), thursday)
    slow = config_dir(tmp_path, sms={"rate_per_second": 0.01})
    checks = _run(_settings(settings, config_dir=slow))
    assert checks["sender capacity"].status == "warn"
    assert "0.01 texts/s" in checks["sender capacity"].message
    fine = _run(_settings(settings))["sender capacity"]
    assert fine.status == "ok" and "240 reminders" not in fine.message
    assert fine.message.startswith("120 reminders")  # two a person, evening and before


def test_workers_and_outbox(engine: Engine, settings: Settings) -> None:
    wall = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert _run(_settings(settings), wall)["workers"].status == "warn"
    with observed_job(engine, "notify_alerts", "w1", clock=lambda: wall - timedelta(minutes=30)):
        pass
    silent = _run(_settings(settings), wall)["workers"]
    assert silent.status == "warn" and "30 minutes ago" in silent.message
    with observed_job(engine, "notify_alerts", "w2", clock=lambda: wall - timedelta(seconds=40)):
        pass
    assert _run(_settings(settings), wall)["workers"].status == "ok"

    add_due_texts(engine, 3, NOW.astimezone(UTC) - timedelta(minutes=50))
    outbox = _run(_settings(settings), wall)["outbox"]
    assert outbox.status == "warn" and "50 minutes" in outbox.message
