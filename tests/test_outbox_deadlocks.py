"""Every worker runs the outbox's jobs on its own tick, so their statements meet each other on
the same rows; none of them may deadlock, and a job that still meets one runs again.

The simulated week at 100,000 people (three workers on PostgreSQL) lost five job runs to
deadlocks on ``message`` rows: syncs and sweeps updating the same due rows in the order their
scans met them, and the same missed-test notices inserted by two workers in different orders.
Now the janitors (sweep, stale reminders, re-addressing) skip rows another transaction holds,
inserts go in key order, and the worker runs a job again after a deadlock. SQLite takes one
writer at a time and cannot deadlock this way, so these tests are for PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, func, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError

from testrota.app import build_app
from testrota.clock import FixedClock
from testrota.db import tables
from testrota.db.models import JobHeartbeat
from testrota.db.transient import is_transient, run_again_if_transient
from testrota.jobs.tasks import JobContext
from testrota.jobs.worker import JOBS, _run_job
from testrota.notify.claims import sweep
from testrota.notify.enqueue import insert_rows, sync_reminders
from testrota.notify.outbox import OutboxRow
from testrota.settings import Settings
from tests.notify_data import T0, add_due_texts, notify_settings, phone, policy

M = tables.MESSAGE
NOW = T0 + timedelta(hours=12)


@pytest.fixture
def pg(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes one writer at a time: no row locks to wait for")
    return engine


@contextmanager
def holding(engine: Engine, message_ids: list[int]) -> Iterator[None]:
    """Another transaction holds these rows (as a claim or a use case would) until the end."""
    with engine.connect() as conn, conn.begin():
        conn.execute(select(M.c.id).where(M.c.id.in_(message_ids)).with_for_update()).all()
        yield


def impatient(engine: Engine) -> Engine:
    """The same database, but a statement that waits for a lock fails after 3 s instead of
    hanging the test."""
    return create_engine(engine.url, connect_args={"options": "-c lock_timeout=3s"})


def statuses(engine: Engine, ids: list[int]) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(M.c.id, M.c.status).where(M.c.id.in_(ids))).all()
    return [status for _, status in sorted(rows)]


# ---------------------------------------------------------------- janitors never wait


def test_the_sweep_leaves_a_held_row_to_the_next_sweep_instead_of_waiting(pg: Engine) -> None:
    ids = add_due_texts(pg, 5, NOW - timedelta(hours=2), expires_at=NOW - timedelta(hours=1))
    other = impatient(pg)
    with holding(pg, ids[:1]), other.begin() as conn:
        assert sweep(conn, NOW)["expired"] == 4
    assert statuses(pg, ids) == ["pending"] + ["expired"] * 4
    with other.begin() as conn:
        assert sweep(conn, NOW)["expired"] == 1
    assert statuses(pg, ids) == ["expired"] * 5
    other.dispose()


def test_a_sync_cancels_and_readdresses_what_no_one_holds_and_the_rest_next_time(
    pg: Engine, settings: Settings
) -> None:
    # Reminders whose appointment is gone, and texts to people whose number changed since.
    stale = add_due_texts(pg, 4, NOW + timedelta(hours=1), kind="reminder_eve")
    moved = add_due_texts(pg, 4, NOW + timedelta(hours=1), first=100)
    person_ids = [pid for (pid,) in _rows(pg, select(M.c.person_id).where(M.c.id.in_(moved)))]
    with pg.begin() as conn:
        conn.execute(
            update(tables.PERSON).where(tables.PERSON.c.id.in_(person_ids)).values(phone=phone(900))
        )
    other = impatient(pg)
    config = notify_settings(settings)
    with holding(pg, [stale[0], moved[0]]):
        report = sync_reminders(other, NOW, policy(), config)
    assert (report.cancelled, report.readdressed) == (3, 3)
    assert statuses(pg, stale) == ["pending"] + ["cancelled"] * 3
    report = sync_reminders(other, NOW, policy(), config)
    assert (report.cancelled, report.readdressed) == (1, 1)
    assert statuses(pg, stale) == ["cancelled"] * 4
    assert {to for (to,) in _rows(pg, select(M.c.to).where(M.c.id.in_(moved)))} == {phone(900)}
    other.dispose()


def _rows(engine: Engine, query: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(query).all())


# ---------------------------------------------------------------- inserts in one order


def _notices(round_: int, count: int) -> list[OutboxRow]:
    return [
        OutboxRow(
            kind="missed",
            dedupe_key=f"missed:{round_}:{n:05d}",
            to=phone(n),
            body=f"Testrota: you missed a test ({n})",
            due_at=NOW,
            expires_at=None,
            segments=1,
        )
        for n in range(count)
    ]


def _insert_at_once(engine: Engine, orders: list[list[OutboxRow]]) -> list[int | BaseException]:
    """Each order inserted by its own transaction, all starting together: what each created,
    or what it raised."""
    start = threading.Barrier(len(orders))
    outcomes: list[int | BaseException] = [0] * len(orders)

    def queue(index: int) -> None:
        try:
            with engine.begin() as conn:
                start.wait()
                outcomes[index] = insert_rows(conn, orders[index], NOW)
        except BaseException as exc:  # reported by the test, with the others
            outcomes[index] = exc

    threads = [threading.Thread(target=queue, args=(i,)) for i in range(len(orders))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_workers_inserting_the_same_texts_in_different_orders_never_deadlock(pg: Engine) -> None:
    """Four workers' jobs queue the same 1,500 notices at once, each having read them in its
    own order (a hash join's). Taken in that order, two inserts each waited for a key the other
    had inserted first: this failed every round before inserts were sorted by key."""
    for round_ in range(3):
        rows = _notices(round_, 1_500)
        orders = [random.Random(round_ * 10 + w).sample(rows, len(rows)) for w in range(4)]
        outcomes = _insert_at_once(pg, orders)
        assert all(isinstance(n, int) for n in outcomes), outcomes
        assert sum(n for n in outcomes if isinstance(n, int)) == 1_500
        query = select(func.count()).where(M.c.dedupe_key.like(f"missed:{round_}:%"))
        assert _rows(pg, query) == [(1_500,)]


# ---------------------------------------------------------------- a deadlock runs again


def _deadlock_as_victim(engine: Engine, a: int, b: int) -> None:
    """Take row ``a``, then wait for row ``b``, which a partner holds and which then waits for
    ``a``. This transaction's deadlock check comes first (the partner's is 30 s), so
    PostgreSQL ends this one: it raises a real ``DeadlockDetected``."""
    partner_holds_b, victim_holds_a = threading.Event(), threading.Event()

    def lock(conn: Any, row: int) -> None:
        conn.execute(select(M.c.id).where(M.c.id == row).with_for_update()).all()

    def partner() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL deadlock_timeout = '30s'")
            lock(conn, b)
            partner_holds_b.set()
            victim_holds_a.wait(10)
            lock(conn, a)  # waits until the victim's transaction is ended

    thread = threading.Thread(target=partner)
    thread.start()
    try:
        partner_holds_b.wait(10)
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL deadlock_timeout = '500ms'")
            lock(conn, a)
            victim_holds_a.set()
            lock(conn, b)
    finally:
        thread.join(30)


def test_a_real_deadlock_is_transient_and_other_errors_are_not(pg: Engine) -> None:
    a, b = add_due_texts(pg, 2, NOW)
    with pytest.raises(OperationalError) as raised:
        _deadlock_as_victim(pg, a, b)
    assert isinstance(raised.value.orig, psycopg.errors.DeadlockDetected)
    assert is_transient(raised.value)
    with pytest.raises(DBAPIError) as other, pg.connect() as conn:
        conn.execute(text("SELECT 1 / 0"))
    assert not is_transient(other.value)
    assert not is_transient(ValueError("40P01"))


def _context(settings: Settings, engine: Engine) -> JobContext:
    app = build_app(
        notify_settings(settings), engine=engine, policy=policy(), clock=FixedClock(NOW)
    )
    return JobContext(app=app, worker="w1")


def _heartbeat(engine: Engine, job: str) -> tuple[int, int]:
    table = JobHeartbeat.__table__  # type: ignore[attr-defined]
    query = select(table.c.runs, table.c.failures).where(table.c.job == job)
    ((runs, failures),) = _rows(engine, query)
    return runs, failures


def _job(func: Callable[[JobContext], Any]) -> Any:
    spec = next(s for s in JOBS if s.id == "sync_reminders")
    return dataclasses.replace(spec, func=func)


def test_a_job_that_meets_a_deadlock_runs_again_at_once_and_its_tick_succeeds(
    pg: Engine, settings: Settings
) -> None:
    a, b = add_due_texts(pg, 2, NOW)
    attempts: list[int] = []

    def tick(ctx: JobContext) -> dict[str, int]:
        attempts.append(1)
        if len(attempts) == 1:
            _deadlock_as_victim(pg, a, b)
        return {"attempts": len(attempts)}

    assert _run_job(_job(tick), _context(settings, pg)) == {"attempts": 2}
    assert _heartbeat(pg, "sync_reminders") == (1, 0)


def test_a_job_that_keeps_deadlocking_fails_after_three_runs_and_others_fail_at_once(
    engine: Engine, settings: Settings
) -> None:
    def deadlock() -> DBAPIError:
        return OperationalError("UPDATE message ...", {}, psycopg.errors.DeadlockDetected())

    attempts: list[str] = []

    def always(ctx: JobContext) -> None:
        attempts.append("deadlock")
        raise deadlock()

    assert _run_job(_job(always), _context(settings, engine)) is None
    assert attempts == ["deadlock"] * 3
    assert _heartbeat(engine, "sync_reminders") == (1, 1)

    def broken(ctx: JobContext) -> None:
        attempts.append("broken")
        raise OperationalError("SELECT ...", {}, psycopg.errors.UndefinedTable())

    assert _run_job(_job(broken), _context(settings, engine)) is None
    assert attempts.count("broken") == 1
    assert _heartbeat(engine, "sync_reminders") == (2, 2)

    # Direct use, with no pause: the value of the run that got through.
    outcomes: Iterator[DBAPIError | str] = iter([deadlock(), deadlock(), "done"])

    def flaky() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert run_again_if_transient(flaky, "flaky", pause=lambda n: 0.0) == "done"
