"""``testrota worker``: the periodic jobs under APScheduler 3.x.

Each worker keeps its jobs in APScheduler's memory job store: the jobs are defined here, in
code, not data, and two schedulers sharing one persistent job store run jobs twice or miss them
(APScheduler's FAQ; seen here as every tick running twice on one SQLite job store). Correctness
across processes comes from the database instead: work rows are claimed with SKIP LOCKED, and
once-per-period jobs record their run under an advisory lock (:mod:`testrota.jobs.once`).

Every job has ``coalesce=True`` (a backlog of missed ticks runs once), ``max_instances=1`` (a
slow tick is not overlapped by the next) and a misfire grace time chosen for it (APScheduler's
default is one second, which would skip a tick whenever the process is briefly busy). A worker
that starts after a once-per-period job's time has passed today (or this week) catches up at
once; the period guard makes that harmless when another worker already ran it.

A tick that raises is logged at ERROR with its job id and traceback and counted as a failure
(:mod:`testrota.observability.jobs`); a once-per-period run is also recorded as failed. The
frequent jobs simply tick again; a daily or weekly job that failed is tried again every
:data:`RETRY_FAILED_EVERY` while its misfire grace time lasts, instead of waiting a day or a
week for its next tick.

When the jobs run is the policy's ``jobs`` section. policy.yaml is read again when it changes
(:attr:`testrota.app.App.policy`), and every tick first compares the jobs' times in the policy
with those the scheduler was given (:class:`JobTimes`, a comparison of small values): a job
whose time changed is rescheduled at once, and runs at once if its new time has already passed
today (this week), as at a worker's start.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from testrota.app import build_app
from testrota.db.transient import run_again_if_transient
from testrota.jobs import tasks
from testrota.jobs.tasks import JobContext
from testrota.notify.dispatcher import worker_id
from testrota.observability.jobs import run_observed
from testrota.policy import WEEKDAYS, Policy, Weekday
from testrota.settings import Settings

log = logging.getLogger(__name__)

# A failed daily or weekly job runs again this long after its failure (within its grace time).
RETRY_FAILED_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class Every:
    """Run every ``interval``."""

    interval: timedelta

    def trigger(self) -> BaseTrigger:
        return IntervalTrigger(seconds=self.interval.total_seconds())

    def __str__(self) -> str:
        return f"every {self.interval}"


@dataclass(frozen=True)
class At:
    """Run at ``at`` local time in ``zone``, every day or on ``day`` only."""

    at: time
    zone: str
    day: Weekday | None = None

    def trigger(self) -> BaseTrigger:
        days = {"day_of_week": self.day} if self.day else {}
        return CronTrigger(
            hour=self.at.hour,
            minute=self.at.minute,
            second=self.at.second,
            timezone=ZoneInfo(self.zone),
            **days,
        )

    def __str__(self) -> str:
        return f"{self.day + ' ' if self.day else 'daily '}{self.at:%H:%M} {self.zone}"


When = Every | At


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[JobContext], Any]
    when: Callable[[Policy], When]  # from the policy's jobs section
    misfire_grace_time: int  # seconds a late tick may still run
    start_now: Callable[[datetime, Policy], bool] = lambda now, policy: False
    # Once a day or a week: a failure is tried again soon rather than at the next tick.
    retry_failed: bool = False

    def trigger(self, policy: Policy) -> BaseTrigger:
        return self.when(policy).trigger()


def _passed_today(at: Callable[[Policy], time]) -> Callable[[datetime, Policy], bool]:
    def check(now: datetime, policy: Policy) -> bool:
        return now.astimezone(policy.tz).time() >= at(policy)

    return check


def _plan_passed_this_week(now: datetime, policy: Policy) -> bool:
    local = now.astimezone(policy.tz)
    jobs = policy.jobs
    return (local.weekday(), local.time()) >= (WEEKDAYS.index(jobs.plan_day), jobs.plan_time)


def _always(now: datetime, policy: Policy) -> bool:
    return True


JOBS: tuple[JobSpec, ...] = (
    # Texts due now (every 30 s by default); a tick runs up to 25 s. A tick later than 30 s is
    # covered by the next one.
    JobSpec(
        "dispatch_texts",
        tasks.dispatch_texts,
        lambda p: Every(timedelta(seconds=p.jobs.dispatch_seconds)),
        30,
        _always,
    ),
    # Reminder rows for the coming 48 h (and cancelling moved ones): every 5 minutes.
    JobSpec(
        "sync_reminders",
        tasks.sync_reminders,
        lambda p: Every(timedelta(minutes=p.jobs.reminders_minutes)),
        300,
        _always,
    ),
    # Positive results must reach supervisors fast: every minute.
    JobSpec(
        "notify_alerts",
        tasks.notify_alerts,
        lambda p: Every(timedelta(minutes=p.jobs.alerts_minutes)),
        60,
        _always,
    ),
    # Missed tests and the notices offering a new slot: every 10 minutes.
    JobSpec(
        "flag_missed",
        tasks.flag_missed,
        lambda p: Every(timedelta(minutes=p.jobs.flag_missed_minutes)),
        600,
        _always,
    ),
    # Daily reports not confirmed upward past report.confirm_by: their supervisors, each tick
    # (a unit and day is texted once).
    JobSpec(
        "remind_late_confirmations",
        tasks.remind_late_confirmations,
        lambda p: Every(timedelta(minutes=p.report.remind_minutes)),
        600,
        _always,
    ),
    # Next week's plan, Friday noon; worth running hours late rather than not at all.
    JobSpec(
        "plan_next_week",
        tasks.plan_next_week,
        lambda p: At(p.jobs.plan_time, p.timezone, p.jobs.plan_day),
        6 * 3600,
        _plan_passed_this_week,
        retry_failed=True,
    ),
    # Yesterday's missed tests for each supervisor at 08:00; useless after midday.
    JobSpec(
        "supervisors_digest",
        tasks.supervisors_digest,
        lambda p: At(p.jobs.digest_time, p.timezone),
        4 * 3600,
        _passed_today(lambda p: p.jobs.digest_time),
        retry_failed=True,
    ),
    # Retention at night.
    JobSpec(
        "nightly",
        tasks.nightly,
        lambda p: At(p.jobs.nightly_time, p.timezone),
        3 * 3600,
        _passed_today(lambda p: p.jobs.nightly_time),
        retry_failed=True,
    ),
)


class JobTimes:
    """The times the scheduler's jobs were given, and the check that gives them the policy's
    new ones. :meth:`check` runs at the start of every tick: it costs a look at policy.yaml's
    modification time and a comparison of seven small values."""

    def __init__(self, scheduler: BaseScheduler, ctx: JobContext) -> None:
        self.scheduler, self.ctx = scheduler, ctx
        self._lock = threading.Lock()
        self.given: dict[str, When] = {spec.id: spec.when(ctx.app.policy) for spec in JOBS}

    def first_run(self, spec: JobSpec, policy: Policy, index: int) -> datetime | None:
        """When a job just (re)scheduled runs first: at once (a few seconds apart, so ticks do
        not all start together) when its time has passed today or this week, else None (its
        trigger decides)."""
        if not spec.start_now(self.ctx.now(), policy):
            return None
        return datetime.now(policy.tz) + timedelta(seconds=index)

    def check(self) -> list[str]:
        """Reschedule every job whose time in the policy changed; their ids."""
        policy = self.ctx.app.policy
        changed: list[str] = []
        with self._lock:
            for index, spec in enumerate(JOBS):
                when = spec.when(policy)
                if when == self.given[spec.id]:
                    continue
                self.given[spec.id] = when
                changed.append(spec.id)
                job = self.scheduler.get_job(spec.id)
                if job is None:
                    continue
                trigger = when.trigger()
                first = self.first_run(spec, policy, index) or trigger.get_next_fire_time(
                    None, datetime.now(policy.tz)
                )
                # modify_job, not reschedule_job: that one would drop a catch-up run.
                job.modify(trigger=trigger, next_run_time=first)
                log.warning("job %s now runs %s (policy.yaml changed)", spec.id, when)
            if changed and self.scheduler.running:
                self.scheduler.wakeup()
        return changed


def retry_time(failing_since: datetime, now: datetime, grace_seconds: int) -> datetime | None:
    """When to run a failed daily or weekly job again: :data:`RETRY_FAILED_EVERY` after
    ``now``, or None once that is more than its grace time after it first failed
    (``failing_since``). Within the grace time its own tick would still have run; after it, a
    retry would do late what is no longer wanted (a morning digest at night)."""
    at = now + RETRY_FAILED_EVERY
    return at if at - failing_since <= timedelta(seconds=grace_seconds) else None


def make_job_context(
    settings: Settings, engine: Engine | None = None, stop: threading.Event | None = None
) -> JobContext:
    return JobContext(
        app=build_app(settings, engine=engine), worker=worker_id(), stop=stop or threading.Event()
    )


def _run_job(spec: JobSpec, ctx: JobContext, times: JobTimes | None = None) -> Any:
    """APScheduler calls this; a failing job is logged, counted and tried again. A run that
    met a deadlock is run again at once (:mod:`testrota.db.transient`). First the jobs' times
    are compared with the policy's (``times``)."""
    if ctx.stop.is_set():
        return None
    if times is not None:
        try:
            times.check()
        except Exception:  # rescheduling must never cost a tick; the next one tries again
            log.exception("could not reschedule the jobs after a change of policy.yaml")

    failures: list[BaseException] = []

    def failed(exc: BaseException) -> None:
        failures.append(exc)
        if spec.retry_failed:
            ctx.retry_failed(spec.id, spec.misfire_grace_time)

    def tick() -> Any:
        return run_again_if_transient(lambda: spec.func(ctx), f"job {spec.id}")

    result = run_observed(ctx.app.engine, spec.id, ctx.worker, tick, failed)
    if not failures:
        ctx.job_succeeded(spec.id)
    return result


