"""Nightly retention of personal data beyond the outbox: test results, import error lists,
stale job heartbeats.

``retention_days`` (policy, default 90): test results sampled longer ago are deleted. A positive
result stays while its alert is open (the case is still being worked); once the alert is closed
and the result is past retention, the alert and its contact list go with it. Appointments keep
their status (done, missed, excused), so the count of tests taken and missed per week stays.
Roster-import records keep their counts but lose their error lists, which quote cell values.

Deletes go in batches of :data:`BATCH` rows, each its own short transaction: on SQLite a
writer holds the only write lock, and the web and the dispatcher must not wait behind a
first run that deletes a year of results.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Table,
    Text,
    and_,
    cast,
    delete,
    exists,
    select,
    update,
)

from testrota.db import tables
from testrota.observability.jobs import prune_heartbeats
from testrota.policy import Policy

TR: Table = tables.TEST_RESULT
AL: Table = tables.ALERT
AC: Table = tables.ALERT_CONTACT
RI: Table = tables.ROSTER_IMPORT

BATCH = 5000


def _delete_batches(
    engine: Engine, table: Table, condition: ColumnElement[bool], batch: int
) -> int:
    return in_batches(engine, table, condition, None, batch)


def in_batches(
    engine: Engine,
    table: Table,
    condition: ColumnElement[bool],
    values: dict[str, Any] | None,
    batch: int = BATCH,
) -> int:
    """Delete (``values`` None) or update the rows matching ``condition``, ``batch`` rows per
    transaction; ``condition`` must stop matching a row once it is done. Returns the count."""
    total = 0
    while True:
        with engine.begin() as conn:
            ids = list(conn.execute(select(table.c.id).where(condition).limit(batch)).scalars())
            if ids:
                chosen = table.c.id.in_(ids)
                conn.execute(
                    delete(table).where(chosen)
                    if values is None
                    else update(table).where(chosen).values(**values)
                )
        total += len(ids)
        if len(ids) < batch:
            return total


def expire_test_results(engine: Engine, cutoff: datetime, batch: int = BATCH) -> dict[str, int]:
    """Delete results sampled before ``cutoff`` (and closed alerts on them, with contacts)."""
    old_closed_alert = and_(
        AL.c.status != "open",
        exists().where(TR.c.id == AL.c.result_id, TR.c.sampled_at < cutoff),
    )
    contacts = _delete_batches(
        engine,
        AC,
        exists().where(AL.c.id == AC.c.alert_id, old_closed_alert),
        batch,
    )
    alerts = _delete_batches(engine, AL, old_closed_alert, batch)
    results = _delete_batches(
        engine,
        TR,
        and_(TR.c.sampled_at < cutoff, ~exists().where(AL.c.result_id == TR.c.id)),
        batch,
    )
    return {"test_results": results, "alerts": alerts, "alert_contacts": contacts}


def apply_privacy_retention(
    engine: Engine, now: datetime, policy: Policy, wall_now: datetime | None = None
) -> dict[str, int]:
    """Everything :mod:`testrota.notify.retention` does not: results, import errors,
    heartbeats of workers long gone (by the wall clock, as they are written)."""
    cutoff = now - timedelta(days=policy.retention_days)
    done = expire_test_results(engine, cutoff)
    with engine.begin() as conn:
        done["import_errors"] = (
            conn.execute(
                update(RI)
                .where(RI.c.imported_at < cutoff, cast(RI.c.errors, Text) != "[]")
                .values(errors=[])
            ).rowcount
            or 0
        )
        wall_cutoff = (wall_now or datetime.now(UTC)) - timedelta(days=policy.retention_days)
        # Their counts go on in their job's row of retired workers: counters never go down.
        done["job_heartbeats"] = prune_heartbeats(conn, wall_cutoff)
    return done
