"""Run a job once per period (a week's plan, a day's digest) however many workers fire it.

Every worker's scheduler fires the tick; the database decides who does the work. A ``JobRun``
row (unique on job and period) records a run. On PostgreSQL the runner also holds a session
advisory lock for the job and period while it works, so a second worker neither runs it in
parallel nor mistakes a run in progress for a crashed one; on SQLite one write at a time and a
staleness timeout do the same on one machine. A run that failed (or whose worker died) leaves
its row unfinished, and the next tick of the same period tries again.
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

from testrota.db.models import JobRun

log = logging.getLogger(__name__)

J: Table = JobRun.__table__  # type: ignore[attr-defined]

# SQLite only: an unfinished run younger than this is taken to be still running.
STALE_AFTER = timedelta(hours=2)


@dataclass(frozen=True)
class OnceResult:
    ran: bool
    reason: str  # "ran", "done" (already ran this period), "busy" (running elsewhere), "failed"
    result: Any = None


def advisory_key(job: str, period: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` from the job and period names."""
    digest = hashlib.blake2b(f"{job}\x00{period}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _claim(conn: Connection, job: str, period: str, worker: str, now: datetime,
           trust_unfinished: bool) -> str | None:
    """Record the run as ours; returns why not ("done"/"busy") or None when it is ours."""
    row = conn.execute(
        select(J.c.id, J.c.finished_at, J.c.started_at).where(J.c.job == job, J.c.period == period)
    ).first()
    if row is None:
        conn.execute(J.insert().values(job=job, period=period, started_at=now, worker=worker,
                                       details={}))
        return None
    if row.finished_at is not None:
        return "done"
    if trust_unfinished and row.started_at > now - STALE_AFTER:
        return "busy"
    conn.execute(
        update(J).where(J.c.id == row.id).values(started_at=now, worker=worker,
                                                 details={"retry_of_failed_run": True})
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
    """Call ``work()`` unless ``job`` already ran (or runs) for ``period``."""
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


def _run_pg(engine: Engine, job: str, period: str, worker: str, now: datetime,
            work: Callable[[], Any]) -> OnceResult:
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


def _work(engine: Engine, job: str, period: str, worker: str, now: datetime,
          work: Callable[[], Any]) -> OnceResult:
    try:
        result = work()
    except Exception as exc:
        log.exception("job %s for %s failed; the next tick tries again", job, period)
        with engine.begin() as conn:
            conn.execute(
                update(J).where(J.c.job == job, J.c.period == period, J.c.worker == worker)
                .values(details={"error": f"{type(exc).__name__}: {exc}"[:400]})
            )
        return OnceResult(False, "failed")
    details = result if isinstance(result, dict) else {"result": repr(result)[:400]}
    with engine.begin() as conn:
        conn.execute(
            update(J).where(J.c.job == job, J.c.period == period, J.c.worker == worker)
            .values(finished_at=now, details=_jsonable(details))
        )
    return OnceResult(True, "ran", result)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
