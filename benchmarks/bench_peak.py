"""The morning peak on PostgreSQL: 1 vs 4 ``testrota serve`` processes under an open-loop load.

A fresh PostgreSQL database holds N people (grid units of 25 at 60 sites, departments of about
10,000 people) and a week of appointments: the clock is fixed at Wednesday 10:00 of 2022-W19,
Monday's and Tuesday's slots are past (90 % tested, pooled ten to a tube within a grid unit,
the rest flagged missed); one person in 33 is exempt through the week (sick leave, travel).
Then, for 1 and
for 4 ``testrota serve`` processes (real processes, each on its own port; the load generator
sends each request to the next port in turn), an open-loop load generator fires requests on a
schedule (Poisson arrivals, seeded), whether or not earlier answers have come back:

- ``scan``: samplers at the scan console (``POST /scan/api``), several per site; each opens a
  tube of ten and scans the people of one grid unit into it, one answer at a time, as a sampler
  waits for the beep (a scan fired while the sampler's previous one is unanswered waits for it,
  and that wait counts in its latency);
- ``checkin``: the check-in desks (``POST /api/checkin`` with the desk's site);
- ``missed``: supervisors open their department's missed list (``GET /missed``, HTML);
- ``status``: gate lookups of a person's status (``GET /api/status/{employee_no}``);
- ``dashboard``: HR and supervisors open the dashboard (``GET /``). Each process computes a
  scope's figures once and caches them; that first computation is measured apart ("cold") and
  done for every process before the load starts, as the first users of the morning would.

The base load is 50 check-ins and scans a second (half each) and 10 page views a second (4
missed lists, 4 status lookups, 2 dashboards). The rate is stepped (``--steps``, multiples of
the base) and each step runs ``--seconds``; latency is measured from the moment a request was
due to be sent to its answer, so queueing in the client counts. The highest rate per kind whose
p95 stays under 150 ms (with no errors and nothing shed) is printed for 1 and 4 processes side by
side, with the servers' CPU time beside wall time and each process's peak memory.

    .venv/bin/python benchmarks/bench_peak.py [--people 20000] [--processes 1,4]
        [--seconds 10] [--steps 0.5,1,1.5,2] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Bounded: traffic to 127.0.0.1 only; at most ``--max-in-flight`` requests outstanding (a request
due beyond that is shed and counted, never queued without end); every request has a timeout;
each step lasts a fixed time. The database is dropped afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
import zlib
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from sqlalchemy import Connection, text  # noqa: E402

from _http import Answer, HttpError, LightClient  # noqa: E402
from _pg import drop_database, make_database  # noqa: E402
from testrota.db import tables  # noqa: E402
from testrota.db.bulk import bulk_insert  # noqa: E402
from testrota.db.engine import make_engine, session_scope  # noqa: E402
from testrota.db.schema import upgrade  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2022, 5, 9, tzinfo=TZ)  # 2022-W19
NOW = MONDAY + timedelta(days=2, hours=10)  # Wednesday 10:00
WEEK = "2022-W19"
UNIT_SIZE = 25
SITES = 60
SLOT_MINUTES = 15
SLOTS_PER_DAY = 48  # 07:00-19:00
DAY_PAIRS = ((0, 3), (1, 4), (2, 5))  # Mon+Thu, Tue+Fri, Wed+Sat
RATIO = 10
SECRET = "bench-secret-key-not-for-production-0123456789"
PASSWORD = "bench-password-123"
GOAL_MS = 150.0
# Requests a second at step 1: 50 check-ins and scans, 10 page views (issue 17).
BASE = {"scan": 25.0, "checkin": 25.0, "missed": 4.0, "status": 4.0, "dashboard": 2.0}
KINDS = tuple(BASE)
CHUNK = 50_000
# One person in 33 (3 %) exempt through the week: sick leave, travel. A group always has some,
# and every check-in and status look-up reads the person's exemptions.
EXEMPT_EVERY = 33
RUN = uuid.uuid4().hex[:4]


# -- the database ---------------------------------------------------------------------------


def departments_for(people: int) -> int:
    return max(6, people // 10_000)


def unit_site(unit: int) -> int:
    return unit % SITES


def unit_days(unit: int) -> tuple[int, int]:
    return DAY_PAIRS[(unit // SITES) % 3]


def unit_slot(unit: int) -> int:
    return (unit // (SITES * 3)) % SLOTS_PER_DAY


def _person_rows(
    n: int, departments: int, at: datetime, unit_size: int = UNIT_SIZE
) -> Iterator[dict[str, Any]]:
    for i in range(n):
        unit = i // unit_size
        yield {
            "id": i + 1,
            "employee_no": f"E{i + 1:06d}",
            "name": f"员工{i + 1}",
            "department": f"部门{unit % departments:02d}",
            "grid_unit": f"网格{unit:05d}",
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
            "created_at": at,
            "updated_at": at,
        }


def _exemption_rows(n: int, at: datetime) -> Iterator[dict[str, Any]]:
    for person_id in range(EXEMPT_EVERY, n + 1, EXEMPT_EVERY):
        yield {
            "person_id": person_id,
            "start_date": MONDAY.date() - timedelta(days=7),
            "end_date": MONDAY.date() + timedelta(days=11),
            "reason": "病假",
            "created_by": "hr",
            "created_at": at,
        }


def _slot_start(day: int, k: int) -> datetime:
    return MONDAY + timedelta(days=day, hours=7, minutes=SLOT_MINUTES * k)


def _week_rows(
    n: int, rng: random.Random, at: datetime
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each person's two appointments, each with the sample taken at it if its slot is past."""
    for i in range(n):
        unit = i // UNIT_SIZE
        site = unit_site(unit)
        k = unit_slot(unit)
        for day in unit_days(unit):
            start = _slot_start(day, k)
            end = start + timedelta(minutes=SLOT_MINUTES)
            appointment = {
                "person_id": i + 1,
                "slot_id": site * 7 * SLOTS_PER_DAY + day * SLOTS_PER_DAY + k + 1,
                "site_code": f"S{site:02d}",
                "week": WEEK,
                "starts_at": start.astimezone(UTC),
                "ends_at": end.astimezone(UTC),
                "grid_unit": f"网格{unit:05d}",
                "status": "scheduled",
                "reason": "plan",
                "created_at": at,
                "updated_at": at,
            }
            sample = None
            if end < NOW and rng.random() < 0.9:
                taken = (start + timedelta(minutes=rng.randrange(SLOT_MINUTES))).astimezone(UTC)
                sample = {
                    "person_id": i + 1,
                    "sampled_at": taken,
                    "result": "pending",
                    "source": "checkin",
                    "site_code": f"S{site:02d}",
                    "site_name": "",
                    "recorded_at": taken,
                    "recorded_by": "bench",
                }
            yield appointment, sample


