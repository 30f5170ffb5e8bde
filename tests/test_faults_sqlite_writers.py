"""SQLite with the web app, a worker and imports all writing at once: nobody sees "database is
locked". SQLite has one writer at a time; every other writer must wait its turn (the busy
timeout, ``BEGIN IMMEDIATE``, short transactions) instead of failing.

Real processes: ``testrota serve`` (site staff checking people in, HR reading pages), ``testrota
worker`` (sending 1,500 texts through the fake Twilio server, flagging, syncing reminders), a
``testrota import`` of a 20,000-person roster (one long write transaction) and a ``testrota
results import`` of a lab sheet, started together.
"""

from __future__ import annotations

import csv
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from testrota.auth.users import add_user
from testrota.db.engine import session_scope
from testrota.db.models import Appointment, Person
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
from tests.sim_procs import ROOT, Running, WebProcess, cli_argv, run_measured
from tests.sim_web import WebUser

# Several processes against one database: slow on a loaded machine, bounded all the same.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate_roster import generate_roster  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 5, 11, 10, 0, tzinfo=SHANGHAI)  # Wednesday of 2022-W19
PASSWORD = "concurrent writers password"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(latency=0.01) as server:
        yield server


def test_web_worker_and_imports_write_at_once_and_no_one_sees_database_is_locked(
    engine: Engine, database_url: str, fake: FakeTwilio, tmp_path: Path
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the one-writer question is SQLite's")
    config = config_dir(tmp_path, sms={"rate_per_second": 0, "concurrency": 8})
    clock = SimClock(tmp_path / "clock", NOW)
    env = env_for(database_url, config, clock, fake.env())
    roster = generate_roster(3000, tmp_path / "roster.xlsx", seed=3)
    run_measured("import", cli_argv("import", str(roster)), env).check()
    run_measured("plan", cli_argv("plan", "--week", "2022-W19"), env).check()
    with session_scope(engine) as s:
        for name, role in (("site1", "site"), ("hr1", "hr")):
            add_user(s, name=name, role=role, password=PASSWORD, now=NOW)
    today = _todays_people(engine)
    assert len(today) >= 450
    add_due_texts(
        engine, 1500, NOW.astimezone(UTC) - timedelta(minutes=1), first=900_000, with_people=False
    )
    big = generate_roster(20_000, tmp_path / "big.xlsx", seed=4)
    lab = _lab_sheet(tmp_path / "lab.csv", today[:150])

    logs = tmp_path / "logs"
    answers: list[tuple[str, int, float, str]] = []
    lock = threading.Lock()
    with fleet() as f:
        web = WebProcess(env, logs, "web")
        f.add(web)
        web.wait_ready()
        worker = start_worker(f, env, logs, "worker")
        wait_until(
            lambda: len(fake.received) >= 100,
            60,
            "the worker to be sending",
            poll=0.02,
            on_timeout=worker.log_tail,
        )
        imports = [
            Running("import", cli_argv("import", str(big), "--json"), env),
            Running("results", cli_argv("results", "import", str(lab), "--json"), env),
        ]
        local = threading.local()
        during_import: list[str] = []

        def user(name: str) -> WebUser:
            if not hasattr(local, name):
                setattr(local, name, WebUser(web.base_url, name, PASSWORD))
            return getattr(local, name)

        def check_in(employee_no: str) -> None:
            started = time.perf_counter()
            r = user("site1").check_in(employee_no, None)
            with lock:
                answers.append(
                    ("checkin", r.status_code, time.perf_counter() - started, r.text[:200])
                )
                if imports[0].proc.poll() is None:
                    during_import.append(employee_no)
            if int(employee_no[-1]) % 4 == 0:  # HR reads pages meanwhile
                for path in ("/missed", "/schedule", "/people"):
                    started = time.perf_counter()
                    page = user("hr1").client.get(path) if user("hr1").csrf else None
                    if page is None:
                        user("hr1").sign_in()
                        page = user("hr1").client.get(path)
                    with lock:
                        answers.append(
                            (
                                path,
                                page.status_code,
                                time.perf_counter() - started,
                                page.text[:200] if page.status_code >= 400 else "",
                            )
                        )

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(check_in, today[150:450]))
        finished = [i.wait(600) for i in imports]
        wait_until(
            lambda: _texts_sent(engine) == 1500,
            120,
            "the worker to send every text",
            on_timeout=worker.log_tail,
        )
        assert worker.alive()
    for done in finished:
        assert done.returncode == 0, f"{done.label}: {done.stderr[-2000:]}"
    # They really wrote at once: check-ins went through while the big import ran.
    assert len(during_import) >= 10, len(during_import)
    failed = [a for a in answers if a[1] >= 400]
    assert not failed, failed[:5]
    assert len([a for a in answers if a[0] == "checkin"]) == 300
    logs_text = "".join(p.read_text(errors="replace") for p in logs.glob("*.log"))
    assert "database is locked" not in logs_text
    assert "Traceback" not in logs_text
    assert "sending" not in statuses(engine) and "failed" not in statuses(engine)
    assert fake.stats()["duplicates"] == 0
    summary = finished[0].json()
    assert summary["added"] + summary["updated"] + summary["unchanged"] == 20_000


def _texts_sent(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(M)
                .where(M.c.kind == "booster", M.c.status == "sent")
            ).scalar_one()
        )


def _todays_people(engine: Engine) -> list[str]:
    """Employee numbers of people with an appointment today, earliest first."""
    start = NOW.replace(hour=0).astimezone(UTC)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Person.employee_no)
            .join(Appointment, Appointment.person_id == Person.id)
            .where(
                Appointment.starts_at >= start, Appointment.starts_at < start + timedelta(days=1)
            )
            .order_by(Appointment.starts_at)
        ).all()
    return list(dict.fromkeys(r[0] for r in rows))


def _lab_sheet(path: Path, employee_nos: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["工号", "采样时间", "检测结果"])
        for no in employee_nos:
            writer.writerow([no, "2022-05-11 08:00", "阴性"])
    return path
