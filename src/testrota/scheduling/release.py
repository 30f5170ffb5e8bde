"""Releasing the appointments of people who no longer need them: leavers and people HR or an
import made not high-risk. The change takes effect in the same transaction as its cause.

An appointment is released (``cancelled``, never deleted: the outbox refers to it) when it is
still ``scheduled`` and its slot has not ended. That includes a slot in progress: nobody is
flagged missed for a slot they no longer owe, and a sample taken in it is still recorded as a
test. Slots that ended stay as they are (flagging decides done or missed), and so does every
appointment already done, missed or excused. A leaver loses every such appointment; a person
who is no longer high-risk keeps a contact's extra test (a positive case's contact is tested
whatever their category) and the days a surge rule still covers them. Their pending reminders
are cancelled the way a re-plan cancels those of moved appointments; a leaver's other pending
texts and open reschedule offers go too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Table, and_, select, update

from testrota.db import tables
from testrota.notify.enqueue import cancel_stale_reminders
from testrota.policy import Policy
from testrota.scheduling.model import PlanPerson
from testrota.scheduling.rules import surge_applies

A: Table = tables.APPOINTMENT
M: Table = tables.MESSAGE
R: Table = tables.RESCHEDULE_OFFER

SCHEDULED, CANCELLED = "scheduled", "cancelled"
CONTACT = "contact"
CHUNK = 900  # bound parameters per IN list


@dataclass(frozen=True)
class Holder:
    """A person whose appointments may go, as they are after the change."""

    person_id: int
    leaving: bool  # deactivated: nothing is required of them any more
    department: str = ""
    grid_unit: str = ""
    category: str | None = None  # None: not high-risk


@dataclass(frozen=True)
class Booked:
    id: int
    person_id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    reason: str


def to_release(
    appointments: Iterable[Booked],
    holders: Mapping[int, Holder],
    now: datetime,
    policy: Policy | None,
) -> list[int]:
    """The ids of ``appointments`` to release, by the rules in this module's docstring.

    Args:
        appointments: the holders' appointments (others are ignored).
        holders: person id -> the person after the change.
        now: the instant of the change (aware).
        policy: its surge rules keep the days they cover (None: no surge rules).
    """
    surges = policy.testing.surge if policy is not None else []
    tz = policy.tz if policy is not None else None
    out: list[int] = []
    for a in appointments:
        holder = holders.get(a.person_id)
        if holder is None or a.status != SCHEDULED or a.ends_at <= now:
            continue
        if not holder.leaving:
            if holder.category is not None or a.reason == CONTACT:
                continue
            day = a.starts_at.astimezone(tz).date() if tz else a.starts_at.date()
            person = PlanPerson(
                holder.person_id, "", holder.department, holder.grid_unit, category=holder.category
            )
            if any(r.start <= day <= r.end and surge_applies(r, person) for r in surges):
                continue
        out.append(a.id)
    return sorted(out)


@dataclass
class Released:
    appointments: int = 0
    texts: int = 0


def release_appointments(
    conn: Connection,
    holders: Sequence[Holder],
    now: datetime,
    policy: Policy | None,
    *,
    dry_run: bool = False,
) -> Released:
    """Release what :func:`to_release` picks among ``holders``' appointments, in the caller's
    transaction; with ``dry_run``, only count the appointments."""
    by_id = {h.person_id: h for h in holders}
    if not by_id:
        return Released()
    ids = sorted(by_id)
    booked: list[Booked] = []
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        query = select(
            A.c.id, A.c.person_id, A.c.starts_at, A.c.ends_at, A.c.status, A.c.reason
        ).where(A.c.person_id.in_(part), A.c.status == SCHEDULED, A.c.ends_at > now)
        booked.extend(Booked(*row) for row in conn.execute(query))
    chosen = to_release(booked, by_id, now, policy)
    report = Released(appointments=len(chosen))
    if dry_run:
        return report
    for start in range(0, len(chosen), CHUNK):
        part = chosen[start : start + CHUNK]
        conn.execute(
            update(A)
            .where(A.c.id.in_(part), A.c.status == SCHEDULED)
            .values(status=CANCELLED, updated_at=now)
        )
        report.texts += cancel_stale_reminders(conn, part)
        conn.execute(
            update(R)
            .where(R.c.appointment_id.in_(part), R.c.status == "open")
            .values(status="superseded")
        )
    leavers = [h.person_id for h in holders if h.leaving]
    for start in range(0, len(leavers), CHUNK):
        part = leavers[start : start + CHUNK]
        result = conn.execute(
            update(M)
            .where(and_(M.c.person_id.in_(part), M.c.status == "pending"))
            .values(status="cancelled", error_message="the person left the roster")
        )
        report.texts += result.rowcount or 0
        conn.execute(
            update(R)
            .where(R.c.person_id.in_(part), R.c.status == "open")
            .values(status="superseded")
        )
    return report
