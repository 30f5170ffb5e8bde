"""The dashboard's figures (:func:`testrota.actions.compliance.dashboard_figures`), cached.

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
from dataclasses import dataclass

from testrota.actions.compliance import Dashboard, DashboardFigures, dashboard_figures
from testrota.app import App
from testrota.auth.scope import Scope

log = logging.getLogger(__name__)


def compute(app: App, scope: Scope, week: str) -> Dashboard:
    return dashboard_figures(app, DashboardFigures(week, scope))


@dataclass
class _Entry:
    at: float
    value: Dashboard
    refreshing: bool = False


# (week, departments, units): two unit-scoped supervisors may share departments, not figures
_Key = tuple[str, frozenset[str] | None, frozenset[str] | None]


class DashboardCache:
    """Per-process cache of :class:`Dashboard` by (week, scope), refreshed in the background."""

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[_Key, _Entry] = {}
        self._lock = threading.Lock()
        self._computing: dict[_Key, threading.Lock] = {}

    def get(self, app: App, scope: Scope, week: str) -> Dashboard:
        if self.ttl <= 0:
            return compute(app, scope, week)
        key = (week, scope.departments, scope.units)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self._clock() - entry.at < self.ttl:
                return entry.value
            if entry is not None:
                if not entry.refreshing:
                    entry.refreshing = True
                    threading.Thread(
                        target=self._refresh, args=(app, scope, week, key), daemon=True
                    ).start()
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

    def _refresh(self, app: App, scope: Scope, week: str, key: _Key) -> None:
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
