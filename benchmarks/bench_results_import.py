"""A lab's results sheet imported, against the bare read of the same file, side by side.

    .venv/bin/python benchmarks/bench_results_import.py [--people 100000] [--workdir DIR]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Seeds N people with a week of appointments on SQLite, or with ``--pg`` in a fresh PostgreSQL
database dropped afterwards (as ``bench_compliance.py`` does), writes
a results sheet of N rows (.xlsx, a tenth matched by phone only), then runs as separate
processes, each with its wall time, CPU time and peak memory: the bare ``python_calamine``
read, pandas' read with calamine, ``testrota results import --json`` (every row new, each
marks its appointment done), and the same import again (every row unchanged). The ratio is of
CPU time, which a shared machine disturbs less than wall time. On PostgreSQL the server's CPU
for the database (read from ``/proc``) is shown beside each import's.

``--units``: a group's roster. Everyone is placed in the unit tree (group / department / grid
unit of 25) and the daily and weekly roll-ups hold the weeks (``testrota rollup rebuild``)
before the imports, so each import's commit counts them again, as at a group. The placing and
the rebuild are timed apart.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _proc import measure, table  # noqa: E402
from bench_compliance import MONDAY, READ_CALAMINE, seed, write_results  # noqa: E402
from bench_import import _database, _step  # noqa: E402

PY = sys.executable
READ_PANDAS = """
import sys, pandas
frames = pandas.read_excel(sys.argv[1], sheet_name=None, dtype=str, engine="calamine")
print(sum(len(f) for f in frames.values()))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--pg", default=None, help="a PostgreSQL server URL: import there")
    parser.add_argument(
        "--units", action="store_true", help="people in the unit tree, the roll-ups held"
    )
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_results_"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "bench.db").unlink(missing_ok=True)
    with _database(work, args.pg, "bench") as (url, db_name):
        run(args.people, work, url, db_name, units=args.units)


NOW = MONDAY + timedelta(days=4, hours=8)  # Friday morning: Tuesday-to-Thursday results arrive


def place_in_units(url: str) -> dict[str, float]:
    """Everyone in the unit tree (the group, their department, their grid unit) and the
    roll-ups' weeks held, through the app as ``testrota units sync`` and ``testrota rollup
    rebuild`` do; the seconds of each."""
    from sqlalchemy import update

    from testrota.actions.rollup import RebuildRollup, rebuild_rollup
    from testrota.actions.units import ensure_units
    from testrota.app import build_app
    from testrota.audit import Actor
    from testrota.clock import FixedClock
    from testrota.db import tables
    from testrota.settings import get_settings

    P = tables.PERSON
    settings = get_settings(
        database_url=url, config_dir=ROOT / "config", secret_key="bench-results-" + "0" * 32
    )
    app = build_app(settings, clock=FixedClock(NOW))
    started = time.perf_counter()
    with app.engine.begin() as conn:
        path = "集团/" + P.c.department + "/" + P.c.grid_unit
        conn.execute(update(P).values(unit_path=path))
    ensure_units(app, Actor.job("bench"))
    placed = time.perf_counter()
    rebuild_rollup(app, RebuildRollup(Actor.job("bench")))
    done = time.perf_counter()
    app.close()
    return {"place_seconds": round(placed - started, 1), "rebuild_seconds": round(done - placed, 1)}


def run(people: int, work: Path, url: str, db_name: str | None, *, units: bool = False) -> None:
    rng = random.Random(42)
    started = time.perf_counter()
    seed(url, people, rng)
    sheet = work / "results.xlsx"
    write_results(sheet, people, rng)
    print(f"seeded and wrote the sheet in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if units:
        print(f"in units, roll-ups held: {place_in_units(url)}", file=sys.stderr)
    env = {
        "TESTROTA_DATABASE_URL": url,
        "TESTROTA_CONFIG_DIR": str(ROOT / "config"),
        "TESTROTA_NOW": NOW.isoformat(),
    }
    testrota = [PY, "-m", "testrota.cli.main", "results", "import", str(sheet), "--json"]
    bare = measure("python_calamine read (bare)", [PY, "-c", READ_CALAMINE, str(sheet)])
    pandas = measure("pandas + calamine read", [PY, "-c", READ_PANDAS, str(sheet)])
    first = _step("testrota results import (all new)", testrota, env, db_name)
    again = _step("same import again (all unchanged)", testrota, env, db_name)
    s1, s2 = json.loads(first.output), json.loads(again.output)
    backend = "SQLite" if db_name is None else "PostgreSQL"
    if units:
        backend += ", everyone in the unit tree, the roll-ups held"
    print(f"{people:,}-row results sheet, {sheet.stat().st_size / 1e6:.1f} MB, {backend}")
    print(table([bare, pandas, first, again], baseline=bare))
    print(
        f"first: recorded {s1['recorded']:,}, unmatched {len(s1['unmatched'])}, "
        f"errors {len(s1['errors'])}, appointments done {s1.get('appointments_done', 0):,}; "
        f"again: unchanged {s2['unchanged']:,}, recorded {s2['recorded']}"
    )
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
