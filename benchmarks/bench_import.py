"""Roster import against the bare file read, side by side, as whole processes.

    python benchmarks/bench_import.py [N]        (default 100,000 rows)

python_calamine alone reads the file; pandas reads it with openpyxl (the default way) and with
calamine; ``testrota import`` into a fresh SQLite database; the same import again, nothing
changed; the import of another roster of the same people (another seed: every person's row
changes, so each writes its update and its audit event); and the import of the same roster with
every employee number a number cell formatted ``000000000`` (the reader applies the format, so
it costs a pass over those cells). Each is a separate process: wall time, CPU time and peak
RSS; the ratio is of CPU time, which a shared machine disturbs less.

    python benchmarks/bench_import.py N --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

imports into a fresh PostgreSQL database on that server instead (dropped afterwards, also on
an interrupt), with the CPU time of the server's backends for it beside the client's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _proc import Measured, measure, table
from generate_roster import generate_roster

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
TESTROTA = str(Path(PY).with_name("testrota"))

READ_CALAMINE = """
import sys, python_calamine
wb = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
n = sum(len(wb.get_sheet_by_name(s).to_python()) for s in wb.sheet_names)
print(n)
"""
READ_PANDAS = """
import sys, pandas
frames = pandas.read_excel(sys.argv[1], sheet_name=None, dtype=str, engine=sys.argv[2])
print(sum(len(f) for f in frames.values()))
"""


@contextmanager
def _database(tmp: Path, pg: str | None, name: str) -> Iterator[tuple[str, str | None]]:
    """(URL, PostgreSQL database name or None) of a fresh database for one import series."""
    if pg is None:
        yield f"sqlite:///{tmp / name}.db", None
        return
    from _pg import drop_database, make_database

    url, db_name = make_database(pg, f"bench_import_{name}")
    try:
        yield url, db_name
    finally:
        drop_database(pg, db_name)


def _step(label: str, argv: list[str], env: dict[str, str], db_name: str | None) -> Measured:
    if db_name is None:
        return measure(label, argv, env)
    from _pg import DatabaseCpu

    with DatabaseCpu(db_name) as server:
        m = measure(label, argv, env)
    m.label += f" (PostgreSQL CPU {server.seconds:.2f} s)"
    return m


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=100_000)
    parser.add_argument("--pg", default=None, help="a PostgreSQL server URL: import there")
    args = parser.parse_args()
    n, pg = args.n, args.pg
    backend = "PostgreSQL" if pg else "SQLite"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / f"roster_{n}.xlsx"
        generate_roster(n, path)
        bare = measure("python_calamine read (bare)", [PY, "-c", READ_CALAMINE, str(path)])
        rows = [bare]
        for engine in ("openpyxl", "calamine"):
            argv = [PY, "-c", READ_PANDAS, str(path), engine]
            rows.append(measure(f"pandas + {engine} read", argv))
        imp = [TESTROTA, "import", str(path), "--json"]
        changed = tmp / f"roster_{n}_changed.xlsx"
        generate_roster(n, changed, seed=43)
        padded = tmp / f"roster_{n}_padded.xlsx"
        generate_roster(n, padded, padded=True)
        config = str(ROOT / "config")
        with _database(tmp, pg, "bench") as (url, db_name):
            env = {"TESTROTA_CONFIG_DIR": config, "TESTROTA_DATABASE_URL": url}
            measure("init", [TESTROTA, "init"], env)
            first = _step(f"testrota import, fresh {backend}", imp, env, db_name)
            again = _step("testrota import again, unchanged", imp, env, db_name)
            updated = _step(
                "testrota import, every person changed",
                [TESTROTA, "import", str(changed), "--json"],
                env,
                db_name,
            )
        with _database(tmp, pg, "padded") as (url, db_name):
            env_padded = {"TESTROTA_CONFIG_DIR": config, "TESTROTA_DATABASE_URL": url}
            measure("init", [TESTROTA, "init"], env_padded)
            formatted = _step(
                f"testrota import, numbers formatted 000000000, fresh {backend}",
                [TESTROTA, "import", str(padded), "--json"],
                env_padded,
                db_name,
            )
        rows += [first, again, updated, formatted]
        s1, s2 = json.loads(first.output), json.loads(again.output)
        s3 = json.loads(updated.output)
        print(f"{n:,} rows x {path.stat().st_size / 1e6:.1f} MB .xlsx, {backend}")
        print(table(rows, baseline=bare))
        print(
            f"first import: added {s1['added']:,}, high-risk {s1['high_risk']:,}, "
            f"errors {len(s1['errors'])}"
        )
        print(f"second import: unchanged {s2['unchanged']:,}, updated {s2['updated']}")
        print(f"changed roster: updated {s3['updated']:,}, unchanged {s3['unchanged']:,}")
        load = os.getloadavg()
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
