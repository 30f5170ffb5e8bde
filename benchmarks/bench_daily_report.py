"""The group's daily report (日报) at the size of a steel group, on SQLite (or --db URL).

300,000 people in five levels (group, 5 companies, 40 plants, 400 workshops, 4,000 teams)
and 12,000 grid units (three per team, 25 people each); one Tuesday with 2/7 of them due
(88 % tested, 5 % missed, 4 % excused with a reason code, 3 % still scheduled), samples from
2 % of the rest, a few positives. Figures:

1. building the unit tree from the people (``sync_units``, what the first import does), and
   counting the roll-up from raw rows (``testrota rollup rebuild``);
2. the whole group's report side by side: read from the roll-up vs counted from raw rows
   (``DailyReport(from_raw=True)``, what the report did before), each cold (a new App and
   engine each run: the first query of a process) and warm, every unit at every level; the
   .xlsx of the top three levels;
3. a supervisor's report in process (a workshop of 750 people, a plant of 7,500), roll-up vs
   raw, and their pages: ``GET /report/daily`` through the ASGI app (template included), p50
   and p95;
4. the upkeep: counting one grid unit's day again, what each check-in adds before COMMIT.

Wall and CPU time (this process's; on PostgreSQL the server's work is in wall time only) and
the load average are printed with every figure: the machine is shared.

    .venv/bin/python benchmarks/bench_daily_report.py [--people 300000] [--requests 40] [--db URL]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]

from collections.abc import Callable  # noqa: E402

from sqlalchemy import Engine, insert, select, text  # noqa: E402

from testrota.actions.report import DailyReport, DailyReportOut, daily_report  # noqa: E402
from testrota.actions.rollup import RebuildRollup, RollupRebuilt, rebuild_rollup  # noqa: E402
from testrota.app import App, build_app  # noqa: E402
from testrota.audit import Actor  # noqa: E402
from testrota.auth.users import add_user  # noqa: E402
from testrota.clock import FixedClock  # noqa: E402
from testrota.db import tables  # noqa: E402
from testrota.db.bulk import bulk_insert  # noqa: E402
from testrota.db.engine import make_engine, session_scope  # noqa: E402
from testrota.db.schema import upgrade  # noqa: E402
from testrota.org.config import load_org  # noqa: E402
from testrota.org.units import sync_units  # noqa: E402
from testrota.org.workbook import write_daily_xlsx  # noqa: E402
from testrota.settings import Settings, get_settings  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2022, 5, 10)
NOW = datetime(2022, 5, 11, 9, 0, tzinfo=TZ)
CONFIG = ROOT / "config"
SECRET = "bench-secret-key-not-for-production-0123456789"
PASSWORD = "bench password 1234"
COMPANIES, PLANTS, WORKSHOPS, TEAMS, GRIDS = 5, 8, 10, 10, 3
CODES = ("leave", "quarantine", "trip", "recovering", "other")


def unit_of(i: int, per_grid: int) -> tuple[str, str]:
    """Person ``i``'s unit path below the root and grid unit."""
    g = i // per_grid
    t, k = divmod(g, GRIDS)
    w, t = divmod(t, TEAMS)
    p, w = divmod(w, WORKSHOPS)
    c, p = divmod(p, PLANTS)
    path = f"公司{c}/公司{c}厂{p}/厂{p}车间{w}/车间{w}班组{t}"
    return path, f"班组{t}网格{k}"


