"""Whether any appointment waits to be flagged, asked before a list opens a write transaction.

Every list and report flags what is due before it reads (:mod:`testrota.actions.flagging`).
Most of the time nothing is: the check-in and the result import mark appointments done as
samples arrive, and the worker flags the rest every few minutes. One indexed look, on the lean
tables, tells so; then the list takes no write lock, builds no ORM session and does not import
the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from testrota.compliance.missed import grace
from testrota.db.lean import APPOINTMENT
from testrota.policy import Policy
from testrota.statuses import AppointmentStatus


@dataclass(frozen=True)
class FlagReport:
    missed: int  # appointments this call flagged missed
    done: int  # and done


def anything_due(conn: Any, now: datetime, policy: Policy) -> bool:
    """Whether a still-scheduled appointment ended more than the grace period before ``now``:
    the rows :func:`testrota.compliance.flagging.flag_due` would decide, found by the same
    conditions."""
    return conn.execute(first_due(now, policy)).first() is not None


def due_where(table: Any, now: datetime, policy: Policy) -> tuple[Any, ...]:
    """The conditions of an appointment of ``table`` (the lean one, or the models') due to be
    flagged: still scheduled, ended more than the grace period before ``now``."""
    cutoff = now - grace(policy)
    return (
        table.c.status == AppointmentStatus.SCHEDULED,
        table.c.starts_at < cutoff,  # implied by the next one
        table.c.ends_at < cutoff,
    )


def first_due(now: datetime, policy: Policy) -> Any:
    """The statement :func:`anything_due` runs: the earliest-ending appointment due, if any."""
    return (
        select(APPOINTMENT.c.id)
        .where(*due_where(APPOINTMENT, now, policy))
        # In the order of the scheduled rows' own index (0014_peak), which only it provides:
        # the earliest end is its first entry, so this reads one page. A bare LIMIT 1 was
        # planned as a sequential scan expected to stop early, and read the whole table when
        # nothing was due, which is most of the time (about 60 ms at 300,000 people).
        .order_by(APPOINTMENT.c.ends_at)
        .limit(1)
    )
