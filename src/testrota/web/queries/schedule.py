"""The schedule as pages show it: one site's week (per day and slot, with utilisation and grid
units) and every site's day, each on its own clock."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from testrota.auth.scope import Scope
from testrota.db.id_filter import dialect_of, id_runs, one_of
from testrota.db.models import Appointment, Person, Site, Slot


@dataclass
class SlotView:
    id: int | None
    site: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int = 0
    done: int = 0
    missed: int = 0
    units: dict[str, int] = field(default_factory=dict)

    @property
    def utilisation(self) -> float:
        return self.booked / self.capacity if self.capacity else 0.0


@dataclass
class WeekView:
    week: str
    site: str
    sites: list[str]
    days: list[tuple[date, list[SlotView]]]
    booked: int
    capacity: int

    @property
    def utilisation(self) -> float:
        return self.booked / self.capacity if self.capacity else 0.0


def week_view(
    session: Session, scope: Scope, week: str, site: str, tz: tzinfo, days: list[date]
) -> WeekView:
    """One site's week. Supervisors' counts and grid units cover their departments only."""
    sites = sorted(
        s for s in session.exec(select(Slot.site_code).where(Slot.week == week).distinct())
    )
    if not sites:
        sites = sorted(
            s
            for s in session.exec(
                select(Appointment.site_code).where(Appointment.week == week).distinct()
            )
        )
    if site not in sites:
        site = sites[0] if sites else ""
    slots = {
        s.id: SlotView(s.id, s.site_code, s.starts_at, s.ends_at, s.capacity)
        for s in session.exec(
            select(Slot)
            .where(Slot.week == week, Slot.site_code == site)
            .order_by(col(Slot.starts_at))
        )
    }
    a_slot, a_unit, a_status = (
        col(Appointment.slot_id),
        col(Appointment.grid_unit),
        col(Appointment.status),
    )
    in_week = (
        col(Appointment.week) == week,
        col(Appointment.site_code) == site,
        a_status != "cancelled",
    )
    query = (
        sa_select(a_slot, a_unit, a_status, func.count())
        .where(*in_week)
        .group_by(a_slot, a_unit, a_status)
    )
    where = scope.where(Person.department)
    if where is not None:
        query = query.join(Person, col(Person.id) == Appointment.person_id).where(where)
    loose: dict[tuple[datetime, datetime], SlotView] = {}
    for slot_id, unit, status, count in session.execute(query):
        view = slots.get(slot_id)
        if view is None:
            continue
        _count(view, unit, status, count)
    if not slots:
        # Appointments without slot rows (a plan stored without them): group by their times.
        a_start, a_end = col(Appointment.starts_at), col(Appointment.ends_at)
        q2 = (
            sa_select(a_start, a_end, a_unit, a_status, func.count())
            .where(*in_week)
            .group_by(a_start, a_end, a_unit, a_status)
        )
        if where is not None:
            q2 = q2.join(Person, col(Person.id) == Appointment.person_id).where(where)
        for starts, ends, unit, status, count in session.execute(q2):
            view = loose.setdefault((starts, ends), SlotView(None, site, starts, ends, 0))
            _count(view, unit, status, count)
    all_slots = list(slots.values()) or sorted(loose.values(), key=lambda v: v.starts_at)
    by_day: dict[date, list[SlotView]] = defaultdict(list)
    for view in all_slots:
        by_day[view.starts_at.astimezone(tz).date()].append(view)
    return WeekView(
        week=week,
        site=site,
        sites=sites,
        days=[(d, by_day.get(d, [])) for d in days],
        booked=sum(v.booked for v in all_slots),
        capacity=sum(v.capacity for v in all_slots),
    )


def _count(view: SlotView, unit: Any, status: str, count: int) -> None:
    view.booked += count
    if status == "done":
        view.done += count
    elif status == "missed":
        view.missed += count
    key = unit or "–"
    view.units[key] = view.units.get(key, 0) + count


def appointments_page(
    session: Session,
    scope: Scope,
    week: str,
    *,
    site: str = "",
    employee_no: str = "",
    page: int = 1,
    page_size: int = 500,
) -> tuple[int, int, list[dict[str, Any]]]:
    """The week's appointments (not cancelled) in ``scope``: (total, page, rows)."""
    conds: list[Any] = [col(Appointment.week) == week, col(Appointment.status) != "cancelled"]
    where = scope.where(Person.department)
    if where is not None:
        conds.append(where)
    if site:
        conds.append(col(Appointment.site_code) == site)
    if employee_no:
        conds.append(col(Person.employee_no) == employee_no)
    joined = (
        sa_select(func.count())
        .select_from(Appointment)
        .join(Person, col(Person.id) == col(Appointment.person_id))
    )
    total = int(session.execute(joined.where(*conds)).scalar_one())
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    query = (
        sa_select(
            col(Person.employee_no),
            col(Person.name),
            col(Person.department),
            col(Appointment.site_code),
            col(Appointment.starts_at),
            col(Appointment.ends_at),
            col(Appointment.status),
            col(Appointment.grid_unit),
        )
        .join(Person, col(Person.id) == col(Appointment.person_id))
        .where(*conds)
        .order_by(col(Appointment.starts_at), col(Person.employee_no))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    rows = [
        {
            "employee_no": r[0],
            "name": r[1],
            "department": r[2],
            "site": r[3],
            "starts_at": r[4],
            "ends_at": r[5],
            "status": r[6],
            "grid_unit": r[7],
        }
        for r in session.execute(query)
    ]
    return total, page, rows


@dataclass
class SiteDay:
    """One site's slots on one day of its own clock."""

    code: str
    name: str
    zone: tzinfo
    slots: list[SlotView]

    @property
    def zone_name(self) -> str:
        return str(getattr(self.zone, "key", self.zone))

    @property
    def booked(self) -> int:
        return sum(s.booked for s in self.slots)

    @property
    def capacity(self) -> int:
        return sum(s.capacity for s in self.slots)

    @property
    def done(self) -> int:
        return sum(s.done for s in self.slots)

    @property
    def missed(self) -> int:
        return sum(s.missed for s in self.slots)

    @property
    def utilisation(self) -> float:
        return self.booked / self.capacity if self.capacity else 0.0


@dataclass
class DayView:
    day: date
    week: str
    sites: list[SiteDay]  # every known site, those open that day first

    @property
    def booked(self) -> int:
        return sum(s.booked for s in self.sites)

    @property
    def capacity(self) -> int:
        return sum(s.capacity for s in self.sites)


# Every zone's day lies within this much of the UTC day (UTC-12 to UTC+14).
_ZONE_REACH = timedelta(hours=15)


def _zone(name: str | None, default: tzinfo) -> tzinfo:
    try:
        return ZoneInfo(name) if name else default
    except (ZoneInfoNotFoundError, ValueError):  # a zone this machine does not know
        return default


def day_view(session: Session, scope: Scope, day: date, default_tz: tzinfo) -> DayView:
    """Every site's slots on ``day``, each site on its own clock (its day runs from its own
    midnight to the next), with bookings, tests and misses counted per slot. Supervisors'
    counts and grid units cover their departments only; places are the whole slot's."""
    sites: dict[str, tuple[str, tzinfo]] = {
        s.code: (s.name, _zone(s.timezone, default_tz)) for s in session.exec(select(Site))
    }
    midnight = datetime.combine(day, time(), UTC)
    start, end = midnight - _ZONE_REACH, midnight + timedelta(days=1) + _ZONE_REACH
    slots: dict[int, SlotView] = {}
    # columns, not Slot objects: a group's day is some 6,000 slots within the zones' reach
    columns = (Slot.id, Slot.site_code, Slot.starts_at, Slot.ends_at, Slot.capacity)
    for slot_id, code, starts, ends, capacity in session.execute(
        sa_select(*(col(c) for c in columns))
        .where(col(Slot.starts_at) >= start, col(Slot.starts_at) < end)
        .order_by(col(Slot.starts_at), col(Slot.site_code))
    ):
        zone = sites.get(code, (code, default_tz))[1]
        if starts.astimezone(zone).date() == day:
            slots[slot_id] = SlotView(slot_id, code, starts, ends, capacity)
    a_slot, a_unit, a_status = (
        col(Appointment.slot_id),
        col(Appointment.grid_unit),
        col(Appointment.status),
    )
    where = scope.where(Person.department)
    if slots:
        dialect = dialect_of(session)
        query = (
            sa_select(a_slot, a_unit, a_status, func.count())
            # the day's slots bound as one list (one array on PostgreSQL): as literals, a
            # group's 2,880 ids were a statement psycopg and the server took apart each time
            .where(one_of(a_slot, "slots", dialect), a_status != "cancelled")
            .group_by(a_slot, a_unit, a_status)
        )
        if where is not None:
            query = query.join(Person, col(Person.id) == Appointment.person_id).where(where)
        for part in id_runs(dialect, slots):
            for slot_id, unit, status, count in session.execute(query, {"slots": part}):
                _count(slots[slot_id], unit, status, count)
    # Appointments booked without a slot row (an outside plan): grouped by their times.
    a_start, a_end, a_site = (
        col(Appointment.starts_at),
        col(Appointment.ends_at),
        col(Appointment.site_code),
    )
    loose_q = (
        sa_select(a_site, a_start, a_end, a_unit, a_status, func.count())
        .where(a_slot.is_(None), a_start >= start, a_start < end, a_status != "cancelled")
        .group_by(a_site, a_start, a_end, a_unit, a_status)
    )
    if where is not None:
        loose_q = loose_q.join(Person, col(Person.id) == Appointment.person_id).where(where)
    loose: dict[tuple[str, datetime], SlotView] = {}
    for site, starts, ends, unit, status, count in session.execute(loose_q):
        zone = sites.get(site, (site, default_tz))[1]
        if starts.astimezone(zone).date() != day:
            continue
        view = loose.setdefault((site, starts), SlotView(None, site, starts, ends, 0))
        _count(view, unit, status, count)
    by_site: dict[str, list[SlotView]] = defaultdict(list)
    for view in [*slots.values(), *loose.values()]:
        by_site[view.site].append(view)
    out = [
        SiteDay(
            code,
            sites.get(code, (code, default_tz))[0],
            sites.get(code, (code, default_tz))[1],
            sorted(by_site.get(code, []), key=lambda v: v.starts_at),
        )
        for code in sorted({*sites, *by_site})
    ]
    out.sort(key=lambda s: (not s.slots, s.code))
    year, week, _ = day.isocalendar()
    return DayView(day, f"{year}-W{week:02d}", out)
