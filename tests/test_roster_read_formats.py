"""Numbers arrive as the clerk sees them: a cell formatted ``000000`` imports as ``003002``.

The files under tests/data/office were saved by LibreOffice Calc from one sheet
(tests/data/office/make_office_files.py); the others are written here by openpyxl, xlwt and
odfpy, each with the number format in the file the way that library stores it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwt
from sqlalchemy import Engine, select
from sqlmodel import Session

from testrota.db.models import Person, TestResult
from testrota.policy import ImportPolicy
from testrota.roster.columns import REQUIRED_FIELDS, load_roster_columns
from testrota.roster.reader import Sheet, read_workbook
from tests.compliance_fixtures import SH, add_person, add_site, import_results, local, policy
from tests.conftest import CONFIG_DIR
from tests.data.office.make_office_files import SHOWN

OFFICE = Path(__file__).resolve().parent / "data" / "office"
ALIASES = load_roster_columns(CONFIG_DIR)
OFFICE_FILES = ["roster.xlsx", "roster.xls", "roster.ods", "roster-gb18030.csv"]


def only_sheet(path: Path) -> Sheet:
    book = read_workbook(path, ALIASES, REQUIRED_FIELDS, ImportPolicy())
    assert len(book.sheets) == 1, book.skipped
    return book.sheets[0]


@pytest.mark.parametrize("name", OFFICE_FILES)
def test_files_saved_by_calc_import_the_numbers_calc_shows(name: str) -> None:
    sheet = only_sheet(OFFICE / name)
    assert sheet.data["employee_no"] == SHOWN
    assert sheet.data["host_employee_no"][-1] == "003002"  # the co-resident's host
    assert sheet.data["phone"][0] == "13812345678"  # General numbers are left as they were


def test_the_same_sheet_as_xlsx_and_as_csv_gives_the_same_people(cli: Any) -> None:
    first = cli("import", str(OFFICE / "roster.xlsx"), "--json")
    assert first.exit_code == 0, first.output
    again = cli("import", str(OFFICE / "roster-gb18030.csv"), "--json")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert (summary["added"], summary["updated"]) == (0, 0), summary
    assert summary["unchanged"] == len(SHOWN)
    people = json.loads(cli("people", "--all", "--format", "json").stdout)
    assert sorted(p["employee_no"] for p in people) == sorted(SHOWN)  # never 8002 and 008002


def test_openpyxl_number_formats(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["工号", "姓名", "手机号", "身份证号"])
    formats = [
        "000000",
        '"E"00000',
        "0000#",
        "00000;-00000",
        "[$-804]000000",
        "0",
        "0.00",
        "#,##0",
        "General",
        "@",
    ]
    for i, code in enumerate(formats, start=2):
        ws.append([3002, f"张{i}", 13812345678, 210502198001011234])
        ws.cell(row=i, column=1).number_format = code
        ws.cell(row=i, column=3).number_format = code
    path = tmp_path / "formats.xlsx"
    book.save(path)
    sheet = only_sheet(path)
    assert sheet.data["employee_no"] == [
        "003002",
        "E03002",
        "03002",
        "03002",
        "003002",
        "3002",
        "3002",
        "3002",
        "3002",
        "3002",  # no padding or text: the digits as before
    ]
    # A phone column formatted "0.00" or "#,##0" still reads as the phone number.
    assert set(sheet.data["phone"][5:]) == {"13812345678"}
    assert sheet.data["phone"][0] == "13812345678"  # longer than the format: every digit
    assert set(sheet.data["id_number"]) == {"210502198001011000"}


def test_xlwt_number_formats(tmp_path: Path) -> None:
    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("花名册")
    for c, text in enumerate(["工号", "姓名", "共同居住职工工号"]):
        ws.write(0, c, text)
    padded = xlwt.easyxf(num_format_str="000000")
    lettered = xlwt.easyxf(num_format_str='"E"00000')
    ws.write(1, 0, 3002, padded)  # stored as an RK number
    ws.write(1, 1, "张伟")
    ws.write(2, 0, 8002.0, padded)
    ws.write(2, 1, "王芳")
    ws.write(2, 2, 3002, padded)
    ws.write(3, 0, 117, lettered)
    ws.write(3, 1, "李强")
    ws.write(4, 0, 123456789012.0, padded)  # stored as a NUMBER record
    ws.write(4, 1, "赵敏")
    ws.write(5, 0, 10023)  # General
    ws.write(5, 1, "刘洋")
    path = tmp_path / "formats.xls"
    book.save(str(path))
    sheet = only_sheet(path)
    assert sheet.data["employee_no"] == ["003002", "008002", "E00117", "123456789012", "10023"]
    assert sheet.data["host_employee_no"][1] == "003002"


def _ods_with_styles(path: Path) -> Path:
    from odf.number import Number, NumberStyle, Text
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.style import Style
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    padded = NumberStyle(name="Npadded")
    padded.addElement(Number(decimalplaces="0", minintegerdigits="6"))
    lettered = NumberStyle(name="Nlettered")
    lettered.addElement(Text(text="E"))
    lettered.addElement(Number(decimalplaces="0", minintegerdigits="5"))
    doc.automaticstyles.addElement(padded)
    doc.automaticstyles.addElement(lettered)
    column_style = Style(name="ce_column", family="table-cell", datastylename="Npadded")
    cell_style = Style(name="ce_cell", family="table-cell", datastylename="Nlettered")
    doc.automaticstyles.addElement(column_style)
    doc.automaticstyles.addElement(cell_style)

    table = Table(name="花名册")
    # Calc puts a whole column's format on the column: cells without a style of their own.
    table.addElement(TableColumn(defaultcellstylename="ce_column"))
    table.addElement(TableColumn(numbercolumnsrepeated=2))

    def row(*cells: TableCell) -> TableRow:
        tr = TableRow()
        for c in cells:
            tr.addElement(c)
        return tr

    def text(value: str) -> TableCell:
        cell = TableCell(valuetype="string")
        cell.addElement(P(text=value))
        return cell

    def number(value: int, style: Style | None = None) -> TableCell:
        cell = (
            TableCell(valuetype="float", value=value, stylename=style)
            if style
            else (TableCell(valuetype="float", value=value))
        )
        cell.addElement(P(text=str(value)))  # odfpy writes what it is given, not what Calc shows
        return cell

    table.addElement(row(text("工号"), text("姓名")))
    table.addElement(row(number(3002), text("张伟")))
    table.addElement(row(number(117, cell_style), text("李强")))
    repeated = row(number(8002), text("王芳"))
    repeated.setAttribute("numberrowsrepeated", 2)  # two identical rows stored once
    table.addElement(repeated)
    doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


def test_odfpy_number_styles_on_cells_and_columns(tmp_path: Path) -> None:
    sheet = only_sheet(_ods_with_styles(tmp_path / "formats.ods"))
    assert sheet.data["employee_no"] == ["003002", "E00117", "008002", "008002"]


def test_text_cells_and_plain_numbers_are_unchanged(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["工号", "姓名"])
    ws.append(["000123", "张伟"])
    ws.append([10023, "王芳"])
    ws.append([7.5, "李强"])
    path = tmp_path / "plain.xlsx"
    book.save(path)
    assert only_sheet(path).data["employee_no"] == ["000123", "10023", "7.5"]


def test_results_match_the_employee_number_as_shown(engine: Engine, tmp_path: Path) -> None:
    sampled = local(SH, 2022, 5, 9, 8, 10)
    with Session(engine, expire_on_commit=False) as s:
        add_site(s, "S1", "一号采样点")
        shown = add_person(s, "003002", "张伟", phone="+8613800000001")
        digits = add_person(s, "3002", "张卫", phone="+8613800000002")  # a different person
        s.commit()
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["工号", "姓名", "采样时间", "检测结果", "采样点"])
    ws.append([3002, "张伟", datetime(2022, 5, 9, 8, 10), "阴性", "一号采样点"])
    ws.cell(row=2, column=1).number_format = "000000"
    path = tmp_path / "results.xlsx"
    book.save(path)
    out = import_results(engine, path, policy(), sampled + timedelta(hours=8))
    assert out.recorded == 1 and out.unmatched == [], out
    with Session(engine) as s:
        owners = {r.person_id for r in s.scalars(select(TestResult))}
        assert owners == {shown.id} and digits.id not in owners
        assert s.get(Person, shown.id) is not None


def test_cells_without_positions_are_placed_as_calamine_places_them(tmp_path: Path) -> None:
    from tests.damaged_files import _xlsx

    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    styles = (
        f'<styleSheet xmlns="{ns}"><numFmts count="1"><numFmt numFmtId="164" '
        'formatCode="000000"/></numFmts><cellXfs count="2"><xf numFmtId="0"/>'
        '<xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>'
    )
    # Some writers leave out r: a row is the next row, a cell the next column.
    rows = "".join(
        f'<row><c s="1"><v>{no}</v></c><c t="inlineStr"><is><t>{name}</t></is></c></row>'
        for no, name in ((3002, "张伟"), (8002, "王芳"))
    )
    sheet = (
        f'<worksheet xmlns="{ns}"><sheetData><row><c t="s"><v>0</v></c><c t="s"><v>1</v>'
        f"</c></row>{rows}</sheetData></worksheet>"
    )
    path = tmp_path / "positions.xlsx"
    path.write_bytes(_xlsx({"xl/worksheets/sheet1.xml": sheet, "xl/styles.xml": styles}))
    sheet_read = only_sheet(path)
    assert sheet_read.data["employee_no"] == ["003002", "008002"]
    assert sheet_read.data["name"] == ["张伟", "王芳"]