def seed(engine: Engine, n: int, rng: random.Random, place_units: bool = True) -> float:
    """The people, the day's appointments and samples; returns the unit tree's build time
    (``place_units`` False: nobody placed, as after a bulk load, left to ``rollup rebuild``)."""
    per_grid = max(1, n // (COMPANIES * PLANTS * WORKSHOPS * TEAMS * GRIDS))
    created = datetime(2022, 5, 1, tzinfo=UTC)
    types = ("employee",) * 8 + ("co_resident", "third_party")
    people = []
    for i in range(n):
        path, grid = unit_of(i, per_grid)
        people.append(
            (
                i + 1,
                f"E{i + 1:06d}",
                f"员工{i + 1}",
                path.rsplit("/", 1)[-1],
                grid,
                path,
                types[i % 10],
                rng.random() < 0.6,
            )
        )
    start = datetime(2022, 5, 10, 9, 0, tzinfo=TZ)
    appointments, samples = [], []
    for i in range(n):
        if i % 7 in (0, 3):
            roll = rng.random()
            status, code = "done", None
            if roll > 0.88:
                status = "missed" if roll < 0.93 else "excused" if roll < 0.97 else "scheduled"
                code = CODES[i % 5] if status == "excused" else None
            appointments.append((i + 1, "S1", "2022-W19", start, start, status, code))
            if status == "done":
                result = "positive" if rng.random() < 0.0001 else "pending"
                samples.append((i + 1, start + timedelta(minutes=5), result, "checkin"))
        elif rng.random() < 0.02:
            samples.append((i + 1, start + timedelta(hours=2), "negative", "lab"))
    with engine.begin() as conn:
        bulk_insert(
            conn,
            tables.PERSON,
            people,
            columns=(
                "id",
                "employee_no",
                "name",
                "department",
                "grid_unit",
                "unit_path",
                "person_type",
                "booster",
            ),
            constants={
                "role": "司机",
                "phone_raw": "",
                "phone_valid": True,
                "language": "zh",
                "shift": "day",
                "vaccination": "",
                "risk_categories": "",
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
            columns=(
                "person_id",
                "site_code",
                "week",
                "starts_at",
                "ends_at",
                "status",
                "excused_code",
            ),
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
    t0 = time.perf_counter()
    if place_units:
        with engine.begin() as conn:
            sync_units(conn, load_org(CONFIG), created)
    return time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()``."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def figure(label: str, runs: list[tuple[float, float]]) -> str:
    walls = [w for w, _ in runs]
    cpus = [c for _, c in runs]
    return (
        f"{label}: wall min {min(walls):.3f} s, median {statistics.median(walls):.3f} s; "
        f"CPU median {statistics.median(cpus):.3f} s ({len(runs)} runs, {load()})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        t0 = time.perf_counter()
        build = seed(engine, args.people, random.Random(42))
        print(f"seeded {args.people:,} people in {time.perf_counter() - t0:.1f} s ({load()})")
        print(f"unit tree built from the people (sync_units): {build:.2f} s")
        if engine.dialect.name == "postgresql":
            # what autovacuum does after a bulk load: planner statistics for 300,000 new rows
            # (without them it drives a grid unit's count from the whole day's rows)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()
        settings = get_settings(
            database_url=url, config_dir=CONFIG, secret_key=SECRET, now=NOW.isoformat()
        )
        app = build_app(settings, clock=FixedClock(NOW))
        rebuilt: list[RollupRebuilt] = []
        took = timed(lambda: rebuilt.append(rebuild_rollup(app, RebuildRollup(Actor.cli("b")))))
        print(
            f"rollup rebuild: {rebuilt[0].days} days, {rebuilt[0].rows:,} unit-days: "
            f"wall {took[0]:.2f} s, CPU {took[1]:.2f} s ({load()})"
        )
        app.close()

        outs: dict[bool, DailyReportOut] = {}
        for from_raw in (False, True):
            label = "raw rows" if from_raw else "roll-up "
            cold = []
            for _ in range(args.runs):
                fresh = build_app(settings, clock=FixedClock(NOW))

                def run(a: App = fresh, raw: bool = from_raw) -> None:
                    outs[raw] = daily_report(a, DailyReport(DAY, Actor.cli("b"), from_raw=raw))

                cold.append(timed(run))
                fresh.close()
            print(figure(f"whole group, {label}, cold", cold))
            warm_app = build_app(settings, clock=FixedClock(NOW))
            warm = [
                timed(
                    lambda raw=from_raw, a=warm_app: daily_report(
                        a, DailyReport(DAY, Actor.cli("b"), from_raw=raw)
                    )
                )
                for _ in range(args.runs + 1)
            ][1:]
            print(figure(f"whole group, {label}, warm", warm))
            warm_app.close()
        assert outs[False].rows == outs[True].rows, "the roll-up and the raw rows disagree"
        root = outs[False].rows[0]
        print(
            f"  {len(outs[False].rows):,} units; the same rows both ways "
            f"(required {root.required:,}, tested {root.tested:,}, rate {root.rate})"
        )
        app = build_app(settings, clock=FixedClock(NOW))
        for name, path in SUPERVISED.items():
            for from_raw in (False, True):
                label = "raw rows" if from_raw else "roll-up "
                runs = [
                    timed(
                        lambda p=path, raw=from_raw: daily_report(
                            app, DailyReport(DAY, Actor.cli("b"), unit=p, from_raw=raw)
                        )
                    )
                    for _ in range(args.runs + 1)
                ][1:]
                print(figure(f"a {name}'s report in process, {label}, warm", runs))
        top3 = daily_report(app, DailyReport(DAY, Actor.cli("bench"), levels=3))
        t0 = time.perf_counter()
        write_daily_xlsx(
            io.BytesIO(),
            top3.rows,
            reasons=app.policy.report.excuse_reasons,
            day=DAY,
            unit=top3.unit,
            tz=TZ,
        )
        took_x = time.perf_counter() - t0
        print(f".xlsx of the top three levels ({len(top3.rows)} units): {took_x:.2f} s")
        upkeep(app)
        page_figures(settings, args.requests)
        app.close()


def upkeep(app: App) -> None:
    """What a check-in adds before COMMIT: one grid unit's day counted again and written."""
    from testrota.org.rollup import write

    with app.engine.connect() as conn:
        grids = [
            r[0]
            for r in conn.execute(
                select(tables.ORG_UNIT.c.id).where(tables.ORG_UNIT.c.kind == "grid").limit(50)
            )
        ]
    runs = []
    for unit_id in grids[:20]:
        with app.engine.begin() as conn:
            runs.append(timed(lambda c=conn, u=unit_id: write(c, {(u, DAY)}, set(), TZ, NOW)))
    print(figure("one grid unit's day counted again (a check-in's upkeep)", runs))


SUPERVISED = {
    "workshop": "本钢集团/公司0/公司0厂0/厂0车间0",
    "plant": "本钢集团/公司0/公司0厂0",
}


def page_figures(settings: Settings, requests: int) -> None:
    from fastapi.testclient import TestClient

    from testrota.web.app import create_app

    engine = make_engine(settings.database_url)
    supervisors = SUPERVISED
    with session_scope(engine) as s:
        for name, path in supervisors.items():
            add_user(
                s,
                name=name,
                role="supervisor",
                password=PASSWORD,
                units=[path],
                language="zh",
                now=NOW,
            )
    engine.dispose()
    web = create_app(settings)
    for name in supervisors:
        with TestClient(web) as client:
            token = client.get("/login").text.split('name="csrf-token" content="')[1].split('"')[0]
            signed = client.post(
                "/login",
                data={"username": name, "password": PASSWORD, "csrf_token": token},
                follow_redirects=False,
            )
            assert signed.status_code == 303, signed.text
            times = []
            for _ in range(requests):
                t0 = time.perf_counter()
                response = client.get("/report/daily", params={"date": DAY.isoformat()})
                times.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.text[:500]
            print(
                f"GET /report/daily, a {name}'s supervisor: "
                f"p50 {pct(times, 0.5) * 1000:.0f} ms, p95 {pct(times, 0.95) * 1000:.0f} ms "
                f"({requests} requests, first {times[0] * 1000:.0f} ms)"
            )


if __name__ == "__main__":
    sys.exit(main())
