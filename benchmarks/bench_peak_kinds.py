"""What one request of each kind of the morning peak costs, one kind at a time, on a database
kept by ``bench_peak.py --keep``: the web process's CPU and PostgreSQL's CPU for that database
(read from ``/proc``, so the server must run on this machine), per request, in sequence.

    .venv/bin/python benchmarks/bench_peak_kinds.py URL [--n 40] [--batch 0]
        [--people 300000] [--kinds status,checkin,scan,missed,dashboard]

Check-ins and scans take people the load generator reaches last (from two thirds of
``--people`` on, a thousand further per ``--batch``), so they are fresh ones: give each run its
own batch. The
first dashboard (HR's, computed and cached) is timed apart; the later ones are the cached page.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http import Answer
from _pg import DatabaseCpu
from bench_peak import proc_cpu_seconds, sign_in, start_servers, stop_servers


class CpuSince(DatabaseCpu):
    """:class:`DatabaseCpu` counting only what each backend spent after entering: the web
    process keeps its connections, whose earlier CPU is not this measurement's."""

    def __enter__(self) -> CpuSince:
        self._read()
        self._base = dict(self._seen)
        super().__enter__()
        return self

    @property
    def seconds(self) -> float:
        return sum(v - self._base.get(pid, 0.0) for pid, v in self._seen.items())


async def measure(url: str, people_count: int, n: int, batch: int, only: list[str]) -> None:
    servers = start_servers(url, 1)
    ((proc, port),) = servers
    try:
        site = await sign_in(port, "site03")
        sup = await sign_in(port, "sup03")
        hr = await sign_in(port, "hr")
        rng = random.Random(batch)
        first = people_count * 2 // 3 + batch * 1000
        people = iter(f"E{first + i:06d}" for i in range(1000))
        tag = uuid.uuid4().hex[:4]
        tube = {"number": 0, "in": 0}

        async def scan() -> Answer:
            if tube["in"] % 10 == 0:
                tube["number"] += 1
                await site.client.post_json(
                    port,
                    "/scan/api",
                    {
                        "id": uuid.uuid4().hex,
                        "kind": "tube",
                        "value": f"K{tag}-{tube['number']}",
                        "site": "S03",
                        "ratio": 10,
                    },
                    site.csrf,
                )
            tube["in"] += 1
            body = {
                "id": uuid.uuid4().hex,
                "kind": "person",
                "value": next(people),
                "site": "S03",
                "tube": f"K{tag}-{tube['number']}",
            }
            return await site.client.post_json(port, "/scan/api", body, site.csrf)

        async def checkin() -> Answer:
            body = {"employee_no": next(people), "site": "S03"}
            return await site.client.post_json(port, "/api/checkin", body, site.csrf)

        async def status() -> Answer:
            number = rng.randrange(people_count) + 1
            return await site.client.get(port, f"/api/status/E{number:06d}")

        async def missed() -> Answer:
            return await sup.client.get(port, "/missed", {"department": "部门03"})

        async def dashboard() -> Answer:
            return await hr.client.get(port, "/")

        kinds: dict[str, Callable[[], Awaitable[Answer]]] = {
            "status": status,
            "checkin": checkin,
            "scan": scan,
            "missed": missed,
            "dashboard": dashboard,
        }
        hr.client.timeout = 600
        t0 = time.perf_counter()
        await dashboard()
        print(f"HR's first dashboard: {(time.perf_counter() - t0) * 1000:.0f} ms")
        for kind in only:
            request = kinds[kind]
            for _ in range(3):  # the statements prepared, the pool's connections open
                await request()
            cpu0 = proc_cpu_seconds(proc.pid)
            walls = []
            with CpuSince(url.rsplit("/", 1)[1]) as db:
                for _ in range(n):
                    t = time.perf_counter()
                    answer = await request()
                    walls.append(time.perf_counter() - t)
                    assert answer.status == 200, (kind, answer.status, answer.body[:200])
            server = (proc_cpu_seconds(proc.pid) - cpu0) / n * 1000
            walls.sort()
            print(
                f"{kind}: server {server:.1f} ms CPU, PostgreSQL {db.seconds / n * 1000:.1f} ms "
                f"CPU, wall p50 {walls[n // 2] * 1000:.1f} ms a request",
                flush=True,
            )
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    finally:
        stop_servers(servers)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("url", help="a database kept by bench_peak.py --keep (300,000 people)")
    parser.add_argument("--people", type=int, default=300_000, help="as the database was seeded")
    parser.add_argument("--n", type=int, default=40, help="requests of each kind")
    parser.add_argument("--batch", type=int, default=0, help="which thousand fresh people")
    parser.add_argument("--kinds", default="status,checkin,scan,missed,dashboard")
    args = parser.parse_args()
    if not 1 <= args.n <= 200 or args.batch < 0:
        parser.error("--n 1..200, --batch 0 or more")
    if args.people * 2 // 3 + (args.batch + 1) * 1000 > args.people:
        parser.error("--batch: beyond the last person")
    asyncio.run(measure(args.url, args.people, args.n, args.batch, args.kinds.split(",")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
