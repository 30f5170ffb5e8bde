"""Reminder texts to supervisors whose unit has not confirmed yesterday's figures upward by
``report.confirm_by``: one per supervisor, unit and day (the outbox's dedupe key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import Connection, select

from testrota.db import tables
from testrota.notify.enqueue import insert_rows
from testrota.notify.outbox import OutboxRow, quiet_window_end
from testrota.notify.templates import Templates, format_date
from testrota.org.units import PERSON, UNIT, subtree_condition
from testrota.policy import Policy
from testrota.statuses import UnitKind

KIND_CONFIRM_LATE = "confirm_late"
U, C = tables.USER, tables.REPORT_CONFIRMATION


@dataclass(frozen=True)
class LateUnit:
    """A supervisor's unit not confirmed for the day: what their text says."""

    user_id: int
    name: str
    phone: str
    language: str
    unit_id: int
    path: str


def late_units(conn: Connection, day: date) -> list[LateUnit]:
    """The supervisors' units (with people) that have no confirmation for ``day``."""
    users = conn.execute(
        select(U.c.id, U.c.name, U.c.phone, U.c.language, U.c.units).where(
            U.c.role == "supervisor",
            U.c.active.is_(True),
            U.c.opted_out.is_(False),
            U.c.phone.is_not(None),
            U.c.phone != "",
        )
    ).all()
    paths = sorted({p for u in users for p in (u.units or ())})
    if not paths:
        return []
    # A grid unit's report is never asked to be confirmed: its leader is chased for nothing.
    units = dict(
        (row.path, row.id)
        for row in conn.execute(
            select(UNIT.c.path, UNIT.c.id).where(
                UNIT.c.path.in_(paths), UNIT.c.kind != UnitKind.GRID
            )
        )
    )
    confirmed = set(
        conn.execute(
            select(C.c.unit_id).where(C.c.day == day, C.c.unit_id.in_(list(units.values())))
        ).scalars()
    )
    staffed = {
        path
        for path in units
        if conn.execute(
            select(PERSON.c.id)
            .where(
                PERSON.c.active.is_(True),
                PERSON.c.unit_id.in_(
                    select(UNIT.c.id).where(
                        subtree_condition(path, binary=conn.dialect.name == "sqlite")
                    )
                ),
            )
            .limit(1)
        ).first()
        is not None
    }
    return [
        LateUnit(u.id, u.name, u.phone, u.language or "zh", units[p], p)
        for u in users
        for p in (u.units or ())
        if p in units and p in staffed and units[p] not in confirmed
    ]


def plan_late_texts(
    late: list[LateUnit],
    day: date,
    deadline: datetime,
    now: datetime,
    policy: Policy,
    templates: Templates,
    public_url: str,
) -> list[OutboxRow]:
    """One text per late unit and supervisor; pure."""
    tz = policy.tz
    due = quiet_window_end(now, tz, policy.reminders)
    rows = []
    for item in late:
        # the unit's id, not its path (a percent-encoded Chinese path would take a segment),
        # and the day as 20220510 (the page reads it): the link fits an Aliyun variable
        query = urlencode({"date": day.strftime("%Y%m%d"), "u": item.unit_id})
        rendered = templates.render(
            KIND_CONFIRM_LATE,
            item.language,
            name=item.name,
            unit=item.path.rsplit("/", 1)[-1],
            date=format_date(day, item.language),
            deadline=deadline.astimezone(tz).strftime("%H:%M"),
            link=f"{public_url}/report/daily?{query}",
        )
        rows.append(
            OutboxRow.of(
                rendered,
                kind=KIND_CONFIRM_LATE,
                dedupe_key=f"confirm_late:{day.isoformat()}:unit:{item.unit_id}:user:{item.user_id}",
                to=item.phone,
                due_at=due,
                expires_at=due + timedelta(hours=12),
                tz=policy.timezone,
                user_id=item.user_id,
            )
        )
    return rows


def enqueue_late_texts(
    conn: Connection,
    day: date,
    deadline: datetime,
    now: datetime,
    policy: Policy,
    templates: Templates,
    public_url: str,
) -> int:
    """Text the supervisors of units late with ``day``'s confirmation; returns how many new."""
    late = late_units(conn, day)
    return insert_rows(
        conn, plan_late_texts(late, day, deadline, now, policy, templates, public_url), now
    )
