"""Where a command is told to write a file (``--errors``, ``--output``), a place it cannot
write is a one-line error, exit 2, found before anything is imported: nothing in the database,
no traceback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, func, select

from testrota.db.models import Person, RosterImport, TestResult
from testrota.errors import UserError
from testrota.roster.errors_xlsx import write_error_report
from tests.test_import_cli import BASE, person, write_roster

ENV = {"TESTROTA_NOW": "2022-05-10T15:00:00+08:00"}


def _count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in. Root ignores permission bits, so as root
    it is /sys, which refuses new files to everyone."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def _bad_targets(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, what the one-line error must say)"""
    folder = tmp_path / "reports"
    folder.mkdir()
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    unwritable = _unwritable_folder(tmp_path)
    return {
        "a directory": (
            folder,
            f"--errors {folder} is a directory; give a file name, e.g. {folder / 'errors.xlsx'}",
        ),
        "an unwritable folder": (unwritable / "errors.xlsx", f"cannot write in {unwritable}"),
        "under a file": (a_file / "errors.xlsx", f"{a_file} is a file, not a folder"),
        "not .xlsx": (tmp_path / "errors.csv", "give a name ending in .xlsx"),
    }


def _assert_refused(result: Any, says: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and says in line, line
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def _roster_with_errors(tmp_path: Path) -> Path:
    return write_roster(
        tmp_path / "roster.xlsx", [*BASE, person("0007", "孙丽", "运输部", "司机", "12345")]
    )


def test_import_refuses_an_errors_path_it_cannot_write_and_imports_nothing(
    cli: Any, tmp_path: Path, engine: Engine
) -> None:
    roster = _roster_with_errors(tmp_path)
    for name, (target, says) in _bad_targets(tmp_path).items():
        for extra in ([], ["--json"], ["--dry-run"]):
            result = cli("import", str(roster), "--errors", str(target), *extra)
            _assert_refused(result, says)
        assert not target.exists() or target.is_dir(), name
    assert _count(engine, Person) == 0 and _count(engine, RosterImport) == 0
    # The same import with a good path writes the people and the report.
    good = tmp_path / "out" / "errors.xlsx"
    result = cli("import", str(roster), "--errors", str(good), "--json")
    assert result.exit_code == 0, result.output
    assert _count(engine, Person) == 6 and good.exists()


def _results_sheet(tmp_path: Path) -> Path:
    path = tmp_path / "lab.csv"
    path.write_text(
        "工号,采样时间,检测结果\n0001,2022-05-10 09:00,阴性\n"
        "9999,2022-05-10 09:00,阴性\n0002,2022-05-10 09:00,不知道\n",
        encoding="utf-8",
    )
    return path


def test_results_import_refuses_an_errors_path_it_cannot_write_and_records_nothing(
    cli: Any, tmp_path: Path, engine: Engine
) -> None:
    assert cli("import", str(write_roster(tmp_path / "r.xlsx", BASE)), "--json").exit_code == 0
    sheet = _results_sheet(tmp_path)
    for target, says in _bad_targets(tmp_path).values():
        _assert_refused(
            cli("results", "import", str(sheet), "--errors", str(target), env=ENV), says
        )
    assert _count(engine, TestResult) == 0


def test_results_import_writes_the_rows_to_fix(cli: Any, tmp_path: Path, engine: Engine) -> None:
    assert cli("import", str(write_roster(tmp_path / "r.xlsx", BASE)), "--json").exit_code == 0
    report = tmp_path / "lab-errors.xlsx"
    result = cli(
        "results",
        "import",
        str(_results_sheet(tmp_path)),
        "--errors",
        str(report),
        "--json",
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    assert _count(engine, TestResult) == 1
    book = openpyxl.load_workbook(report)
    summary = [list(r) for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    # Excel's row numbers, the clerk's own headers, the value and the problem.
    assert [(r[1], r[2], r[3]) for r in summary] == [(3, "工号", "9999"), (4, "检测结果", "不知道")]
    assert summary[0][4].startswith("no person has employee number 9999")
    assert summary[1][4].startswith("not a result")
    rows = [list(r) for r in book.worksheets[1].iter_rows(values_only=True)]
    assert rows[0][:4] == ["Row", "工号", "采样时间", "检测结果"]
    assert [r[0] for r in rows[1:]] == [3, 4]


def test_missed_output_to_a_directory_is_a_one_line_error(cli: Any, tmp_path: Path) -> None:
    for fmt in ("xlsx", "csv", "json"):
        result = cli("missed", "--format", fmt, "--output", str(tmp_path), env=ENV)
        assert result.exit_code == 2, result.output
        (line,) = result.stderr.strip().splitlines()
        assert line == f"Error: --output {tmp_path} is a directory; give a file name"


@pytest.mark.parametrize(
    "command",
    [("missed",), ("report", "daily", "--date", "2022-05-10")],
    ids=["missed", "report daily"],
)
def test_an_exported_listing_refuses_output_for_a_table_and_a_directory(
    cli: Any, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Both listings that export a workbook check --output the same way, before any work."""
    table = cli(*command, "--output", str(tmp_path / "out.csv"), env=ENV)
    _assert_refused(table, "--output needs --format json, csv or xlsx")
    assert not (tmp_path / "out.csv").exists()
    folder = cli(*command, "--format", "csv", "--output", str(tmp_path), env=ENV)
    _assert_refused(folder, f"--output {tmp_path} is a directory")


def test_a_report_that_cannot_be_written_late_is_a_user_error(tmp_path: Path) -> None:
    from testrota.roster.reader import Workbook

    empty = Workbook(file_name="r.xlsx", sha256="0" * 64, sheets=[], skipped=[])
    with pytest.raises(UserError, match="cannot write the error report"):
        write_error_report(_unwritable_folder(tmp_path) / "errors.xlsx", [], empty)
