"""The shipped sample rosters: up to date with their generator, realistic, read as documented."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import openpyxl
import pytest

from testrota.policy import Policy, load_policy
from testrota.roster.columns import REQUIRED_FIELDS, load_roster_columns
from testrota.roster.reader import read_workbook
from testrota.roster.validate import ValidationResult, validate_workbook

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_rosters"
FILES = [
    "steelmaking_plant_zh_hans.xlsx",
    "cold_rolling_mill_zh_hant.xlsx",
    "logistics_centre_en.xlsx",
]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _validated(name: str) -> tuple[Any, ValidationResult]:
    policy = load_policy(ROOT / "config")
    aliases = load_roster_columns(ROOT / "config")
    workbook = read_workbook(SAMPLES / name, aliases, REQUIRED_FIELDS, policy.imports)
    return workbook, validate_workbook(workbook, policy)


def test_the_committed_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    written = _load_generator().make_samples(tmp_path)
    assert sorted(p.name for p in written) == sorted(FILES)
    for path in written:
        committed = SAMPLES / path.name
        assert committed.read_bytes() == path.read_bytes(), (
            f"{path.name} is stale: run python sample_rosters/make_samples.py"
        )


@pytest.mark.parametrize("name", FILES)
def test_every_sample_reads_with_a_realistic_mix(name: str) -> None:
    _, result = _validated(name)
    assert 60 <= len(result.records) <= 300
    kinds = Counter(r.person_type for r in result.records)
    assert kinds["employee"] > kinds["third_party"] > 0
    assert kinds["co_resident"] > 0
    assert all(r.phone_valid for r in result.records if r.phone_raw != "138 1234 567")
    assert len({r.department for r in result.records}) >= 4
    assert len({r.grid_unit for r in result.records}) >= 3
    assert {r.shift for r in result.records} == {"day", "night", "rotating"}
    assert {r.booster for r in result.records} == {True, False, None}


def test_the_simplified_roster_and_its_deliberate_errors() -> None:
    workbook, result = _validated("steelmaking_plant_zh_hans.xlsx")
    assert [s.name for s in workbook.sheets] == [
        "炼钢车间",
        "连铸车间",
        "运输部",
        "后勤服务中心",
        "外包及第三方",
        "共同居住人员",
    ]
    assert {s.name for s in workbook.skipped} == {"填表说明", "汇总"}
    assert all(s.header_row == 3 and s.row_numbers[0] == 4 for s in workbook.sheets)
    assert (result.rows, len(result.records), result.skipped) == (201, 196, 5)
    assert [(e.sheet, e.row, e.column, e.value) for e in result.errors] == [
        ("炼钢车间", 11, "手机号", "138 1234 567"),
        ("连铸车间", 16, "姓名", ""),
        ("运输部", 9, "工号", ""),
        ("后勤服务中心", 13, "工号", "10004"),
        ("外包及第三方", 8, "人员类别", "访客"),
        ("共同居住人员", 10, "共同居住职工工号", "109999"),
    ]
    by_no = {r.employee_no: r for r in result.records}
    assert "10001" in by_no and "010401" in by_no  # numbers and zero-padded text
    roles = {r.role for r in result.records}
    assert {"天车工", "司磅员", "炼钢工"} <= roles  # ordinary steelworks jobs
    assert {"保洁员", "门卫", "食堂厨师", "通勤车司机"} <= roles  # the seed's high-risk work
    continuous = [r for r in result.records if r.sheet == "连铸车间"]
    assert {r.department for r in continuous} == {"连铸车间"}  # merged down the sheet
    assert all(r.id_number for r in result.records if r.person_type == "employee")


def test_the_simplified_file_is_laid_out_as_hr_sends_it() -> None:
    book = openpyxl.load_workbook(SAMPLES / "steelmaking_plant_zh_hans.xlsx")
    assert book.sheetnames[0] == "填表说明"
    ws = book["炼钢车间"]
    assert "A1:N1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A1"].value == "本钢板材炼钢厂职工花名册（2022年5月）"
    assert ws["A3"].value == "序号"
    column_a = [ws.cell(row=r, column=1).value for r in range(1, ws.max_row + 1)]
    assert "合计" in column_a and "制表人：王丽" in column_a
    employee_numbers = [ws.cell(row=r, column=2).value for r in range(4, 10)]
    assert all(isinstance(v, int) for v in employee_numbers)  # numbers stored as numbers
    transport = book["运输部"]
    assert transport["B4"].value == "010401" and transport["B4"].data_type == "s"
    phones = [ws.cell(row=r, column=8).value for r in range(4, 52)]
    assert any(isinstance(p, int) for p in phones)
    spellings = {type(p).__name__ if isinstance(p, int) else p[:3] for p in phones if p}
    assert len(spellings) >= 5


def test_the_traditional_and_english_rosters() -> None:
    workbook, result = _validated("cold_rolling_mill_zh_hant.xlsx")
    assert result.errors == []
    assert {s.name for s in workbook.skipped} == {"說明"}
    assert "崗位" in workbook.sheets[0].columns.values()
    assert all(r.employee_no.startswith("0") for r in result.records)  # zeros kept
    assert {"冷軋操作工", "天車工", "司磅員"} & {r.role for r in result.records}
    assert any(r.phone and r.phone.startswith("+852") for r in result.records)

    workbook, result = _validated("logistics_centre_en.xlsx")
    assert result.errors == []
    assert {s.name for s in workbook.skipped} == {"Read me"}
    assert Counter(r.language for r in result.records).keys() == {"en", "zh"}
    assert {"Cleaner", "Gate guard"} <= {r.role for r in result.records}


def test_samples_are_the_same_for_the_same_seed_only(tmp_path: Path) -> None:
    generator = _load_generator()
    other = generator.make_samples(tmp_path / "seed7", seed=7)
    assert other[0].read_bytes() != (SAMPLES / other[0].name).read_bytes()
    policy = Policy()
    aliases = load_roster_columns(ROOT / "config")
    workbook = read_workbook(other[2], aliases, REQUIRED_FIELDS, policy.imports)
    assert validate_workbook(workbook, policy).errors == []
