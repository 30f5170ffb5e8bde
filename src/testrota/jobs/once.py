"""Run a job once per period (a week's plan, a day's digest) however many workers fire it.

Every worker's scheduler fires the tick; the database decides who does the work. A ``JobRun``
row (unique on job and period) records a run. On PostgreSQL the runner also holds a session
advisory lock for the job and period while it works, so a second worker neither runs it in
parallel nor mistakes a run in progress for a crashed one; on SQLite one write at a time and a
staleness timeout do the same on one machine.

A run either does its work (``done``) or is recorded as ``failed`` with the error, and the
exception goes on to the caller: the worker logs it with the job id and counts the failure, and
``testrota doctor`` names it. The next tick of the same period tries again; a run whose worker
died stays ``running`` until it is taken over.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, select, text, update
from sqlalchemy.exc import IntegrityError

from testrota.db import tables
from testrota.observability.jobs import error_text
from testrota.statuses import JobRunStatus

log = logging.getLogger(__name__)

J: Table = tables.JOB_RUN

# SQLite only: an unfinished run younger than this is taken to be still running.
STALE_AFTER = timedelta(hours=2)


@dataclass(frozen=True)
class OnceResult:
    ran: bool
    reason: str  # "ran", "done" (already ran this period), "busy" (running elsewhere)
    result: Any = None


def advisory_key(job: str, period: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` from the job and period names."""
    digest = hashlib.blake2b(f"{job}\x00{period}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _claim(
    conn: Connection, job: str, period: str, worker: str, now: datetime, trust_unfinished: bool
) -> str | None:
    """Record the run as ours; returns why not ("done"/"busy") or None when it is ours."""
    row = conn.execute(
        select(J.c.id, J.c.status, J.c.started_at).where(J.c.job == job, J.c.period == period)
    ).first()
    if row is None:
        conn.execute(
            J.insert().values(
                job=job,
                period=period,
                started_at=now,
                worker=worker,
                status=JobRunStatus.RUNNING,
                details={},
            )
        )
        return None
    if row.status == JobRunStatus.DONE:
        return "done"
    if (
        row.status == JobRunStatus.RUNNING
        and trust_unfinished
        and row.started_at > now - STALE_AFTER
    ):
        return "busy"
    # A failed run, or one whose worker died: ours now. The last error stays until it is done.
    conn.execute(
        update(J)
        .where(J.c.id == row.id)
        .values(
            started_at=now,
            worker=worker,
            status=JobRunStatus.RUNNING,
            details={"retry_of": str(row.status)},
        )
    )
    return None


def run_once_per_period(
    engine: Engine,
    job: str,
    period: str,
    worker: str,
    now: datetime,
    work: Callable[[], Any],
) -> OnceResult:
    """Call ``work()`` unless ``job`` already ran (or runs) for ``period``.

    When ``work()`` raises, the run is recorded as failed (with the error) and the exception
    is raised again, with the period noted on it.
    """
    if engine.dialect.name == "postgresql":
        return _run_pg(engine, job, period, worker, now, work)
    try:
        with engine.begin() as conn:
            why = _claim(conn, job, period, worker, now, trust_unfinished=True)
    except IntegrityError:
        why = "busy"
    if why:
        return OnceResult(False, why)
    return _work(engine, job, period, worker, now, work)


def _run_pg(
    engine: Engine, job: str, period: str, worker: str, now: datetime, work: Callable[[], Any]
) -> OnceResult:
    key = advisory_key(job, period)
    with engine.connect() as lock_conn:
        got = lock_conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        lock_conn.commit()
        if not got:
            return OnceResult(False, "busy")
        try:
            # Holding the lock, an unfinished row can only be a failed or crashed run.
            try:
                with engine.begin() as conn:
                    why = _claim(conn, job, period, worker, now, trust_unfinished=False)
            except IntegrityError:
                why = "busy"
            if why:
                return OnceResult(False, why)
            return _work(engine, job, period, worker, now, work)
        finally:
            lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            lock_conn.commit()


def _work(
    engine: Engine, job: str, period: str, worker: str, now: datetime, work: Callable[[], Any]
) -> OnceResult:
    try:
        result = work()
    except Exception as exc:
        exc.add_note(f"job {job} for {period} (recorded as failed; the next tick tries again)")
        _record_failure(engine, job, period, worker, now, exc)
        raise
    details = result if isinstance(result, dict) else {"result": repr(result)[:400]}
    with engine.begin() as conn:
        conn.execute(
            update(J)
            .where(J.c.job == job, J.c.period == period, J.c.worker == worker)
            .values(
                finished_at=now, status=JobRunStatus.DONE, error=None, details=_jsonable(details)
            )
        )
    return OnceResult(True, "ran", result)


def _record_failure(
    engine: Engine, job: str, period: str, worker: str, now: datetime, exc: BaseException
) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(
                update(J)
                .where(J.c.job == job, J.c.period == period, J.c.worker == worker)
                .values(status=JobRunStatus.FAILED, failed_at=now, error=error_text(exc))
            )
    except Exception:
        # The database may be what failed; the caller still sees (and logs) the job's error,
        # and the row, left running, is taken over by a later tick.
        log.warning("could not record the failure of %s for %s", job, period, exc_info=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
