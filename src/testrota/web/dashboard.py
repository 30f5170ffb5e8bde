"""The dashboard's figures: this week at a glance for the user's departments.

Computing compliance for a whole works (100,000 people, several weeks of trend) takes a while,
so each web process keeps the figures for ``web.dashboard_cache_seconds`` and, once they are
older, serves them one more time while a background thread recomputes them. The page says how
old they are. The missed list and the person pages are never cached.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from testrota.app import App
from testrota.auth.scope import Scope
from testrota.compliance.facts import effective_category
from testrota.db.models import Appointment, Person

log = logging.getLogger(__name__)


@dataclass
class Dashboard:
    week: str
    computed_at: datetime
    high_risk: int
    total: dict[str, Any]
    departments: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    capacity: list[str] = field(default_factory=list)


def compute(app: App, scope: Scope, week: str) -> Dashboard:
    from testrota.web.services import alerts as open_alerts
    from testrota.web.services import compliance_report

    now = app.now()
    report = compliance_report(app, scope, week=week)
    alerts = open_alerts(app, scope)
    with Session(app.engine) as session:
        query = select(func.count()).select_from(Person).where(
            col(Person.active).is_(True), effective_category().is_not(None)
        )
        where = scope.where(Person.department)
        if where is not None:
            query = query.where(where)
        high_risk = int(session.exec(query).one())
        capacity = capacity_warnings(app, session) if scope.is_everything else []
    return Dashboard(
        week=report["week"],
        computed_at=now,
        high_risk=high_risk,
        total=report["total"],
        departments=report["departments"],
        trend=report["total"].get("trend", []),
        alerts=alerts,
        capacity=capacity,
    )


def capacity_warnings(app: App, session: Session) -> list[str]:
    """Whether the sender can send the next two days' reminders in time, at the policy's rate."""
    from testrota.notify.capacity import capacity_warning, reminder_windows

    now = app.now()
    query = (
        select(Appointment.starts_at, func.count())
        .where(col(Appointment.status) == "scheduled", col(Appointment.starts_at) > now,
               col(Appointment.starts_at) < now + timedelta(hours=48))
        .group_by(col(Appointment.starts_at))
    )
    starts: list[datetime] = []
    for start, count in session.exec(query):
        starts.extend([start] * int(count))
    if not starts:
        return []
    windows = reminder_windows(starts, app.tz, app.policy.reminders)
    warning = capacity_warning(windows, app.policy.sms.rate_per_second)
    return [warning.message] if warning else []


@dataclass
class _Entry:
    at: float
    value: Dashboard
    refreshing: bool = False


class DashboardCache:
    """Per-process cache of :class:`Dashboard` by (week, scope), refreshed in the background."""

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[tuple[str, frozenset[str] | None], _Entry] = {}
        self._lock = threading.Lock()
        self._computing: dict[tuple[str, frozenset[str] | None], threading.Lock] = {}

    def get(self, app: App, scope: Scope, week: str) -> Dashboard:
        if self.ttl <= 0:
            return compute(app, scope, week)
        key = (week, scope.departments)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._clock() - entry.at < self.ttl:
                return entry.value
            if entry is not None:
                if not entry.refreshing:
                    entry.refreshing = True
                    threading.Thread(target=self._refresh, args=(app, scope, week, key),
                                     daemon=True).start()
                return entry.value
            key_lock = self._computing.setdefault(key, threading.Lock())
        # First request for this key: compute once while others wait for the same result.
        with key_lock:
            with self._lock:
                entry = self._entries.get(key)
            if entry is not None:
                return entry.value
            value = compute(app, scope, week)
            with self._lock:
                self._entries[key] = _Entry(self._clock(), value)
            return value

    def _refresh(self, app: App, scope: Scope, week: str,
                 key: tuple[str, frozenset[str] | None]) -> None:
        try:
            value = compute(app, scope, week)
        except Exception:  # a failed refresh keeps the old figures; the next request retries
            log.exception("dashboard refresh failed")
            with self._lock:
                if key in self._entries:
                    self._entries[key].refreshing = False
            return
        with self._lock:
            self._entries[key] = _Entry(self._clock(), value)
