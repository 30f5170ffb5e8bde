"""``/metrics``: what the database says right now, in the Prometheus text format.

Nothing is counted in process memory: several web processes answer scrapes and several workers
do the work, so every figure is read from the database at scrape time, by a handful of
aggregate queries on indexed columns (the outbox's ``(status, due_at)``, appointments'
``starts_at``, results' ``sampled_at``, the small job tables). :func:`collect` runs them;
:func:`render` is the pure exposition (text format 0.0.4).

Two clocks: figures about the data (due backlog, "today") use the application clock, so they
follow ``TESTROTA_NOW`` like the services; figures about the worker processes (heartbeats) use
the wall clock, because "no job ran in ten minutes" is about real time.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, case, func, or_, select, text

from testrota.audit import Action
from testrota.db import tables
from testrota.policy import Policy
from testrota.statuses import JobRunStatus
from testrota.weeks import day_bounds

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

M: Table = tables.MESSAGE
A: Table = tables.APPOINTMENT
P: Table = tables.PERSON
AL: Table = tables.ALERT
J: Table = tables.JOB_RUN
H: Table = tables.JOB_HEARTBEAT
RI: Table = tables.ROSTER_IMPORT
AE: Table = tables.AUDIT_EVENT
TR: Table = tables.TEST_RESULT

# A worker whose last tick started longer ago than this is not counted as alive. Its most
# frequent job (dispatch) ticks every 30 s, so this is several missed ticks.
ALIVE_WITHIN = timedelta(minutes=5)
# Statuses always exported (0 when absent), so an alert rule's series exists from the start.
TEXT_STATUSES = ("pending", "sending", "sent", "delivered", "undelivered", "failed", "unknown",
                 "expired", "cancelled", "skipped")
OPEN_STATUSES = ("pending", "sending", "unknown")
WINDOWS = (("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)))
APPOINTMENT_STATUSES = ("scheduled", "done", "missed", "excused", "cancelled")
RESULTS = ("pending", "negative", "positive", "invalid")
LAST_IMPORT_FIELDS = ("rows", "added", "updated", "unchanged", "deactivated", "skipped",
                      "high_risk")


Labels = tuple[tuple[str, str], ...]


@dataclass
class Metric:
    name: str
    kind: str  # gauge | counter
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)

    def add(self, value: float | None, **labels: str) -> Metric:
        if value is not None:
            self.samples.append((tuple(labels.items()), float(value)))
        return self


# --- exposition (pure) ----------------------------------------------------------------------------


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def render(metrics: Iterable[Metric]) -> str:
    """The Prometheus text exposition of ``metrics`` (HELP and TYPE lines, then samples)."""
    lines: list[str] = []
    for metric in metrics:
        lines.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for labels, value in metric.samples:
            label_text = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels)
            name = f"{metric.name}{{{label_text}}}" if label_text else metric.name
            lines.append(f"{name} {_number(value)}")
    return "\n".join(lines) + "\n"


# --- collection (I/O) -----------------------------------------------------------------------------


def _seconds(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()


def _texts(conn: Connection, now: datetime) -> list[Metric]:
    # Every query below is a range of the outbox's (status, due_at) index: finished texts are
    # counted over recent windows only, so a scrape costs the same after a year of texts.
    open_counts: dict[str, int] = dict(conn.execute(
        select(M.c.status, func.count()).where(M.c.status.in_(OPEN_STATUSES))
        .group_by(M.c.status)
    ).all())
    unfinished = Metric("testrota_texts_open", "gauge",
                        "Texts not finished yet, by status (pending includes texts due later).")
    for status in OPEN_STATUSES:
        unfinished.add(open_counts.get(status, 0), status=status)
    recent = Metric("testrota_texts_recent", "gauge",
                    "Texts due within the window (1h, 24h) before now, by their status now.")
    for window, span in WINDOWS:
        counts: dict[str, int] = dict(conn.execute(
            select(M.c.status, func.count())
            .where(M.c.status.in_(TEXT_STATUSES), M.c.due_at > now - span, M.c.due_at <= now)
            .group_by(M.c.status)
        ).all())
        for status in TEXT_STATUSES:
            recent.add(counts.get(status, 0), status=status, window=window)
    due, oldest = conn.execute(
        select(func.count(), func.min(M.c.due_at)).where(
            M.c.status == "pending", M.c.due_at <= now,
            or_(M.c.next_attempt_at.is_(None), M.c.next_attempt_at <= now),
        )
    ).one()
    sending_since = conn.execute(
        select(func.min(M.c.claimed_at)).where(M.c.status == "sending")
    ).scalar()
    return [
        unfinished,
        recent,
        Metric("testrota_texts_due", "gauge",
               "Pending texts due now (their due time and any retry time have passed).")
        .add(due),
        Metric("testrota_texts_oldest_due_age_seconds", "gauge",
               "How long the oldest text due now has been due (0 when none is due).")
        .add(max((now - oldest).total_seconds(), 0.0) if oldest else 0.0),
        Metric("testrota_texts_oldest_sending_age_seconds", "gauge",
               "How long the oldest text claimed by a dispatcher has been in flight "
               "(0 when none is).")
        .add(max((now - sending_since).total_seconds(), 0.0) if sending_since else 0.0),
    ]


def _heartbeats(conn: Connection, wall_now: datetime) -> list[Metric]:
    rows = conn.execute(select(H)).mappings().all()
    runs = Metric("testrota_job_runs_total", "counter", "Ticks of each periodic job, all workers.")
    failures = Metric("testrota_job_failures_total", "counter",
                      "Ticks of each periodic job that raised an error, all workers.")
    seconds = Metric("testrota_job_duration_seconds_total", "counter",
                     "Seconds spent in each periodic job, all workers (divide by runs: mean).")
    last = Metric("testrota_job_last_duration_seconds", "gauge",
                  "Duration of the latest tick of each job.")
    finished = Metric("testrota_job_last_finished_timestamp_seconds", "gauge",
                      "When the latest tick of each job ended (Unix time, wall clock).")
    ok = Metric("testrota_job_last_success_timestamp_seconds", "gauge",
                "When the latest successful tick of each job ended (Unix time, wall clock).")
    by_job: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_job[row["job"]].append(row)
    for job in sorted(by_job):
        group = by_job[job]
        latest = max(group, key=lambda r: r["last_finished_at"])
        runs.add(sum(r["runs"] for r in group), job=job)
        failures.add(sum(r["failures"] for r in group), job=job)
        seconds.add(round(sum(r["duration_seconds_total"] for r in group), 6), job=job)
        last.add(latest["last_duration_seconds"], job=job)
        finished.add(_seconds(latest["last_finished_at"]), job=job)
        oks = [r["last_ok_at"] for r in group if r["last_ok_at"] is not None]
        ok.add(_seconds(max(oks)) if oks else None, job=job)
    alive = {r["worker"] for r in rows if r["last_started_at"] >= wall_now - ALIVE_WITHIN}
    latest_any = max((r["last_finished_at"] for r in rows), default=None)
    return [
        runs, failures, seconds, last, finished, ok,
        Metric("testrota_workers_alive", "gauge",
               f"Worker processes with a job tick in the last {ALIVE_WITHIN.seconds // 60} "
               "minutes.").add(len(alive)),
        Metric("testrota_job_seconds_since_last_tick", "gauge",
               "Seconds since any job of any worker last finished a tick (wall clock; -1 when "
               "no tick was ever recorded).")
        .add((wall_now - latest_any).total_seconds() if latest_any else -1.0),
    ]


# JobRun's status as the metric's state label (the label predates the status column).
RUN_STATES = {JobRunStatus.DONE: "finished", JobRunStatus.FAILED: "failed",
              JobRunStatus.RUNNING: "unfinished"}


def _job_runs(conn: Connection) -> list[Metric]:
    rows = conn.execute(
        select(J.c.job, J.c.status, func.count(), func.max(J.c.finished_at))
        .group_by(J.c.job, J.c.status)
    ).all()
    runs = Metric("testrota_period_job_runs", "gauge",
                  "Runs of the once-per-period jobs (plan, digest, nightly) recorded in JobRun, "
                  "by state: finished, failed (and not yet done by a retry), or unfinished "
                  "(running, or its worker died).")
    last = Metric("testrota_period_job_last_finished_timestamp_seconds", "gauge",
                  "When each once-per-period job last finished (Unix time, application clock).")
    latest: dict[str, datetime] = {}
    order = list(RUN_STATES)
    for job, status, count, finished_at in sorted(
        rows, key=lambda r: (r[0], order.index(JobRunStatus(r[1])))
    ):
        runs.add(count, job=job, state=RUN_STATES[JobRunStatus(status)])
        if finished_at is not None:
            latest[job] = max(finished_at, latest.get(job, finished_at))
    for job, at in sorted(latest.items()):
        last.add(at.timestamp(), job=job)
    return [runs, last]


def _today(conn: Connection, now: datetime, policy: Policy) -> list[Metric]:
    start, end = day_bounds(now.astimezone(policy.tz).date(), policy.tz)
    by_status: dict[str, int] = dict(conn.execute(
        select(A.c.status, func.count())
        .where(A.c.starts_at >= start, A.c.starts_at < end).group_by(A.c.status)
    ).all())
    appointments = Metric("testrota_appointments_today", "gauge",
                          "Appointments whose slot starts today (local day of the policy's time "
                          "zone), by status.")
    for status in sorted(set(APPOINTMENT_STATUSES) | set(by_status)):
        appointments.add(by_status.get(status, 0), status=status)
    results: dict[str, int] = dict(conn.execute(
        select(TR.c.result, func.count())
        .where(TR.c.sampled_at >= start, TR.c.sampled_at < end).group_by(TR.c.result)
    ).all())
    samples = Metric("testrota_test_results_today", "gauge",
                     "Samples taken today (check-ins and lab results), by result.")
    for result in sorted(set(RESULTS) | set(results)):
        samples.add(results.get(result, 0), result=result)
    return [
        Metric("testrota_missed_tests_today", "gauge",
               "Appointments of today flagged missed (a slot counts as missed a grace period "
               "after it ends).").add(by_status.get("missed", 0)),
        appointments,
        samples,
    ]


def _imports(conn: Connection) -> list[Metric]:
    count, last_at = conn.execute(select(func.count(), func.max(RI.c.imported_at))).one()
    latest = conn.execute(select(RI.c.counts, RI.c.errors).order_by(RI.c.id.desc()).limit(1)
                          ).first()
    results_count, results_at = conn.execute(
        select(func.count(), func.max(AE.c.at)).where(AE.c.action == Action.RESULTS_IMPORTED)
    ).one()
    last = Metric("testrota_roster_last_import", "gauge",
                  "Counts of the latest roster import, by field.")
    if latest is not None:
        counts = latest.counts or {}
        for name in LAST_IMPORT_FIELDS:
            if isinstance(counts.get(name), int | float):
                last.add(counts[name], field=name)
        last.add(len(latest.errors or []), field="errors")
    return [
        Metric("testrota_roster_imports_total", "counter", "Roster imports applied.").add(count),
        Metric("testrota_roster_last_import_timestamp_seconds", "gauge",
               "When the latest roster import was applied (Unix time).").add(_seconds(last_at)),
        last,
        Metric("testrota_results_imports_total", "counter", "Result files imported.")
        .add(results_count),
        Metric("testrota_results_last_import_timestamp_seconds", "gauge",
               "When the latest result file was imported (Unix time).")
        .add(_seconds(results_at)),
    ]


def _people(conn: Connection) -> list[Metric]:
    rows = conn.execute(
        select(P.c.risk_category, func.count(),
               func.sum(case((P.c.opted_out.is_(True), 1), else_=0)))
        .where(P.c.active.is_(True)).group_by(P.c.risk_category)
    ).all()
    active = sum(n for _, n, _ in rows)
    opted_out = sum(int(o or 0) for _, _, o in rows)
    by_category = Metric("testrota_people_high_risk", "gauge",
                         "Active people in a high-risk category, by category.")
    for category, n, _ in sorted((r for r in rows if r[0]), key=lambda r: r[0]):
        by_category.add(n, category=category)
    return [
        Metric("testrota_people_active", "gauge", "Active people on the roster.").add(active),
        Metric("testrota_people_high_risk_total", "gauge",
               "Active people in any high-risk category.")
        .add(sum(n for c, n, _ in rows if c)),
        by_category,
        Metric("testrota_people_opted_out", "gauge", "Active people who opted out of texts.")
        .add(opted_out),
    ]


def _alerts(conn: Connection) -> list[Metric]:
    by_status: dict[str, int] = dict(
        conn.execute(select(AL.c.status, func.count()).group_by(AL.c.status)).all()
    )
    return [
        Metric("testrota_alerts_open", "gauge", "Positive-result alerts not yet closed.")
        .add(by_status.get("open", 0)),
        Metric("testrota_alerts_total", "gauge", "Positive-result alerts, open or closed.")
        .add(sum(by_status.values())),
    ]


def collect(
    engine: Engine, now: datetime, policy: Policy, wall_now: datetime
) -> list[Metric]:
    """Every metric, read in one read-only transaction."""
    started = time.perf_counter()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # A scrape must never hold up the database; Prometheus retries on the next one.
            conn.execute(text("SET LOCAL statement_timeout = '10s'"))
        metrics = [
            *_texts(conn, now),
            *_heartbeats(conn, wall_now),
            *_job_runs(conn),
            *_today(conn, now, policy),
            *_imports(conn),
            *_people(conn),
            *_alerts(conn),
        ]
        conn.rollback()
    metrics.append(
        Metric("testrota_metrics_scrape_seconds", "gauge",
               "Time taken to read these figures from the database.")
        .add(round(time.perf_counter() - started, 6))
    )
    return metrics


def exposition(engine: Engine, now: datetime, policy: Policy, wall_now: datetime) -> str:
    return render(collect(engine, now, policy, wall_now))


def sample_value(text_: str, name: str, **labels: str) -> float | None:
    """The value of one sample in an exposition (for tests and ``doctor``); None if absent."""
    want = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items())
    prefix = f"{name}{{{want}}} " if want else f"{name} "
    for line in text_.splitlines():
        if line.startswith(prefix):
            value = line[len(prefix):]
            return float(value)
    return None
