"""The dashboard's per-process cache (testrota.web.dashboard): bounded, fresh, refreshed."""

from __future__ import annotations

import threading
from typing import Any, cast

from testrota.actions.compliance import Dashboard
from testrota.app import App
from testrota.auth.scope import Scope
from testrota.web.dashboard import DashboardCache

APP = cast(App, None)  # the fake figures below never look at it


class Figures:
    """Counts computations; each returns a distinct stand-in for a Dashboard."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.done = threading.Event()

    def __call__(self, app: App, scope: Scope, week: str) -> Dashboard:
        self.calls.append(week)
        self.done.set()
        return cast(Dashboard, (week, len(self.calls)))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_any_number_of_weeks_asked_keeps_at_most_the_bound() -> None:
    """Review: ``/?week=`` takes any ISO week from year 1 to 9999, and each new one stayed in
    the cache for good: a signed-in reader grew a web process by an entry a request."""
    figures = Figures()
    cache = DashboardCache(120, max_entries=5, clock=Clock(), figures=figures)
    everyone = Scope.everything()
    for year in range(1000, 1600):
        cache.get(APP, everyone, f"{year}-W01")
    assert len(cache) == 5 and len(figures.calls) == 600
    assert not cache._computing  # no lock left behind per week asked either


def test_the_least_recently_read_goes_first_and_a_fresh_entry_is_not_recomputed() -> None:
    figures = Figures()
    cache = DashboardCache(120, max_entries=2, clock=Clock(), figures=figures)
    scope = Scope.of(["炼钢厂"])
    first = cache.get(APP, scope, "2022-W19")
    cache.get(APP, scope, "2022-W20")
    assert cache.get(APP, scope, "2022-W19") is first  # read again: now the most recent
    cache.get(APP, scope, "2022-W21")  # drops W20, not W19
    assert cache.get(APP, scope, "2022-W19") is first
    cache.get(APP, scope, "2022-W20")
    assert figures.calls == ["2022-W19", "2022-W20", "2022-W21", "2022-W20"]
    # another scope's figures are its own
    cache.get(APP, Scope.of(["物流部"]), "2022-W20")
    assert len(figures.calls) == 5


def test_stale_figures_are_served_once_more_while_they_are_recomputed() -> None:
    figures = Figures()
    clock = Clock()
    cache = DashboardCache(120, clock=clock, figures=figures)
    everyone = Scope.everything()
    old: Any = cache.get(APP, everyone, "2022-W19")
    figures.done.clear()
    clock.now = 121
    assert cache.get(APP, everyone, "2022-W19") is old
    assert figures.done.wait(5)
    for _ in range(100):  # the thread stores its figures just after computing them
        if cache.get(APP, everyone, "2022-W19") is not old:
            break
        threading.Event().wait(0.01)
    assert cache.get(APP, everyone, "2022-W19") == ("2022-W19", 2)


def test_no_cache_computes_every_time() -> None:
    figures = Figures()
    cache = DashboardCache(0, figures=figures)
    cache.get(APP, Scope.everything(), "2022-W19")
    cache.get(APP, Scope.everything(), "2022-W19")
    assert len(figures.calls) == 2 and len(cache) == 0
