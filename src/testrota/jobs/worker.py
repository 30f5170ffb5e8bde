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
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal

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
from testrota.jobs import tasks
from testrota.jobs.tasks import JobContext
from testrota.notify.dispatcher import worker_id
from testrota.observability.jobs import run_observed
from testrota.policy import Policy
from testrota.settings import Settings

log = logging.getLogger(__name__)

PLAN_DAY, PLAN_TIME = "fri", time(12, 0)  # plan next week, Friday noon local
DIGEST_TIME = time(8, 0)  # supervisors' digest, local
NIGHTLY_TIME = time(2, 30)  # retention, local
# A failed daily or weekly job runs again this long after its failure (within its grace time).
RETRY_FAILED_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[JobContext], Any]
    trigger: Callable[[Policy], BaseTrigger]
    misfire_grace_time: int  # seconds a late tick may still run
    start_now: Callable[[datetime, Policy], bool] = lambda now, policy: False
    # Once a day or a week: a failure is tried again soon rather than at the next tick.
    retry_failed: bool = False


def _passed_today(at: time) -> Callable[[datetime, Policy], bool]:
    def check(now: datetime, policy: Policy) -> bool:
        return now.astimezone(policy.tz).time() >= at

    return check


def _plan_passed_this_week(now: datetime, policy: Policy) -> bool:
    local = now.astimezone(policy.tz)
    return (local.weekday(), local.time()) >= (4, PLAN_TIME)


def _always(now: datetime, policy: Policy) -> bool:
    return True


JOBS: tuple[JobSpec, ...] = (
    # Texts due now; a tick runs up to 25 s. A tick later than 30 s is covered by the next one.
    JobSpec("dispatch_texts", tasks.dispatch_texts,
            lambda p: IntervalTrigger(seconds=30), 30, _always),
    # Reminder rows for the coming 48 h (and cancelling moved ones): every 5 minutes.
    JobSpec("sync_reminders", tasks.sync_reminders,
            lambda p: IntervalTrigger(minutes=5), 300, _always),
    # Positive results must reach supervisors fast: every minute.
    JobSpec("notify_alerts", tasks.notify_alerts,
            lambda p: IntervalTrigger(minutes=1), 60, _always),
    # Missed tests and the notices offering a new slot: every 10 minutes.
    JobSpec("flag_missed", tasks.flag_missed,
            lambda p: IntervalTrigger(minutes=10), 600, _always),
    # Next week's plan, Friday noon; worth running hours late rather than not at all.
    JobSpec("plan_next_week", tasks.plan_next_week,
            lambda p: CronTrigger(day_of_week=PLAN_DAY, hour=PLAN_TIME.hour,
                                  minute=PLAN_TIME.minute, timezone=p.tz),
            6 * 3600, _plan_passed_this_week, retry_failed=True),
    # Yesterday's missed tests for each supervisor at 08:00; useless after midday.
    JobSpec("supervisors_digest", tasks.supervisors_digest,
            lambda p: CronTrigger(hour=DIGEST_TIME.hour, minute=DIGEST_TIME.minute,
                                  timezone=p.tz),
            4 * 3600, _passed_today(DIGEST_TIME), retry_failed=True),
    # Retention at night.
    JobSpec("nightly", tasks.nightly,
            lambda p: CronTrigger(hour=NIGHTLY_TIME.hour, minute=NIGHTLY_TIME.minute,
                                  timezone=p.tz),
            3 * 3600, _passed_today(NIGHTLY_TIME), retry_failed=True),
)


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
    return JobContext(app=build_app(settings, engine=engine), worker=worker_id(),
                      stop=stop or threading.Event())


def _run_job(spec: JobSpec, ctx: JobContext) -> Any:
    """APScheduler calls this; a failing job is logged, counted and tried again."""
    if ctx.stop.is_set():
        return None

    failures: list[BaseException] = []

    def failed(exc: BaseException) -> None:
        failures.append(exc)
        if spec.retry_failed:
            ctx.retry_failed(spec.id, spec.misfire_grace_time)

    result = run_observed(ctx.app.engine, spec.id, ctx.worker, lambda: spec.func(ctx), failed)
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
    now = ctx.now()
    for spec in JOBS:
        kwargs: dict[str, Any] = {}
        if spec.start_now(now, ctx.app.policy):
            # First run right away (a few seconds apart, so ticks do not all start at once).
            kwargs["next_run_time"] = datetime.now(ctx.app.policy.tz) + timedelta(
                seconds=JOBS.index(spec)
            )
        scheduler.add_job(
            _run_job, spec.trigger(ctx.app.policy), args=[spec, ctx], id=spec.id, name=spec.id,
            coalesce=True, max_instances=1, misfire_grace_time=spec.misfire_grace_time,
            replace_existing=True, **kwargs,
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
        if job is not None and scheduler.running and (
            job.next_run_time is None or job.next_run_time > at
        ):
            job.modify(next_run_time=at)
            log.warning("job %s will be tried again at %s", job_id, at.isoformat())

    def succeeded(job_id: str) -> None:
        failing_since.pop(job_id, None)

    ctx.wake_dispatch = wake_dispatch
    ctx.retry_failed = retry_failed
    ctx.job_succeeded = succeeded
    return scheduler


class Worker:
    """A scheduler with its job context: start, and shut down gracefully.

    Shutting down sets the stop flag first, so a dispatch tick in progress stops claiming,
    gives back the rows whose send had not started and records the sends on the wire; then
    the scheduler waits for running jobs.
    """

    def __init__(self, settings: Settings, engine: Engine | None = None,
                 kind: Literal["blocking", "background"] = "blocking") -> None:
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
