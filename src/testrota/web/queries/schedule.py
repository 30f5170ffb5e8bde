"""The week view of the schedule: per site, day and slot, with utilisation and grid units."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from testrota.auth.scope import Scope
from testrota.db.models import Appointment, Person, Slot


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
