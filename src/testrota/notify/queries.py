"""Reading the outbox back: the list of texts, and the sender's capacity for a week."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Table, func, select

from testrota.db import tables
from testrota.errors import UserError
from testrota.notify.backends import mask_phone
from testrota.notify.capacity import capacity_warning, needed_rate, reminder_windows
from testrota.policy import Policy

M: Table = tables.MESSAGE
A: Table = tables.APPOINTMENT
S: Table = tables.SITE

OUTBOX_COLUMNS = [
    "id",
    "kind",
    "status",
    "to",
    "due_at",
    "sent_at",
    "attempts",
    "segments",
    "provider_sid",
    "provider_status",
    "channel",
    "error_code",
    "body",
]
OUTBOX_TABLE_COLUMNS = ["id", "kind", "status", "channel", "to", "due_at", "attempts", "error_code"]


def list_outbox(
    engine: Engine,
    *,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    mask: bool = True,
) -> list[dict[str, Any]]:
    """The newest texts first, optionally of one status or kind."""
    query = select(M).order_by(M.c.due_at.desc(), M.c.id.desc()).limit(limit)
    if status:
        query = query.where(M.c.status == status)
    if kind:
        query = query.where(M.c.kind == kind)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        if mask and row["to"]:
            row["to"] = mask_phone(row["to"])
    return rows


def outbox_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            s: int(n)
            for s, n in conn.execute(select(M.c.status, func.count()).group_by(M.c.status))
        }


def parse_iso_week(week: str) -> date:
    try:
        year, number = week.upper().split("-W")
        return date.fromisocalendar(int(year), int(number), 1)
    except ValueError as exc:
        raise UserError(f"week {week!r}: write it as an ISO week, e.g. 2022-W19") from exc


def capacity_for_week(engine: Engine, week: str, policy: Policy) -> dict[str, Any]:
    """Per local day of ``week``: reminders, and the sender rate they need if it is too slow."""
    monday = parse_iso_week(week)
    tz = policy.tz
    start = datetime.combine(monday, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=8), time(0), tzinfo=tz).astimezone(UTC)
    with engine.connect() as conn:
        rows = conn.execute(
            select(A.c.starts_at, S.c.timezone)
            .select_from(A.outerjoin(S, S.c.code == A.c.site_code))
            .where(A.c.status == "scheduled", A.c.starts_at >= start, A.c.starts_at < end)
        ).all()
    zones: dict[str, ZoneInfo] = {}
    by_day: dict[date, list[tuple[datetime, datetime]]] = {}
    for starts_at, zone in rows:
        z = zones.setdefault(zone or policy.timezone, ZoneInfo(zone or policy.timezone))
        for window in reminder_windows([starts_at], z, policy.reminders):
            by_day.setdefault(window[0].astimezone(tz).date(), []).append(window)
    rate = policy.sms.rate_per_second
    days = []
    warnings = []
    for day in sorted(by_day):
        windows = by_day[day]
        warning = capacity_warning(windows, rate)
        days.append(
            {
                "date": day.isoformat(),
                "texts": len(windows),
                "needed_rate": round(needed_rate(windows)[0], 3),
                "ok": warning is None,
            }
        )
        if warning:
            warnings.append(warning.message)
    return {"week": week, "rate_per_second": rate, "days": days, "warnings": warnings}
