"""Helpers of the fault tests: real ``testrota worker`` processes on a clock file, waiting for
the database to settle, and what the outbox looks like."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from testrota.clock import write_clock_file
from testrota.db.models import Message
from tests.notify_data import SECRET
from tests.sim_procs import Fleet, Service, base_env, cli_argv

M = Message.__table__
PUBLIC_URL = "http://rota.example-steel.com"


class SimClock:
    """The clock file every process of a test reads ``now`` from."""

    def __init__(self, path: Path, at: datetime) -> None:
        self.path = path
        self.at = at
        write_clock_file(path, at)

    def set(self, at: datetime) -> None:
        self.at = at
        write_clock_file(self.path, at)


def env_for(
    database_url: str,
    config_dir: Path,
    clock: SimClock | None,
    fake_env: dict[str, str] | None = None,
    **extra: str,
) -> dict[str, str]:
    env = base_env(
        TESTROTA_DATABASE_URL=database_url,
        TESTROTA_CONFIG_DIR=str(config_dir),
        TESTROTA_SECRET_KEY=SECRET,
        TESTROTA_PUBLIC_URL=PUBLIC_URL,
        **(fake_env or {}),
        **extra,
    )
    if clock is not None:
        env["TESTROTA_CLOCK_FILE"] = str(clock.path)
    return env


def start_worker(fleet: Fleet, env: dict[str, str], log_dir: Path, label: str) -> Service:
    """``testrota worker``: the real process, its APScheduler and all its jobs."""
    import subprocess

    log_dir.mkdir(parents=True, exist_ok=True)
    log = (log_dir / f"{label}.log").open("w")
    proc = subprocess.Popen(
        cli_argv("worker"), env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    log.close()
    service = Service(label, proc, log_path=log_dir / f"{label}.log")
    fleet.add(service)
    return service


def statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(M.c.status, func.count()).group_by(M.c.status)).all()
    return {status: n for status, n in rows}


def wait_until(
    condition: Callable[[], Any],
    timeout: float,
    what: str,
    poll: float = 0.2,
    on_timeout: Callable[[], str] = lambda: "",
) -> Any:
    """Poll ``condition`` until it returns something true; fail with ``what`` after
    ``timeout`` real seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what}. {on_timeout()}"
            )
        time.sleep(poll)


@contextmanager
def fleet() -> Iterator[Fleet]:
    with Fleet() as f:
        yield f
