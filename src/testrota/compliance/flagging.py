"""Flagging: turn started appointments into done or missed, safely from any number of processes.

Every status change is a conditional UPDATE (``... WHERE id IN (...) AND status = 'scheduled'``),
so two processes that decide the same appointment at once change it once: on PostgreSQL the second
UPDATE waits for the first one's row lock, re-reads the row, no longer matches, and does not count
it; on SQLite ``BEGIN IMMEDIATE`` runs the two one after the other. The counts returned are rows
this call changed, so adding up the counts of concurrent callers never double-counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlmodel import Session, col

from testrota.compliance.due import FlagReport as FlagReport
from testrota.compliance.due import due_where
from testrota.compliance.facts import (
    APPOINTMENT_COLUMNS,
    appointment_facts,
    appointments_between,
    chunks,
    samples_on_days,
    widen,
)
from testrota.compliance.missed import days_tested, decide_due, sample_on_day
from testrota.compliance.records import AppointmentFacts, Sample, counts_as_test
from testrota.db import tables
from testrota.db.models import Appointment
from testrota.db.types import UTCDateTime
from testrota.policy import Policy
from testrota.statuses import AppointmentStatus
from testrota.weeks import day_bounds, local_days


def flag_due(session: Session, now: datetime, policy: Policy) -> FlagReport:
    """Decide, in ``session``'s transaction, every still-scheduled appointment whose slot ended
    more than the grace period ago: done if the person tested that local day, else missed.

    Appointments inside the grace period are left alone: the check-in and the result import
    mark them done the moment a sample is recorded, so a list (which flags first) only reads
    the few rows that just became due, not every slot of the last few hours."""
    candidates = [appointment_facts(r) for r in session.execute(due_query(now, policy))]
    if not candidates:
        return FlagReport(0, 0)
    tz = policy.tz
    wanted = {
        (a.person_id, day) for a in candidates for day in local_days(a.starts_at, a.ends_at, tz)
    }
    tested = days_tested(samples_on_days(session, wanted, policy), tz)
    decisions = decide_due(candidates, tested, now, policy)
    done = set_done(session, decisions.done, now)
    missed = set_missed(session, decisions.missed, now)
    return FlagReport(missed=missed, done=done)


def due_query(now: datetime, policy: Policy) -> Any:
    """The still-scheduled appointments that ended more than the grace period before ``now``,
    read through the scheduled rows' own index (0014_peak), in which they come first."""
    return select(*APPOINTMENT_COLUMNS).where(*due_where(tables.APPOINTMENT, now, policy))


def set_missed(session: Session, appointment_ids: Sequence[int], now: datetime) -> int:
    changed = 0
    for part in chunks(sorted(appointment_ids)):
        result = session.execute(
            update(Appointment)
            .where(
                col(Appointment.id).in_(list(part)),
                col(Appointment.status) == AppointmentStatus.SCHEDULED,
            )
            .values(status=AppointmentStatus.MISSED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


def set_done(session: Session, decided: Sequence[tuple[int, datetime]], now: datetime) -> int:
    """Mark appointments done; a missed one becomes done too (its day's result came late)."""
    if not decided:
        return 0
    table = tables.APPOINTMENT
    statement = (
        update(table)
        .where(
            table.c.id == bindparam("appt_id"),
            # not IN (...): an expanding IN cannot be used in an executemany
            or_(
                table.c.status == AppointmentStatus.SCHEDULED,
                table.c.status == AppointmentStatus.MISSED,
            ),
        )
        .values(
            status=AppointmentStatus.DONE,
            done_at=bindparam("sampled", type_=UTCDateTime()),
            updated_at=now,
        )
    )
    changed = 0
    for part in chunks(sorted(decided), 5000):
        result = session.connection().execute(
            statement, [{"appt_id": appt_id, "sampled": at} for appt_id, at in part]
        )
        changed += max(int(getattr(result, "rowcount", 0) or 0), 0)
    return changed


def mark_done_for(
    session: Session,
    samples: Iterable[tuple[int, datetime, str]],
    now: datetime,
    policy: Policy,
    read: Sequence[AppointmentFacts] | None = None,
) -> int:
    """After recording samples ``(person id, sampled at, result)``: mark the appointments on
    those people's sample days done (including ones already flagged missed), in the caller's
    transaction, so a check-in shows as done at once rather than at the next flagging run.
    ``read``: every appointment of those people on those days (widened, see
    :func:`testrota.compliance.facts.widen`), read already in this transaction."""
    tz = policy.tz
    tested = days_tested(
        (
            Sample(person_id, at, result)
            for person_id, at, result in samples
            if counts_as_test(result)
        ),
        tz,
    )
    if not tested:
        return 0
    days = sorted({day for _, day in tested})
    people = {person_id for person_id, _ in tested}
    start, end = widen(day_bounds(days[0], tz)[0], day_bounds(days[-1], tz)[1])
    open_ = (AppointmentStatus.SCHEDULED, AppointmentStatus.MISSED)
    if read is not None:
        appointments = [a for a in read if a.status in open_]
    else:
        few = len(people) <= 2000
        appointments = appointments_between(
            session, start, end, person_ids=people if few else None, statuses=open_
        )
    decided: list[tuple[int, datetime]] = []
    for appt in appointments:
        if appt.person_id not in people:
            continue
        at = sample_on_day(appt, tested, tz)
        if at is not None:
            decided.append((appt.id, at))
    return set_done(session, decided, now)
