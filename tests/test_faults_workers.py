"""Workers under faults: one killed with SIGKILL in the middle of sending, and (PostgreSQL) every
database connection cut in the middle of a dispatch batch, as a server restart looks to the
clients, under ``testrota worker`` and under ``testrota dispatch`` in loop mode. The processes
recover on their own: nothing is sent twice, nothing is lost.

``tests/test_notify_multiprocess.py`` already kills a one-shot ``testrota dispatch --once`` and
rescues its rows with a second one-shot run; here the processes are long-running ``testrota
worker`` processes (APScheduler, every job) that nobody rescues by hand: the surviving worker,
and the killed one once restarted (as systemd would), find the orphaned rows themselves, after
the sending timeout on the simulated clock they all read.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, make_url, select, text

from testrota.db.engine import make_engine
from tests.fake_twilio import FakeTwilio
from tests.notify_data import add_due_texts, config_dir
from tests.sim_faults import (
    M,
    SimClock,
    env_for,
    fleet,
    start_worker,
    statuses,
    wait_until,
)
from tests.sim_procs import Fleet, Service, WebProcess, cli_argv

# Several processes against one database: slow on a loaded machine, bounded all the same.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

T0 = datetime(2022, 5, 9, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(latency=0.03) as server:
        yield server


def _config(tmp_path: Path) -> Path:
    return config_dir(
        tmp_path,
        sms={
            "rate_per_second": 0,
            "concurrency": 8,
            "sending_timeout_minutes": 10,
            "batch_size": 50,
        },
    )


def _claimed_by(engine: Engine, pid: int) -> int:
    """Rows a worker process (``host:pid:random``) left claimed."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(M)
                .where(M.c.status == "sending", M.c.claimed_by.like(f"%:{pid}:%"))
            ).scalar_one()
        )


def _all_sent(engine: Engine, total: int) -> bool:
    return statuses(engine) == {"sent": total}


def _assert_exactly_once(engine: Engine, fake: FakeTwilio, total: int) -> None:
    assert statuses(engine) == {"sent": total}
    assert len(fake.messages) == total
    assert fake.stats()["duplicates"] == 0
    assert len(fake.count_by_body()) == total


def test_a_worker_killed_mid_dispatch_is_recovered_by_the_workers_themselves(
    engine: Engine, database_url: str, fake: FakeTwilio, tmp_path: Path
) -> None:
    total = 1500
    add_due_texts(engine, total, T0 - timedelta(minutes=1))
    clock = SimClock(tmp_path / "clock", T0)
    env = env_for(database_url, _config(tmp_path), clock, fake.env())
    logs = tmp_path / "logs"
    with fleet() as f:
        victim = start_worker(f, env, logs, "worker-a")
        survivor = start_worker(f, env, logs, "worker-b")
        wait_until(
            lambda: len(fake.received) >= 300,
            60,
            "the workers to be sending",
            poll=0.01,
            on_timeout=victim.log_tail,
        )
        victim.kill()
        assert victim.proc.returncode == -signal.SIGKILL
        time.sleep(0.3)  # what the victim had on the wire arrives at the fake
        # The survivor keeps sending what nobody had claimed...
        wait_until(
            lambda: statuses(engine).get("pending", 0) == 0,
            90,
            "the survivor to send the unclaimed texts",
            on_timeout=survivor.log_tail,
        )
        # ...while the victim's claims stay "sending": their fate is unknown.
        assert _claimed_by(engine, victim.pid) > 0, "the kill caught no text in flight"
        # ...and once the sending timeout has passed, a worker looks the victim's texts up
        # at the provider: sent ones are recorded, the others sent now. The victim comes back
        # too (systemd's Restart=always) and takes part.
        clock.set(T0 + timedelta(minutes=11))
        start_worker(f, env, logs, "worker-a-restarted")
        wait_until(
            lambda: _all_sent(engine, total),
            120,
            "every text to be settled",
            on_timeout=lambda: f"{statuses(engine)}\n{survivor.log_tail()}",
        )
        assert survivor.alive(), survivor.log_tail()
    _assert_exactly_once(engine, fake, total)


def _cut_connections(database_url: str) -> int:
    """Terminate every server process of the test database but this one's: what a restart of
    the PostgreSQL server looks like to its clients."""
    name = make_url(database_url).database
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": name},
                ).all()
            )
    finally:
        admin.dispose()


