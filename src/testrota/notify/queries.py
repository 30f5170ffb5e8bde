"""Reading the outbox back: the list of texts, and the sender's capacity for a week."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, case, func, literal_column, select

from testrota.db import tables
from testrota.errors import UserError
from testrota.notify.backends import mask_phone
from testrota.notify.capacity import capacity_warning, needed_rate, reminder_windows
from testrota.notify.route import Preference, channel_order
from testrota.policy import Policy

M: Table = tables.MESSAGE
A: Table = tables.APPOINTMENT
S: Table = tables.SITE
P: Table = tables.PERSON

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
        raise UserError("week {week!r}: write it as an ISO week, e.g. 2022-W19", week=week) from exc


def channel_rate(channel: str, policy: Policy) -> float:
    """The sending ceiling a channel's texts are checked against (texts a second; 0: none)."""
    for name, rate in policy.channels.rate_per_second.items():
        if name == channel:
            return rate
    return policy.sms.rate_per_second


Windows = Counter[tuple[datetime, datetime]]  # (due, deadline) -> texts


def reminder_window_counts_by_channel(
    conn: Connection, start: datetime, end: datetime, policy: Policy, backend: str
) -> dict[str, Windows]:
    """The ``(due, deadline)`` windows of the reminders of appointments starting in
    [start, end), counted, by the channel each goes through (``backend``, or for ``route`` the
    person's own).

    Counted in SQL: a week's 600,000 appointments start at a few thousand times, so the windows
    are worked out once per start time, site zone and channel, not once per appointment. For
    ``route`` a person's channel depends on their phone's longest matching region prefix and
    their preference; the query gives the prefix, and :func:`channel_order` reads it as it
    reads a phone (a prefix's own longest matching prefix is itself)."""
    zone = func.coalesce(func.nullif(S.c.timezone, ""), policy.timezone)
    keys: list[Any] = [A.c.starts_at, zone]
    if backend == "route":
        prefixes = sorted(policy.channels.sms_by_region, key=len, reverse=True)
        region = (
            case(*((P.c.phone.startswith(p, autoescape=True), p) for p in prefixes), else_="")
            if prefixes
            else literal_column("''")
        )
        keys += [region, P.c.notify_channel]
    query = (
        select(*keys, func.count())
        .select_from(A.outerjoin(S, S.c.code == A.c.site_code).join(P, P.c.id == A.c.person_id))
        .where(A.c.status == "scheduled", A.c.starts_at >= start, A.c.starts_at < end)
        .group_by(*keys)
    )
    zones: dict[str, ZoneInfo] = {}
    out: dict[str, Windows] = {}
    for row in conn.execute(query):
        starts_at, zone_name, n = row[0], row[1], int(row[-1])
        z = zones.get(zone_name)
        if z is None:
            z = zones[zone_name] = ZoneInfo(zone_name)
        channel = backend
        if backend == "route":
            channel = channel_order(row[2] or "", Preference(row[3]), policy.channels)[0]
        counted = out.setdefault(channel, Counter())
        for window in reminder_windows([starts_at], z, policy.reminders):
            counted[window] += n
    return out


def reminder_windows_by_channel(
    conn: Connection, start: datetime, end: datetime, policy: Policy, backend: str
) -> dict[str, list[tuple[datetime, datetime]]]:
    """:func:`reminder_window_counts_by_channel`, one window per text."""
    counted = reminder_window_counts_by_channel(conn, start, end, policy, backend)
    return {channel: list(windows.elements()) for channel, windows in counted.items()}


def capacity_for_week(
    engine: Engine, week: str, policy: Policy, backend: str = "console"
) -> dict[str, Any]:
    """Per local day of ``week``: reminders, and the sender rate they need if it is too slow;
    ``channels`` does the same per channel (with ``backend`` route, each person's own)."""
    monday = parse_iso_week(week)
    tz = policy.tz
    start = datetime.combine(monday, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=8), time(0), tzinfo=tz).astimezone(UTC)
    with engine.connect() as conn:
        by_channel = reminder_window_counts_by_channel(conn, start, end, policy, backend)
    by_day: dict[date, Windows] = {}
    by_day_channel: dict[tuple[date, str], Windows] = {}
    for channel, channel_windows in by_channel.items():
        for window, n in channel_windows.items():
            day_of = window[0].astimezone(tz).date()
            by_day.setdefault(day_of, Counter())[window] += n
            by_day_channel.setdefault((day_of, channel), Counter())[window] += n
    rate = policy.sms.rate_per_second
    days = []
    warnings = []
    for day in sorted(by_day):
        windows = by_day[day]
        warning = capacity_warning(windows, rate)
        days.append(
            {
                "date": day.isoformat(),
                "texts": windows.total(),
                "needed_rate": round(needed_rate(windows)[0], 3),
                "ok": warning is None,
            }
        )
        if warning:
            warnings.append(warning.message)
    per_channel = []
    for (day, channel), windows in sorted(by_day_channel.items()):
        channel_cap = channel_rate(channel, policy)
        warning = capacity_warning(windows, channel_cap)
        per_channel.append(
            {
                "date": day.isoformat(),
                "channel": channel,
                "texts": windows.total(),
                "needed_rate": round(needed_rate(windows)[0], 3),
                "rate_per_second": channel_cap,
                "ok": warning is None,
            }
        )
        if warning and channel in policy.channels.rate_per_second:
            warnings.append(f"{channel}: {warning.message}")
    return {
        "week": week,
        "rate_per_second": rate,
        "days": days,
        "channels": per_channel,
        "warnings": warnings,
    }
