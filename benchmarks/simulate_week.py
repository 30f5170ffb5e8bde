"""A simulated week of production at N people, checked against its ground truth.

Real processes on one database: the fake Twilio server (latency, injected 5xx / 429 / dropped
connections, numbers refusing with 21610), two ``testrota serve`` web processes and three
workers running the worker's jobs on a clock that the driver moves through the week (see
``tests/sim_week.py`` for the week's story and ``tests/sim_world.py`` for the truth). It prints
what was checked, every discrepancy, and the figures: wall time, peak memory per process, texts
per second, database size.

    python benchmarks/simulate_week.py --people 2000                      # SQLite in a temp dir
    python benchmarks/simulate_week.py --people 100000 --pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python benchmarks/simulate_week.py --people 20000 --pg URL --json figures.json

With ``--pg`` a fresh database is created on that server (and dropped afterwards unless
``--keep``). Exit code 1 when the run disagrees with the truth.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import make_url, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.sim_checks import check, figures  # noqa: E402
from tests.sim_week import SimConfig, run_week  # noqa: E402

from testrota.db.engine import make_engine  # noqa: E402
from testrota.db.schema import upgrade  # noqa: E402


def _pg_database(admin_url: str) -> tuple[str, str]:
    url = make_url(admin_url)
    name = f"testrota_sim_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_pg(admin_url: str, name: str) -> None:
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server (a database is created)")
    parser.add_argument("--workdir", type=Path, help="keep files and logs here")
    parser.add_argument("--step-minutes", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument(
        "--web-share",
        type=float,
        default=None,
        help="share of tests checked in through the web (default: 0.71)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-faults", action="store_true", help="inject no provider failures")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="testrota-sim-"))
    workdir.mkdir(parents=True, exist_ok=True)
    pg_name = None
    if args.pg:
        url, pg_name = _pg_database(args.pg)
    else:
        url = f"sqlite:///{workdir / 'sim.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    config = SimConfig(
        database_url=url,
        workdir=workdir,
        people=args.people,
        seed=args.seed,
        step_minutes=args.step_minutes,
        latency=args.latency,
        faults=not args.no_faults,
        progress=True,
    )
    if args.web_share is not None:
        # The rest of the tested share goes through lab sheets.
        config.share_lab = max(0.0, 1 - config.share_untested - config.share_early - args.web_share)
    try:
        result = run_week(config)
    finally:
        if pg_name and not args.keep:
            _drop_pg(args.pg, pg_name)
    # Kept, so the checks can be run again on a long run's result without running it again.
    with (workdir / "result.pickle").open("wb") as fh:
        pickle.dump(result, fh)
    problems, tolerated = check(result)
    measured = figures(result)
    measured["problems"] = problems
    measured["tolerated"] = tolerated
    print(json.dumps(measured, ensure_ascii=False, indent=1))
    if args.json:
        args.json.write_text(json.dumps(measured, ensure_ascii=False, indent=1) + "\n")
    print(f"\nwork files and logs: {workdir}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} discrepancies with the truth:", file=sys.stderr)
        for line in problems:
            print(f"- {line}", file=sys.stderr)
        return 1
    print("the week matches its ground truth", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
