"""Several dispatcher processes on one database; one killed with SIGKILL mid-batch.

Real ``testrota dispatch`` processes send through the real twilio client to the fake API in
this process, which counts what arrived: every text exactly once, none lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from testrota.db.models import Message
from tests.bounded import wait_for
from tests.fake_twilio import FakeTwilio
from tests.notify_data import SECRET, add_due_texts, config_dir

# Several processes against one database: slow on a loaded machine, bounded all the same.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def _env(database_url: str, config: Path, fake: FakeTwilio, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TESTROTA_", "TWILIO_"))}
    env.update(fake.env())
    env.update(
        {
            "TESTROTA_DATABASE_URL": database_url,
            "TESTROTA_CONFIG_DIR": str(config),
            "TESTROTA_SECRET_KEY": SECRET,
            "TESTROTA_PUBLIC_URL": "https://rota.example.com",
        }
    )
    env.update(extra)
    return env


def _dispatcher(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "testrota.cli.main", "dispatch", "--once", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _statuses(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        rows = s.execute(select(Message.status, func.count()).group_by(Message.status)).all()
    return {status: n for status, n in rows}


def test_three_dispatchers_send_5000_texts_each_exactly_once(
    engine: Engine, database_url: str, fake: FakeTwilio, tmp_path: Path
) -> None:
    add_due_texts(engine, 5000, datetime.now(UTC) - timedelta(minutes=1))
    config = config_dir(tmp_path, sms={"rate_per_second": 0, "concurrency": 16, "batch_size": 100})
    fake.latency = 0.005
    env = _env(database_url, config, fake)
    procs = [_dispatcher(env) for _ in range(3)]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        reports.append(json.loads(out))
    assert sum(r["sent"] for r in reports) == 5000
    assert sum(1 for r in reports if r["sent"] > 0) >= 2  # they really shared the work
    assert len(fake.messages) == 5000
    assert fake.stats()["duplicates"] == 0
    assert len(fake.count_by_body()) == 5000
    assert _statuses(engine) == {"sent": 5000}


def test_a_dispatcher_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    engine: Engine, database_url: str, fake: FakeTwilio, tmp_path: Path
) -> None:
    add_due_texts(engine, 600, datetime.now(UTC) - timedelta(minutes=1))
    config = config_dir(
        tmp_path, sms={"rate_per_second": 0, "concurrency": 8, "sending_timeout_minutes": 10}
    )
    fake.latency = 0.05
    victim = _dispatcher(_env(database_url, config, fake))
    deadline = time.monotonic() + 120
    while len(fake.received) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    assert victim.returncode == -signal.SIGKILL
    time.sleep(0.3)  # requests already on the wire finish at the fake
    before = _statuses(engine)
    accepted = len(fake.messages)
    assert before.get("sending", 0) > 0  # caught mid-batch: claimed, fate unknown
    assert before.get("pending", 0) > 0
    assert accepted < 600

    # A new dispatcher, once the sending timeout has passed, looks the claimed rows up.
    later = (datetime.now(UTC) + timedelta(minutes=11)).isoformat()
    rescuer = _dispatcher(_env(database_url, config, fake, TESTROTA_NOW=later))
    out, err = rescuer.communicate(timeout=300)
    assert rescuer.returncode == 0, err[-2000:]
    report = json.loads(out)
    assert report["resolved"] == before["sending"]
    assert _statuses(engine) == {"sent": 600}
    assert len(fake.messages) == 600
    assert fake.stats()["duplicates"] == 0
    assert report["sent"] == 600 - accepted  # only what never reached the provider went again


def test_sigterm_finishes_or_releases_claimed_rows(
    engine: Engine, database_url: str, fake: FakeTwilio, tmp_path: Path
) -> None:
    add_due_texts(engine, 400, datetime.now(UTC) - timedelta(minutes=1))
    config = config_dir(tmp_path, sms={"rate_per_second": 0, "concurrency": 4})
    fake.latency = 0.05
    proc = _dispatcher(_env(database_url, config, fake))
    wait_for(lambda: len(fake.received) >= 40, 120, "the dispatcher to be sending")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    report = json.loads(out)
    statuses = _statuses(engine)
    assert "sending" not in statuses
    assert statuses["sent"] == report["sent"] == len(fake.messages)
    assert statuses["pending"] == 400 - report["sent"]
