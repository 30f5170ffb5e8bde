"""Web latency at the size of a large group: 100,000 people and a week of appointments in SQLite.

A real ``testrota serve`` (one uvicorn process) on 127.0.0.1 and a bounded load generator (httpx2,
a few concurrent clients, a fixed number of requests and a time limit per scenario) measure,
side by side in one run, the p50/p95/max latency of:

1. the missed list of one department (``GET /missed?department=D``, the HTML page);
2. the same list as .xlsx (``GET /missed.xlsx?department=D``);
3. the dashboard (``GET /``, served from the per-process cache once warm; its cold computation
   is reported on its own line);
4. a check-in (``POST /checkin``, then the page it redirects to, as a site phone does);
5. a check-in through the API (``POST /api/checkin``).

The clock is fixed at Wednesday 10:00 of 2022-W19; Monday's and Tuesday's slots are past (90 %
tested, the rest flagged missed before the server starts); Wednesday's 10:00 slots are open.

    .venv/bin/python benchmarks/bench_web.py [--people 100000] [--requests 300] [--clients 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]

import httpx2 as httpx  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from testrota.actions.flagging import FlagDue, flag_due  # noqa: E402
from testrota.app import build_app  # noqa: E402
from testrota.auth.users import add_user  # noqa: E402
from testrota.clock import FixedClock  # noqa: E402
from testrota.db.engine import make_engine, session_scope  # noqa: E402
from testrota.db.models import Appointment, Person, Site, Slot, TestResult  # noqa: E402
from testrota.db.schema import upgrade  # noqa: E402
from testrota.policy import load_policy  # noqa: E402
from testrota.settings import get_settings  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2022, 5, 9, tzinfo=TZ)  # 2022-W19
NOW = MONDAY + timedelta(days=2, hours=10)  # Wednesday 10:00
UNIT_SIZE = 25
DEPARTMENTS = 50
SITES = 20
SLOT_MINUTES = 15
SLOTS_PER_DAY = 48  # 07:00-19:00
DAY_PAIRS = ((0, 3), (1, 4), (2, 5))  # Mon+Thu, Tue+Fri, Wed+Sat
SECRET = "bench-secret-key-not-for-production-0123456789"
PASSWORD = "bench-password"
DEPARTMENT = "部门07"


def slot_index(unit: int) -> int:
    return unit % SLOTS_PER_DAY


def seed(url: str, n: int, rng: random.Random) -> list[str]:
    """The database; returns employee numbers whose Wednesday slot is open at NOW."""
    engine = make_engine(url)
    upgrade(engine)
    created = datetime(2022, 5, 1, tzinfo=UTC)
    units = -(-n // UNIT_SIZE)
    sites = [
        {
            "code": f"S{i:02d}",
            "name": f"{i + 1}号采样点",
            "address": "",
            "timezone": "Asia/Shanghai",
        }
        for i in range(SITES)
    ]
    slots = []
    slot_ids: dict[tuple[int, int, int], int] = {}
    for site in range(SITES):
        for day in range(7):
            for k in range(SLOTS_PER_DAY):
                start = MONDAY + timedelta(days=day, hours=7, minutes=SLOT_MINUTES * k)
                slot_ids[(site, day, k)] = len(slots) + 1
                slots.append(
                    {
                        "id": len(slots) + 1,
                        "site_code": f"S{site:02d}",
                        "week": "2022-W19",
                        "starts_at": start,
                        "ends_at": start + timedelta(minutes=SLOT_MINUTES),
                        "capacity": UNIT_SIZE * (units // (SITES * SLOTS_PER_DAY) + 2),
                    }
                )
    people = []
    appointments = []
    samples = []
    open_now = []
    for i in range(n):
        unit = i // UNIT_SIZE
        site = unit % SITES
        people.append(
            {
                "id": i + 1,
                "employee_no": f"E{i + 1:06d}",
                "name": f"员工{i + 1}",
                "department": f"部门{unit % DEPARTMENTS:02d}",
                "grid_unit": f"网格{unit:04d}",
                "role": "司机",
                "phone": f"+86138{i + 1:08d}",
                "phone_raw": "",
                "phone_valid": True,
                "person_type": "employee",
                "language": "zh",
                "shift": "day",
                "vaccination": "",
                "risk_category": "driver",
                "risk_categories": "driver",
                "matched_by": "title",
                "active": True,
                "opted_out": False,
                "created_at": created,
                "updated_at": created,
            }
        )
        for day in DAY_PAIRS[(unit // SLOTS_PER_DAY) % 3]:
            k = slot_index(unit)
            start = MONDAY + timedelta(days=day, hours=7, minutes=SLOT_MINUTES * k)
            appointments.append(
                {
                    "person_id": i + 1,
                    "slot_id": slot_ids[(site, day, k)],
                    "site_code": f"S{site:02d}",
                    "week": "2022-W19",
                    "starts_at": start,
                    "ends_at": start + timedelta(minutes=SLOT_MINUTES),
                    "grid_unit": f"网格{unit:04d}",
                    "status": "scheduled",
                    "reason": "plan",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            if start + timedelta(minutes=SLOT_MINUTES) < NOW and rng.random() < 0.9:
                at = start + timedelta(minutes=rng.randrange(SLOT_MINUTES))
                samples.append(
                    {
                        "person_id": i + 1,
                        "sampled_at": at,
                        "result": "pending",
                        "source": "checkin",
                        "site_code": f"S{site:02d}",
                        "site_name": "",
                        "recorded_at": at,
                        "recorded_by": "bench",
                    }
                )
            if day == 2 and start <= NOW < start + timedelta(minutes=SLOT_MINUTES):
                open_now.append(f"E{i + 1:06d}")
    with engine.begin() as conn:
        conn.execute(insert(Site), sites)
        conn.execute(insert(Slot), slots)
        conn.execute(insert(Person), people)
        conn.execute(insert(Appointment), appointments)
        conn.execute(insert(TestResult), samples)
    with session_scope(engine) as s:
        for name, role, depts in (
            ("hr", "hr", []),
            ("sup", "supervisor", [DEPARTMENT]),
            ("site", "site", []),
        ):
            add_user(s, name=name, role=role, password=PASSWORD, departments=depts, now=created)
    app = build_app(
        get_settings(database_url=url, config_dir=ROOT / "config"),
        engine=engine,
        clock=FixedClock(NOW),
        policy=load_policy(ROOT / "config"),
    )
    report = flag_due(app, FlagDue())
    app.close()
    print(
        f"seeded {n:,} people, {len(appointments):,} appointments, {len(samples):,} samples; "
        f"flagged {report.missed:,} missed; {len(open_now):,} people due at 10:00 Wednesday",
        file=sys.stderr,
    )
    return open_now


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TESTROTA_DATABASE_URL": url,
        "TESTROTA_CONFIG_DIR": str(ROOT / "config"),
        "TESTROTA_SECRET_KEY": SECRET,
        "TESTROTA_NOW": NOW.isoformat(),
    }
    exe = Path(sys.executable).with_name("testrota")
    proc = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("testrota serve did not start")


async def signed_in(base: str, name: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=True)
    page = (await client.get("/login")).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token
    # Not following the redirect: a supervisor's would compute the dashboard here.
    r = await client.post(
        "/login",
        data={"username": name, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.status_code
    csrf = (await client.get("/api/session")).json()["csrf_token"]
    return client, csrf


async def run(
    base: str, name: str, requests: int, clients: int, time_limit: float, make_request: object
) -> list[float]:
    """``requests`` requests by ``clients`` concurrent signed-in clients, or until the limit."""
    sessions = [await signed_in(base, name) for _ in range(clients)]
    latencies: list[float] = []
    counter = iter(range(requests))
    stop_at = time.monotonic() + time_limit

    async def worker(client: httpx.AsyncClient, csrf: str) -> None:
        for i in counter:
            if time.monotonic() > stop_at:
                return
            start = time.perf_counter()
            response = await make_request(client, csrf, i)  # type: ignore[operator]
            latencies.append(time.perf_counter() - start)
            if response.status_code >= 400:
                raise SystemExit(f"{response.request.url}: {response.status_code}")

    await asyncio.gather(*(worker(c, t) for c, t in sessions))
    for client, _ in sessions:
        await client.aclose()
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_web_"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    started = time.perf_counter()
    due_now = seed(url, args.people, random.Random(42))
    print(f"seeding took {time.perf_counter() - started:.1f} s", file=sys.stderr)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, port)
    results: list[tuple[str, list[float], str]] = []
    try:

        async def scenarios() -> None:
            async def missed(c: httpx.AsyncClient, _t: str, _i: int) -> httpx.Response:
                return await c.get("/missed", params={"department": DEPARTMENT})

            async def missed_xlsx(c: httpx.AsyncClient, _t: str, _i: int) -> httpx.Response:
                return await c.get("/missed.xlsx", params={"department": DEPARTMENT})

            async def dashboard(c: httpx.AsyncClient, _t: str, _i: int) -> httpx.Response:
                return await c.get("/")

            people = iter(due_now)

            async def checkin(c: httpx.AsyncClient, t: str, _i: int) -> httpx.Response:
                return await c.post("/checkin", data={"employee_no": next(people), "csrf_token": t})

            async def checkin_api(c: httpx.AsyncClient, t: str, _i: int) -> httpx.Response:
                return await c.post(
                    "/api/checkin", json={"employee_no": next(people)}, headers={"X-CSRF-Token": t}
                )

            hr, _ = await signed_in(base, "hr")
            start = time.perf_counter()
            r = await hr.get("/")  # the first dashboard computes the figures
            cold = time.perf_counter() - start
            assert r.status_code == 200 and "svg" in r.text, r.status_code
            sup, _ = await signed_in(base, "sup")
            start = time.perf_counter()
            r = await sup.get("/")
            cold_sup = time.perf_counter() - start
            assert r.status_code == 200, r.status_code
            await hr.aclose()
            await sup.aclose()
            results.append(
                (
                    "dashboard, cold (computes the week for 100,000 people)",
                    [cold],
                    "HR, all departments; then once per web.dashboard_cache_seconds",
                )
            )
            results.append(("dashboard, cold, one supervisor's department", [cold_sup], ""))
            for label, user, fn, detail in (
                ("missed list, one department (HTML)", "sup", missed, DEPARTMENT),
                ("missed list, one department (.xlsx)", "sup", missed_xlsx, DEPARTMENT),
                ("dashboard, warm (HR)", "hr", dashboard, "cached figures, all departments"),
                (
                    "check-in: POST + the page it redirects to",
                    "site",
                    checkin,
                    "a different person each time",
                ),
                ("check-in through the API", "site", checkin_api, "POST /api/checkin"),
            ):
                n = args.requests
                if fn in (checkin, checkin_api):
                    n = min(n, len(due_now) // 2)
                lat = await run(base, user, n, args.clients, args.time_limit, fn)
                results.append((label, lat, detail))

        asyncio.run(scenarios())
    finally:
        server.terminate()
        server.wait(timeout=30)
    print()
    print(
        f"web benchmark: {args.people:,} people, SQLite, one `testrota serve` process, "
        f"{args.clients} concurrent clients, up to {args.requests} requests per line"
    )
    print()
    print("| request | n | p50 ms | p95 ms | max ms | detail |")
    print("|---|---:|---:|---:|---:|---|")
    for label, lat, detail in results:
        if not lat:
            continue
        ms = [x * 1000 for x in lat]
        print(
            f"| {label} | {len(ms)} | {statistics.median(ms):.0f} | {pct(ms, 0.95):.0f} | "
            f"{max(ms):.0f} | {detail} |"
        )
    print(f"\nload average after the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