def build_scheduler(
    settings: Settings,
    engine: Engine | None = None,
    kind: Literal["blocking", "background"] = "blocking",
    *,
    ctx: JobContext | None = None,
) -> BaseScheduler:
    """A scheduler (not started) with every job of :data:`JOBS`, each on the memory job store."""
    ctx = ctx or make_job_context(settings, engine)
    cls = BlockingScheduler if kind == "blocking" else BackgroundScheduler
    scheduler = cls(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=len(JOBS))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        timezone=ctx.app.policy.tz,
    )
    times = JobTimes(scheduler, ctx)
    policy = ctx.app.policy
    for index, spec in enumerate(JOBS):
        kwargs: dict[str, Any] = {}
        first = times.first_run(spec, policy, index)
        if first is not None:
            kwargs["next_run_time"] = first
        scheduler.add_job(
            _run_job,
            times.given[spec.id].trigger(),
            args=[spec, ctx, times],
            id=spec.id,
            name=spec.id,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=spec.misfire_grace_time,
            replace_existing=True,
            **kwargs,
        )

    def wake_dispatch() -> None:
        # Texts just queued and due now go at once, not at the next 30-second tick. While a
        # dispatch tick runs, it picks them up itself (it lingers, looking every second).
        if ctx.dispatching.is_set():
            return
        try:
            job = scheduler.get_job("dispatch_texts")
            if job is not None and scheduler.running:
                job.modify(next_run_time=datetime.now(ctx.app.policy.tz))
                scheduler.wakeup()
        except Exception:  # waking early is an optimisation, never a reason to fail a job
            log.debug("could not wake the dispatch job", exc_info=True)

    failing_since: dict[str, datetime] = {}

    def retry_failed(job_id: str, grace_seconds: int) -> None:
        wall = datetime.now(ctx.app.policy.tz)
        at = retry_time(failing_since.setdefault(job_id, wall), wall, grace_seconds)
        if at is None:
            failing_since.pop(job_id, None)
            log.error("job %s failed and is not tried again before its next tick", job_id)
            return
        job = scheduler.get_job(job_id)
        if (
            job is not None
            and scheduler.running
            and (job.next_run_time is None or job.next_run_time > at)
        ):
            job.modify(next_run_time=at)
            log.warning("job %s will be tried again at %s", job_id, at.isoformat())

    def succeeded(job_id: str) -> None:
        failing_since.pop(job_id, None)

    ctx.wake_dispatch = wake_dispatch
    ctx.retry_failed = retry_failed
    ctx.job_succeeded = succeeded
    return scheduler


