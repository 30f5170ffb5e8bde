"""`make bench-group`: the group-scale benchmarks at 300,000 people on PostgreSQL (issue 17).

One after another, each in a process of its own (figures and peak memory per process are the
benchmarks' own): the morning peak with 1 and 4 `testrota serve` processes (bench_peak), the
plan of a week (bench_plan), the group's daily report (bench_daily_report), the roster
import against the bare read (bench_import), the lab's results sheet on PostgreSQL
(bench_results_import), alone and as a group's with everyone in the unit tree and the
roll-ups held (``--units``), and one unit's check-ins at once (bench_unit_checkins).
`GROUP_PEOPLE` (default 300,000) sets the size and `TESTROTA_TEST_DATABASE_URL` the
PostgreSQL server (a fresh database is made for each benchmark and dropped after it). On the
shared 2-core machine this takes the better part of an hour; the load average is printed
before and after each benchmark, since other work disturbs wall times (CPU times are printed
beside them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from _pg import drop_database, make_database  # noqa: E402

PEOPLE = os.environ.get("GROUP_PEOPLE", "300000")
SERVER = os.environ.get(
    "TESTROTA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _run(args: list[str]) -> None:
    print(f"\n## {' '.join(args)}   (load average before: {_load()})", flush=True)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]], check=False)
    print(
        f"({args[0]}: {time.perf_counter() - start:.0f} s wall; load average after: {_load()})",
        flush=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed with exit code {done.returncode}")


def main() -> None:
    _run(
        [
            "bench_peak.py",
            "--people",
            PEOPLE,
            "--pg",
            SERVER,
            "--processes",
            "1,4",
            "--seconds",
            "20",
            "--steps",
            "0.5,1,1.5,2,3",
        ]
    )
    _run(["bench_plan.py", "--people", PEOPLE, "--pg", SERVER])
    url, name = make_database(SERVER, "bench_daily")
    try:
        _run(["bench_daily_report.py", "--people", PEOPLE, "--db", url])
    finally:
        drop_database(SERVER, name)
    _run(["bench_import.py", PEOPLE])
    _run(["bench_results_import.py", "--people", PEOPLE, "--pg", SERVER])
    _run(["bench_results_import.py", "--people", PEOPLE, "--pg", SERVER, "--units"])
    _run(["bench_unit_checkins.py", "--people", PEOPLE, "--pg", SERVER])


if __name__ == "__main__":
    main()
