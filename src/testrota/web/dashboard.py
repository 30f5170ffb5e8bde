"""The dashboard's figures (:func:`testrota.actions.compliance.dashboard_figures`), cached.

Computing compliance for a whole works (100,000 people, several weeks of trend) takes a while,
so each web process keeps the figures for ``web.dashboard_cache_seconds`` and, once they are
older, serves them one more time while a background thread recomputes them. The page says how
old they are. The missed list and the person pages are never cached. At most
``web.dashboard_cache_entries`` (week, scope) pairs are kept, the least recently read dropped
first: any ISO week may be asked for, and review found a signed-in reader could grow the cache
by one entry a request until the process ran out of memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
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

    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int = 256,
        clock: Callable[[], float] = time.monotonic,
        figures: Callable[[App, Scope, str], Dashboard] = compute,
    ) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._compute = figures
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[_Key, threading.Lock] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, app: App, scope: Scope, week: str) -> Dashboard:
        if self.ttl <= 0:
            return self._compute(app, scope, week)
        key = (week, scope.departments, scope.units)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                if self._clock() - entry.at >= self.ttl and not entry.refreshing:
                    entry.refreshing = True
                    threading.Thread(
                        target=self._refresh, args=(app, scope, week, key), daemon=True
                    ).start()
                return entry.value
            key_lock = self._computing.setdefault(key, threading.Lock())
        # First request for this key: compute once while others wait for the same result.
        try:
            with key_lock:
                with self._lock:
                    entry = self._entries.get(key)
                if entry is not None:
                    return entry.value
                value = self._compute(app, scope, week)
                self._store(key, value)
                return value
        finally:
            with self._lock:
                self._computing.pop(key, None)

    def _store(self, key: _Key, value: Dashboard) -> None:
        with self._lock:
            self._entries[key] = _Entry(self._clock(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def _refresh(self, app: App, scope: Scope, week: str, key: _Key) -> None:
        try:
            value = self._compute(app, scope, week)
        except Exception:  # a failed refresh keeps the old figures; the next request retries
            log.exception("dashboard refresh failed")
            with self._lock:
                if key in self._entries:
                    self._entries[key].refreshing = False
            return
        with self._lock:
            if key not in self._entries:
                return  # dropped while it was computed: not worth a place now
        self._store(key, value)
