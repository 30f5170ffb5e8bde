"""Job heartbeats: every tick of a periodic job leaves its trace in ``JobHeartbeat``.

The worker wraps each tick in :func:`observed_job`: log lines inside carry the job id, and the
tick's outcome and duration are added to its row (one per job and worker), from which
``/metrics`` and ``testrota doctor`` tell whether the jobs run at all, how long they take and
how often they fail. Recording a heartbeat never fails the job: a database hiccup is logged and
the next tick records again.

The counts in a row (runs, failures, seconds) are only ever added to, so the per-job sums that
``/metrics`` exports as counters never go down, also when the nightly retention prunes the rows
of workers gone for long (:func:`prune_heartbeats` first adds their counts to the job's row of
:data:`RETIRED_WORKER`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from testrota.db import tables
from testrota.observability.logging import job_context

log = logging.getLogger(__name__)

H: Table = tables.JOB_HEARTBEAT

# The row of each job that keeps the counts of pruned workers' rows. No worker id looks like
# it (worker ids are host:pid), and as its times are those of pruned rows, it never counts as
# alive nor as the latest tick while a real worker has ticked since.
RETIRED_WORKER = "(retired)"


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Tick:
    job: str
    worker: str
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def error_text(exc: BaseException) -> str:
    """``Type: message`` on one line, bounded, personal numbers masked: what a run or a tick
    records as its error (kept in the database, shown by ``testrota doctor``)."""
    from testrota.privacy.masking import mask_personal_numbers

    message = mask_personal_numbers(" ".join(str(exc).split()))
    return f"{type(exc).__name__}: {message}"[:400] if message else type(exc).__name__


def record_tick(engine: Engine, tick: Tick) -> None:
    """Add one tick to its job and worker's row (an upsert, safe from any process)."""
    insert: Any = postgresql.insert(H) if engine.dialect.name == "postgresql" else sqlite.insert(H)
    values = {
        "job": tick.job,
        "worker": tick.worker[:100],
        "last_started_at": tick.started_at,
        "last_finished_at": tick.finished_at,
        "last_ok_at": tick.finished_at if tick.ok else None,
        "last_duration_seconds": tick.duration_seconds,
        "last_error": None if tick.ok else (tick.error or "")[:400],
        "runs": 1,
        "failures": 0 if tick.ok else 1,
        "duration_seconds_total": tick.duration_seconds,
    }
    statement = insert.values(**values)
    excluded = statement.excluded
    update = {
        "last_started_at": excluded.last_started_at,
        "last_finished_at": excluded.last_finished_at,
        "last_duration_seconds": excluded.last_duration_seconds,
        "last_error": excluded.last_error,
        "runs": H.c.runs + 1,
        "failures": H.c.failures + excluded.failures,
        "duration_seconds_total": H.c.duration_seconds_total + excluded.duration_seconds_total,
    }
    if tick.ok:
        update["last_ok_at"] = excluded.last_ok_at
    with engine.begin() as conn:
        conn.execute(statement.on_conflict_do_update(index_elements=["job", "worker"], set_=update))


@contextmanager
def observed_job(
    engine: Engine,
    job: str,
    worker: str,
    clock: Callable[[], datetime] = wall_clock,
) -> Iterator[str]:
    """Run the body as one tick of ``job``: with a job id in the logs, timed, recorded.

    An exception in the body is recorded as a failure and raised again.
    """
    started_at = clock()
    started = time.perf_counter()
    error: str | None = None
    with job_context(job) as job_id:
        try:
            yield job_id
        except BaseException as exc:
            error = error_text(exc)
            raise
        finally:
            tick = Tick(
                job, worker, started_at, clock(), round(time.perf_counter() - started, 6), error
            )
            try:
                record_tick(engine, tick)
            except Exception:
                log.warning("could not record the heartbeat of %s", job, exc_info=True)


def run_observed(
    engine: Engine,
    job: str,
    worker: str,
    func: Callable[[], Any],
    on_failure: Callable[[BaseException], None] | None = None,
) -> Any:
    """``func()`` as one observed tick; a failure is logged at ERROR (with the job id and the
    traceback), counted in the job's heartbeat, handed to ``on_failure``, and None returned:
    the worker carries on. For the worker's job runner."""
    try:
        with observed_job(engine, job, worker):
            try:
                return func()
            except Exception:
                log.exception("job %s failed", job)
                raise
    except Exception as exc:
        if on_failure is not None:
            on_failure(exc)
        return None


def prune_heartbeats(conn: Connection, cutoff: datetime) -> int:
    """Delete the rows of workers whose last tick ended before ``cutoff`` (wall clock), after
    adding their counts to their job's :data:`RETIRED_WORKER` row, in the caller's transaction.
    Returns how many rows were pruned."""
    stale = (
        conn.execute(
            select(H)
            .where(H.c.last_finished_at < cutoff, H.c.worker != RETIRED_WORKER)
            .with_for_update()  # a worker coming back now waits: its tick is not lost
        )
        .mappings()
        .all()
    )
    by_job: dict[str, list[Any]] = {}
    for row in stale:
        by_job.setdefault(row["job"], []).append(row)
    for job, rows in by_job.items():
        latest = max(rows, key=lambda r: r["last_finished_at"])
        oks = [r["last_ok_at"] for r in rows if r["last_ok_at"] is not None]
        added = {
            "runs": sum(r["runs"] for r in rows),
            "failures": sum(r["failures"] for r in rows),
            "duration_seconds_total": sum(r["duration_seconds_total"] for r in rows),
        }
        retired = (
            conn.execute(
                select(H).where(H.c.job == job, H.c.worker == RETIRED_WORKER).with_for_update()
            )
            .mappings()
            .first()
        )
        if retired is None:
            conn.execute(
                H.insert().values(
                    job=job,
                    worker=RETIRED_WORKER,
                    last_started_at=latest["last_started_at"],
                    last_finished_at=latest["last_finished_at"],
                    last_ok_at=max(oks, default=None),
                    last_duration_seconds=latest["last_duration_seconds"],
                    last_error=None,
                    **added,
                )
            )
            continue
        newer = latest["last_finished_at"] > retired["last_finished_at"]
        last_ok = max(
            [*oks, *([retired["last_ok_at"]] if retired["last_ok_at"] else [])], default=None
        )
        conn.execute(
            update(H)
            .where(H.c.id == retired["id"])
            .values(
                runs=H.c.runs + added["runs"],
                failures=H.c.failures + added["failures"],
                duration_seconds_total=H.c.duration_seconds_total + added["duration_seconds_total"],
                last_ok_at=last_ok,
                **(
                    {
                        "last_started_at": latest["last_started_at"],
                        "last_finished_at": latest["last_finished_at"],
                        "last_duration_seconds": latest["last_duration_seconds"],
                    }
                    if newer
                    else {}
                ),
            )
        )
    if stale:
        conn.execute(delete(H).where(H.c.id.in_([r["id"] for r in stale])))
    return len(stale)
