"""Where the time of reading a roster goes, stage by stage, in one process.

    python benchmarks/bench_roster_read.py [N]      (default 100,000 people)

Generates a synthetic roster (benchmarks/generate_roster.py) in a temporary folder, then times
on the same file: the bare python-calamine read, :func:`read_workbook` (calamine plus header
finding and cell texts), :func:`validate_workbook`, and phone normalisation alone on the fast
path against phonenumbers for every number. Each figure is the best of three runs, as wall
and CPU time (the CPU time is steadier on a shared machine). The whole
import, as processes with peak memory, is measured by the import benchmark.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate_roster import generate_roster  # noqa: E402


def best_of(runs: int, work: Callable[[], Any]) -> tuple[tuple[float, float], Any]:
    """Best wall time and best CPU time of ``runs`` runs (CPU time is steadier on a busy box)."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = work()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return (wall, cpu), result


def main(n: int = 100_000) -> None:
    import phonenumbers
    from python_calamine import CalamineWorkbook

    from testrota.policy import load_policy
    from testrota.roster.columns import REQUIRED_FIELDS, load_roster_columns
    from testrota.roster.phones import normalize_phone
    from testrota.roster.reader import read_workbook
    from testrota.roster.validate import validate_workbook

    policy = load_policy(ROOT / "config")
    aliases = load_roster_columns(ROOT / "config")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"roster-{n}.xlsx"
        started = time.perf_counter()
        generate_roster(n, path)
        print(
            f"generated {n:,} people in {time.perf_counter() - started:.2f} s "
            f"({path.stat().st_size / 1e6:.1f} MB)"
        )

        def bare() -> Any:
            with CalamineWorkbook.from_path(path) as book:
                return book.get_sheet_by_index(0).to_python(skip_empty_area=False)

        def read() -> Any:
            return read_workbook(path, aliases, REQUIRED_FIELDS, policy.imports)

        t_bare, _ = best_of(3, bare)
        t_read, workbook = best_of(3, read)
        t_valid, result = best_of(3, lambda: validate_workbook(workbook, policy))
        phones = workbook.sheets[0].data["phone"]
        t_fast, _ = best_of(3, lambda: [normalize_phone(p) for p in phones])

        def slow() -> list[str | None]:
            out = []
            for raw in phones:
                number = phonenumbers.parse(raw, "CN")
                valid = phonenumbers.is_valid_number(number)
                out.append(
                    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                    if valid
                    else None
                )
            return out

        t_slow, _ = best_of(1, slow)
    rows = [
        ("python-calamine read alone", t_bare),
        ("read_workbook (calamine + header + cell texts)", t_read),
        ("validate_workbook", t_valid),
        (f"normalize_phone x {len(phones):,} (fast path)", t_fast),
        (f"phonenumbers x {len(phones):,}", t_slow),
    ]
    print(f"\n{'stage':<52}{'wall s':>9}{'cpu s':>9}")
    for label, (wall, cpu) in rows:
        print(f"{label:<52}{wall:>9.3f}{cpu:>9.3f}")
    print(f"\n{len(result.records):,} people, {len(result.errors)} row errors")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
