"""How long a `testrota` command takes to start, as a whole process, beside what it stands on.

Each line runs several times and the median is shown: the bare interpreter, importing Typer (the
CLI framework every command needs) and the libraries a command that opens the database stands
on (pydantic, SQLAlchemy, SQLModel), `testrota --help`, a table in English and in Chinese (the
cost of loading the words' catalogue), two commands on an empty SQLite database (start-up, not
the query), and `testrota missed --department D` on a group of N people (issue 17's goal:
0.5 s at 100,000 people, the whole process).

The group is seeded as ``bench_compliance.py`` seeds it (50 departments, two slots a week each,
Monday's slots past their grace with 90 % sampled) and flagged once before anything is timed,
so each timed ``missed`` pays only the flag check every list call pays, as on a working day.

testrota's own modules are compiled to bytecode first, as installing the package does (pip
writes ``__pycache__`` for every module it installs); a shell with ``PYTHONDONTWRITEBYTECODE``
set never writes them for an editable checkout, and every start would compile the package from
source again. One line measures that, with an empty bytecode cache, for comparison.

``--before SRC`` (an earlier checkout's ``src``, e.g. a ``git worktree``): each testrota
command also runs with that code, alternating with this one, on a line of its own.

    .venv/bin/python benchmarks/bench_cli_start.py [--people 100000] [--repeat 5] [--workdir D]
        [--before SRC]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from _proc import Measured, measure, table

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PACKAGE = ROOT / "src" / "testrota"
_FLOOR = (
    "import typer, typer._adapters, pydantic_settings, sqlalchemy, sqlalchemy.dialects.sqlite, yaml"
)
DEPARTMENT = "部门07"  # one of bench_compliance's 50 departments: 2,000 people at 100,000


def median_of(label: str, argv: list[str], repeat: int, env: dict[str, str]) -> Measured:
    return _median(label, [measure(label, argv, env) for _ in range(repeat)])


def side_by_side(
    label: str, argv: list[str], repeat: int, env: dict[str, str], before: str | None
) -> list[Measured]:
    """``argv`` with this code, and with ``before`` (an earlier checkout's ``src``) when given,
    the two run alternately so that the machine's swings fall on both."""
    if before is None:
        return [median_of(label, argv, repeat, env)]
    old_env = {**env, "PYTHONPATH": before}
    ours: list[Measured] = []
    theirs: list[Measured] = []
    for _ in range(repeat):
        ours.append(measure(label, argv, env))
        theirs.append(measure(label, argv, old_env))
    return [_median(label, ours), _median(f"{label}, code before", theirs)]


def _median(label: str, runs: list[Measured]) -> Measured:
    by_wall = sorted(runs, key=lambda m: m.seconds)
    mid = by_wall[len(by_wall) // 2]
    return Measured(
        label,
        statistics.median(m.seconds for m in runs),
        mid.peak_mb,
        mid.output,
        statistics.median(m.cpu_seconds for m in runs),
    )


def seed_group(db: Path, people: int) -> str:
    """A group of ``people`` on SQLite, flagged once; returns the "now" it was flagged at."""
    import random

    from bench_compliance import MONDAY, seed

    now = (MONDAY + timedelta(hours=23, minutes=30)).isoformat()
    url = f"sqlite:///{db}"
    if not db.exists():
        seed(url, people, random.Random(42))
        env = {"TESTROTA_DATABASE_URL": url, "TESTROTA_NOW": now}
        # the day's flagging happens once, as the worker's tick does it; not part of start-up
        flagged = measure("flag", [str(BIN / "testrota"), "flag", "--json"], env)
        print(f"flagged once: {flagged.seconds:.1f} s", file=sys.stderr)
    return now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--people", type=int, default=100_000, help="the group's size; 0 leaves it out"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep the seeded group here and reuse it"
    )
    parser.add_argument(
        "--before", default=None, help="an earlier checkout's src: each command beside it"
    )
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_cli_"))
    work.mkdir(parents=True, exist_ok=True)
    empty = work / "empty.db"
    env = {
        "TESTROTA_CONFIG_DIR": str(ROOT / "config"),
        "TESTROTA_DATABASE_URL": f"sqlite:///{empty}",
    }
    os.environ["TESTROTA_CONFIG_DIR"] = env["TESTROTA_CONFIG_DIR"]
    testrota = str(BIN / "testrota")
    compileall.compile_dir(PACKAGE, quiet=1)
    if args.before:
        compileall.compile_dir(args.before, quiet=1)
    if not empty.exists():
        measure("init", [testrota, "init"], env)
    python = sys.executable
    n = args.repeat

    def imported(module: str) -> Measured:
        return median_of(f"python -c 'import {module}'", [python, "-c", f"import {module}"], n, env)

    rows = [
        median_of("python -c pass (bare interpreter)", [python, "-c", "pass"], n, env),
        imported("typer"),
        imported("pydantic"),
        imported("pydantic_settings"),
        imported("sqlalchemy"),
        imported("sqlmodel"),
        # what `missed` cannot start without: Typer with its pydantic coercion, the settings,
        # SQLAlchemy Core and its SQLite dialect; the floor under the command's own work
        median_of(
            "python -c 'import typer, pydantic_settings, sqlalchemy' (missed's floor)",
            [python, "-c", _FLOOR],
            n,
            env,
        ),
    ]
    before = args.before
    commands = [
        ("testrota --help", [testrota, "--help"]),
        # a table's title and headers: English needs no catalogue, Chinese loads it
        ("testrota --lang en people (empty db)", [testrota, "--lang", "en", "people"]),
        ("testrota --lang zh people (empty db)", [testrota, "--lang", "zh", "people"]),
        ("testrota people --json (empty db)", [testrota, "people", "--json"]),
        ("testrota missed --department D (empty db)", [testrota, "missed", "--department", "D"]),
    ]
    for label, argv in commands:
        rows += side_by_side(label, argv, n, env, before)
    shown = ""
    if args.people:
        group = work / f"group-{args.people}.db"
        now = seed_group(group, args.people)
        genv = {**env, "TESTROTA_DATABASE_URL": f"sqlite:///{group}", "TESTROTA_NOW": now}
        missed = [testrota, "missed", "--department", DEPARTMENT]
        rows += side_by_side(
            f"testrota missed --department D ({args.people:,} people)", missed, n, genv, before
        )
        pair = side_by_side(
            f"testrota missed --department D --json ({args.people:,} people)",
            [*missed, "--json"],
            n,
            genv,
            before,
        )
        as_json = pair[0]
        rows += pair
        # the same with testrota's own bytecode gone and never written (its libraries keep
        # theirs), as every start of an editable checkout under PYTHONDONTWRITEBYTECODE
        for cache in PACKAGE.rglob("__pycache__"):
            shutil.rmtree(cache)
        rows.append(
            median_of(
                f"testrota missed --department D --json ({args.people:,} people, "
                "testrota without bytecode)",
                [*missed, "--json"],
                n,
                {**genv, "PYTHONDONTWRITEBYTECODE": "1"},
            )
        )
        compileall.compile_dir(PACKAGE, quiet=1)
        size = group.stat().st_size / 1e6
        shown = (
            f"; the group: {args.people:,} people, {size:.0f} MB of SQLite, "
            f"{len(json.loads(as_json.output)):,} missed rows in {DEPARTMENT}"
        )
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"median of {n} runs each{shown}; load average {load} on {os.cpu_count()} cores")
    print(table(rows, baseline=rows[1]))


if __name__ == "__main__":
    main()
