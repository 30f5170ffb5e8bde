"""Roster import against the bare file read, side by side, as whole processes.

    python benchmarks/bench_import.py [N]        (default 100,000 rows)

python_calamine alone reads the file; pandas reads it with openpyxl (the default way) and with
calamine; ``testrota import`` into a fresh SQLite database; the same import again, nothing
changed; the import of another roster of the same people (another seed: every person's row
changes, so each writes its update and its audit event); and the import of the same roster with
every employee number a number cell formatted ``000000000`` (the reader applies the format, so
it costs a pass over those cells). Each is a separate process: wall time, CPU time and peak
RSS; the ratio is of CPU time, which a shared machine disturbs less.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _proc import measure, table
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


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"roster_{n}.xlsx"
        generate_roster(n, path)
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        env = {"TESTROTA_CONFIG_DIR": str(ROOT / "config"), "TESTROTA_DATABASE_URL": db}
        bare = measure("python_calamine read (bare)", [PY, "-c", READ_CALAMINE, str(path)])
        rows = [bare]
        for engine in ("openpyxl", "calamine"):
            argv = [PY, "-c", READ_PANDAS, str(path), engine]
            rows.append(measure(f"pandas + {engine} read", argv))
        imp = [TESTROTA, "import", str(path), "--json"]
        measure("init", [TESTROTA, "init"], env)
        first = measure("testrota import, fresh SQLite", imp, env)
        again = measure("testrota import again, unchanged", imp, env)
        changed = Path(tmp) / f"roster_{n}_changed.xlsx"
        generate_roster(n, changed, seed=43)
        updated = measure(
            "testrota import, every person changed",
            [TESTROTA, "import", str(changed), "--json"],
            env,
        )
        padded = Path(tmp) / f"roster_{n}_padded.xlsx"
        generate_roster(n, padded, padded=True)
        env_padded = {**env, "TESTROTA_DATABASE_URL": f"sqlite:///{Path(tmp) / 'padded.db'}"}
        measure("init", [TESTROTA, "init"], env_padded)
        formatted = measure(
            "testrota import, numbers formatted 000000000, fresh SQLite",
            [TESTROTA, "import", str(padded), "--json"],
            env_padded,
        )
        rows += [first, again, updated, formatted]
        s1, s2 = json.loads(first.output), json.loads(again.output)
        s3 = json.loads(updated.output)
        print(f"{n:,} rows x {path.stat().st_size / 1e6:.1f} MB .xlsx")
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
