"""``/metrics``: what the database says right now, through ``prometheus_client``.

Nothing is counted in process memory: several web processes answer scrapes and several workers
do the work, so every figure is read from the database at scrape time, by a handful of
aggregate queries on indexed columns (the outbox's ``(status, due_at)``, appointments'
``starts_at``, results' ``sampled_at``, the small job tables). :class:`DatabaseCollector` is a
``prometheus_client`` collector that runs them when a registry is scraped; the library writes
the exposition.

Counters only ever go up: the job counters are sums over the job heartbeats, whose rows are
only incremented, and whose rows of workers long gone are folded into a per-job row before
they are deleted (:func:`testrota.observability.jobs.prune_heartbeats`); imports are counted
from rows nothing deletes. Figures that can go down (texts, people, alerts kept) are gauges,
and no gauge is named ``*_total``.

Two clocks: figures about the data (due backlog, "today") use the application clock, so they
follow ``TESTROTA_NOW`` like the services; figures about the worker processes (heartbeats) use
the wall clock, because "no job ran in ten minutes" is about real time.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection, Engine, Table, case, func, or_, select, text

from testrota.audit import Action
from testrota.db import tables
from testrota.policy import Policy
from testrota.statuses import (
    OPEN_MESSAGE_STATUSES,
    AlertStatus,
    AppointmentStatus,
    JobRunStatus,
    MessageStatus,
    ResultValue,
)
from testrota.weeks import day_bounds

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

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
TEXT_STATUSES = tuple(MessageStatus)
OPEN_STATUSES = OPEN_MESSAGE_STATUSES
WINDOWS = (("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)))
APPOINTMENT_STATUSES = tuple(AppointmentStatus)
RESULTS = tuple(ResultValue)
LAST_IMPORT_FIELDS = (
    "rows",
    "added",
    "updated",
    "unchanged",
    "deactivated",
    "skipped",
    "high_risk",
)
# A result file's import is an audit event; "results_import" is how it was spelt before the
# audit actions were enumerated, and those rows still count.
RESULTS_IMPORT_ACTIONS = (Action.RESULTS_IMPORTED.value, "results_import")


def _gauge(
    name: str, documentation: str, labels: Iterable[str] = (), value: float | None = None
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=list(labels) or None)
    if value is not None:
        family.add_metric([], value)
    return family


def _counter(
    name: str, documentation: str, labels: Iterable[str] = (), value: float | None = None
) -> CounterMetricFamily:
    """A counter family; ``name`` without the ``_total`` the exposition adds."""
    family = CounterMetricFamily(name, documentation, labels=list(labels) or None)
    if value is not None:
        family.add_metric([], value)
    return family


# --- collection (I/O) -----------------------------------------------------------------------------


def _seconds(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()


def _texts(conn: Connection, now: datetime) -> list[Metric]:
    # Every query below is a range of the outbox's (status, due_at) index: finished texts are
    # counted over recent windows only, so a scrape costs the same after a year of texts.
    open_counts: dict[str, int] = dict(
        conn.execute(
            select(M.c.status, func.count())
            .where(M.c.status.in_(OPEN_STATUSES))
            .group_by(M.c.status)
        ).all()
    )
    unfinished = _gauge(
        "testrota_texts_open",
        "Texts not finished yet, by status (pending includes texts due later).",
        ["status"],
    )
    for status in OPEN_STATUSES:
        unfinished.add_metric([status], open_counts.get(status, 0))
    recent = _gauge(
        "testrota_texts_recent",
        "Texts due within the window (1h, 24h) before now, by their status now.",
        ["status", "window"],
    )
    for window, span in WINDOWS:
        counts: dict[str, int] = dict(
            conn.execute(
                select(M.c.status, func.count())
                .where(M.c.status.in_(TEXT_STATUSES), M.c.due_at > now - span, M.c.due_at <= now)
                .group_by(M.c.status)
            ).all()
        )
        for status in TEXT_STATUSES:
            recent.add_metric([status, window], counts.get(status, 0))
    by_channel = _gauge(
        "testrota_texts_by_channel",
        "Texts due within the window (1h, 24h) before now that a channel took or refused, by "
        "channel (aliyun, wecom, twilio, console; route records the one it chose) and status.",
        ["channel", "status", "window"],
    )
    for window, span in WINDOWS:
        for channel, status, n in conn.execute(
            select(M.c.channel, M.c.status, func.count())
            .where(
                M.c.channel.is_not(None),
                M.c.status.in_(TEXT_STATUSES),
                M.c.due_at > now - span,
                M.c.due_at <= now,
            )
            .group_by(M.c.channel, M.c.status)
        ).all():
            by_channel.add_metric([str(channel), str(status), window], n)
    due, oldest = conn.execute(
        select(func.count(), func.min(M.c.due_at)).where(
            M.c.status == MessageStatus.PENDING,
            M.c.due_at <= now,
            or_(M.c.next_attempt_at.is_(None), M.c.next_attempt_at <= now),
        )
    ).one()
    sending_since = conn.execute(
        select(func.min(M.c.claimed_at)).where(M.c.status == MessageStatus.SENDING)
    ).scalar()
    return [
        unfinished,
        recent,
        by_channel,
        _gauge(
            "testrota_texts_due",
            "Pending texts due now (their due time and any retry time have passed).",
            value=due,
        ),
        _gauge(
            "testrota_texts_oldest_due_age_seconds",
            "How long the oldest text due now has been due (0 when none is due).",
            value=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        ),
        _gauge(
            "testrota_texts_oldest_sending_age_seconds",
            "How long the oldest text claimed by a dispatcher has been in flight (0 when none is).",
            value=max((now - sending_since).total_seconds(), 0.0) if sending_since else 0.0,
        ),
    ]


def _heartbeats(conn: Connection, wall_now: datetime) -> list[Metric]:
    rows = conn.execute(select(H)).mappings().all()
    runs = _counter("testrota_job_runs", "Ticks of each periodic job, all workers.", ["job"])
    failures = _counter(
        "testrota_job_failures",
        "Ticks of each periodic job that raised an error, all workers.",
        ["job"],
    )
    seconds = _counter(
        "testrota_job_duration_seconds",
        "Seconds spent in each periodic job, all workers (divide by runs: mean).",
        ["job"],
    )
    last = _gauge(
        "testrota_job_last_duration_seconds", "Duration of the latest tick of each job.", ["job"]
    )
    finished = _gauge(
        "testrota_job_last_finished_timestamp_seconds",
        "When the latest tick of each job ended (Unix time, wall clock).",
        ["job"],
    )
    ok = _gauge(
        "testrota_job_last_success_timestamp_seconds",
        "When the latest successful tick of each job ended (Unix time, wall clock).",
        ["job"],
    )
    by_job: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_job[row["job"]].append(row)
    for job in sorted(by_job):
        group = by_job[job]
        latest = max(group, key=lambda r: r["last_finished_at"])
        runs.add_metric([job], sum(r["runs"] for r in group))
        failures.add_metric([job], sum(r["failures"] for r in group))
        seconds.add_metric([job], round(sum(r["duration_seconds_total"] for r in group), 6))
        last.add_metric([job], latest["last_duration_seconds"])
        finished.add_metric([job], latest["last_finished_at"].timestamp())
        oks = [r["last_ok_at"] for r in group if r["last_ok_at"] is not None]
        if oks:
            ok.add_metric([job], max(oks).timestamp())
    alive = {r["worker"] for r in rows if r["last_started_at"] >= wall_now - ALIVE_WITHIN}
    latest_any = max((r["last_finished_at"] for r in rows), default=None)
    return [
        runs,
        failures,
        seconds,
        last,
        finished,
        ok,
        _gauge(
            "testrota_workers_alive",
            f"Worker processes with a job tick in the last {ALIVE_WITHIN.seconds // 60} minutes.",
            value=len(alive),
        ),
        _gauge(
            "testrota_job_seconds_since_last_tick",
            "Seconds since any job of any worker last finished a tick (wall clock; -1 when "
            "no tick was ever recorded).",
            value=(wall_now - latest_any).total_seconds() if latest_any else -1.0,
        ),
    ]


# JobRun's status as the metric's state label (the label predates the status column).
RUN_STATES = {
    JobRunStatus.DONE: "finished",
    JobRunStatus.FAILED: "failed",
    JobRunStatus.RUNNING: "unfinished",
}


def _job_runs(conn: Connection) -> list[Metric]:
    rows = conn.execute(
        select(J.c.job, J.c.status, func.count(), func.max(J.c.finished_at)).group_by(
            J.c.job, J.c.status
        )
    ).all()
    runs = _gauge(
        "testrota_period_job_runs",
        "Runs of the once-per-period jobs (plan, digest, nightly) recorded in JobRun, "
        "by state: finished, failed (and not yet done by a retry), or unfinished "
        "(running, or its worker died).",
        ["job", "state"],
    )
    last = _gauge(
        "testrota_period_job_last_finished_timestamp_seconds",
        "When each once-per-period job last finished (Unix time, application clock).",
        ["job"],
    )
    latest: dict[str, datetime] = {}
    order = list(RUN_STATES)
    for job, status, count, finished_at in sorted(
        rows, key=lambda r: (r[0], order.index(JobRunStatus(r[1])))
    ):
        runs.add_metric([job, RUN_STATES[JobRunStatus(status)]], count)
        if finished_at is not None:
            latest[job] = max(finished_at, latest.get(job, finished_at))
    for job, at in sorted(latest.items()):
        last.add_metric([job], at.timestamp())
    return [runs, last]


def _today(conn: Connection, now: datetime, policy: Policy) -> list[Metric]:
    start, end = day_bounds(now.astimezone(policy.tz).date(), policy.tz)
    by_status: dict[str, int] = dict(
        conn.execute(
            select(A.c.status, func.count())
            .where(A.c.starts_at >= start, A.c.starts_at < end)
            .group_by(A.c.status)
        ).all()
    )
    appointments = _gauge(
        "testrota_appointments_today",
        "Appointments whose slot starts today (local day of the policy's time zone), by status.",
        ["status"],
    )
    for status in sorted(set(APPOINTMENT_STATUSES) | set(by_status)):
        appointments.add_metric([status], by_status.get(status, 0))
    results: dict[str, int] = dict(
        conn.execute(
            select(TR.c.result, func.count())
            .where(TR.c.sampled_at >= start, TR.c.sampled_at < end)
            .group_by(TR.c.result)
        ).all()
    )
    samples = _gauge(
        "testrota_test_results_today",
        "Samples taken today (check-ins and lab results), by result.",
        ["result"],
    )
    for result in sorted(set(RESULTS) | set(results)):
        samples.add_metric([result], results.get(result, 0))
    return [
        _gauge(
            "testrota_missed_tests_today",
            "Appointments of today flagged missed (a slot counts as missed a grace period "
            "after it ends).",
            value=by_status.get(AppointmentStatus.MISSED, 0),
        ),
        appointments,
        samples,
    ]


def _imports(conn: Connection) -> list[Metric]:
    # Roster imports are counted from their rows and result files from their audit events:
    # retention keeps both (it only empties an import's error list), so the counters never
    # go down.
    count, last_at = conn.execute(select(func.count(), func.max(RI.c.imported_at))).one()
    latest = conn.execute(
        select(RI.c.counts, RI.c.errors).order_by(RI.c.id.desc()).limit(1)
    ).first()
    results_count, results_at = conn.execute(
        select(func.count(), func.max(AE.c.at)).where(AE.c.action.in_(RESULTS_IMPORT_ACTIONS))
    ).one()
    last = _gauge(
        "testrota_roster_last_import", "Counts of the latest roster import, by field.", ["field"]
    )
    if latest is not None:
        counts = latest.counts or {}
        for name in LAST_IMPORT_FIELDS:
            if isinstance(counts.get(name), int | float):
                last.add_metric([name], counts[name])
        last.add_metric(["errors"], len(latest.errors or []))
    metrics: list[Metric] = [
        _counter("testrota_roster_imports", "Roster imports applied.", value=count),
        _gauge(
            "testrota_roster_last_import_timestamp_seconds",
            "When the latest roster import was applied (Unix time).",
            value=_seconds(last_at),
        ),
        last,
        _counter("testrota_results_imports", "Result files imported.", value=results_count),
        _gauge(
            "testrota_results_last_import_timestamp_seconds",
            "When the latest result file was imported (Unix time).",
            value=_seconds(results_at),
        ),
    ]
    return metrics


def _people(conn: Connection) -> list[Metric]:
    rows = conn.execute(
        select(
            P.c.risk_category, func.count(), func.sum(case((P.c.opted_out.is_(True), 1), else_=0))
        )
        .where(P.c.active.is_(True))
        .group_by(P.c.risk_category)
    ).all()
    active = sum(n for _, n, _ in rows)
    opted_out = sum(int(o or 0) for _, _, o in rows)
    by_category = _gauge(
        "testrota_people_high_risk",
        "Active people in a high-risk category, by category.",
        ["category"],
    )
    for category, n, _ in sorted((r for r in rows if r[0]), key=lambda r: r[0]):
        by_category.add_metric([category], n)
    return [
        _gauge("testrota_people_active", "Active people on the roster.", value=active),
        # Was testrota_people_high_risk_total: a gauge must not look like a counter.
        _gauge(
            "testrota_people_high_risk_any",
            "Active people in any high-risk category (the sum of testrota_people_high_risk).",
            value=sum(n for c, n, _ in rows if c),
        ),
        by_category,
        _gauge(
            "testrota_people_opted_out", "Active people who opted out of texts.", value=opted_out
        ),
    ]


def _alerts(conn: Connection) -> list[Metric]:
    by_status: dict[str, int] = dict(
        conn.execute(select(AL.c.status, func.count()).group_by(AL.c.status)).all()
    )
    # Was testrota_alerts_total, a gauge (retention deletes closed alerts): now by status.
    kept = _gauge(
        "testrota_alerts",
        "Positive-result alerts kept, by status (retention deletes closed ones).",
        ["status"],
    )
    for status in sorted(set(AlertStatus) | set(by_status)):
        kept.add_metric([status], by_status.get(status, 0))
    return [
        _gauge(
            "testrota_alerts_open",
            "Positive-result alerts not yet closed.",
            value=by_status.get(AlertStatus.OPEN, 0),
        ),
        kept,
    ]


def collect(engine: Engine, now: datetime, policy: Policy, wall_now: datetime) -> list[Metric]:
    """Every metric family, read in one read-only transaction."""
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
        _gauge(
            "testrota_metrics_scrape_seconds",
            "Time taken to read these figures from the database.",
            value=round(time.perf_counter() - started, 6),
        )
    )
    return metrics


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class DatabaseCollector:
    """A ``prometheus_client`` collector reading every figure from the database when the
    registry is scraped: ``now`` and ``policy`` are called at each scrape (the application's
    clock and its policy, re-read when policy.yaml changes)."""

    def __init__(
        self,
        engine: Engine,
        now: Callable[[], datetime],
        policy: Callable[[], Policy],
        wall_clock: Callable[[], datetime] = _wall_clock,
    ) -> None:
        self.engine, self.now, self.policy, self.wall_clock = engine, now, policy, wall_clock

    def collect(self) -> Iterator[Metric]:
        yield from collect(self.engine, self.now(), self.policy(), self.wall_clock())


def registry(collector: DatabaseCollector) -> CollectorRegistry:
    """A registry of ``collector`` alone (no process or platform metrics: a figure of one web
    process among several says nothing about the service)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(collector)
    return reg


def render(metrics: Iterable[Metric]) -> str:
    """The Prometheus text exposition (format 0.0.4) of ``metrics``."""
    families = list(metrics)

    class _Fixed:
        def collect(self) -> Iterable[Metric]:
            return families

    reg = CollectorRegistry(auto_describe=False)
    reg.register(_Fixed())
    return generate_latest(reg).decode()


def exposition(engine: Engine, now: datetime, policy: Policy, wall_now: datetime) -> str:
    return generate_latest(
        registry(DatabaseCollector(engine, lambda: now, lambda: policy, lambda: wall_now))
    ).decode()


def sample_value(text_: str, name: str, **labels: str) -> float | None:
    """The value of one sample (its full name, e.g. ``testrota_job_runs_total``) in an
    exposition, with exactly these labels; None if absent. For tests and ``doctor``."""
    for family in text_string_to_metric_families(text_):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None
