"""Damaged and crafted workbooks are refused fast, with bounded memory, by every door.

Each attack is built byte by byte (tests/damaged_files.py). The command line and the web
upload run in processes whose address space is capped, so a reader that allocates without
limit fails the test instead of the machine; the fuzz corpus runs each file in its own capped
child (tests/read_in_child.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from testrota.policy import ImportPolicy
from testrota.roster.columns import REQUIRED_FIELDS, load_roster_columns
from testrota.roster.reader import read_workbook
from tests.conftest import CONFIG_DIR, ROOT
from tests.damaged_files import (
    CRAFTED_XLS,
    corpus,
    looping_difat_xls,
    xls_claiming_huge_dimensions,
    xls_with_far_cell,
    xlsx_with_far_cells,
    xlsx_with_huge_string_count,
    xlsx_with_lying_member_size,
)

ALIASES = load_roster_columns(CONFIG_DIR)
TESTROTA = str(Path(sys.executable).with_name("testrota"))
MEMORY_MB = 500
CPU_SECONDS = 5


def read_capped(
    files: dict[str, bytes], folder: Path, *, isolate: bool = True
) -> dict[str, dict[str, Any]]:
    """Read each file with the roster reader in a capped child (tests/read_in_child.py);
    ``isolate=False``: with the reader's own bound off, the survey alone."""
    paths = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths.append(str(folder / name))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.read_in_child",
            *([] if isolate else ["--in-process"]),
            str(MEMORY_MB),
            str(CPU_SECONDS),
            *paths,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = {Path(r["file"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert len(results) == len(files)
    for r in results.values():
        # Each one read or refused in one line, within the caps, whatever else the test wants.
        assert r["outcome"] in ("ok", "refused") and r["status"] == 0, r
        assert "\n" not in r["message"] and r["peak_mb"] < MEMORY_MB, r
    return results


def test_looping_chains_are_refused_as_damaged(tmp_path: Path) -> None:
    assert len(looping_difat_xls()) == 1536  # the report's 1.5 KB file
    results = read_capped({f"{name}.xls": build() for name, build in CRAFTED_XLS.items()}, tmp_path)
    for name, r in results.items():
        assert r["outcome"] == "refused", r
        assert r["message"].startswith(f"{name}: the workbook is damaged"), r


@pytest.mark.parametrize("isolate", [True, False], ids=["bounded", "in-process"])
def test_parts_that_ask_for_huge_allocations_are_refused(tmp_path: Path, isolate: bool) -> None:
    """Refused with what is wrong: by the survey before calamine reads in process; bounded,
    by the survey once the read has ended at its limits."""
    results = read_capped(
        {
            "string-count.xlsx": xlsx_with_huge_string_count(),
            "lying-size.xlsx": xlsx_with_lying_member_size(),
            "far-cells.xlsx": xlsx_with_far_cells(),
            "far-cell.xls": xls_with_far_cell(),
        },
        tmp_path,
        isolate=isolate,
    )
    assert "damaged" in results["string-count.xlsx"]["message"]
    assert "damaged" in results["lying-size.xlsx"]["message"]
    assert "has 1,048,576 rows" in results["far-cells.xlsx"]["message"]
    assert "import.max_rows" in results["far-cells.xlsx"]["message"]
    assert "65,536 rows x 256 columns" in results["far-cell.xls"]["message"]
    assert "import.max_cells" in results["far-cell.xls"]["message"]


def test_a_dimensions_record_cannot_make_the_parser_reserve_memory(tmp_path: Path) -> None:
    results = read_capped({"claims.xls": xls_claiming_huge_dimensions()}, tmp_path)
    assert results["claims.xls"]["outcome"] == "ok"  # read from its real cells
    path = tmp_path / "claims.xls"
    book = read_workbook(path, ALIASES, REQUIRED_FIELDS, ImportPolicy())
    assert book.sheets[0].data["employee_no"][:2] == ["003001", "003002"]


# Runs a command in a child whose address space and CPU time are capped, and reports the child's
# own exit status, peak memory and CPU time (a wrapper, so the test process's size is not counted).
_CAPPED = """
import os, resource, sys
pid = os.fork()
if pid == 0:
    memory, cpu = int(sys.argv[1]) << 20, int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    os.execvp(sys.argv[3], sys.argv[3:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\n__usage__ {os.waitstatus_to_exitcode(status)} {usage.ru_maxrss / 1024}\\n")
"""


def run_capped(argv: list[str], env: dict[str, str], cpu_seconds: int) -> tuple[int, str, float]:
    """(exit status, stderr, peak MB) of ``argv`` run under the memory cap."""
    proc = subprocess.run(
        [sys.executable, "-S", "-c", _CAPPED, str(MEMORY_MB), str(cpu_seconds), *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
        check=False,
    )
    err, _, usage = proc.stderr.rpartition("__usage__")
    status, peak = usage.split()
    return int(status), err, float(peak)


@pytest.mark.parametrize("name", ["looping-difat", "looping-stream", "looping-mini-stream"])
def test_the_cli_refuses_a_crafted_xls_with_one_line_and_exit_2(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.xls"
    path.write_bytes(CRAFTED_XLS[name]())
    env = {
        "TESTROTA_CONFIG_DIR": str(CONFIG_DIR),
        "TESTROTA_DATABASE_URL": f"sqlite:///{tmp_path / 'never-opened.db'}",
    }
    # The interpreter's start-up is in the CPU time: the refusal itself takes milliseconds.
    status, err, peak_mb = run_capped([TESTROTA, "import", str(path), "--dry-run"], env, 20)
    assert status == 2, err[-2000:]
    lines = [line for line in err.splitlines() if "damaged" in line]
    assert len(lines) == 1 and "Traceback" not in err, err[-2000:]
    assert peak_mb < MEMORY_MB


def test_the_web_upload_of_the_crafted_xls_is_a_400(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "花名册.xls"
    path.write_bytes(looping_difat_xls())
    proc = subprocess.run(
        [sys.executable, "-m", "tests.upload_in_child", database_url, str(MEMORY_MB), str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
        env={**os.environ, "MALLOC_ARENA_MAX": "2"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    assert answer["status"] == 400
    assert "damaged" in answer["alert"] and "花名册.xls" in answer["alert"]


@pytest.mark.slow
@pytest.mark.timeout(1200)  # its child process may take up to 900 s
def test_fuzzed_files_are_read_or_refused_in_one_line_within_memory_and_time(
    tmp_path: Path,
) -> None:
    files = {name: data for _, name, data in corpus()}
    kinds = {name: kind for kind, name, _ in corpus()}
    results = read_capped(files, tmp_path)  # each read or refused, under the caps
    for name, r in results.items():
        assert r["cpu_s"] < CPU_SECONDS, r
        if kinds[name] in ("truncated", "looping"):
            assert r["outcome"] == "refused" and "damaged" in r["message"], r
