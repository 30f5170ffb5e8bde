"""The group's daily report (日报) at the size of a steel group, on SQLite (or --db URL).

300,000 people in five levels (group, 5 companies, 40 plants, 400 workshops, 4,000 teams)
and 12,000 grid units (three per team, 25 people each); one Tuesday with 2/7 of them due
(88 % tested, 5 % missed, 4 % excused with a reason code, 3 % still scheduled), samples from
2 % of the rest, a few positives. Figures:

1. building the unit tree from the people (``sync_units``, what the first import does);
2. the whole group's report, cold: a new App and engine each run (the first query of a
   process), every unit at every level, and the .xlsx of the top three levels;
3. supervisors' pages: ``GET /report/daily`` through the ASGI app (template included) for a
   workshop's supervisor (750 people) and a plant's (7,500), p50 and p95.

    .venv/bin/python benchmarks/bench_daily_report.py [--people 300000] [--requests 40]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]

from sqlalchemy import Engine, insert  # noqa: E402

from testrota.actions.report import DailyReport, daily_report  # noqa: E402
from testrota.app import build_app  # noqa: E402
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


def seed(engine: Engine, n: int, rng: random.Random) -> float:
    """The people, the day's appointments and samples; returns the unit tree's build time."""
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
    with engine.begin() as conn:
        sync_units(conn, load_org(CONFIG), created)
    return time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        t0 = time.perf_counter()
        build = seed(engine, args.people, random.Random(42))
        print(f"seeded {args.people:,} people in {time.perf_counter() - t0:.1f} s")
        print(f"unit tree built from the people (sync_units): {build:.2f} s")
        engine.dispose()
        settings = get_settings(
            database_url=url, config_dir=CONFIG, secret_key=SECRET, now=NOW.isoformat()
        )

        cold = []
        rows = 0
        for _ in range(3):
            app = build_app(settings, clock=FixedClock(NOW))
            t0 = time.perf_counter()
            out = daily_report(app, DailyReport(DAY, Actor.cli("bench")))
            cold.append(time.perf_counter() - t0)
            rows = len(out.rows)
            app.close()
        root = out.rows[0]
        print(
            f"whole group, cold (new engine each run), {rows:,} units: "
            f"min {min(cold):.2f} s, median {statistics.median(cold):.2f} s "
            f"(required {root.required:,}, tested {root.tested:,}, rate {root.rate})"
        )
        app = build_app(settings, clock=FixedClock(NOW))
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
        took = time.perf_counter() - t0
        print(f".xlsx of the top three levels ({len(top3.rows)} units): {took:.2f} s")
        page_figures(settings, args.requests)
        app.close()


def page_figures(settings: Settings, requests: int) -> None:
    from fastapi.testclient import TestClient

    from testrota.web.app import create_app

    engine = make_engine(settings.database_url)
    supervisors = {
        "workshop": "本钢集团/公司0/公司0厂0/厂0车间0",
        "plant": "本钢集团/公司0/公司0厂0",
    }
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
