"""The periodic jobs: each a thin, idempotent call into a service.

Every job reads "now" from the settings' clock, so ``TESTROTA_NOW`` fixes it for demos and
tests. Jobs that must run once per period go through :func:`run_once_per_period`; the rest are
safe to run in every worker at once (their work rows are claimed or keyed in the database).

A job does its work or raises: services are imported here, at the top, so a job that names one
that does not exist cannot even be loaded, and nothing is skipped quietly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from testrota.actions.flagging import FlagDue, flag_due
from testrota.actions.plan import PlanWeek, plan_week
from testrota.actions.report import RemindLate, remind_late
from testrota.actions.rollup import HoldWeeks, LetPartsGo, hold_weeks, let_parts_go
from testrota.actions.units import ensure_units
from testrota.app import App
from testrota.audit import Actor
from testrota.jobs.once import OnceResult, run_once_per_period
from testrota.notify.backends import SmsBackend, build_backend
from testrota.notify.dispatcher import Dispatcher
from testrota.notify.enqueue import (
    enqueue_digests,
    enqueue_missed_notices,
    enqueue_positive_alerts,
)
from testrota.notify.enqueue import sync_reminders as sync_reminder_texts
from testrota.notify.retention import apply_retention
from testrota.policy import Policy
from testrota.privacy.retention import apply_privacy_retention

log = logging.getLogger(__name__)

# A dispatch tick keeps sending (and looking for rows falling due) this long, then the next
# tick (every 30 s) takes over; a SIGTERM stops it at once.
DISPATCH_BUDGET_SECONDS = 25.0


@dataclass
class JobContext:
    """A worker's running state around the shared :class:`App`: its name, its stop signal, its
    SMS backend and the hooks of the scheduler that runs the jobs."""

    app: App
    worker: str
    stop: threading.Event = field(default_factory=threading.Event)
    _backend: SmsBackend | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Set by the scheduler that runs us: send what was just queued now; run a failed job
    # (id, grace seconds) again soon; forget a job's failures.
    wake_dispatch: Callable[[], None] = lambda: None
    retry_failed: Callable[[str, int], None] = lambda job, grace: None
    job_succeeded: Callable[[str], None] = lambda job: None
    dispatching: threading.Event = field(default_factory=threading.Event)
    dispatch_seconds: float = DISPATCH_BUDGET_SECONDS

    @property
    def backend(self) -> SmsBackend:
        with self._lock:
            if self._backend is None:
                self._backend = build_backend(
                    self.app.settings,
                    self.app.policy.sms,
                    self.app.policy.channels,
                    self.app.engine,
                )
            return self._backend

    def now(self) -> datetime:
        return self.app.now()

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()


def dispatch_texts(ctx: JobContext) -> dict[str, Any]:
    ctx.dispatching.set()
    try:
        app = ctx.app
        report = Dispatcher(
            app.engine, ctx.backend, app.policy, app.clock, worker=ctx.worker, stop=ctx.stop
        ).run(max_seconds=ctx.dispatch_seconds, linger=True)
    finally:
        ctx.dispatching.clear()
    if report.sent or report.failed or report.retried or report.unknown:
        log.info("dispatch: %s", report.as_dict())
    return report.as_dict()


def sync_reminders(ctx: JobContext) -> dict[str, int]:
    report = sync_reminder_texts(ctx.app.engine, ctx.now(), ctx.app.policy, ctx.app.settings)
    if report.created:
        ctx.wake_dispatch()  # a reminder booked late may be due now
    return report.as_dict()


def notify_alerts(ctx: JobContext) -> int:
    created = enqueue_positive_alerts(ctx.app.engine, ctx.now(), ctx.app.policy, ctx.app.settings)
    if created:
        ctx.wake_dispatch()  # a positive result does not wait for the next tick
    return created


def flag_missed(ctx: JobContext) -> dict[str, int]:
    """Flag missed tests (the flagging use case), then text those who missed one."""
    now = ctx.now()
    flagged = flag_due(ctx.app, FlagDue()).missed
    notices = enqueue_missed_notices(ctx.app.engine, now, ctx.app.policy, ctx.app.settings)
    if notices:
        ctx.wake_dispatch()
    return {"flagged": flagged, "notices": notices}


def remind_late_confirmations(ctx: JobContext) -> int:
    """Texts to supervisors whose unit has not confirmed yesterday's daily report."""
    texts = remind_late(ctx.app, RemindLate(Actor.job("remind_late_confirmations")))
    if texts:
        ctx.wake_dispatch()
    return texts


def next_iso_week(now: datetime, policy: Policy) -> str:
    """The ISO week after the one ``now`` falls in, in the policy's zone: ``2022-W20``."""
    year, week, _ = (now.astimezone(policy.tz).date() + timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


def plan_next_week(ctx: JobContext) -> OnceResult:
    now = ctx.now()
    week = next_iso_week(now, ctx.app.policy)

    def work() -> dict[str, Any]:
        report = plan_week(ctx.app, PlanWeek(Actor.job("plan_next_week"), week)).report
        return {k: report.get(k) for k in ("week", "required", "scheduled") if k in report}

    return run_once_per_period(ctx.app.engine, "plan_next_week", week, ctx.worker, now, work)


def local_day(now: datetime, policy: Policy) -> str:
    return now.astimezone(policy.tz).date().isoformat()


def supervisors_digest(ctx: JobContext) -> OnceResult:
    now = ctx.now()

    def work() -> dict[str, int]:
        # A unit supervisor's share is found through each person's unit: place anyone not
        # placed yet (the first run after an upgrade), or they would count for nobody.
        ensure_units(ctx.app, Actor.job("supervisors_digest"))
        texts = enqueue_digests(ctx.app.engine, now, ctx.app.policy, ctx.app.settings)
        if texts:
            ctx.wake_dispatch()
        return {"texts": texts}

    return run_once_per_period(
        ctx.app.engine, "supervisors_digest", local_day(now, ctx.app.policy), ctx.worker, now, work
    )


def nightly(ctx: JobContext) -> OnceResult:
    """Retention, as the README's data-protection section says: finished texts, replies and
    reschedule offers (:mod:`testrota.notify.retention`), then test results, import error
    lists and stale heartbeats (:mod:`testrota.privacy.retention`), all past
    ``retention_days``; then the weekly roll-up takes in a new week, or weeks under a changed
    policy (:func:`testrota.actions.rollup.hold_weeks`), so the dashboard keeps reading it;
    then the people's parts of days a fortnight old are let go
    (:func:`testrota.actions.rollup.let_parts_go`)."""
    now = ctx.now()

    app = ctx.app

    def work() -> dict[str, Any]:
        texts = apply_retention(app.engine, now, app.policy)
        retention = {**texts, **apply_privacy_retention(app.engine, now, app.policy)}
        held = hold_weeks(app, HoldWeeks(Actor.job("nightly")))
        parts = let_parts_go(app, LetPartsGo(Actor.job("nightly")))
        return {
            "retention": retention,
            "weeks": {"counted": held.counted, "rows": held.rows},
            "parts_let_go": parts.parts,
        }

    return run_once_per_period(
        app.engine, "nightly", local_day(now, app.policy), ctx.worker, now, work
    )
