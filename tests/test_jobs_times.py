"""When the worker's jobs run is the policy's ``jobs`` section, and a worker follows changes
to policy.yaml without a restart. Fixed, timezone-aware datetimes and no sleeping: triggers are
asked for their next fire time after a given moment, as APScheduler's own tests do."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from testrota.errors import UserError
from testrota.jobs.worker import (
    JOBS,
    At,
    Every,
    JobSpec,
    _run_job,
    build_scheduler,
    job_times,
    make_job_context,
)
from testrota.policy import load_policy
from testrota.settings import Settings
from tests.notify_data import config_dir, notify_settings, policy

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
WEDNESDAY = datetime(2022, 5, 11, 15, 0, tzinfo=SH)


def _edit_policy(config: Path, jobs: dict[str, Any] | None = None, **top: Any) -> None:
    """Change policy.yaml as an operator would, while a worker runs."""
    path = config / "policy.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.setdefault("jobs", {}).update(jobs or {})
    data.update(top)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    # A new modification time even on a file system with coarse timestamps.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def _scheduler(
    settings: Settings, engine: Engine, config: Path, now: str = "2022-05-11T15:00:00+08:00"
) -> BaseScheduler:
    return build_scheduler(
        notify_settings(settings, config_dir=config, now=now), engine, "background"
    )


def _next(scheduler: BaseScheduler, job: str, after: datetime = WEDNESDAY) -> datetime:
    found = scheduler.get_job(job)
    assert found is not None
    fire: datetime = found.trigger.get_next_fire_time(None, after)
    return fire


def _interval(scheduler: BaseScheduler, job: str) -> timedelta:
    found = scheduler.get_job(job)
    assert found is not None and isinstance(found.trigger, IntervalTrigger)
    interval: timedelta = found.trigger.interval
    return interval


def test_the_shipped_policy_keeps_the_times_the_jobs_always_had() -> None:
    jobs = policy().jobs
    assert (jobs.plan_day, f"{jobs.plan_time:%H:%M}") == ("fri", "12:00")
    assert f"{jobs.digest_time:%H:%M}" == "08:00" and f"{jobs.nightly_time:%H:%M}" == "02:30"
    assert (
        jobs.dispatch_seconds,
        jobs.reminders_minutes,
        jobs.alerts_minutes,
        jobs.flag_missed_minutes,
    ) == (30, 5, 1, 10)
    when = {spec.id: spec.when(policy()) for spec in JOBS}
    assert when["plan_next_week"] == At(jobs.plan_time, "Asia/Shanghai", "fri")
    assert when["dispatch_texts"] == Every(timedelta(seconds=30))


def test_the_jobs_run_when_the_policy_says(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    config = config_dir(
        tmp_path,
        jobs={
            "plan_day": "thu",
            "plan_time": "16:30",
            "digest_time": "07:15",
            "nightly_time": "01:00",
            "dispatch_seconds": 10,
            "reminders_minutes": 15,
            "alerts_minutes": 2,
            "flag_missed_minutes": 3,
        },
    )
    scheduler = _scheduler(settings, engine, config)
    assert _next(scheduler, "plan_next_week") == datetime(2022, 5, 12, 16, 30, tzinfo=SH)
    assert _next(scheduler, "supervisors_digest") == datetime(2022, 5, 12, 7, 15, tzinfo=SH)
    assert _next(scheduler, "nightly") == datetime(2022, 5, 12, 1, 0, tzinfo=SH)
    assert _interval(scheduler, "dispatch_texts") == timedelta(seconds=10)
    assert _interval(scheduler, "sync_reminders") == timedelta(minutes=15)
    assert _interval(scheduler, "notify_alerts") == timedelta(minutes=2)
    assert _interval(scheduler, "flag_missed") == timedelta(minutes=3)


def test_a_worker_reschedules_the_jobs_whose_times_changed_in_policy_yaml(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    config = config_dir(tmp_path)
    scheduler = _scheduler(settings, engine, config)
    times = job_times(scheduler)
    assert times.check() == []  # nothing changed: nothing touched
    before = {job.id: job.trigger for job in scheduler.get_jobs()}

    _edit_policy(
        config, {"digest_time": "09:30", "nightly_time": "03:00", "flag_missed_minutes": 20}
    )
    assert sorted(times.check()) == ["flag_missed", "nightly", "supervisors_digest"]
    assert _next(scheduler, "supervisors_digest") == datetime(2022, 5, 12, 9, 30, tzinfo=SH)
    assert _next(scheduler, "nightly") == datetime(2022, 5, 12, 3, 0, tzinfo=SH)
    assert _interval(scheduler, "flag_missed") == timedelta(minutes=20)
    after = {job.id: job.trigger for job in scheduler.get_jobs()}
    for job in ("dispatch_texts", "sync_reminders", "notify_alerts", "plan_next_week"):
        assert after[job] is before[job], job  # left alone
    assert times.check() == []  # once only

    # Another zone moves every job that runs at a local time, and no other.
    _edit_policy(config, timezone="Europe/Berlin")
    assert sorted(times.check()) == ["nightly", "plan_next_week", "supervisors_digest"]
    assert _next(scheduler, "nightly", WEDNESDAY) == datetime(2022, 5, 12, 3, 0, tzinfo=BERLIN)
    assert _next(scheduler, "plan_next_week") == datetime(2022, 5, 13, 12, 0, tzinfo=BERLIN)


def test_a_time_moved_to_one_already_passed_today_runs_the_job_at_once(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    config = config_dir(tmp_path)
    # Wednesday 07:00: the digest (08:00) has not run today, so it waits for its time.
    scheduler = _scheduler(settings, engine, config, now="2022-05-11T07:00:00+08:00")
    digest = scheduler.get_job("supervisors_digest")
    assert digest is not None and getattr(digest, "next_run_time", None) is None
    _edit_policy(config, {"digest_time": "06:30"})  # today's time is already past
    real_now = datetime.now(UTC)
    assert job_times(scheduler).check() == ["supervisors_digest"]
    digest = scheduler.get_job("supervisors_digest")
    assert digest is not None
    assert real_now <= digest.next_run_time <= real_now + timedelta(seconds=len(JOBS) + 5)
    # Later than now: it waits for that time (tomorrow's is the trigger's own business).
    _edit_policy(config, {"digest_time": "20:00"})
    assert job_times(scheduler).check() == ["supervisors_digest"]
    digest = scheduler.get_job("supervisors_digest")
    assert digest is not None and digest.next_run_time > real_now + timedelta(seconds=30)


def test_every_tick_looks_at_the_policy_first(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    config = config_dir(tmp_path)
    ctx = make_job_context(
        notify_settings(settings, config_dir=config, now="2022-05-11T15:00:00+08:00"), engine
    )
    scheduler = build_scheduler(ctx.app.settings, kind="background", ctx=ctx)
    probe = JobSpec("probe", lambda _ctx: "ran", lambda p: Every(timedelta(minutes=1)), 60)
    _edit_policy(config, {"plan_time": "18:45"})
    assert _run_job(probe, ctx, job_times(scheduler)) == "ran"
    assert _next(scheduler, "plan_next_week") == datetime(2022, 5, 13, 18, 45, tzinfo=SH)
    ctx.close()


def test_a_broken_edit_keeps_the_times_that_were_good(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    config = config_dir(tmp_path)
    scheduler = _scheduler(settings, engine, config)
    _edit_policy(config, {"plan_day": "someday"})
    assert job_times(scheduler).check() == []
    assert _next(scheduler, "plan_next_week") == datetime(2022, 5, 13, 12, 0, tzinfo=SH)


@pytest.mark.parametrize(
    ("jobs", "message"),
    [
        ({"plan_day": "someday"}, "plan_day"),
        ({"dispatch_seconds": 1}, "dispatch_seconds"),
        ({"digest_time": "25:00"}, "digest_time"),
        ({"every_minute": True}, "every_minute"),
    ],
)
def test_a_bad_jobs_section_is_refused_with_the_key(
    tmp_path: Path, jobs: dict[str, Any], message: str
) -> None:
    config = config_dir(tmp_path, jobs=jobs)
    with pytest.raises(UserError, match=message):
        load_policy(config)
