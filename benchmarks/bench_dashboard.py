"""The dashboard's figures at group scale (``dashboard_figures``: compliance per department and
grid unit with its trend, the open alerts, the high-risk head-count), on SQLite or --db URL.

The people, units, appointments and samples of ``bench_daily_report`` (every person high-risk
here, so each is asked for tests every week of the trend). Side by side in one run: the whole
group's dashboard and one workshop supervisor's (750 people at 300,000), each cold (a new App
and engine: the first request of a process, which the per-process cache cannot help) and warm
(the same App, cache off). Wall and CPU time of this process and the load average beside each.

Side by side: summed from the weekly roll-up (``testrota.org.weekly``, after one
``rollup rebuild``, which is timed too) and counted person by person over the trend's weeks
(``from_raw``); the two must agree. The issue's goal: whole group cold under 1 s, a supervisor
under 200 ms at 300,000 people on PostgreSQL.

    .venv/bin/python benchmarks/bench_dashboard.py [--people 100000] [--runs 2] [--db URL]
        [--units-by-rebuild] [--rebuild-only]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

from sqlalchemy import make_url, text, update

from _pg import DatabaseCpu
from bench_daily_report import CONFIG, NOW, SECRET, SUPERVISED, load, seed
from testrota.actions.compliance import Dashboard, DashboardFigures, dashboard_figures
from testrota.actions.rollup import RebuildRollup, RollupRebuilt, rebuild_rollup
from testrota.app import App, build_app
from testrota.audit import Actor
from testrota.auth.scope import Scope
from testrota.clock import FixedClock
from testrota.db import tables
from testrota.db.engine import make_engine
from testrota.db.schema import upgrade
from testrota.settings import get_settings
from testrota.weeks import week_of


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def line(label: str, runs: list[tuple[float, float]]) -> str:
    walls = [w for w, _ in runs]
    cpus = [c for _, c in runs]
    return (
        f"{label}: wall min {min(walls):.2f} s, median {statistics.median(walls):.2f} s; "
        f"CPU median {statistics.median(cpus):.2f} s ({len(runs)} runs, {load()})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary folder)")
    parser.add_argument(
        "--units-by-rebuild",
        action="store_true",
        help="seed nobody in a unit: the rebuild places everyone first, as after a bulk load",
    )
    parser.add_argument(
        "--rebuild-only", action="store_true", help="stop after the timed rollup rebuild"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        t0 = time.perf_counter()
        seed(engine, args.people, random.Random(42), place_units=not args.units_by_rebuild)
        with engine.begin() as conn:
            conn.execute(update(tables.PERSON).values(risk_category="driver"))
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()
        print(f"seeded {args.people:,} people in {time.perf_counter() - t0:.1f} s ({load()})")
        settings = get_settings(
            database_url=url, config_dir=CONFIG, secret_key=SECRET, now=NOW.isoformat()
        )
        # The roll-ups counted whole once, as after an upgrade (`testrota rollup rebuild`).
        app = build_app(settings, clock=FixedClock(NOW))
        rebuilt: list[RollupRebuilt] = []
        with DatabaseCpu(make_url(url).database or "") as db_cpu:
            wall, cpu = timed(
                lambda: rebuilt.append(rebuild_rollup(app, RebuildRollup(Actor.cli())))
            )
        done = rebuilt[0]
        app.close()
        placed = "people placed in units by it, " if args.units_by_rebuild else ""
        server = f", database CPU {db_cpu.seconds:.1f} s" if db_cpu.seconds else ""
        print(
            f"rollup rebuild (daily and weekly, {placed}{len(done.weeks)} weeks, "
            f"{done.days} days, {done.rows:,} unit-day rows, {done.week_rows:,} person-week "
            f"rows): {wall:.1f} s wall, {cpu:.1f} s CPU{server} ({load()})"
        )
        if args.rebuild_only:
            return
        week = str(week_of(NOW, NOW.tzinfo))  # type: ignore[arg-type]
        unit = SUPERVISED["workshop"]
        with make_engine(url).connect() as conn:
            departments = {
                r[0]
                for r in conn.execute(
                    text("SELECT DISTINCT department FROM person WHERE unit_path LIKE :p"),
                    {"p": unit.split("/", 1)[1] + "%"},
                )
            }
        scopes = {
            "whole group": Scope.everything(),
            "a workshop's supervisor": Scope(frozenset(departments), units=frozenset({unit})),
        }
        for name, scope in scopes.items():
            figures: dict[bool, Dashboard] = {}
            for way, raw in (("roll-up", False), ("raw", True)):
                label = f"dashboard, {name}, {way}"
                cold = []
                for _ in range(args.runs):
                    app = build_app(settings, clock=FixedClock(NOW))

                    def run(
                        a: App = app,
                        s: Scope = scope,
                        r: bool = raw,
                        f: dict[bool, Dashboard] = figures,
                    ) -> None:
                        f[r] = dashboard_figures(a, DashboardFigures(week, s, from_raw=r))

                    cold.append(timed(run))
                    app.close()
                print(line(f"{label}, cold", cold))
                app = build_app(settings, clock=FixedClock(NOW))
                runs = [
                    timed(
                        lambda a=app, s=scope, r=raw: dashboard_figures(
                            a, DashboardFigures(week, s, from_raw=r)
                        )
                    )
                    for _ in range(args.runs + 1)
                ][1:]
                print(line(f"{label}, warm", runs))
                app.close()
            kept, counted = figures[False], figures[True]
            same = (kept.total, kept.departments) == (counted.total, counted.departments)
            assert same, name
            print(
                f"  {name}: both ways {kept.total.people:,} people, "
                f"required {kept.total.required:,}"
            )


if __name__ == "__main__":
    sys.exit(main())