def job_times(scheduler: BaseScheduler) -> JobTimes:
    """The :class:`JobTimes` of a scheduler made by :func:`build_scheduler`."""
    job = scheduler.get_job(JOBS[0].id)
    times = job.args[2] if job is not None else None
    if not isinstance(times, JobTimes):
        raise LookupError("not a scheduler of build_scheduler")
    return times


class Worker:
    """A scheduler with its job context: start, and shut down gracefully.

    Shutting down sets the stop flag first, so a dispatch tick in progress stops claiming,
    gives back the rows whose send had not started and records the sends on the wire; then
    the scheduler waits for running jobs.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        kind: Literal["blocking", "background"] = "blocking",
    ) -> None:
        self.ctx = make_job_context(settings, engine)
        self.scheduler = build_scheduler(settings, kind=kind, ctx=self.ctx)
        self._stopping = threading.Lock()

    def start(self) -> None:
        log.info("worker %s starting %d jobs", self.ctx.worker, len(JOBS))
        self.scheduler.start()

    def shutdown(self) -> None:
        if not self._stopping.acquire(blocking=False):
            return
        log.info("worker %s stopping", self.ctx.worker)
        self.ctx.stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.ctx.close()


def run_worker(settings: Settings, engine: Engine | None = None) -> None:
    """Run every job until SIGTERM or SIGINT (``testrota worker``)."""
    worker = Worker(settings, engine, kind="blocking")

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s", signal.Signals(signum).name)
        worker.shutdown()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker.start()  # blocks until shut down
    worker.shutdown()
