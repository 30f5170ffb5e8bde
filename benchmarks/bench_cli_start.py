"""How long a `testrota` command takes to start, as a whole process, beside what it stands on.

Each line runs several times and the median is shown: the bare interpreter, importing Typer (the
CLI framework every command needs), `testrota --help`, a table in English and in Chinese (the cost
of loading the words' catalogue), and two commands that open a database (an empty SQLite
one, so what is measured is start-up, not the query).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from _proc import Measured, measure, table

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def median_of(label: str, argv: list[str], repeat: int, env: dict[str, str]) -> Measured:
    runs = [measure(label, argv, env) for _ in range(repeat)]
    by_wall = sorted(runs, key=lambda m: m.seconds)
    mid = by_wall[len(by_wall) // 2]
    return Measured(
        label,
        statistics.median(m.seconds for m in runs),
        mid.peak_mb,
        "",
        statistics.median(m.cpu_seconds for m in runs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_cli_"))
    db = f"sqlite:///{work / 'empty.db'}"
    env = {"TESTROTA_CONFIG_DIR": str(ROOT / "config"), "TESTROTA_DATABASE_URL": db}
    testrota = str(BIN / "testrota")
    measure("init", [testrota, "init"], env)
    python = sys.executable
    rows = [
        median_of("python -c pass (bare interpreter)", [python, "-c", "pass"], args.repeat, env),
        median_of("python -c 'import typer'", [python, "-c", "import typer"], args.repeat, env),
        median_of("testrota --help", [testrota, "--help"], args.repeat, env),
        # a table's title and headers: English needs no catalogue, Chinese loads it
        median_of(
            "testrota --lang en people (empty db)",
            [testrota, "--lang", "en", "people"],
            args.repeat,
            env,
        ),
        median_of(
            "testrota --lang zh people (empty db)",
            [testrota, "--lang", "zh", "people"],
            args.repeat,
            env,
        ),
        median_of(
            "testrota people --json (empty db)", [testrota, "people", "--json"], args.repeat, env
        ),
        median_of(
            "testrota missed --department D (empty db)",
            [testrota, "missed", "--department", "D"],
            args.repeat,
            env,
        ),
    ]
    print(f"median of {args.repeat} runs each")
    print(table(rows, baseline=rows[1]))


if __name__ == "__main__":
    main()
