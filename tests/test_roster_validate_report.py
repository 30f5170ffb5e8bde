"""The .xlsx error report: readable, highlighted, and safe to open."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from testrota.policy import ImportPolicy, Policy
from testrota.roster.columns import REQUIRED_FIELDS, load_roster_columns
from testrota.roster.errors_xlsx import BAD_FILL, ERROR_HEADERS, _sheet_title, write_error_report
from testrota.roster.reader import Workbook, read_workbook
from testrota.roster.validate import RowError, validate_workbook
from tests.roster_files import TITLE, write_xlsx

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


def _fill(cell: Any) -> str | None:
    return cell.fill.fgColor.rgb if cell.fill is not None and cell.fill.fill_type else None


BAD = "00" + BAD_FILL.fgColor.rgb[-6:]


@pytest.fixture
def imported(tmp_path: Path) -> tuple[Workbook, list[RowError]]:
    header = ["序号", "工号", "姓名", "部门", "手机号", "人员类别"]
    rows: dict[str, list[list[Any]]] = {
        "一车间": [
            [TITLE],
            header,
            [1, 10001, "张伟", "炼钢厂", 13812345678, "职工"],
            [2, 10002, '=HYPERLINK("http://evil")', "炼钢厂", "138 1234 567", "外星人"],
            [3, "", "@SUM(A1)", "+炼钢厂", "-13812345678", "职工"],
        ],
        "二车间": [header, [1, 10001, "李强", "轧钢厂", "13812345679", "职工"]],
    }
    path = write_xlsx(
        tmp_path / "upload.xlsx", rows, text_cells={"一车间": ["C4", "C5", "D5", "E5"]}
    )
    aliases = load_roster_columns(CONFIG_DIR)
    workbook = read_workbook(path, aliases, REQUIRED_FIELDS, ImportPolicy())
    result = validate_workbook(workbook, Policy())
    return workbook, result.errors


def test_the_report_lists_every_error_with_a_frozen_header(
    tmp_path: Path, imported: tuple[Workbook, list[RowError]]
) -> None:
    workbook, errors = imported
    out = write_error_report(tmp_path / "errors.xlsx", errors, workbook)
    report = openpyxl.load_workbook(out)
    summary = report.worksheets[0]
    assert summary.freeze_panes == "A2"
    assert [c.value for c in summary[1]] == list(ERROR_HEADERS)
    assert summary[1][0].font.bold
    listed = [tuple(c.value for c in row) for row in summary.iter_rows(min_row=2)]
    assert listed == [(e.sheet, e.row, e.column, e.value or None, e.message) for e in errors]
    assert {(e.sheet, e.row) for e in errors} == {("一车间", 4), ("一车间", 5), ("二车间", 2)}
    assert all(_fill(row[3]) == BAD for row in summary.iter_rows(min_row=2))
    assert summary.column_dimensions["E"].width > summary.column_dimensions["B"].width
    assert summary.auto_filter.ref == f"A1:E{len(errors) + 1}"


def test_offending_cells_are_highlighted_in_copies_of_their_rows(
    tmp_path: Path, imported: tuple[Workbook, list[RowError]]
) -> None:
    workbook, errors = imported
    report = openpyxl.load_workbook(write_error_report(tmp_path / "e.xlsx", errors, workbook))
    assert report.sheetnames == ["Errors", "一车间", "二车间"]
    sheet = report["一车间"]
    header = [c.value for c in sheet[1]]
    assert header == ["Row", "工号", "姓名", "部门", "手机号", "人员类别", "Problems"]
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert set(rows) == {4, 5}
    bad_row = rows[4]
    highlighted = {header[i] for i, cell in enumerate(bad_row) if _fill(cell) == BAD}
    assert highlighted == {"Row", "人员类别"}  # skipped for its type before its phone counts
    assert bad_row[5].comment is not None and "unknown person type" in bad_row[5].comment.text
    missing = rows[5]
    assert {header[i] for i, c in enumerate(missing) if _fill(c) == BAD} == {"Row", "工号"}
    assert "missing employee number" in missing[6].value


def test_formula_like_text_is_written_as_text(
    tmp_path: Path, imported: tuple[Workbook, list[RowError]]
) -> None:
    workbook, errors = imported
    out = write_error_report(tmp_path / "e.xlsx", errors, workbook)
    sheet = openpyxl.load_workbook(out)["一车间"]
    cells = {c.value: c for row in sheet.iter_rows(min_row=2) for c in row if c.value}
    for text in ('=HYPERLINK("http://evil")', "@SUM(A1)", "+炼钢厂", "-13812345678"):
        assert cells[text].data_type == "s", text
    with zipfile.ZipFile(out) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name), name  # no formula anywhere


def test_writing_replaces_the_file_whole(
    tmp_path: Path, imported: tuple[Workbook, list[RowError]]
) -> None:
    workbook, errors = imported
    target = tmp_path / "out" / "errors.xlsx"
    write_error_report(target, errors, workbook)
    write_error_report(target, errors[:1], workbook)
    report = openpyxl.load_workbook(target)
    assert report.worksheets[0].max_row == 2
    assert sorted(p.name for p in target.parent.iterdir()) == ["errors.xlsx"]  # no temp left


def test_an_empty_error_list_still_writes_a_valid_report(
    tmp_path: Path, imported: tuple[Workbook, list[RowError]]
) -> None:
    workbook, _ = imported
    report = openpyxl.load_workbook(write_error_report(tmp_path / "none.xlsx", [], workbook))
    assert report.sheetnames == ["Errors"]
    assert [c.value for c in report.worksheets[0][1]] == list(ERROR_HEADERS)


def test_control_characters_do_not_break_the_report(tmp_path: Path) -> None:
    workbook = Workbook("x.xlsx", "0", [], [])
    errors = [RowError("S", 2, "姓名", "张\x01伟", "missing\x07 name")]
    report = openpyxl.load_workbook(write_error_report(tmp_path / "c.xlsx", errors, workbook))
    assert [c.value for c in report.worksheets[0][2]] == ["S", 2, "姓名", "张伟", "missing name"]


def test_sheet_titles_are_legal_and_unique() -> None:
    used = {"错误 Errors"}
    assert _sheet_title("二车间/夜班[1]", used) == "二车间_夜班_1_"
    assert _sheet_title("错误 errors", used) == "错误 errors (2)"
    long = "x" * 40
    assert _sheet_title(long, used) == "x" * 31
    assert _sheet_title(long, used) == "x" * 27 + " (2)"
    assert _sheet_title("''", used) == "Sheet"
