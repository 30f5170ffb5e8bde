"""Memory is bounded by policy: a sheet over import.max_rows or import.max_cells is refused
before it is read whole, with one line naming the sheet, its size and the setting."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from testrota.errors import UserError
from testrota.policy import ImportPolicy, load_policy
from testrota.roster.columns import REQUIRED_FIELDS, load_roster_columns
from testrota.roster.reader import Workbook, read_workbook
from testrota.roster.survey import less_or_equal
from tests.conftest import CONFIG_DIR
from tests.damaged_files import (
    _ods,
    _xlsx,
    ods_with_repeated_rows,
    people_rows,
    sheet_xml,
    xlsx_with_far_column,
    xlsx_with_million_row_dimension,
)

ALIASES = load_roster_columns(CONFIG_DIR)


def read(path: Path, limits: ImportPolicy | None = None) -> Workbook:
    return read_workbook(path, ALIASES, REQUIRED_FIELDS, limits or ImportPolicy())


def refusal(path: Path, limits: ImportPolicy | None = None) -> str:
    with pytest.raises(UserError) as caught:
        read(path, limits)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(path.name), message
    return message


def test_the_limits_are_policy_settings() -> None:
    policy = load_policy(CONFIG_DIR)
    assert (policy.imports.max_rows, policy.imports.max_cells) == (300_000, 10_000_000)


def test_an_xlsx_whose_sheet_reaches_row_1000001_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.xlsx"
    path.write_bytes(xlsx_with_million_row_dimension())
    assert path.stat().st_size < 10_000  # small on disk: the rows are sparse
    message = refusal(path)
    assert "sheet '花名册' has 1,000,001 rows" in message
    assert "over the 300,000 limit (import.max_rows" in message


def test_without_a_dimension_the_rows_are_found_in_the_sheet(tmp_path: Path) -> None:
    last = '<row r="1000001"><c r="B1000001"><v>1</v></c></row>'
    path = tmp_path / "nodim.xlsx"
    path.write_bytes(_xlsx({"xl/worksheets/sheet1.xml": sheet_xml(people_rows(2, 6) + last)}))
    assert "sheet '花名册' has 1,000,001 rows" in refusal(path)


def test_a_real_csv_of_300001_rows_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    lines = ["工号,姓名"] + [f"{100000 + i},张{i}" for i in range(300_000)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = refusal(path)
    assert "the file has 300,001 rows, over the 300,000 limit (import.max_rows" in message


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_row_limit_is_exact(tmp_path: Path, suffix: str) -> None:
    rows = [["工号", "姓名"]] + [[10000 + i, f"张{i}"] for i in range(99)]
    path = tmp_path / f"hundred{suffix}"
    if suffix == ".csv":
        path.write_text("\n".join(",".join(map(str, r)) for r in rows), encoding="utf-8")
    else:
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        for row in rows:
            sheet.append(row)
        book.save(path)
    assert len(read(path, ImportPolicy(max_rows=100)).sheets[0].row_numbers) == 99
    assert "has 100 rows, over the 99 limit" in refusal(path, ImportPolicy(max_rows=99))


def test_stray_cells_far_to_the_right_are_refused_by_the_cell_limit(tmp_path: Path) -> None:
    path = tmp_path / "stray.xlsx"
    path.write_bytes(xlsx_with_far_column(rows=700))
    message = refusal(path)
    assert "sheet '花名册' spans 701 rows x 16,384 columns (11,485,184 cells)" in message
    assert "over the 10,000,000 limit (import.max_cells" in message
    assert "delete stray cells" in message


def test_a_wide_sheet_within_the_limits_is_read(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["工号", "姓名", *[f"备用{i}" for i in range(38)]])  # 40 columns, to AN
    for i in range(1, 301):
        sheet.append([3000 + i, f"张{i}", *range(38)])
        sheet.cell(row=i + 1, column=40).number_format = "0000"
    path = tmp_path / "wide.xlsx"
    book.save(path)
    assert len(read(path).sheets[0].row_numbers) == 300
    assert "import.max_cells" in refusal(path, ImportPolicy(max_cells=301 * 40 - 1))


def test_repeated_rows_in_an_ods_count_as_rows(tmp_path: Path) -> None:
    path = tmp_path / "repeated.ods"
    path.write_bytes(ods_with_repeated_rows())
    assert "1,000,000 rows x 1,000 columns" in refusal(path)
    header = (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>工号</text:p>'
        '</table:table-cell><table:table-cell office:value-type="string"><text:p>姓名'
        "</text:p></table:table-cell></table:table-row>"
    )
    person = (
        '<table:table-row table:number-rows-repeated="150"><table:table-cell '
        'office:value-type="float" office:value="3002"><text:p>3002</text:p>'
        '</table:table-cell><table:table-cell office:value-type="string"><text:p>张伟'
        "</text:p></table:table-cell></table:table-row>"
    )
    path.write_bytes(_ods(f'<table:table table:name="花名册">{header}{person}</table:table>'))
    assert "has 151 rows, over the 100 limit" in refusal(path, ImportPolicy(max_rows=100))


def test_the_cli_refuses_a_million_row_preview_with_one_line(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "million.xlsx"
    path.write_bytes(xlsx_with_million_row_dimension())
    result = cli("import", str(path), "--dry-run", "--json")
    assert result.exit_code == 2
    assert "has 1,000,001 rows" in result.stderr and "import.max_rows" in result.stderr
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout or "")


@given(
    limit=st.integers(min_value=1, max_value=10**7),
    number=st.integers(min_value=0, max_value=10**8),
    zeros=st.integers(min_value=0, max_value=3),
)
def test_the_surveys_row_pattern_takes_exactly_the_rows_within_the_limit(
    limit: int, number: int, zeros: int
) -> None:
    pattern = re.compile(less_or_equal(limit, then='"'))
    for written in ("0" * zeros + str(number), str(limit), str(limit + 1)):
        expected = 1 <= int(written) <= limit
        assert (pattern.match(written + '"') is not None) is expected, (limit, written)
        # a number that goes on is not this one, whatever its first digits
        assert pattern.match(written + '1"') is None or 1 <= int(written + "1") <= limit
