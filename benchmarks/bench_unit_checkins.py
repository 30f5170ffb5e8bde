"""One grid unit at its tent: several samplers checking in the unit's people at once, each
check-in keeping the unit's day in the roll-up before it commits. Side by side in one run:

- **by parts**: this code. A unit-day's first check-in counts the unit's day whole and keeps
  its people's parts; every later one moves the figures by its person's part;
- **before** (``--before SRC``, a checkout's ``src``): an earlier commit's code, such as the
  one before ``personday``, where every check-in counted its unit's whole day.

Each arm seeds its own PostgreSQL database of ``--people`` people in units of ``--unit-size``,
everyone due today, then ``--workers`` processes check in people of one unit at the same
time, unit after unit. Printed: latency p50/p95 per check-in, check-ins a second into one
unit, and the CPU of the clients and of PostgreSQL per check-in.

    .venv/bin/python benchmarks/bench_unit_checkins.py --pg SERVER_URL [--people 100000]
        [--unit-size 800] [--workers 4] [--per-worker 40] [--units 3] [--before SRC]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

TZ = ZoneInfo("Asia/Shanghai")
TODAY = datetime(2022, 5, 10, tzinfo=TZ)
NOW = TODAY.replace(hour=18)
SECRET = "bench-unit-checkins-secret-0123456789"


def _app(url: str) -> Any:
    from testrota.app import build_app
    from testrota.clock import FixedClock
    from testrota.settings import get_settings

    settings = get_settings(database_url=url, config_dir=ROOT / "config", secret_key=SECRET)
    return build_app(settings, clock=FixedClock(NOW))


def seed(url: str, people: int, unit_size: int) -> dict[str, float]:
    """Everyone in a grid unit of ``unit_size``, due today in their unit's half hour, placed
    in the unit tree; the roll-up counted (as after a plan)."""
    from bench_peak import _person_rows
    from testrota.actions.units import ensure_units
    from testrota.audit import Actor
    from testrota.db import tables
    from testrota.db.bulk import bulk_insert
    from testrota.db.engine import make_engine
    from testrota.db.schema import upgrade

    started = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    t0 = TODAY.astimezone(UTC)
    with engine.begin() as conn:
        bulk_insert(
            conn,
            tables.SITE,
            [{"code": "S01", "name": "一号采样点", "address": "", "timezone": str(TZ)}],
        )
        departments = max(1, people // unit_size // 10)  # ten units a department
        bulk_insert(conn, tables.PERSON, list(_person_rows(people, departments, t0, unit_size)))
        conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('person', 'id'), %s)", (people,))
    app = _app(url)
    ensure_units(app, Actor.job("bench"))
    # through the app's engine: the roll-up counts the plan in its commit, as a plan's does
    with app.engine.begin() as conn:
        appointments = []
        for i in range(people):
            start = TODAY.replace(hour=8) + timedelta(minutes=30 * ((i // unit_size) % 20))
            appointments.append(
                {
                    "person_id": i + 1,
                    "site_code": "S01",
                    "week": "2022-W19",
                    "starts_at": start.astimezone(UTC),
                    "ends_at": (start + timedelta(minutes=30)).astimezone(UTC),
                    "grid_unit": f"网格{i // unit_size:04d}",
                    "status": "scheduled",
                    "reason": "plan",
                    "created_at": t0,
                    "updated_at": t0,
                }
            )
        bulk_insert(conn, tables.APPOINTMENT, appointments)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    app.close()
    engine.dispose()
    return {"seed_seconds": round(time.perf_counter() - started, 1)}


def _worker(url: str, numbers: list[str], warm: str, go: Any, out: Any) -> None:
    from testrota.actions import checkin
    from testrota.audit import Actor

    app = _app(url)
    # one check-in elsewhere first (not timed): a process's first compiles its statements
    checkin.check_in(app, checkin.CheckIn(warm, Actor.web("site01"), site="S01", at=NOW))
    latencies: list[float] = []
    go.wait()
    cpu = time.process_time()
    for number in numbers:
        started = time.perf_counter()
        checkin.check_in(app, checkin.CheckIn(number, Actor.web("site01"), site="S01", at=NOW))
        latencies.append(time.perf_counter() - started)
    out.put((latencies, time.process_time() - cpu))
    app.close()


def run_arm(url: str, name: str, args: argparse.Namespace) -> dict[str, Any]:
    from _pg import DatabaseCpu

    ctx = mp.get_context("spawn")
    latencies: list[float] = []
    client_cpu = wall = server_cpu = 0.0
    for u in range(args.units):
        unit = 3 + u * 7  # units apart, each at its own first check-in of the day
        first = unit * args.unit_size + 1
        numbers = [f"E{first + i:06d}" for i in range(args.workers * args.per_worker)]
        go, out = ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(
                target=_worker,
                args=(url, numbers[w :: args.workers], f"E{u * 10 + w + 1:06d}", go, out),
            )
            for w in range(args.workers)
        ]
        for p in procs:
            p.start()
        time.sleep(5)  # every worker has built its app, warmed up and waits
        with DatabaseCpu(name) as db_cpu:
            started = time.perf_counter()
            go.set()
            results = [out.get() for _ in procs]
            wall += time.perf_counter() - started
        for p in procs:
            p.join()
        server_cpu += db_cpu.seconds
        for lat, cpu in results:
            latencies += lat
            client_cpu += cpu
    n = len(latencies)
    q = statistics.quantiles(latencies, n=100)
    return {
        "check_ins": n,
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
        "per_second": round(n / wall, 1),
        "client_cpu_ms": round(client_cpu / n * 1000, 1),
        "server_cpu_ms": round(server_cpu / n * 1000, 1),
    }


def child(args: argparse.Namespace) -> None:
    from _pg import drop_database, make_database

    url, name = make_database(args.pg, "testrota_unitcheckins")
    try:
        out: dict[str, Any] = seed(url, args.people, args.unit_size)
        out["arm"] = run_arm(url, name, args)
    finally:
        drop_database(args.pg, name)
    print(json.dumps(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", required=True, help="a PostgreSQL server URL (its databases)")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--unit-size", type=int, default=800)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--per-worker", type=int, default=40)
    parser.add_argument("--units", type=int, default=3)
    parser.add_argument("--before", help="an earlier checkout's src, run as a third arm")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if (3 + (args.units - 1) * 7 + 1) * args.unit_size > args.people:
        parser.error("too few people for that many units of that size (units 3, 10, 17, ...)")
    if args.workers * args.per_worker > args.unit_size:
        parser.error("more check-ins a unit than people in it")
    if args.child:
        child(args)
        return 0
    common = [
        f"--pg={args.pg}",
        f"--people={args.people}",
        f"--unit-size={args.unit_size}",
        f"--workers={args.workers}",
        f"--per-worker={args.per_worker}",
        f"--units={args.units}",
    ]
    arms = [("by parts", str(ROOT / "src"))]
    if args.before:
        arms.append(("before", args.before))
    print(
        f"{args.people:,} people in units of {args.unit_size}; {args.workers} samplers checking "
        f"in one unit's people at once, {args.workers * args.per_worker} check-ins a unit, "
        f"{args.units} units (PostgreSQL)"
    )
    print(f"{'arm':<14} {'p50 ms':>8} {'p95 ms':>8} {'/s':>7} {'client CPU':>11} {'PG CPU':>8}")
    for label, src in arms:
        env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{HERE}"}
        done = subprocess.run(
            [sys.executable, __file__, "--child", *common],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])["arm"]
        print(
            f"{label:<14} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['per_second']:>7} "
            f"{r['client_cpu_ms']:>9}ms {r['server_cpu_ms']:>6}ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
