"""Exactly once through the mainland channels: several ``testrota dispatch`` processes on one
database, one killed with SIGKILL mid-batch, against the fake Aliyun and the fake WeCom in this
process, which count what arrived: every text exactly once, none lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from testrota.db import tables
from tests.fake_aliyun import FakeAliyun
from tests.fake_wecom import FakeWecom
from tests.notify_data import SECRET, add_due_texts, config_dir

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _env(database_url: str, config: Path, channel: dict[str, str], **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TESTROTA_", "TWILIO_", "ALIYUN_", "WECOM_"))
    }
    env.update(channel)
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
    m = tables.MESSAGE
    with engine.connect() as conn:
        rows = conn.execute(select(m.c.status, func.count()).group_by(m.c.status)).all()
    return {str(status): int(n) for status, n in rows}


def _finish(procs: list[subprocess.Popen[str]]) -> list[dict[str, int]]:
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        reports.append(json.loads(out))
    return reports


@pytest.fixture
def aliyun() -> Iterator[FakeAliyun]:
    with FakeAliyun() as server:
        yield server


@pytest.fixture
def wecom() -> Iterator[FakeWecom]:
    members = {f"138{n:08d}": f"user{n}" for n in range(1, 2001)}
    with FakeWecom(members) as server:
        yield server


def _wait_for(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _aliyun_once(aliyun: FakeAliyun) -> Counter[str | None]:
    return Counter(m.out_id for m in aliyun.messages)


def test_three_dispatchers_send_through_aliyun_each_text_once(
    engine: Engine, database_url: str, aliyun: FakeAliyun, tmp_path: Path
) -> None:
    ids = add_due_texts(engine, 1500, datetime.now(UTC) - timedelta(minutes=1), with_params=True)
    config = config_dir(tmp_path, sms={"rate_per_second": 0, "concurrency": 8, "batch_size": 50})
    aliyun.latency = 0.005
    env = _env(database_url, config, aliyun.env())
    reports = _finish([_dispatcher(env) for _ in range(3)])
    assert sum(r["sent"] for r in reports) == 1500
    assert sum(1 for r in reports if r["sent"] > 0) >= 2  # they really shared the work
    once = _aliyun_once(aliyun)
    assert set(once) == {str(i) for i in ids} and set(once.values()) == {1}
    assert aliyun.stats()["duplicates"] == 0 and aliyun.stats()["refused"] == {}
    assert _statuses(engine) == {"sent": 1500}


def test_an_aliyun_dispatcher_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    engine: Engine, database_url: str, aliyun: FakeAliyun, tmp_path: Path
) -> None:
    ids = add_due_texts(engine, 400, datetime.now(UTC) - timedelta(minutes=1), with_params=True)
    config = config_dir(
        tmp_path, sms={"rate_per_second": 0, "concurrency": 8, "sending_timeout_minutes": 10}
    )
    aliyun.latency = 0.05
    victim = _dispatcher(_env(database_url, config, aliyun.env()))
    _wait_for(lambda: len(aliyun.received) >= 100)
    aliyun.gate.clear()  # the next texts wait at the fake: the victim is mid-batch when killed
    _wait_for(lambda: aliyun.held >= 1)
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    assert victim.returncode == -signal.SIGKILL
    aliyun.gate.set()
    time.sleep(0.3)  # requests already on the wire finish at the fake
    before = _statuses(engine)
    accepted = len(aliyun.messages)
    assert before.get("sending", 0) > 0 and before.get("pending", 0) > 0
    assert accepted < 400

    # After the sending timeout a new dispatcher looks the claimed rows up by OutId.
    later = (datetime.now(UTC) + timedelta(minutes=11)).isoformat()
    rescuer = _dispatcher(_env(database_url, config, aliyun.env(), TESTROTA_NOW=later))
    (report,) = _finish([rescuer])
    assert report["resolved"] == before["sending"]
    assert _statuses(engine) == {"sent": 400}
    once = _aliyun_once(aliyun)
    assert set(once) == {str(i) for i in ids} and set(once.values()) == {1}
    assert report["sent"] == 400 - accepted  # only what never reached Aliyun went again


def test_wecom_dispatchers_killed_mid_batch_deliver_each_text_once(
    engine: Engine, database_url: str, wecom: FakeWecom, tmp_path: Path
) -> None:
    add_due_texts(engine, 600, datetime.now(UTC) - timedelta(minutes=1))
    config = config_dir(
        tmp_path, sms={"rate_per_second": 0, "concurrency": 8, "sending_timeout_minutes": 10}
    )
    wecom.latency = 0.02
    env = _env(database_url, config, wecom.env())
    victim = _dispatcher(env)
    _wait_for(lambda: wecom.counts["send"] >= 60)
    # From here the fake holds every text: the victim is stopped with its claims in flight, and
    # the others claim and wait too, so all three are mid-batch when one of them dies.
    wecom.gate.clear()
    _wait_for(lambda: wecom.counts["held"] >= 1)
    victims_claims = _statuses(engine)["sending"]
    others = [_dispatcher(env) for _ in range(2)]
    _wait_for(lambda: _statuses(engine)["sending"] > victims_claims)
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    wecom.gate.set()
    _finish(others)
    time.sleep(0.3)
    assert _statuses(engine).get("sending", 0) > 0  # the victim's claims, fate unknown

    # WeCom cannot be asked: the rescuer sends those rows again, and WeCom's duplicate check
    # drops what had arrived before the kill.
    later = (datetime.now(UTC) + timedelta(minutes=11)).isoformat()
    _finish([_dispatcher(_env(database_url, config, wecom.env(), TESTROTA_NOW=later))])
    assert _statuses(engine) == {"sent": 600}
    delivered = Counter((d.touser, d.content) for d in wecom.delivered)
    assert len(delivered) == 600 and set(delivered.values()) == {1}
    assert wecom.counts["dropped_over_limit"] == 0