def _copy(conn: Connection, table: Any, rows: Iterator[dict[str, Any]]) -> int:
    """COPY ``rows`` in chunks, so memory stays bounded at any size."""
    count = 0
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            bulk_insert(conn, table, chunk)
            count += len(chunk)
            chunk = []
    if chunk:
        bulk_insert(conn, table, chunk)
        count += len(chunk)
    return count


# The samples already taken went into tubes of ten at the tent, a grid unit's own (10:1
# pooling, as the seed's sites sampled). Without this history the tube tables are empty when
# the statistics are gathered, and the planner then reads the members the morning's scans add
# from the start of the table at every check-in's recount of its grid unit's day.
_POOL_PAST_SAMPLES = text(
    """
    WITH s AS (
        SELECT r.id AS result_id, r.person_id, r.site_code, r.sampled_at, p.grid_unit,
               (r.sampled_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
               (row_number() OVER (
                   PARTITION BY p.grid_unit, (r.sampled_at AT TIME ZONE 'Asia/Shanghai')::date
                   ORDER BY r.person_id
               ) - 1) / 10 AS k
        FROM testresult r JOIN person p ON p.id = r.person_id
    ), placed AS (
        SELECT s.*, 'P' || to_char(day, 'MMDD') || '-' || substr(grid_unit, 3) || '-' || k
                 AS code
        FROM s
    ), tubes AS (
        INSERT INTO tube (code, site_code, day, ratio, status, grid_unit, opened_at, opened_by,
                          closed_at, closed_by, gene_text)
        SELECT code, min(site_code), min(day), 10, 'closed', min(grid_unit), min(sampled_at),
               'bench', max(sampled_at), 'bench', ''
        FROM placed GROUP BY code
        RETURNING id, code
    )
    INSERT INTO tubemember (tube_id, person_id, result_id, added_at, added_by)
    SELECT tubes.id, placed.person_id, placed.result_id, placed.sampled_at, 'bench'
    FROM placed JOIN tubes ON tubes.code = placed.code
    """
)


