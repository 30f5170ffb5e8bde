"""The commands of the notify area, through Typer's runner, on both databases."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from testrota.notify.queries import capacity_for_week
from tests.notify_data import (
    SECRET,
    add_appointment,
    add_person,
    add_site,
    config_dir,
    messages,
    policy,
)

SH = ZoneInfo("Asia/Shanghai")
ENV = {"TESTROTA_NOW": "2022-05-09T08:00:00+08:00", "TESTROTA_SECRET_KEY": SECRET}


def _plan(session: Session, people: int = 2) -> None:
    add_site(session)
    for n in range(1, people + 1):
        add_appointment(session, add_person(session, n), datetime(2022, 5, 10, 9, 0, tzinfo=SH))


def test_reminders_then_outbox(cli: Any, session: Session) -> None:
    _plan(session)
    result = cli("reminders", "--json", env=ENV)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"created": 4, "cancelled": 0, "readdressed": 0}
    result = cli("outbox", "--format", "json", "--kind", "reminder_eve", env=ENV)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 2 and {r["status"] for r in rows} == {"pending"}
    assert all("****" in r["to"] for r in rows)  # numbers masked
    table = cli("outbox", env=ENV)
    assert table.exit_code == 0 and "pending" in table.stdout


def test_reminders_need_a_secret_key_for_the_links(cli: Any, session: Session) -> None:
    _plan(session, 1)
    result = cli("reminders", env={"TESTROTA_NOW": ENV["TESTROTA_NOW"]})
    assert result.exit_code == 2
    assert "TESTROTA_SECRET_KEY is not set" in result.output
    assert messages(session) == []  # nothing half-written


def test_booster_command(cli: Any, session: Session) -> None:
    add_person(session, 1, booster=False)
    result = cli("booster", "--json", "--campaign", "may", env=ENV)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"created": 1}
    assert json.loads(cli("booster", "--json", "--campaign", "may", env=ENV).stdout) == {
        "created": 0
    }


def test_dispatch_sends_through_the_console(cli: Any, session: Session) -> None:
    _plan(session, 1)
    cli("reminders", env=ENV)
    evening = dict(ENV, TESTROTA_NOW="2022-05-09T18:00:00+08:00")
    result = cli("dispatch", "--once", "--json", env=evening)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sent"] == 1
    statuses = {m.kind: m.status for m in messages(session)}
    assert statuses == {"reminder_eve": "sent", "reminder_before": "pending"}


def test_sms_capacity_warns_before_the_day(
    cli: Any, engine: Engine, session: Session, tmp_path: Path
) -> None:
    add_site(session)
    start = datetime(2022, 5, 10, 8, 0, tzinfo=SH)
    for n in range(1, 121):  # 120 people in one morning's slots
        add_appointment(session, add_person(session, n), start + timedelta(minutes=10 * (n % 6)))
    report = capacity_for_week(engine, "2022-W19", policy(sms={"rate_per_second": 0.05}))
    assert report["warnings"], report
    monday = next(d for d in report["days"] if d["date"] == "2022-05-09")
    assert monday["texts"] == 120 and monday["ok"] is False
    assert monday["needed_rate"] == round(120 / 1800, 3)  # the evening texts within 30 min
    fine = capacity_for_week(engine, "2022-W19", policy(sms={"rate_per_second": 1}))
    assert fine["warnings"] == [] and all(d["ok"] for d in fine["days"])

    slow = config_dir(tmp_path, sms={"rate_per_second": 0.05})
    result = cli(
        "sms-capacity", "--week", "2022-W19", "--json", env=dict(ENV, TESTROTA_CONFIG_DIR=str(slow))
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["warnings"]
    bad = cli("sms-capacity", "--week", "May", env=ENV)
    assert bad.exit_code == 2 and "ISO week" in bad.output


def test_a_broken_policy_stops_the_worker_with_a_clear_message(cli: Any, tmp_path: Path) -> None:
    broken = config_dir(tmp_path, sms={"rate_per_secnd": 3})
    result = cli("worker", env=dict(ENV, TESTROTA_CONFIG_DIR=str(broken)))
    assert result.exit_code == 2
    assert "rate_per_secnd" in result.output and "Traceback" not in result.output
