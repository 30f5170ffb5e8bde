"""Sampling day on PostgreSQL: samplers scanning tubes and people into one ``testrota serve``.

Each sampler is a signed-in site user with their own browser session (their own cookie and
CSRF token) at a site of their own. A sampler opens a tube of ten, scans ten people into it
(the tube closes itself at its ratio), opens the next, and so on, at a steady pace — by default
20 samplers × 10 scans a minute for two minutes, the pace of a busy tent — through the scan
console's ``POST /scan/api`` (each scan with its own id, as the browser sends it). Every scan's
latency is measured from the request to the answer; the run reports p50/p95/p99/max and any
errors. The database is a fresh PostgreSQL database made for the run and dropped after it.

    .venv/bin/python benchmarks/bench_scan.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--samplers 20] [--per-minute 10] [--minutes 2] [--people 20000]

Bounded: a fixed number of scans, a time limit, traffic to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import httpx2 as httpx  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from testrota.auth.users import add_user  # noqa: E402
from testrota.db.engine import make_engine, session_scope  # noqa: E402
from testrota.db.models import Person, Site  # noqa: E402
from testrota.db.schema import upgrade  # noqa: E402

NOW = "2022-05-11T10:00:00+08:00"  # Wednesday of 2022-W19
SECRET = "bench-secret-key-not-for-production-0123456789"
PASSWORD = "bench-password-123"
RATIO = 10


def make_database(base: str) -> tuple[str, str]:
    url = make_url(base)
    name = f"bench_scan_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def drop_database(base: str, name: str) -> None:
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def seed(url: str, samplers: int, people: int) -> None:
    """Sites and site users, one per sampler; people in grid units of ten (a tube each)."""
    engine = make_engine(url)
    upgrade(engine)
    at = datetime(2022, 5, 1, tzinfo=UTC)
    rows = [
        {
            "employee_no": f"E{i:06d}",
            "name": f"员工{i}",
            "department": f"部门{i // 1000:02d}",
            "grid_unit": f"网格{i // RATIO:05d}",
            "role": "司机",
            "risk_category": "driver",
            "risk_categories": "driver",
            "person_type": "employee",
            "active": True,
            "created_at": at,
            "updated_at": at,
        }
        for i in range(people)
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(Site),
            [
                {
                    "code": f"S{k:02d}",
                    "name": f"{k}号采样点",
                    "address": "",
                    "timezone": "Asia/Shanghai",
                }
                for k in range(samplers)
            ],
        )
        for start in range(0, len(rows), 5000):
            conn.execute(insert(Person), rows[start : start + 5000])
    with session_scope(engine) as s:
        for k in range(samplers):
            add_user(s, name=f"sampler{k:02d}", role="site", password=PASSWORD, now=at)
    engine.dispose()


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
        "TESTROTA_NOW": NOW,
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
    client = httpx.AsyncClient(base_url=base, timeout=30)
    page = (await client.get("/login")).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token
    r = await client.post(
        "/login",
        data={"username": name, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.status_code
    scan = (await client.get("/scan")).text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', scan)
    assert csrf
    return client, csrf.group(1)


async def sampler(
    base: str,
    k: int,
    scans: int,
    interval: float,
    people: list[str],
    latencies: list[float],
    errors: list[str],
    deadline: float,
) -> None:
    client, csrf = await signed_in(base, f"sampler{k:02d}")
    site = f"S{k:02d}"
    tube: str | None = None
    in_tube = 0
    start = time.monotonic() + (k / 20) * interval  # samplers do not start in step
    try:
        for i in range(scans):
            await asyncio.sleep(max(0.0, start + i * interval - time.monotonic()))
            if time.monotonic() > deadline:
                break
            if tube is None or in_tube >= RATIO:
                tube, in_tube = f"T{k:02d}-{i:05d}", 0
                body = {
                    "id": uuid.uuid4().hex,
                    "kind": "tube",
                    "value": tube,
                    "site": site,
                    "ratio": RATIO,
                }
            else:
                body = {
                    "id": uuid.uuid4().hex,
                    "kind": "person",
                    "value": people.pop(),
                    "site": site,
                    "tube": tube,
                }
                in_tube += 1
            t0 = time.perf_counter()
            r = await client.post("/scan/api", json=body, headers={"X-CSRF-Token": csrf})
            latencies.append(time.perf_counter() - t0)
            answer = r.json() if r.status_code == 200 else {"ok": False, "message": r.text}
            if not answer.get("ok"):
                errors.append(f"{body['kind']} {body['value']}: {answer.get('message')}")
    finally:
        await client.aclose()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "TESTROTA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--samplers", type=int, default=20)
    parser.add_argument("--per-minute", type=float, default=10)
    parser.add_argument("--minutes", type=float, default=2)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scans = int(args.per_minute * args.minutes)
    block = -(-scans // RATIO) * RATIO  # whole grid units per sampler
    if args.samplers * block > args.people:
        raise SystemExit("--people must be at least samplers × scans")
    url, name = make_database(args.pg)
    try:
        t0 = time.perf_counter()
        seed(url, args.samplers, args.people)
        seeded = time.perf_counter() - t0
        port = free_port()
        server = start_server(url, port)
        base = f"http://127.0.0.1:{port}"
        latencies: list[float] = []
        errors: list[str] = []
        # Each sampler takes people of whole grid units, in order, so a tube holds one unit.
        pools = [
            [f"E{i:06d}" for i in range(k * block, k * block + scans)][::-1]
            for k in range(args.samplers)
        ]
        try:
            interval = 60.0 / args.per_minute
            deadline = time.monotonic() + args.minutes * 60 + 60

            async def everyone() -> None:
                await asyncio.gather(
                    *(
                        sampler(base, k, scans, interval, pools[k], latencies, errors, deadline)
                        for k in range(args.samplers)
                    )
                )

            t1 = time.perf_counter()
            asyncio.run(everyone())
            ran = time.perf_counter() - t1
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        drop_database(args.pg, name)
    ms = [v * 1000 for v in latencies]
    report = {
        "samplers": args.samplers,
        "scans_per_minute_each": args.per_minute,
        "scans": len(ms),
        "seconds": round(ran, 1),
        "people": args.people,
        "seed_seconds": round(seeded, 1),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(pct(ms, 0.95), 1),
        "p99_ms": round(pct(ms, 0.99), 1),
        "max_ms": round(max(ms), 1),
        "errors": len(errors),
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"scan console on PostgreSQL: {args.samplers} samplers × {args.per_minute:g} scans a "
            f"minute for {ran:.0f} s, {len(ms)} scans, {args.people:,} people, one "
            "`testrota serve` process"
        )
        print("| p50 ms | p95 ms | p99 ms | max ms | errors |")
        print("|---:|---:|---:|---:|---:|")
        print(
            f"| {report['p50_ms']} | {report['p95_ms']} | {report['p99_ms']} | "
            f"{report['max_ms']} | {len(errors)} |"
        )
    for e in errors[:10]:
        print("error:", e, file=sys.stderr)


if __name__ == "__main__":
    main()
