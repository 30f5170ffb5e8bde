"""benchmarks/generate_roster.py writes a valid, realistic roster that every reader opens."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from benchmarks.generate_roster import distinct_titles, generate_roster, main, people

from testrota.policy import ImportPolicy, Policy
from testrota.roster.columns import REQUIRED_FIELDS, load_roster_columns
from testrota.roster.reader import read_workbook
from testrota.roster.validate import validate_workbook

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


@pytest.fixture(scope="module")
def roster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_roster(3000, tmp_path_factory.mktemp("gen") / "roster.xlsx")


def test_it_reads_and_validates_cleanly(roster: Path) -> None:
    aliases = load_roster_columns(CONFIG_DIR)
    workbook = read_workbook(roster, aliases, REQUIRED_FIELDS, ImportPolicy())
    sheet = workbook.sheets[0]
    assert (sheet.name, sheet.header_row) == ("花名册", 2)
    assert sheet.row_numbers[0] == 3 and sheet.row_numbers[-1] == 3002
    assert list(sheet.columns) == [
        "employee_no",
        "name",
        "department",
        "grid_unit",
        "role",
        "phone",
        "person_type",
        "shift",
    ]
    result = validate_workbook(workbook, Policy())
    assert result.errors == []
    assert len(result.records) == 3000
    numbers = [r.employee_no for r in result.records]
    assert numbers[:2] == ["10000000", "000000001"]  # a number cell, then zero-padded text
    assert len(set(numbers)) == 3000
    kinds = Counter(r.person_type for r in result.records)
    assert kinds["employee"] > kinds["third_party"] > 0
    assert len({r.role for r in result.records}) > 800  # a long tail of titles
    assert len({r.department for r in result.records}) == 40
    assert len({r.grid_unit for r in result.records}) > 300


def test_phones_come_in_mixed_spellings(roster: Path) -> None:
    book = openpyxl.load_workbook(roster, read_only=True)
    ws = book.active
    assert ws is not None
    phones = [row[5] for row in ws.iter_rows(min_row=3, max_row=400, values_only=True)]
    shapes = {
        "number"
        if isinstance(p, int)
        else "+86-"
        if str(p).startswith("+86-")
        else "+86 "
        if str(p).startswith("+86 ")
        else "spaced"
        if " " in str(p)
        else "86"
        if len(str(p)) == 13
        else "plain"
        for p in phones
    }
    assert shapes == {"number", "+86-", "+86 ", "spaced", "86", "plain"}


def test_pandas_with_openpyxl_reads_it_too(roster: Path) -> None:
    frame = pd.read_excel(roster, engine="openpyxl", header=1, dtype=str)
    assert list(frame.columns) == [
        "工号",
        "姓名",
        "部门",
        "网格",
        "岗位",
        "手机号",
        "人员类别",
        "班次",
    ]
    assert len(frame) == 3000


def test_about_two_thousand_distinct_titles_with_the_high_risk_ones() -> None:
    titles = distinct_titles()
    assert len(titles) == len(set(titles)) == 2000
    assert {"食堂厨师", "保洁员", "门卫", "叉车司机", "天车工", "司磅员"} <= set(titles)


def test_the_same_seed_gives_the_same_people() -> None:
    assert list(people(50, seed=3)) == list(people(50, seed=3))
    assert list(people(50, seed=3)) != list(people(50, seed=4))


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deep" / "r.xlsx"
    assert main(["25", str(out)]) == 0
    assert "wrote 25 people" in capsys.readouterr().err
    assert openpyxl.load_workbook(out).active.max_row == 27  # type: ignore[union-attr]
    with pytest.raises(SystemExit):
        main(["0", str(out)])