def analyze(engine: Any, *, vacuum: bool = False) -> None:
    # Outside a transaction: statistics gathered in one that is rolled back are lost with it
    # (and VACUUM cannot run in one).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if vacuum else "ANALYZE"))


def seed(url: str, n: int, samplers_per_site: int) -> dict[str, Any]:
    from testrota.actions.flagging import FlagDue, flag_due
    from testrota.actions.rollup import RebuildRollup, rebuild_rollup
    from testrota.app import build_app
    from testrota.audit import Actor
    from testrota.auth.users import add_user
    from testrota.clock import FixedClock
    from testrota.policy import load_policy
    from testrota.settings import get_settings

    started = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    at = datetime(2022, 5, 1, tzinfo=UTC)
    departments = departments_for(n)

    def rng() -> random.Random:
        return random.Random(42)

    with engine.begin() as conn:
        bulk_insert(
            conn,
            tables.SITE,
            [
                {
                    "code": f"S{s:02d}",
                    "name": f"{s + 1}号采样点",
                    "address": "",
                    "timezone": str(TZ),
                }
                for s in range(SITES)
            ],
        )
        bulk_insert(
            conn,
            tables.SLOT,
            [
                {
                    "id": s * 7 * SLOTS_PER_DAY + day * SLOTS_PER_DAY + k + 1,
                    "site_code": f"S{s:02d}",
                    "week": WEEK,
                    "starts_at": _slot_start(day, k).astimezone(UTC),
                    "ends_at": (_slot_start(day, k) + timedelta(minutes=SLOT_MINUTES)).astimezone(
                        UTC
                    ),
                    "capacity": UNIT_SIZE * (n // (UNIT_SIZE * SITES * SLOTS_PER_DAY * 3) + 2),
                }
                for s in range(SITES)
                for day in range(7)
                for k in range(SLOTS_PER_DAY)
            ],
        )
        people = _copy(conn, tables.PERSON, _person_rows(n, departments, at))
        # Two passes over the same seeded week rather than holding a list: memory stays flat.
        booked = _copy(conn, tables.APPOINTMENT, (a for a, _ in _week_rows(n, rng(), at)))
        taken = _copy(
            conn, tables.TEST_RESULT, (t for _, t in _week_rows(n, rng(), at) if t is not None)
        )
        exempt = _copy(conn, tables.EXEMPTION, _exemption_rows(n, at))
        pooled = conn.execute(_POOL_PAST_SAMPLES).rowcount
        # Rows were written with their own ids: the sequences must start after them.
        for table in ("person", "slot"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
    analyze(engine)
    with session_scope(engine) as s:
        add_user(s, name="hr", role="hr", password=PASSWORD, now=at)
        for d in range(departments):
            add_user(
                s,
                name=f"sup{d:02d}",
                role="supervisor",
                password=PASSWORD,
                departments=[f"部门{d:02d}"],
                now=at,
            )
        for site in range(SITES):
            add_user(s, name=f"site{site:02d}", role="site", password=PASSWORD, now=at)
    app = build_app(
        get_settings(database_url=url, config_dir=ROOT / "config"),
        engine=engine,
        clock=FixedClock(NOW),
        policy=load_policy(ROOT / "config"),
    )
    flagged = flag_due(app, FlagDue())
    # As a deployment does after loading (README, "Upgrades"): the daily and weekly roll-ups
    # counted once, so the dashboard and the report read them instead of every person.
    rebuilt_at = time.perf_counter()
    rebuild_rollup(app, RebuildRollup(Actor.cli("bench")))
    rebuild_seconds = round(time.perf_counter() - rebuilt_at, 1)
    # Again after flagging and the roll-ups rewrote a third of the appointments, as autovacuum
    # would have by the morning: on stale statistics a person's week is read through the whole
    # week's range, and without the vacuum autovacuum does it during the load (a first run
    # measured that: p95 over 150 ms at 15 requests a second with it, load 2-5).
    analyze(engine, vacuum=True)
    app.close()
    engine.dispose()
    return {
        "people": people,
        "departments": departments,
        "appointments": booked,
        "samples": taken,
        "exemptions": exempt,
        "pooled_samples": pooled,
        "missed": flagged.missed,
        "seed_seconds": round(time.perf_counter() - started, 1),
        "rollup_rebuild_seconds": rebuild_seconds,
    }


# -- the servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_servers(url: str, count: int) -> list[tuple[subprocess.Popen[bytes], int]]:
    env = {
        **os.environ,
        "TESTROTA_DATABASE_URL": url,
        "TESTROTA_CONFIG_DIR": str(ROOT / "config"),
        "TESTROTA_SECRET_KEY": SECRET,
        "TESTROTA_NOW": NOW.isoformat(),
    }
    exe = Path(sys.executable).with_name("testrota")
    servers = []
    for _ in range(count):
        port = free_port()
        proc = subprocess.Popen(
            [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers.append((proc, port))
    deadline = time.monotonic() + 120
    for proc, port in servers:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    stop_servers(servers)
                    raise SystemExit("testrota serve did not start") from None
                time.sleep(0.2)
    return servers


def stop_servers(servers: list[tuple[subprocess.Popen[bytes], int]]) -> None:
    for proc, _ in servers:
        proc.terminate()
    for proc, _ in servers:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def proc_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process and its reaped children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(fields[i]) for i in (11, 12)) / ticks


def proc_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def self_peak_mb() -> float:
    return proc_peak_mb(os.getpid())


# -- the users ------------------------------------------------------------------------------


@dataclass
class Actor:
    """One signed-in person at a device: their own cookie, CSRF token and order of requests."""

    client: LightClient
    csrf: str
    site: int = -1
    number: int = 0  # tube codes are unique per sampler
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)
    tube: str | None = None
    in_tube: int = 0
    unit: deque[str] = field(default_factory=deque)
    tubes: int = 0


async def sign_in(port: int, name: str) -> Actor:
    # Sessions live in the database, so the cookie is good at every process and every port.
    client = LightClient()
    page = (await client.get(port, "/login")).body.decode()
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token, "no CSRF token on /login"
    form = urlencode({"username": name, "password": PASSWORD, "csrf_token": token.group(1)})
    r = await client.request(
        port,
        "POST",
        "/login",
        form.encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status == 303, (name, r.status)
    csrf = (await client.get(port, "/api/session")).json()["csrf_token"]
    return Actor(client, csrf)


class Units:
    """Each site's grid units, today's first; samplers and desks take whole units from it."""

    def __init__(self, people: int) -> None:
        units = -(-people // UNIT_SIZE)
        by_site: dict[int, list[int]] = defaultdict(list)
        for u in range(units):
            by_site[unit_site(u)].append(u)
        self.queues = {
            s: deque(sorted(us, key=lambda u: (2 not in unit_days(u), u)))
            for s, us in by_site.items()
        }
        self.people = people

    def take(self, site: int) -> list[str]:
        queue = self.queues.get(site)
        if not queue:
            return []
        u = queue.popleft()
        first = u * UNIT_SIZE
        return [f"E{i + 1:06d}" for i in range(first, min(first + UNIT_SIZE, self.people))]


@dataclass
class Outcome:
    kind: str
    ms: float
    ok: bool
    detail: str = ""


@dataclass
class Crowd:
    samplers: list[Actor]
    desks: list[Actor]
    supervisors: list[tuple[Actor, str]]
    hr: Actor
    units: Units
    people: int
    rng: random.Random

    def close(self) -> None:
        for a in [*self.samplers, *self.desks, *(s for s, _ in self.supervisors), self.hr]:
            a.client.close()


async def make_crowd(port: int, people: int, departments: int, per_site: int) -> Crowd:
    samplers, desks = [], []
    for site in range(SITES):
        for k in range(per_site):
            actor = await sign_in(port, f"site{site:02d}")
            actor.site, actor.number = site, site * per_site + k
            # Half of each site's staff scan into pooled tubes, the other half run the desk.
            (samplers if k % 2 == 0 else desks).append(actor)
    supervisors = [(await sign_in(port, f"sup{d:02d}"), f"部门{d:02d}") for d in range(departments)]
    hr = await sign_in(port, "hr")
    return Crowd(samplers, desks, supervisors, hr, Units(people), people, random.Random(7))


# -- one request of each kind ----------------------------------------------------------------


Request = Callable[[int], Awaitable[tuple[bool, str]]]


def _answer(r: Answer, what: str) -> tuple[bool, str]:
    if r.status >= 400:
        return False, f"{what}: {r.status}"
    return True, ""


def scan_request(crowd: Crowd, actor: Actor, tag: str) -> Request | None:
    """The sampler's next scan: a new tube when theirs is full or their unit is done."""
    if not actor.unit and actor.tube is None:
        actor.unit.extend(crowd.units.take(actor.site))
        if not actor.unit:
            return None
    if actor.tube is None or actor.in_tube >= RATIO:
        actor.tubes += 1
        actor.tube, actor.in_tube = f"P{tag}-{actor.number}-{actor.tubes}", 0
        body = {
            "id": uuid.uuid4().hex,
            "kind": "tube",
            "value": actor.tube,
            "site": f"S{actor.site:02d}",
            "ratio": RATIO,
        }
    else:
        body = {
            "id": uuid.uuid4().hex,
            "kind": "person",
            "value": actor.unit.popleft(),
            "site": f"S{actor.site:02d}",
            "tube": actor.tube,
        }
        actor.in_tube += 1
        if not actor.unit:  # the unit is done: its last tube stays with it, the next gets a new one
            actor.tube = None

    async def send(port: int) -> tuple[bool, str]:
        r = await actor.client.post_json(port, "/scan/api", body, actor.csrf)
        ok, detail = _answer(r, "POST /scan/api")
        if ok and not r.json().get("ok"):
            return False, f"scan {body['kind']} {body['value']}: {r.json().get('message')}"
        return ok, detail

    return send


def checkin_request(crowd: Crowd, actor: Actor) -> Request | None:
    if not actor.unit:
        actor.unit.extend(crowd.units.take(actor.site))
        if not actor.unit:
            return None
    body = {"employee_no": actor.unit.popleft(), "site": f"S{actor.site:02d}"}

    async def send(port: int) -> tuple[bool, str]:
        r = await actor.client.post_json(port, "/api/checkin", body, actor.csrf)
        return _answer(r, "POST /api/checkin")

    return send


def page_request(crowd: Crowd, kind: str) -> Request:
    rng = crowd.rng
    if kind == "missed":
        sup, department = rng.choice(crowd.supervisors)

        async def missed(port: int) -> tuple[bool, str]:
            r = await sup.client.get(port, "/missed", {"department": department})
            return _answer(r, "GET /missed")

        return missed
    if kind == "status":
        desk = rng.choice(crowd.desks)
        employee_no = f"E{rng.randrange(crowd.people) + 1:06d}"

        async def status(port: int) -> tuple[bool, str]:
            r = await desk.client.get(port, f"/api/status/{employee_no}")
            return _answer(r, "GET /api/status")

        return status
    who = dashboard_users(crowd)[rng.randrange(len(dashboard_users(crowd)))]

    async def dashboard(port: int) -> tuple[bool, str]:
        return _answer(await who.client.get(port, "/"), "GET /")

    return dashboard


def dashboard_users(crowd: Crowd) -> list[Actor]:
    # HR and three supervisors: each scope is computed once per process and cached.
    return [crowd.hr, *(s for s, _ in crowd.supervisors[:3])]


# -- the open loop --------------------------------------------------------------------------


def schedule(
    rates: dict[str, float], seconds: float, rng: random.Random
) -> list[tuple[float, str]]:
    """When each request is due: Poisson arrivals per kind, merged in time order."""
    due: list[tuple[float, str]] = []
    for kind, rate in rates.items():
        t = rng.expovariate(rate)
        while t < seconds:
            due.append((t, kind))
            t += rng.expovariate(rate)
    due.sort()
    return due


async def run_step(
    crowd: Crowd,
    ports: list[int],
    rates: dict[str, float],
    seconds: float,
    max_in_flight: int,
    tag: str,
) -> list[Outcome]:
    due = schedule(rates, seconds, random.Random(zlib.crc32(tag.encode())))
    outcomes: list[Outcome] = []
    tasks: set[asyncio.Task[None]] = set()
    turn = {"scan": 0, "checkin": 0, "port": 0}
    start = time.perf_counter()

    async def fire(kind: str, at: float, request: Request, actor: Actor | None) -> None:
        port = ports[turn["port"] % len(ports)]
        turn["port"] += 1
        try:
            if actor is not None:
                async with actor.busy:  # a sampler waits for the beep before the next scan
                    ok, detail = await request(port)
            else:
                ok, detail = await request(port)
        except HttpError as exc:
            ok, detail = False, f"{kind}: {type(exc).__name__}"
        outcomes.append(Outcome(kind, (time.perf_counter() - start - at) * 1000, ok, detail))

    for at, kind in due:
        await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
        if len(tasks) >= max_in_flight:
            outcomes.append(Outcome(kind, float("nan"), False, "shed"))
            continue
        actor: Actor | None = None
        if kind == "scan":
            actor = crowd.samplers[turn["scan"] % len(crowd.samplers)]
            turn["scan"] += 1
            request = scan_request(crowd, actor, tag)
        elif kind == "checkin":
            desk = crowd.desks[turn["checkin"] % len(crowd.desks)]
            turn["checkin"] += 1
            request = checkin_request(crowd, desk)
        else:
            request = page_request(crowd, kind)
        if request is None:  # this site has nobody left to test
            outcomes.append(Outcome(kind, float("nan"), False, "nobody left"))
            continue
        task = asyncio.create_task(fire(kind, at, request, actor))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    return outcomes


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(outcomes: list[Outcome], rates: dict[str, float]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        mine = [o for o in outcomes if o.kind == kind]
        ms = [o.ms for o in mine if o.ok]
        out[kind] = {
            "rate": rates[kind],
            "n": len(mine),
            "errors": sum(1 for o in mine if not o.ok and o.detail not in ("shed", "nobody left")),
            "shed": sum(1 for o in mine if o.detail == "shed"),
            "nobody": sum(1 for o in mine if o.detail == "nobody left"),
            "p50": round(statistics.median(ms), 1) if ms else None,
            "p95": round(pct(ms, 0.95), 1) if ms else None,
            "p99": round(pct(ms, 0.99), 1) if ms else None,
            "samples": [o.detail for o in mine if not o.ok][:3],
        }
    return out


def holds(figures: dict[str, Any]) -> bool:
    return (
        figures["p95"] is not None
        and figures["p95"] < GOAL_MS
        and figures["errors"] == 0
        and figures["shed"] == 0
    )


async def cold_dashboards(crowd: Crowd, ports: list[int]) -> list[dict[str, Any]]:
    """Each process's first dashboard for each scope the load uses: computed, then cached.

    The processes warm up at the same time, as they would after a deploy, and right before the
    load, so their cached figures are still fresh when it starts. (They go stale after
    ``web.dashboard_cache_seconds`` and are then recomputed in a background thread of each
    process: at a large size that recomputation runs during the load, as it would in use.)
    """

    async def one(port: int) -> list[dict[str, Any]]:
        times = []
        for who in dashboard_users(crowd):
            t0 = time.perf_counter()
            who.client.timeout = 600
            r = await who.client.get(port, "/")
            who.client.timeout = 30
            assert r.status == 200, r.status
            times.append({"port": port, "ms": round((time.perf_counter() - t0) * 1000)})
        return times

    return [c for per_port in await asyncio.gather(*(one(p) for p in ports)) for c in per_port]


async def measure_config(
    url: str,
    processes: int,
    crowd: Crowd | None,
    crowd_args: tuple[int, int, int],
    steps: list[float],
    seconds: float,
    max_in_flight: int,
) -> tuple[dict[str, Any], Crowd]:
    """Start ``processes`` servers, load them step by step, stop them; the crowd is kept.

    Sessions live in the database, so the users signed in for the first configuration keep
    their cookies for the next one (signing 250 people in costs an argon2 hash each).
    """
    servers = start_servers(url, processes)
    ports = [port for _, port in servers]
    pids = [proc.pid for proc, _ in servers]
    result: dict[str, Any] = {"processes": processes, "steps": []}
    try:
        if crowd is None:
            people, departments, per_site = crowd_args
            crowd = await make_crowd(ports[0], people, departments, per_site)
        cold = await cold_dashboards(crowd, ports)
        result["dashboard_cold_ms"] = [c["ms"] for c in cold]
        cpu_start = [proc_cpu_seconds(p) for p in pids]
        for m in steps:
            rates = {k: v * m for k, v in BASE.items()}
            cpu0 = sum(proc_cpu_seconds(p) for p in pids)
            mine0 = time.process_time()
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            # tube codes: letters, digits, - and _; unique per run, so a reused database takes them
            tag = f"{RUN}{processes}x{round(m * 100)}"
            outcomes = await run_step(crowd, ports, rates, seconds, max_in_flight, tag)
            wall = time.perf_counter() - t0
            step = {
                "multiple": m,
                "total_rate": round(sum(rates.values()), 1),
                "wall_s": round(wall, 1),
                "server_cpu_s": round(sum(proc_cpu_seconds(p) for p in pids) - cpu0, 1),
                "driver_cpu_s": round(time.process_time() - mine0, 1),
                "load_avg": round((load0 + os.getloadavg()[0]) / 2, 1),
                "kinds": summarise(outcomes, rates),
            }
            result["steps"].append(step)
            print(_step_line(processes, step), file=sys.stderr, flush=True)
            if not any(holds(f) for f in step["kinds"].values()):
                break  # nothing holds any more: a higher rate tells nothing new
            await asyncio.sleep(2)  # let the servers drain before the next step
        result["peak_mb"] = [round(proc_peak_mb(p)) for p in pids]
        result["load_cpu_s"] = [
            round(proc_cpu_seconds(p) - c, 1) for p, c in zip(pids, cpu_start, strict=True)
        ]
    finally:
        stop_servers(servers)
    return result, crowd


def _step_line(processes: int, step: dict[str, Any]) -> str:
    parts = [
        f"{k} p95 {f['p95']} ms"
        + (f" ({f['errors']} err, {f['shed']} shed)" if f["errors"] or f["shed"] else "")
        for k, f in step["kinds"].items()
    ]
    return (
        f"{processes} process(es), ×{step['multiple']:g} ({step['total_rate']}/s): "
        + "; ".join(parts)
        + f"; servers {step['server_cpu_s']} CPU s, load generator {step['driver_cpu_s']} CPU s"
        + f" in {step['wall_s']} s, load {step['load_avg']}"
    )


def best_rates(config: dict[str, Any]) -> dict[str, float | None]:
    best: dict[str, float | None] = dict.fromkeys(KINDS)
    for step in config["steps"]:
        for kind, f in step["kinds"].items():
            if holds(f):
                best[kind] = max(best[kind] or 0.0, f["rate"])
    return best


def report(meta: dict[str, Any], configs: list[dict[str, Any]]) -> str:
    lines = [
        f"morning peak on PostgreSQL: {meta['people']:,} people in {meta['departments']} "
        f"departments, {SITES} sites, {meta['samplers']} samplers and {meta['desks']} check-in "
        f"desks; open loop, Poisson arrivals, {meta['seconds']:g} s a step, at most "
        f"{meta['max_in_flight']} requests in flight; seeded in {meta['seed_seconds']} s",
        "",
        "| processes | × base | req/s | kind | n | p50 ms | p95 ms | p99 ms | errors | shed "
        "| servers CPU s / load generator CPU s / wall s | load avg |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in configs:
        for step in c["steps"]:
            for kind, f in step["kinds"].items():
                lines.append(
                    f"| {c['processes']} | {step['multiple']:g} | {f['rate']:g} | {kind} "
                    f"| {f['n']} | {f['p50']} | {f['p95']} | {f['p99']} | {f['errors']} "
                    f"| {f['shed']} | {step['server_cpu_s']} / {step['driver_cpu_s']} "
                    f"/ {step['wall_s']} "
                    f"| {step['load_avg']} |"
                )
    lines += [
        "",
        f"highest rate (requests a second) whose p95 stays under {GOAL_MS:g} ms, no errors:",
        "",
        "| kind | " + " | ".join(f"{c['processes']} process(es)" for c in configs) + " |",
        "|---|" + "---:|" * len(configs),
    ]
    bests = [best_rates(c) for c in configs]
    for kind in KINDS:
        cells = ["below the lowest step" if b[kind] is None else f"{b[kind]:g}" for b in bests]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| processes | dashboard cold ms (each process, each scope) | peak MB per server "
        "| CPU s per server under load |",
        "|---:|---|---|---|",
    ]
    for c in configs:
        lines.append(
            f"| {c['processes']} | {', '.join(map(str, c['dashboard_cold_ms']))} "
            f"| {', '.join(map(str, c['peak_mb']))} | {', '.join(map(str, c['load_cpu_s']))} |"
        )
    lines.append(
        f"\nload generator: peak {meta['driver_peak_mb']:.0f} MB, {meta['driver_cpu_s']:.1f} "
        f"CPU s; load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "TESTROTA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="PostgreSQL server (a database is created on it for the run)",
    )
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--processes", default="1,4", help="comma-separated, e.g. 1,4")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each step")
    parser.add_argument("--steps", default="0.5,1,1.5,2", help="multiples of the base rate")
    parser.add_argument("--samplers-per-site", type=int, default=4)
    parser.add_argument("--max-in-flight", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse",
        metavar="URL",
        help="load a database seeded by an earlier --keep run with the same --people instead "
        "of seeding one (kept afterwards); its figures then follow the earlier runs' scans",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if not 1_000 <= args.people <= 1_000_000 or args.seconds <= 0 or args.max_in_flight < 1:
        parser.error("--people 1,000..1,000,000, --seconds > 0 and --max-in-flight >= 1")
    if not 2 <= args.samplers_per_site <= 10:
        parser.error("--samplers-per-site: 2..10 (half scan, half run the desk)")
    processes = [int(p) for p in args.processes.split(",")]
    steps = [float(m) for m in args.steps.split(",")]
    if not processes or min(processes) < 1 or max(processes) > 8:
        parser.error("--processes: between 1 and 8 each")
    if args.reuse:
        url, name = args.reuse, ""
    else:
        url, name = make_database(args.pg, "bench_peak")
        if args.keep:  # for --reuse afterwards
            print(f"database: {url}", file=sys.stderr, flush=True)
    try:
        if args.reuse:
            meta = {"departments": departments_for(args.people), "seed_seconds": 0.0}
        else:
            meta = seed(url, args.people, args.samplers_per_site)
        meta["people"] = args.people
        print(f"seeded: {json.dumps(meta)}", file=sys.stderr, flush=True)

        async def every_config() -> list[dict[str, Any]]:
            crowd: Crowd | None = None
            done = []
            try:
                for p in processes:
                    result, crowd = await measure_config(
                        url,
                        p,
                        crowd,
                        (args.people, meta["departments"], args.samplers_per_site),
                        steps,
                        args.seconds,
                        args.max_in_flight,
                    )
                    done.append(result)
            finally:
                if crowd is not None:
                    crowd.close()
            return done

        configs = asyncio.run(every_config())
    finally:
        if not args.keep and name:
            drop_database(args.pg, name)
    per_site = args.samplers_per_site
    meta.update(
        samplers=SITES * ((per_site + 1) // 2),
        desks=SITES * (per_site // 2),
        seconds=args.seconds,
        max_in_flight=args.max_in_flight,
        driver_peak_mb=self_peak_mb(),
        driver_cpu_s=time.process_time(),
    )
    print(report(meta, configs))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "configs": configs}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
