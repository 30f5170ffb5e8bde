"""`make bench`: every benchmark, one after another, at a size this 2-core machine finishes in
minutes (`BENCH_PEOPLE`, default 20,000; the README's figures were measured at 100,000 with
each script's own defaults). A benchmark that fails stops the run with its output. The morning
peak and a unit's check-ins need PostgreSQL (`TESTROTA_TEST_DATABASE_URL`); without a server
answering there they are left out, and the run says so. `make bench-group` runs the group-scale
ones at 300,000."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
PEOPLE = os.environ.get("BENCH_PEOPLE", "20000")
PG = os.environ.get(
    "TESTROTA_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

RUNS: list[list[str]] = [
    ["bench_cli_start.py"],
    ["bench_roster_read.py", PEOPLE],
    ["bench_import.py", PEOPLE],
    ["bench_match.py", "--people", PEOPLE],
    ["bench_plan.py", "--people", PEOPLE],
    ["bench_compliance.py", "--people", PEOPLE],
    ["bench_results_import.py", "--people", PEOPLE],
    ["bench_dispatch.py", "--rows", PEOPLE],
    ["bench_metrics.py", "--people", PEOPLE, "--repeat", "3"],
    ["bench_web.py", "--people", PEOPLE, "--requests", "100", "--clients", "1"],
    ["bench_daily_report.py", "--people", PEOPLE, "--requests", "10"],
    ["bench_dashboard.py", "--people", PEOPLE],
    ["bench_report_trend.py", "--people", PEOPLE, "--repeat", "3"],
]
# 1 vs 4 processes at the base rate and one step above it: a few minutes at 20,000 people.
PEAK = [
    "bench_peak.py",
    "--people",
    PEOPLE,
    "--pg",
    PG,
    "--seconds",
    "10",
    "--steps",
    "0.5,1,1.5",
]


def _pg_answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 2):
            return True
    except OSError:
        return False


# One grid unit's people checked in at once by four samplers (3 units of 800).
UNIT_CHECKINS = ["bench_unit_checkins.py", "--people", PEOPLE, "--pg", PG, "--per-worker", "20"]


def main() -> None:
    runs = list(RUNS)
    if _pg_answers(PG):
        runs += [PEAK, UNIT_CHECKINS]
    else:
        print(f"\n## PostgreSQL benchmarks left out: no server answers at {PG}", flush=True)
    for args in runs:
        print(f"\n## {' '.join(args)}", flush=True)
        done = subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]], check=False)
        if done.returncode != 0:
            raise SystemExit(f"{args[0]} failed with exit code {done.returncode}")


if __name__ == "__main__":
    main()