def test_workers_and_web_survive_the_database_dropping_every_connection_mid_batch(
    engine: Engine, database_url: str, fake: FakeTwilio, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a server restart is a PostgreSQL matter")
    total = 2000
    add_due_texts(engine, total, T0 - timedelta(minutes=1))
    clock = SimClock(tmp_path / "clock", T0)
    env = env_for(database_url, _config(tmp_path), clock, fake.env())
    logs = tmp_path / "logs"
    with fleet() as f:
        workers = [start_worker(f, env, logs, f"worker-{i}") for i in (1, 2)]
        web = WebProcess(env, logs, "web")
        f.add(web)
        web.wait_ready()
        wait_until(
            lambda: len(fake.received) >= 400,
            60,
            "the workers to be sending",
            poll=0.01,
            on_timeout=workers[0].log_tail,
        )
        engine.dispose()  # our own pooled connections would be cut too
        cut = _cut_connections(database_url)
        assert cut >= 2  # at least each worker's dispatch connection
        time.sleep(0.5)
        assert all(w.alive() for w in workers), workers[0].log_tail()
        # Texts claimed when the connections dropped are sent or not: their rows say
        # "sending" until the sending timeout, then the provider is asked. Everything else
        # goes on at the workers' next tick, on fresh connections.
        clock.set(T0 + timedelta(minutes=11))
        wait_until(
            lambda: _all_sent(engine, total),
            150,
            "every text to be settled",
            on_timeout=lambda: f"{statuses(engine)}\n{workers[0].log_tail()}",
        )
        assert all(w.alive() for w in workers)
        import urllib.request

        with urllib.request.urlopen(web.base_url + "/healthz", timeout=10) as response:
            assert response.status == 200  # the web app reconnected on its own as well
    logs_text = "".join((logs / f"worker-{i}.log").read_text() for i in (1, 2))
    assert (
        "terminating connection" in logs_text
        or "server closed" in logs_text
        or "OperationalError" in logs_text
    ), "the workers never saw the connections drop"
    _assert_exactly_once(engine, fake, total)


def _start_dispatcher(fleet: Fleet, env: dict[str, str], log_dir: Path, label: str) -> Service:
    """``testrota dispatch --json`` in loop mode: its JSON report on stdout when it stops."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{label}.json").open("w") as out, (log_dir / f"{label}.log").open("w") as err:
        proc = subprocess.Popen(
            cli_argv("dispatch", "--json"), env=env, stdout=out, stderr=err, text=True
        )
    return fleet.add(Service(label, proc, log_path=log_dir / f"{label}.log"))


def test_the_dispatch_loop_survives_the_database_dropping_every_connection(
    engine: Engine, database_url: str, fake: FakeTwilio, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a server restart is a PostgreSQL matter")
    total = 2000
    add_due_texts(engine, total, T0 - timedelta(minutes=1))
    clock = SimClock(tmp_path / "clock", T0)
    env = env_for(database_url, _config(tmp_path), clock, fake.env())
    logs = tmp_path / "logs"
    with fleet() as f:
        dispatcher = _start_dispatcher(f, env, logs, "dispatch")
        wait_until(
            lambda: len(fake.received) >= 400,
            60,
            "the dispatcher to be sending",
            poll=0.01,
            on_timeout=dispatcher.log_tail,
        )
        engine.dispose()  # our own pooled connections would be cut too
        assert _cut_connections(database_url) >= 1
        time.sleep(0.5)
        assert dispatcher.alive(), dispatcher.log_tail()
        # It keeps sending what nobody had claimed, on fresh connections...
        wait_until(
            lambda: statuses(engine).get("pending", 0) == 0,
            90,
            "the dispatcher to send the unclaimed texts",
            on_timeout=lambda: f"{statuses(engine)}\n{dispatcher.log_tail()}",
        )
        # ...and once the sending timeout has passed it looks up at the provider what the
        # cut pass had on the wire: sent ones are recorded, the others sent now.
        clock.set(T0 + timedelta(minutes=11))
        wait_until(
            lambda: _all_sent(engine, total),
            120,
            "every text to be settled",
            on_timeout=lambda: f"{statuses(engine)}\n{dispatcher.log_tail()}",
        )
        assert dispatcher.alive(), dispatcher.log_tail()
        dispatcher.stop()
    assert dispatcher.proc.returncode == 0, dispatcher.log_tail()
    log = dispatcher.log_tail(10**7)
    assert "ERROR" in log and "dispatch pass failed (1 in a row)" in log
    assert "OperationalError" in log or "terminating connection" in log
    report = json.loads((logs / "dispatch.json").read_text())  # one document on stdout
    assert report["sent"] > 0 and report["resolved"] > 0
    _assert_exactly_once(engine, fake, total)
