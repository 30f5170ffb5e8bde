"""`make bench`: every benchmark, one after another, at a size this 2-core machine finishes in
minutes (`BENCH_PEOPLE`, default 20,000; the README's figures were measured at 100,000 with
each script's own defaults). A benchmark that fails stops the run with its output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEOPLE = os.environ.get("BENCH_PEOPLE", "20000")

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


def main() -> None:
    for args in RUNS:
        print(f"\n## {' '.join(args)}", flush=True)
        done = subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]], check=False)
        if done.returncode != 0:
            raise SystemExit(f"{args[0]} failed with exit code {done.returncode}")


if __name__ == "__main__":
    main()
