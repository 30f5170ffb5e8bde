"""The daily report's trend (weekly rate over the last 8 weeks) at the group, a plant and a
workshop, on SQLite (or --db URL).

The people sit in bench_daily_report's five levels; each is due twice a week for eight weeks
(Monday or Tuesday, and Thursday or Friday), 90 % of the appointments with a sample the same
day. Prints wall and CPU time per call (median of --repeat), and the trend's last figures as a
check that something was counted.

    .venv/bin/python benchmarks/bench_report_trend.py [--people 30000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from sqlalchemy import Engine, insert  # noqa: E402

from bench_daily_report import (  # noqa: E402
    COMPANIES,
    CONFIG,
    GRIDS,
    NOW,
    PLANTS,
    SECRET,
    TEAMS,
    TZ,
    WORKSHOPS,
    unit_of,
)
from testrota.actions.report_trend import ReportTrend, report_trend  # noqa: E402
from testrota.actions.rollup import RebuildRollup, rebuild_rollup  # noqa: E402
from testrota.app import build_app  # noqa: E402
from testrota.audit import Actor  # noqa: E402
from testrota.clock import FixedClock  # noqa: E402
from testrota.db import tables  # noqa: E402
from testrota.db.bulk import bulk_insert  # noqa: E402
from testrota.db.engine import make_engine  # noqa: E402
from testrota.db.schema import upgrade  # noqa: E402
from testrota.org.config import load_org  # noqa: E402
from testrota.org.units import sync_units  # noqa: E402
from testrota.settings import get_settings  # noqa: E402

DAY = date(2022, 5, 10)  # the report's day: a Tuesday
WEEKS = 8


def seed(engine: Engine, n: int, rng: random.Random) -> int:
    """The people, eight weeks of appointments and samples; returns how many appointments."""
    per_grid = max(1, n // (COMPANIES * PLANTS * WORKSHOPS * TEAMS * GRIDS))
    created = datetime(2022, 3, 1, tzinfo=UTC)
    people = []
    for i in range(n):
        path, grid = unit_of(i, per_grid)
        people.append((i + 1, f"E{i + 1:06d}", f"员工{i + 1}", path.rsplit("/", 1)[-1], grid, path))
    first_monday = DAY - timedelta(days=DAY.weekday()) - timedelta(weeks=WEEKS - 1)
    appointments, samples = [], []
    for i in range(n):
        for week in range(WEEKS):
            monday = first_monday + timedelta(weeks=week)
            for offset in (i % 2, 3 + i % 2):
                day = monday + timedelta(days=offset)
                if day > DAY:
                    continue
                start = datetime(day.year, day.month, day.day, 8 + i % 8, tzinfo=TZ)
                done = rng.random() < 0.9
                appointments.append(
                    (i + 1, "S1", f"W{week}", start, start, "done" if done else "missed")
                )
                if done:
                    samples.append((i + 1, start + timedelta(minutes=5), "pending", "checkin"))
    with engine.begin() as conn:
        bulk_insert(
            conn,
            tables.PERSON,
            people,
            columns=("id", "employee_no", "name", "department", "grid_unit", "unit_path"),
            constants={
                "role": "司机",
                "phone_raw": "",
                "phone_valid": True,
                "language": "zh",
                "shift": "day",
                "vaccination": "",
                "risk_categories": "",
                "person_type": "employee",
                "booster": False,
                "active": True,
                "opted_out": False,
                "created_at": created,
                "updated_at": created,
            },
        )
        conn.execute(insert(tables.SITE).values(code="S1", name="一号采样点", address=""))
        bulk_insert(
            conn,
            tables.APPOINTMENT,
            appointments,
            columns=("person_id", "site_code", "week", "starts_at", "ends_at", "status"),
            constants={
                "grid_unit": "",
                "reason": "plan",
                "created_at": created,
                "updated_at": created,
            },
        )
        bulk_insert(
            conn,
            tables.TEST_RESULT,
            samples,
            columns=("person_id", "sampled_at", "result", "source"),
            constants={"site_name": "", "recorded_at": created, "recorded_by": "bench"},
        )
    with engine.begin() as conn:
        sync_units(conn, load_org(CONFIG), created)
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load: without statistics PostgreSQL intersects
        # the whole date range's index with each person's (a plant's trend took 4 s, 57 ms after).
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return len(appointments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        t0 = time.perf_counter()
        count = seed(engine, args.people, random.Random(42))
        took = time.perf_counter() - t0
        print(f"seeded {args.people:,} people, {count:,} appointments in {took:.1f} s")
        engine.dispose()
        settings = get_settings(
            database_url=url, config_dir=CONFIG, secret_key=SECRET, now=NOW.isoformat()
        )
        app = build_app(settings, clock=FixedClock(NOW))
        r0 = time.perf_counter()
        rebuilt = rebuild_rollup(app, RebuildRollup(Actor.cli("bench")))
        print(f"rollup rebuild: {rebuilt.rows:,} unit-days in {time.perf_counter() - r0:.1f} s")
        units = {
            "whole group": None,
            "a plant": "本钢集团/公司0/公司0厂0",
            "a workshop": "本钢集团/公司0/公司0厂0/厂0车间0",
        }
        print(f"{'unit':<12} {'from':<9} {'wall p50':>9} {'wall max':>9} {'CPU p50':>9}  last week")
        for label, unit in units.items():
            answers = []
            for from_raw in (False, True):
                walls, cpus = [], []
                out = None
                ask = ReportTrend(DAY, Actor.cli("bench"), unit=unit, from_raw=from_raw)
                for _ in range(args.repeat):
                    w0, c0 = time.perf_counter(), time.process_time()
                    out = report_trend(app, ask)
                    walls.append(time.perf_counter() - w0)
                    cpus.append(time.process_time() - c0)
                assert out is not None
                answers.append(out)
                last = out.weeks[-1]
                wall, worst = statistics.median(walls) * 1000, max(walls) * 1000
                cpu = statistics.median(cpus) * 1000
                source = "raw rows" if from_raw else "roll-up"
                print(
                    f"{label:<12} {source:<9} {wall:>7.0f}ms {worst:>7.0f}ms {cpu:>7.0f}ms  "
                    f"{last.week} {last.tested:,}/{last.required:,}"
                )
            assert answers[0] == answers[1], f"the roll-up and raw rows disagree for {label}"
        app.close()
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
