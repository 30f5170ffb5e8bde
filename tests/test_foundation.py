"""The foundation: settings, clock, schema, aware datetimes on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.clock import FixedClock, SystemClock, clock_from_settings
from testrota.db.models import Person
from testrota.db.schema import current_revision, head_revision
from testrota.policy import load_policy
from testrota.settings import get_settings
from tests.conftest import CONFIG_DIR


def test_settings_defaults_follow_the_contract() -> None:
    s = get_settings(_env_file=None)
    assert s.sms_backend in ("console", "twilio")
    assert get_settings(database_url="sqlite://").database_url == "sqlite://"


def test_now_must_carry_an_offset() -> None:
    with pytest.raises(ValueError, match="offset"):
        get_settings(now="2022-05-09T08:00:00")
    s = get_settings(now="2022-05-09T08:00:00+08:00")
    clock = clock_from_settings(s)
    assert isinstance(clock, FixedClock)
    assert clock.now() == datetime(2022, 5, 9, 0, 0, tzinfo=UTC)


def test_system_clock_is_aware() -> None:
    assert SystemClock().now().tzinfo is not None


def test_twilio_backend_without_credentials_names_what_is_missing() -> None:
    with pytest.raises(ValueError, match=r"TWILIO_ACCOUNT_SID.*TWILIO_AUTH_TOKEN.*TWILIO_FROM"):
        get_settings(sms_backend="twilio", twilio_account_sid=None, twilio_auth_token=None)


def test_policy_file_loads() -> None:
    policy = load_policy(CONFIG_DIR)
    assert policy.testing.tests_per_week == 2
    assert str(policy.tz) == "Asia/Shanghai"


def test_schema_is_at_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()


def test_datetimes_come_back_aware_utc(engine: Engine) -> None:
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2022, 5, 9, 8, 30, tzinfo=shanghai)
    with Session(engine) as s:
        s.add(Person(employee_no="001", name="张三", created_at=at, updated_at=at))
        s.commit()
    with Session(engine) as s:
        p = s.exec(select(Person)).one()
        assert p.created_at == at
        assert p.created_at.tzinfo is not None
        assert p.created_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with Session(engine) as s:
        s.add(
            Person(
                employee_no="002",
                name="李四",
                created_at=datetime(2022, 5, 9),
                updated_at=datetime(2022, 5, 9),
            )
        )
        with pytest.raises(Exception, match="naive"):
            s.commit()


def test_init_command(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("init", "--json")
    assert result.exit_code == 0, result.output
    assert head_revision() in result.stdout


def test_a_fresh_app_can_read_before_it_writes(database_url: str) -> None:
    """The read engine is made from the primary one: asking for it first must not deadlock."""
    import threading

    from testrota.app import build_app

    app = build_app(get_settings(database_url=database_url, config_dir=CONFIG_DIR))
    made: list[object] = []
    worker = threading.Thread(target=lambda: made.append(app.read_engine), daemon=True)
    worker.start()
    worker.join(timeout=10)
    try:
        assert made, "App.read_engine never returned"
    finally:
        app.close()
