"""The periodic jobs: their APScheduler definitions, the once-per-period guard, real workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select, update
from sqlmodel import Session

from testrota.app import build_app
from testrota.clock import FixedClock
from testrota.db.models import JobRun, Message
from testrota.jobs import tasks
from testrota.jobs.once import advisory_key, run_once_per_period
from testrota.jobs.scheduler import build_background_scheduler
from testrota.jobs.tasks import JobContext, next_iso_week
from testrota.jobs.worker import JOBS, build_scheduler
from testrota.settings import Settings
from tests.bounded import join_all
from tests.notify_data import (
    SECRET,
    add_appointment,
    add_due_texts,
    add_person,
    add_site,
    add_user,
    config_dir,
    messages,
    notify_settings,
    phone,
    policy,
)

SH = ZoneInfo("Asia/Shanghai")


# ---------------------------------------------------------------- definitions


def test_every_job_is_defined_on_purpose(settings: Settings, engine: Engine) -> None:
    scheduler = build_scheduler(notify_settings(settings), engine, kind="background")
    assert isinstance(scheduler, BackgroundScheduler)
    assert isinstance(scheduler._lookup_jobstore("default"), MemoryJobStore)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "dispatch_texts",
        "sync_reminders",
        "notify_alerts",
        "flag_missed",
        "plan_next_week",
        "supervisors_digest",
        "nightly",
        "remind_late_confirmations",
    }
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        # Chosen per job: never APScheduler's default of one second.
        assert job.misfire_grace_time is not None and job.misfire_grace_time >= 30
    assert isinstance(jobs["dispatch_texts"].trigger, IntervalTrigger)
    assert jobs["dispatch_texts"].trigger.interval == timedelta(seconds=30)
    assert jobs["flag_missed"].trigger.interval == timedelta(minutes=10)
    plan = jobs["plan_next_week"].trigger
    assert isinstance(plan, CronTrigger) and str(plan.timezone) == "Asia/Shanghai"
    wednesday = datetime(2022, 5, 11, 15, 0, tzinfo=SH)
    assert plan.get_next_fire_time(None, wednesday) == datetime(2022, 5, 13, 12, 0, tzinfo=SH)
    digest = jobs["supervisors_digest"].trigger
    assert digest.get_next_fire_time(None, wednesday) == datetime(2022, 5, 12, 8, 0, tzinfo=SH)
    assert isinstance(build_scheduler(notify_settings(settings), engine), BlockingScheduler)


def test_once_per_period_jobs_catch_up_when_their_time_has_passed(
    settings: Settings, engine: Engine
) -> None:
    early = notify_settings(settings, now="2022-05-09T06:00:00+08:00")  # Monday 06:00
    late = notify_settings(settings, now="2022-05-13T13:00:00+08:00")  # Friday 13:00
    # A job not yet started has a next_run_time only when asked to run at once.
    soon = {
        j.id: getattr(j, "next_run_time", None)
        for j in build_scheduler(early, engine, "background").get_jobs()
    }
    later = {
        j.id: getattr(j, "next_run_time", None)
        for j in build_scheduler(late, engine, "background").get_jobs()
    }
    real_now = datetime.now(UTC)
    assert soon["dispatch_texts"] is not None
    assert soon["dispatch_texts"] - real_now < timedelta(seconds=30)
    # Monday 06:00: the digest (08:00) and the plan (Friday) are not due yet; nightly is.
    assert soon["supervisors_digest"] is None
    assert soon["plan_next_week"] is None
    assert soon["nightly"] is not None
    assert later["supervisors_digest"] is not None and later["plan_next_week"] is not None
    assert next(spec.id for spec in JOBS) == "dispatch_texts"


def test_next_iso_week() -> None:
    pol = policy()
    assert next_iso_week(datetime(2022, 5, 13, 12, 0, tzinfo=SH), pol) == "2022-W20"
    # Sunday late evening UTC is already Monday in Shanghai: the week after *that* one.
    assert next_iso_week(datetime(2022, 5, 15, 17, 0, tzinfo=UTC), pol) == "2022-W21"
    assert next_iso_week(datetime(2022, 12, 30, 12, 0, tzinfo=SH), pol) == "2023-W01"


# ---------------------------------------------------------------- the once-per-period guard


def _job_runs(engine: Engine) -> list[JobRun]:
    with Session(engine) as s:
        return list(s.exec(select(JobRun).order_by(JobRun.id)).scalars())  # type: ignore[call-overload]


def test_two_workers_firing_together_run_the_job_once(engine: Engine) -> None:
    now = datetime(2022, 5, 9, 8, 0, tzinfo=SH)
    calls: list[str] = []
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def work() -> dict[str, int]:
        calls.append("x")
        time.sleep(0.3)
        return {"texts": 3}

    def worker(name: str) -> None:
        barrier.wait(timeout=30)
        results[name] = run_once_per_period(engine, "digest", "2022-05-09", name, now, work)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    join_all(threads)
    assert len(calls) == 1
    assert sorted(r.reason for r in results.values()) == ["busy", "ran"] or sorted(
        r.reason for r in results.values()
    ) == ["done", "ran"]
    (run,) = _job_runs(engine)
    assert (run.job, run.period, run.details) == ("digest", "2022-05-09", {"texts": 3})
    assert run.finished_at is not None
    # Later ticks of the same period skip it; the next period runs.
    assert run_once_per_period(engine, "digest", "2022-05-09", "w3", now, work).reason == "done"
    assert run_once_per_period(engine, "digest", "2022-05-10", "w3", now, work).ran
    assert len(calls) == 2


def test_a_failed_run_is_recorded_and_tried_again_by_the_next_tick(engine: Engine) -> None:
    now = datetime(2022, 5, 9, 8, 0, tzinfo=SH)

    def broken() -> None:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="database went away") as raised:
        run_once_per_period(engine, "plan_next_week", "2022-W20", "w1", now, broken)
    assert "job plan_next_week for 2022-W20" in " ".join(raised.value.__notes__)
    (run,) = _job_runs(engine)
    assert (run.status, run.error) == ("failed", "RuntimeError: database went away")
    assert run.finished_at is None and run.failed_at == now
    # A failed run is not running: the next tick takes it over at once, on either database.
    again = run_once_per_period(engine, "plan_next_week", "2022-W20", "w2", now, lambda: 1)
    assert again.ran
    (run,) = _job_runs(engine)
    assert run.finished_at is not None and run.worker == "w2"
    assert (run.status, run.error) == ("done", None)


def test_a_run_whose_worker_died_is_taken_over(engine: Engine) -> None:
    now = datetime(2022, 5, 9, 8, 0, tzinfo=SH)
    with engine.begin() as conn:
        conn.execute(
            insert(JobRun).values(
                job="plan_next_week", period="2022-W20", started_at=now, worker="dead", details={}
            )
        )
    if engine.dialect.name == "sqlite":
        # On one machine an unfinished run is trusted to be running for a while...
        busy = run_once_per_period(engine, "plan_next_week", "2022-W20", "w2", now, lambda: 1)
        assert busy.reason == "busy"
        with engine.begin() as conn:
            conn.execute(update(JobRun).values(started_at=now - timedelta(hours=3)))
    # ...on PostgreSQL the advisory lock tells at once that nobody is running it.
    again = run_once_per_period(engine, "plan_next_week", "2022-W20", "w2", now, lambda: 1)
    assert again.ran
    (run,) = _job_runs(engine)
    assert (run.status, run.worker) == ("done", "w2")


def test_advisory_keys_are_stable_and_distinct() -> None:
    assert advisory_key("digest", "2022-05-09") == advisory_key("digest", "2022-05-09")
    assert advisory_key("digest", "2022-05-09") != advisory_key("digest", "2022-05-10")
    assert -(2**63) <= advisory_key("nightly", "2022-05-09") < 2**63


def _context(settings: Settings, engine: Engine, now: datetime, name: str) -> JobContext:
    return JobContext(
        app=build_app(
            notify_settings(settings), engine=engine, policy=policy(), clock=FixedClock(now)
        ),
        worker=name,
        dispatch_seconds=0.3,
    )


def test_the_digest_job_from_two_workers_texts_each_supervisor_once(
    settings: Settings, engine: Engine, session: Session
) -> None:
    add_site(session)
    add_appointment(
        session, add_person(session, 1), datetime(2022, 5, 8, 9, 0, tzinfo=SH), status="missed"
    )
    add_user(session, "sup", "supervisor", departments=["冷链车间"], phone_number=phone(500))
    now = datetime(2022, 5, 9, 8, 0, tzinfo=SH)
    contexts = [_context(settings, engine, now, f"w{i}") for i in range(2)]
    threads = [threading.Thread(target=tasks.supervisors_digest, args=(c,)) for c in contexts]
    for t in threads:
        t.start()
    join_all(threads)
    assert [m.kind for m in messages(session)] == ["digest"]
    assert [(r.job, r.period) for r in _job_runs(engine)] == [("supervisors_digest", "2022-05-09")]


def test_flag_missed_job_flags_then_offers_a_new_slot(
    settings: Settings, engine: Engine, session: Session
) -> None:
    add_site(session)
    person = add_person(session, 1)
    add_appointment(session, person, datetime(2022, 5, 9, 9, 0, tzinfo=SH))
    now = datetime(2022, 5, 9, 14, 0, tzinfo=SH)  # the slot ended more than 4 h ago
    result = tasks.flag_missed(_context(settings, engine, now, "w1"))
    assert result == {"flagged": 1, "notices": 1}
    (notice,) = messages(session)
    assert notice.kind == "missed" and notice.to == phone(1)
    assert tasks.flag_missed(_context(settings, engine, now, "w2")) == {"flagged": 0, "notices": 0}


def test_dispatch_and_reminder_jobs_are_thin_calls(
    settings: Settings, engine: Engine, session: Session
) -> None:
    add_site(session)
    add_appointment(session, add_person(session, 1), datetime(2022, 5, 10, 9, 0, tzinfo=SH))
    evening = datetime(2022, 5, 9, 18, 0, tzinfo=SH)
    ctx = _context(settings, engine, evening, "w1")
    assert tasks.sync_reminders(ctx)["created"] == 2
    assert tasks.dispatch_texts(ctx)["sent"] == 1
    assert tasks.dispatch_texts(ctx)["sent"] == 0


# ---------------------------------------------------------------- inside the web process


def test_background_scheduler_starts_and_stops_with_the_app_lifespan(
    settings: Settings, engine: Engine, session: Session
) -> None:
    add_due_texts(engine, 3, datetime.now(UTC) - timedelta(minutes=1))
    s = notify_settings(settings)
    worker = build_background_scheduler(s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker.start()
        try:
            yield
        finally:
            worker.shutdown()

    app = FastAPI(lifespan=lifespan)

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    with TestClient(app) as client:
        assert worker.scheduler.running
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if {m.status for m in messages(session)} == {"sent"}:
                break
            assert client.get("/ping").status_code == 200  # the loop is never blocked
            time.sleep(0.1)
    assert not worker.scheduler.running
    assert {m.status for m in messages(session)} == {"sent"}


# ---------------------------------------------------------------- real worker processes


def _count(engine: Engine, *where: Any) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(Message).where(*where)).scalar_one()
        )


@pytest.mark.slow
def test_two_worker_processes_share_the_work_and_stop_gracefully(
    engine: Engine, database_url: str, session: Session, tmp_path: Path
) -> None:
    add_site(session)
    add_appointment(
        session, add_person(session, 1), datetime(2022, 5, 8, 9, 0, tzinfo=SH), status="missed"
    )
    add_user(session, "sup", "supervisor", departments=["冷链车间"], phone_number=phone(500))
    add_due_texts(engine, 200, datetime(2022, 5, 9, 0, 0, tzinfo=UTC), first=1000)
    config = config_dir(tmp_path, sms={"rate_per_second": 0, "concurrency": 4})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TESTROTA_", "TWILIO_"))}
    env.update(
        {
            "TESTROTA_DATABASE_URL": database_url,
            "TESTROTA_CONFIG_DIR": str(config),
            "TESTROTA_SECRET_KEY": SECRET,
            "TESTROTA_NOW": "2022-05-09T09:00:00+08:00",
        }
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "testrota.cli.main", "worker"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            nightly = [r for r in _job_runs(engine) if r.job == "nightly" and r.finished_at]
            if _count(engine, Message.status == "sent") == 202 and nightly:
                break
            time.sleep(0.2)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        outputs = [proc.communicate(timeout=60) for proc in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-3000:]
        assert "Traceback" not in err, err[-3000:]
    # The digest (caught up at start: it is past 08:00) went out once, the missed-test notice
    # once, the texts once each.
    assert _count(engine, Message.kind == "digest") == 1
    assert _count(engine, Message.kind == "missed") == 1
    assert _count(engine, Message.status == "sent") == 202
    assert _count(engine, Message.status == "sending") == 0
    runs = [(r.job, r.period) for r in _job_runs(engine)]
    assert runs.count(("supervisors_digest", "2022-05-09")) == 1
    assert runs.count(("nightly", "2022-05-09")) == 1
    logs = "".join(err for _, err in outputs)
    assert "SMS to +86138****1000" in logs  # the console backend's outbox, numbers masked
