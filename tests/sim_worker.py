"""A ``testrota worker`` whose job schedule runs on the simulated clock.

``testrota worker`` fires its jobs from APScheduler on the machine's real clock (reminders
every 5 minutes, missed tests every 10...), so it cannot follow a clock that jumps half an hour
every few hundred milliseconds. This process runs the worker's own job table
(:data:`testrota.jobs.worker.JOBS`), each job through its own function with the worker's own
:class:`~testrota.jobs.tasks.JobContext`, but decides *when* from the clock file
(``TESTROTA_CLOCK_FILE``): interval jobs whose interval has passed in simulated time and cron
jobs whose time was crossed run once (coalesced, as the worker's scheduler does). The texts
then go out as one dispatcher pass that sends everything due (``testrota dispatch --once``):
the worker's 25-second lingering tick would only add real seconds to every simulated step.

The driver commands it over stdin, one JSON line per round (``{"round": 7, "at": ISO}``); it
answers on stdout with one JSON line when the round is done, so the driver knows when the
system has settled at that moment. ``{"stop": true}`` or the end of stdin stops it.

    python -m tests.sim_worker
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from testrota.jobs.worker import JOBS, JobSpec, make_job_context
from testrota.notify.dispatcher import Dispatcher
from testrota.policy import Policy
from testrota.settings import get_settings

log = logging.getLogger("tests.sim_worker")

DISPATCH = "dispatch_texts"


class SimSchedule:
    """When each job of the worker's table is due, judged on simulated time."""

    def __init__(self, jobs: tuple[JobSpec, ...], policy: Policy) -> None:
        self.jobs = jobs
        self.policy = policy
        self.triggers = {spec.id: spec.trigger(policy) for spec in jobs}
        self.next_fire: dict[str, datetime | None] = {}
        self.last_run: dict[str, datetime] = {}
        self.started = False

    def due(self, now: datetime) -> list[JobSpec]:
        """The jobs to run at ``now`` (each once, however many of its times were crossed)."""
        local = now.astimezone(self.policy.tz)
        out = []
        for spec in self.jobs:
            trigger = self.triggers[spec.id]
            if isinstance(trigger, IntervalTrigger):
                last = self.last_run.get(spec.id)
                run = last is None or now - last >= trigger.interval
            else:
                assert isinstance(trigger, CronTrigger)
                after = local + timedelta(microseconds=1)
                if not self.started:
                    # A worker started after today's (this week's) time runs the job at once.
                    run = spec.start_now(now, self.policy)
                    self.next_fire[spec.id] = trigger.get_next_fire_time(None, after)
                else:
                    fire = self.next_fire.get(spec.id)
                    run = False
                    if fire is not None and fire <= local:
                        # Coalesced: one run for every fire time crossed, unless even the
                        # latest of them is older than the job's misfire grace time.
                        latest = fire
                        while True:
                            nxt = trigger.get_next_fire_time(
                                latest, latest + timedelta(microseconds=1)
                            )
                            if nxt is None or nxt > local:
                                break
                            latest = nxt
                        run = (local - latest).total_seconds() <= spec.misfire_grace_time
                        self.next_fire[spec.id] = trigger.get_next_fire_time(None, after)
            if run:
                self.last_run[spec.id] = now
                out.append(spec)
        self.started = True
        return out


def _run_round(ctx: Any, schedule: SimSchedule) -> dict[str, Any]:
    now = ctx.now()
    started = time.perf_counter()
    jobs: dict[str, Any] = {}
    took: dict[str, float] = {}
    errors: dict[str, str] = {}
    due = schedule.due(now)

    def run(spec: JobSpec) -> None:
        t0 = time.perf_counter()
        try:
            result = spec.func(ctx)
            jobs[spec.id] = getattr(result, "reason", None) or result
        except Exception as exc:  # the worker logs a failing job and tries at the next tick
            log.error("job %s failed:\n%s", spec.id, traceback.format_exc())
            errors[spec.id] = f"{type(exc).__name__}: {exc}"[:500]
        took[spec.id] = round(time.perf_counter() - t0, 4)

    # As in the worker, the jobs run side by side in threads; the texts they queue go out in
    # the dispatcher pass after them. On SQLite one after another: every transaction there
    # takes the one write lock, and threads of one process waiting for it only add SQLite's
    # busy-wait sleeps (up to 100 ms each) to every round.
    others = [spec for spec in due if spec.id != DISPATCH]
    if ctx.app.engine.dialect.name == "sqlite":
        for spec in others:
            run(spec)
    else:
        with ThreadPoolExecutor(max(1, len(others))) as pool:
            list(pool.map(run, others))
    dispatch: dict[str, Any] = {}
    if any(spec.id == DISPATCH for spec in due):
        t0 = time.perf_counter()
        try:
            report = Dispatcher(
                ctx.app.engine,
                ctx.backend,
                ctx.app.policy,
                ctx.app.clock,
                worker=ctx.worker,
                stop=ctx.stop,
            ).run()
            dispatch = report.as_dict()
        except Exception as exc:
            log.error("dispatch failed:\n%s", traceback.format_exc())
            errors[DISPATCH] = f"{type(exc).__name__}: {exc}"[:500]
        took[DISPATCH] = round(time.perf_counter() - t0, 4)
    return {
        "at": now.isoformat(),
        "jobs": _plain(jobs),
        "dispatch": dispatch,
        "errors": errors,
        "took": took,
        "seconds": round(time.perf_counter() - started, 4),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def main() -> int:
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = get_settings()
    if settings.clock_file is None:
        print("tests.sim_worker needs TESTROTA_CLOCK_FILE", file=sys.stderr)
        return 2
    ctx = make_job_context(settings)
    schedule = SimSchedule(JOBS, ctx.app.policy)
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command.get("stop"):
                break
            answer = _run_round(ctx, schedule)
            answer["round"] = command.get("round")
            expected = command.get("at")
            if expected and datetime.fromisoformat(expected) != ctx.now():
                answer["errors"]["clock"] = f"clock reads {ctx.now()}, driver said {expected}"
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    finally:
        ctx.stop.set()
        ctx.close()
        ctx.app.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
