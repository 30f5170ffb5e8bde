"""Flagging in the database: done, missed, excused, the grace boundary, DST, concurrency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from testrota.compliance.flagging import FlagReport, set_missed
from testrota.db.engine import make_engine, session_scope
from testrota.db.models import Appointment
from tests.bounded import join_all
from tests.compliance_fixtures import (
    NY,
    SH,
    add_appt,
    add_person,
    add_sample,
    flag,
    local,
    missed,
    policy,
    status_of,
)
from tests.conftest import CONFIG_DIR, ROOT

P = policy()
MON = local(SH, 2022, 5, 9, 8, 0)  # a Monday slot, 08:00-08:30


def test_done_missed_excused_and_idempotent(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as s:
        tested, absent, excused, later = (add_person(s, f"10{i}") for i in range(4))
        other_day = add_person(s, "105")
        a_tested = add_appt(s, tested, MON)
        a_absent = add_appt(s, absent, MON)
        a_excused = add_appt(s, excused, MON, status="excused")
        a_later = add_appt(s, later, MON + timedelta(hours=8))  # 16:00, not due yet
        a_other = add_appt(s, other_day, MON)
        add_sample(s, tested, MON + timedelta(hours=5))  # tested at 13:00 that day
        add_sample(s, other_day, MON + timedelta(days=1))  # tested on Tuesday instead
        s.commit()
    now = local(SH, 2022, 5, 9, 13, 30)
    report = flag(engine, now, P)
    assert (report.missed, report.done) == (2, 1)
    assert status_of(engine, a_tested.id) == "done"  # type: ignore[arg-type]
    assert status_of(engine, a_absent.id) == "missed"  # type: ignore[arg-type]
    assert status_of(engine, a_excused.id) == "excused"  # type: ignore[arg-type]
    assert status_of(engine, a_later.id) == "scheduled"  # type: ignore[arg-type]
    assert status_of(engine, a_other.id) == "missed"  # type: ignore[arg-type]
    with Session(engine) as s:
        done = s.get(Appointment, a_tested.id)
        assert done is not None and done.done_at == MON + timedelta(hours=5)
    assert flag(engine, now, P).missed == 0  # nothing new the second time
    assert flag(engine, now, P) == FlagReport(0, 0)


@pytest.mark.parametrize(("offset", "expected"), [(-1, "scheduled"), (1, "missed")])
def test_grace_boundary_one_minute_either_side(engine: Engine, offset: int, expected: str) -> None:
    with Session(engine, expire_on_commit=False) as s:
        appt = add_appt(s, add_person(s, "1001"), MON)
        s.commit()
    # The slot ends at 08:30; with 4 h of grace it is missed after 12:30.
    now = local(SH, 2022, 5, 9, 12, 30) + timedelta(minutes=offset)
    assert flag(engine, now, P).missed == (1 if expected == "missed" else 0)
    assert status_of(engine, appt.id) == expected  # type: ignore[arg-type]


def test_dst_zone_local_day(engine: Engine) -> None:
    ny = policy(timezone="America/New_York")
    slot = local(NY, 2022, 11, 6, 10, 0)  # the fall-back Sunday: a 25-hour day
    with Session(engine, expire_on_commit=False) as s:
        evening, past_midnight = add_person(s, "2001"), add_person(s, "2002")
        a_evening = add_appt(s, evening, slot)
        a_past = add_appt(s, past_midnight, slot)
        add_sample(s, evening, local(NY, 2022, 11, 6, 23, 30))  # 04:30 UTC on 7 Nov
        add_sample(s, past_midnight, local(NY, 2022, 11, 7, 0, 10))
        s.commit()
    assert flag(engine, local(NY, 2022, 11, 7, 9, 0), ny) == FlagReport(missed=1, done=1)
    assert status_of(engine, a_evening.id) == "done"  # type: ignore[arg-type]
    assert status_of(engine, a_past.id) == "missed"  # type: ignore[arg-type]


def _seed_many(engine: Engine, n: int) -> None:
    with Session(engine) as s:
        people = [add_person(s, f"{i:05d}") for i in range(n)]
        for i, p in enumerate(people):
            add_appt(s, p, MON + timedelta(minutes=30 * (i % 8)))
        s.commit()


def _missed_count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(
            s.scalar(
                select(func.count()).select_from(Appointment).where(Appointment.status == "missed")
            )
            or 0
        )


def test_conditional_update_counts_a_row_once_across_transactions(engine: Engine) -> None:
    """Two transactions flag the same appointments: the second one waits, then changes none."""
    _seed_many(engine, 50)
    with Session(engine) as s:
        ids = list(s.scalars(select(Appointment.id)))
    now = local(SH, 2022, 5, 10, 8, 0)
    counts: dict[str, int] = {}

    def second() -> None:
        with session_scope(engine) as s:
            counts["second"] = set_missed(s, ids, now)

    with session_scope(engine) as s:
        counts["first"] = set_missed(s, ids, now)
        worker = threading.Thread(target=second)
        worker.start()
        worker.join(timeout=0.5)  # the second is blocked on our locks until we commit
        assert worker.is_alive()
    worker.join(timeout=30)
    assert counts == {"first": 50, "second": 0}
    assert _missed_count(engine) == 50


def test_concurrent_flagging_threads_never_double_count(engine: Engine) -> None:
    n = 400
    _seed_many(engine, n)
    now = local(SH, 2022, 5, 10, 8, 0)
    barrier = threading.Barrier(3)
    totals: list[int] = []
    lock = threading.Lock()
    url = engine.url.render_as_string(hide_password=False)

    def run() -> None:
        own = make_engine(url)
        try:
            barrier.wait(timeout=30)
            # an app of its own: a process of its own, as far as the database can tell
            got = flag(own, now, P).missed
            with lock:
                totals.append(got)
        finally:
            own.dispose()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    join_all(threads)
    assert len(totals) == 3
    assert sum(totals) == n
    assert _missed_count(engine) == n


def test_concurrent_flag_processes_never_double_count(engine: Engine, database_url: str) -> None:
    n = 300
    _seed_many(engine, n)
    env = {
        **os.environ,
        "TESTROTA_DATABASE_URL": database_url,
        "TESTROTA_CONFIG_DIR": str(CONFIG_DIR),
        "TESTROTA_NOW": "2022-05-10T08:00:00+08:00",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "testrota.cli.main", "flag", "--json"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    assert sum(json.loads(out)["missed"] for out, _ in outputs) == n
    assert _missed_count(engine) == n


def test_cli_flag(cli: Any, engine: Engine) -> None:
    with Session(engine) as s:
        add_appt(s, add_person(s, "1001"), MON)
        s.commit()
    early = cli("flag", "--json", env={"TESTROTA_NOW": "2022-05-09T12:29:00+08:00"})
    assert early.exit_code == 0, early.output
    assert json.loads(early.stdout) == {"missed": 0, "done": 0}
    late = cli("flag", "--json", env={"TESTROTA_NOW": "2022-05-09T12:31:00+08:00"})
    assert json.loads(late.stdout) == {"missed": 1, "done": 0}


def test_a_list_with_nothing_due_waits_for_no_writer(engine: Engine, database_url: str) -> None:
    """Listing flags first; when nothing is due it takes no write lock, so a supervisor's list
    is not queued behind a long write (a roster import) holding SQLite's lock."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's one writer at a time is what a list must not wait for")
    with Session(engine, expire_on_commit=False) as s:
        appt = add_appt(s, add_person(s, "1001"), MON)
        s.commit()
    now = local(SH, 2022, 5, 9, 13, 0)
    assert flag(engine, now, P).missed == 1  # what was due is flagged: nothing is due now
    writer = make_engine(database_url)
    listed: list[Any] = []
    try:
        with writer.begin():  # BEGIN IMMEDIATE: the write lock, held until the block ends
            lister = threading.Thread(target=lambda: listed.append(missed(engine, now, P)))
            lister.start()
            join_all([lister], timeout=15)  # with the lock to wait for: the 30 s busy timeout
    finally:
        writer.dispose()
    assert [r.appointment_id for r in listed[0]] == [appt.id]
