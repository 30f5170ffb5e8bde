"""A temporary table of an import's samples, so matching and marking run inside the database.

A 100,000-row result sheet would otherwise mean reading 100,000 stored results and as many
appointments back into Python only to compare keys. The staged rows carry each sample's local
day as UTC bounds (computed in Python with ``zoneinfo``, so DST is right), which turns "a sample
on one of the appointment's local days" into plain interval overlap that any SQL can evaluate:
``day_start < appointment.ends_at AND day_end > appointment.starts_at``.

The table is temporary (private to the connection, on SQLite and PostgreSQL alike) and dropped
before the transaction ends, so concurrent imports on other connections never see each other's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    func,
    select,
    update,
)

from testrota.compliance.result_rows import SampleColumns
from testrota.db import tables
from testrota.db.bulk import bulk_insert_columns
from testrota.db.types import UTCDateTime
from testrota.policy import Policy
from testrota.statuses import AppointmentStatus, ResultValue
from testrota.weeks import day_bounds

NAME = "compliance_staged_samples"
DAYS = "compliance_staged_days"
_metadata = MetaData()  # not the models' metadata: Alembic must never see these tables
STAGED = Table(
    NAME,
    _metadata,
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("person_id", Integer, nullable=False),
    Column("sampled_at", UTCDateTime, nullable=False),
    Column("result", String(20), nullable=False),
    Column("source", String(100), nullable=False),
    Column("site_code", String(40)),
    Column("site_name", String(200), nullable=False),
    Column("day", Integer, nullable=False),  # the local day: a row of STAGED_DAYS
    Index(f"ix_{NAME}_key", "person_id", "sampled_at"),
    prefixes=["TEMPORARY"],
)
# A sheet spans a few days: their bounds are stored once, not on each of 100,000 rows.
STAGED_DAYS = Table(
    DAYS,
    _metadata,
    Column("day", Integer, primary_key=True, autoincrement=False),
    Column("day_start", UTCDateTime, nullable=False),
    Column("day_end", UTCDateTime, nullable=False),
    prefixes=["TEMPORARY"],
)


@dataclass
class Staging:
    samples: dict[str, list[Any]]  # STAGED's values, column by column
    days: list[dict[str, Any]]


def staged_rows(samples: SampleColumns, policy: Policy) -> Staging:
    """Columns for :data:`STAGED` and rows for :data:`STAGED_DAYS` from parsed samples."""
    tz = policy.tz
    # Samples share their times (a slot's minute): each distinct time is placed once.
    day_of = {at: at.astimezone(tz).date().toordinal() for at in set(samples.sampled_at)}
    columns: dict[str, list[Any]] = {
        "idx": list(range(len(samples))),
        "person_id": samples.person_id,
        "sampled_at": samples.sampled_at,
        "result": samples.result,
        "source": samples.source,
        "site_code": samples.site_code,
        "site_name": samples.site_name,
        "day": [day_of[at] for at in samples.sampled_at],
    }
    days = []
    for day_id in sorted(set(day_of.values())):
        start, end = day_bounds(date.fromordinal(day_id), tz)
        days.append({"day": day_id, "day_start": start, "day_end": end})
    return Staging(columns, days)


@contextmanager
def staged(conn: Connection, staging: Staging) -> Iterator[Table]:
    """The staged samples (and their days), for the length of the ``with`` block."""
    _drop(conn)
    STAGED.create(conn)
    STAGED_DAYS.create(conn)
    if staging.days:
        conn.execute(STAGED_DAYS.insert(), staging.days)
    bulk_insert_columns(conn, STAGED, staging.samples)
    yield STAGED
    # Not on an error: the transaction that created the tables rolls back and takes them with
    # it, and on PostgreSQL a statement in it now fails too ("current transaction is
    # aborted"), which hid the error itself (a conflicting import's duplicate key).
    _drop(conn)


def _drop(conn: Connection) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {NAME}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {DAYS}")


def same_sample() -> Any:
    """Join condition: a stored result with a staged sample's key."""
    tr = tables.TEST_RESULT
    return and_(
        tr.c.person_id == STAGED.c.person_id,
        tr.c.sampled_at == STAGED.c.sampled_at,
        tr.c.source == STAGED.c.source,
    )


def mark_done_staged(conn: Connection, now: datetime) -> int:
    """Mark done every scheduled or missed appointment on a local day of a staged counting
    sample (the same rule as :func:`testrota.compliance.missed.sample_on_day`)."""
    bounds = conn.execute(
        select(func.min(STAGED_DAYS.c.day_start), func.max(STAGED_DAYS.c.day_end))
    ).one()
    if bounds[0] is None:
        return 0
    lo = _as_datetime(bounds[0]) - timedelta(days=1)  # a slot that began the evening before
    hi = _as_datetime(bounds[1])
    a = tables.APPOINTMENT
    b = a.alias("candidate")
    open_ = [AppointmentStatus.SCHEDULED, AppointmentStatus.MISSED]
    # Each appointment with its first counting sample, in one grouped join; a sub-select of
    # the first sample for each row updated ran once per appointment (96,000 times, 0.3 s,
    # for a group's sheet). The status is asked again of the row updated: a row another
    # transaction excused meanwhile is checked again as it is now, and left alone.
    first = (
        select(b.c.id, func.min(STAGED.c.sampled_at).label("first"))
        .select_from(
            STAGED.join(STAGED_DAYS, STAGED.c.day == STAGED_DAYS.c.day).join(
                b, STAGED.c.person_id == b.c.person_id
            )
        )
        .where(
            b.c.status.in_(open_),
            b.c.starts_at >= lo,
            b.c.starts_at < hi,
            STAGED_DAYS.c.day_start < b.c.ends_at,
            STAGED_DAYS.c.day_end > b.c.starts_at,
            STAGED.c.result != ResultValue.INVALID,
        )
        .group_by(b.c.id)
        .subquery()
    )
    result = conn.execute(
        update(a)
        .where(a.c.id == first.c.id, a.c.status.in_(open_))
        .values(status=AppointmentStatus.DONE, done_at=first.c.first, updated_at=now)
    )
    return int(result.rowcount or 0)


def _as_datetime(value: Any) -> datetime:
    # min()/max() lose the column type on SQLite: the value comes back as stored text.
    from datetime import UTC

    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
