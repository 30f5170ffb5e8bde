"""Reading real-looking HR files: formats, title rows, footers, several sheets, cell texts."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from testrota.policy import ImportPolicy
from testrota.roster.columns import REQUIRED_FIELDS, HeaderMatcher, load_roster_columns
from testrota.roster.reader import (
    Sheet,
    Workbook,
    _CellTexts,
    cell_text,
    parse_sheet,
    read_workbook,
)
from testrota.roster.spreadsheet import RawSheet
from tests.roster_files import (
    HEADER,
    TITLE,
    roster_rows,
    write_csv,
    write_ods,
    write_xls,
    write_xlsx,
)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
ALIASES = load_roster_columns(CONFIG_DIR)


def read(path: Path, **kwargs: Any) -> Workbook:
    return read_workbook(path, ALIASES, REQUIRED_FIELDS, ImportPolicy(), **kwargs)


def only_sheet(path: Path, **kwargs: Any) -> Sheet:
    book = read(path, **kwargs)
    assert len(book.sheets) == 1, book.skipped
    return book.sheets[0]


Writer = Callable[[Path, dict[str, list[list[Any]]]], Path]
WORKBOOK_WRITERS: dict[str, tuple[str, Writer]] = {
    "xlsx": (".xlsx", lambda p, s: write_xlsx(p, s)),
    "xls": (".xls", write_xls),
    "ods": (".ods", write_ods),
}


def messy_rows() -> list[list[Any]]:
    """Title, a blank line, the header, people with gaps, then the usual footer."""
    return [
        [TITLE],
        ["填报单位：炼钢厂", None, None, None, "日期：2022年5月9日"],
        HEADER,
        [1, 10023, "张伟", "炼钢厂", "甲班", "炼钢工", 13812345678, "职工", ""],
        [2, "00123", "王芳", "后勤中心", "食堂网格", "食堂厨师", "138 1234 5601", "职工", ""],
        [None] * 9,
        [3, 10025, "李强", "运输部", "汽运网格", "叉车司机", "+86-138-1234-5603", "第三方", ""],
        [4],  # a template's pre-numbered 序号 with nobody in it
        ["合计", "3人"],
        ["制表人：王丽", None, None, "审核人：张国华"],
    ]


@pytest.mark.parametrize("fmt", sorted(WORKBOOK_WRITERS))
def test_every_workbook_format_gives_the_cells_a_person_sees(tmp_path: Path, fmt: str) -> None:
    suffix, writer = WORKBOOK_WRITERS[fmt]
    path = writer(tmp_path / f"roster{suffix}", {"花名册": messy_rows()})
    book = read(path)
    assert book.format == fmt
    sheet = book.sheets[0]
    assert sheet.name == "花名册"
    assert sheet.header_row == 3
    assert sheet.row_numbers == [4, 5, 7]  # the Excel rows, blank row 6 and footers dropped
    assert sheet.data["employee_no"] == ["10023", "00123", "10025"]  # never 10023.0
    assert sheet.data["phone"] == ["13812345678", "138 1234 5601", "+86-138-1234-5603"]
    assert sheet.data["name"] == ["张伟", "王芳", "李强"]
    assert sheet.data["person_type"] == ["职工", "职工", "第三方"]
    assert "seq" not in sheet.data and "seq" not in sheet.columns
    assert sheet.columns["host_employee_no"] == "共同居住职工工号"
    assert sheet.dropped_rows == 4


@pytest.mark.parametrize("fmt", sorted(WORKBOOK_WRITERS))
def test_numbers_and_dates_come_out_as_text(tmp_path: Path, fmt: str) -> None:
    suffix, writer = WORKBOOK_WRITERS[fmt]
    rows: list[list[Any]] = [
        ["工号", "姓名", "手机号", "身份证号", "疫苗接种", "班次"],
        [10023, "张伟", 13812345678, 210502198001011234, "已接种", 1.5],
        [7, "王芳", 8613912345678, "21050219800101123X", "加强针", 0.1 + 0.2],
    ]
    if fmt != "ods":  # odfpy writes dates as text; the other two store real dates
        rows[1][4] = date(2022, 5, 9)
    sheet = only_sheet(writer(tmp_path / f"n{suffix}", {"S": rows}))
    assert sheet.data["employee_no"] == ["10023", "7"]
    assert sheet.data["phone"] == ["13812345678", "8613912345678"]
    # Excel keeps 15 significant digits of a number: that is what HR sees in the cell.
    assert sheet.data["id_number"] == ["210502198001011000", "21050219800101123X"]
    assert sheet.data["shift"] == ["1.5", "0.3"]
    if fmt != "ods":
        assert sheet.data["vaccination"][0] == "2022-05-09"


def test_xlsx_text_cells_keep_leading_zeros_and_datetimes_are_iso(tmp_path: Path) -> None:
    rows = [
        ["工号", "姓名", "疫苗接种", "班次"],
        ["000123", "张伟", datetime(2022, 5, 9, 8, 30), True],
        ["0", "王芳", datetime(2022, 5, 9), False],
    ]
    sheet = only_sheet(write_xlsx(tmp_path / "z.xlsx", {"S": rows}))
    assert sheet.data["employee_no"] == ["000123", "0"]
    assert sheet.data["vaccination"] == ["2022-05-09 08:30:00", "2022-05-09"]
    assert sheet.data["shift"] == ["TRUE", "FALSE"]


def test_cell_text_rules() -> None:
    assert cell_text(10023.0) == "10023"
    assert cell_text(13812345678.0) == "13812345678"
    assert cell_text(-0.0) == "0"
    assert cell_text(float("nan")) == ""
    assert cell_text(1e20) == "100000000000000000000"
    assert cell_text(2.5e-7) == "2.5e-07"
    assert cell_text(None) == ""
    assert cell_text("\u200b 138 \xa0") == "138"
    assert cell_text("\u3000张三\u3000") == "张三"


def test_table_may_start_anywhere_on_the_sheet(tmp_path: Path) -> None:
    rows: list[list[Any]] = [[], [], [None, None, "工号", "姓名"], [None, None, 1, "张伟"]]
    sheet = only_sheet(write_xlsx(tmp_path / "c.xlsx", {"S": rows}))
    assert (sheet.header_row, sheet.row_numbers) == (3, [4])
    assert sheet.data == {"employee_no": ["1"], "name": ["张伟"]}


def test_headers_in_traditional_english_and_full_width(tmp_path: Path) -> None:
    books = {
        "t.xlsx": ["工號", "姓名", "部門", "崗位", "手機號碼", "人員類別", "網格"],
        "e.xlsx": [
            "Employee ID",
            "NAME",
            "Department",
            "Job title",
            "Mobile",
            "Person type",
            "Grid unit",
        ],
        "f.xlsx": [
            "ＥＭＰＬＯＹＥＥ　ＩＤ",
            "姓 名：",
            "部门（科室）",
            "Position",
            "手机号（必填）",
            "人员类别*",
            "网格单元",
        ],
    }
    for name, header in books.items():
        row = ["1", "张伟", "炼钢厂", "炼钢工", "13812345678", "职工", "A1"]
        sheet = only_sheet(write_xlsx(tmp_path / name, {"S": [header, row]}))
        assert list(sheet.columns) == [
            "employee_no",
            "name",
            "department",
            "role",
            "phone",
            "person_type",
            "grid_unit",
        ], name
        assert sheet.columns["employee_no"] == header[0]  # the header as written in the file


def test_every_recognised_sheet_is_read_and_others_are_skipped(tmp_path: Path) -> None:
    sheets = {
        "填表说明": [["填表说明：每个部门一个工作表"], ["工号、姓名为必填项"]],
        "炼钢车间": [[TITLE], HEADER, *roster_rows(3, 10001)],
        "空表": [],
        "轧钢车间": [[TITLE], HEADER, *roster_rows(2, 20001)],
        "汇总": [["部门", "人数"], ["炼钢车间", 3]],
        "旧名单": [HEADER, *roster_rows(1, 30001)],
    }
    path = write_xlsx(tmp_path / "multi.xlsx", sheets, hidden=["旧名单"])
    book = read(path)
    assert [s.name for s in book.sheets] == ["炼钢车间", "轧钢车间"]
    assert [s.data["employee_no"] for s in book.sheets] == [
        ["10001", "10002", "10003"],
        ["20001", "20002"],
    ]
    skipped = {s.name: s for s in book.skipped}
    assert set(skipped) == {"填表说明", "空表", "汇总", "旧名单"}
    assert skipped["空表"].reason == "empty sheet"
    assert "hidden" in skipped["旧名单"].reason
    # the columns named as a clerk heads them, not by our field codes
    assert "no Employee ID or Name column" in skipped["汇总"].reason
    assert skipped["汇总"].headers_seen == ["部门", "人数"]
    assert skipped["填表说明"].headers_seen == ["填表说明：每个部门一个工作表"]


def test_one_sheet_by_name_even_hidden_or_spelled_differently(tmp_path: Path) -> None:
    sheets = {
        "炼钢车间": [HEADER, *roster_rows(3, 10001)],
        "軋鋼車間": [HEADER, *roster_rows(2, 20001)],
        "旧名单": [HEADER, *roster_rows(1, 30001)],
    }
    path = write_xlsx(tmp_path / "multi.xlsx", sheets, hidden=["旧名单"])
    assert [s.name for s in read(path, sheet="炼钢车间").sheets] == ["炼钢车间"]
    assert [s.name for s in read(path, sheet="旧名单").sheets] == ["旧名单"]
    # Typed by hand in Simplified, with a stray space: still the one sheet it can mean.
    assert [s.name for s in read(path, sheet="轧钢车间 ").sheets] == ["軋鋼車間"]


def test_footer_and_note_rows_never_become_people(tmp_path: Path) -> None:
    footers: list[list[Any]] = [
        ["合  计", "3人"],
        ["总计", None, "3"],
        ["小计：", 3],
        ["合計", 3],
        ["制表人：王丽", None, None, "审核人：张国华"],
        ["製表人：陳美玲"],
        [None, "填表人：李四"],
        [None, "审核人：", "张国华"],
        ["备注：以上人员均已登记"],
        ["注：本表一式两份"],
        ["说明：工号必填"],
        ["以下空白"],
        ["日期：2022-05-09"],
        ["部门负责人：赵六"],
        ["Total", 3],
        ["Grand total: 3"],
        ["Prepared by: Li Na", None, "Approved by: Wang"],
        ["Checked by", "Wang"],
        ["Remarks: none"],
        ["Note: all registered"],
    ]
    rows = [HEADER, *roster_rows(3), *footers]
    sheet = only_sheet(write_xlsx(tmp_path / "f.xlsx", {"S": rows}))
    assert sheet.data["employee_no"] == ["10001", "10002", "10003"]
    assert sheet.dropped_rows == len(footers)


def test_a_person_whose_text_only_looks_like_a_footer_is_kept(tmp_path: Path) -> None:
    rows = [
        ["部门", "工号", "姓名"],
        ["审核部", "1", "张伟"],  # 审核 starts the first cell, but the row is a whole person
        ["Total Quality Office", "2", "Sumner Brown"],
        ["", "合计", ""],  # a footer in the employee number column
    ]
    sheet = only_sheet(write_xlsx(tmp_path / "k.xlsx", {"S": rows}))
    assert sheet.data["name"] == ["张伟", "Sumner Brown"]
    assert sheet.data["department"] == ["审核部", "Total Quality Office"]


def test_rows_missing_required_cells_are_kept_for_the_validator(tmp_path: Path) -> None:
    rows = [HEADER, [1, "", "张伟", "炼钢厂"], [2, 10002, "", "炼钢厂"], [3, "", "", "炼钢厂"]]
    sheet = only_sheet(write_xlsx(tmp_path / "m.xlsx", {"S": rows}))
    assert sheet.row_numbers == [2, 3, 4]
    assert sheet.data["employee_no"] == ["", "10002", ""]


def test_repeated_header_rows_are_dropped(tmp_path: Path) -> None:
    rows = [HEADER, *roster_rows(2), HEADER, *roster_rows(1, 20001)]
    sheet = only_sheet(write_xlsx(tmp_path / "r.xlsx", {"S": rows}))
    assert sheet.data["employee_no"] == ["10001", "10002", "20001"]
    assert sheet.row_numbers == [2, 3, 5]


def test_merged_department_cells_belong_to_every_row_they_cover(tmp_path: Path) -> None:
    rows = [
        ["工号", "姓名", "部门"],
        [1, "张伟", "炼钢厂"],
        [2, "王芳", None],
        [3, "李强", None],
        [4, "赵敏", "运输部"],
    ]
    path = write_xlsx(tmp_path / "merged.xlsx", {"S": rows}, merges={"S": ["C2:C4"]})
    sheet = only_sheet(path)
    assert sheet.data["department"] == ["炼钢厂", "炼钢厂", "炼钢厂", "运输部"]


def test_a_second_header_row_under_merged_group_headers(tmp_path: Path) -> None:
    rows = [
        ["工号", "姓名", "联系方式", None, "人员类别"],
        [None, None, "手机", "电话", None],
        [1, "张伟", "13812345678", "024-45678901", "职工"],
    ]
    path = write_xlsx(
        tmp_path / "two.xlsx", {"S": rows}, merges={"S": ["A1:A2", "B1:B2", "C1:D1", "E1:E2"]}
    )
    sheet = only_sheet(path)
    assert sheet.header_row == 1
    assert sheet.row_numbers == [3]
    assert sheet.columns["phone"] == "手机"
    assert sheet.data["phone"] == ["13812345678"]
    assert sheet.data["person_type"] == ["职工"]


def test_two_columns_for_one_field_keep_the_better_alias(tmp_path: Path) -> None:
    rows = [["工号", "姓名", "电话", "手机号"], [1, "张伟", "024-45678901", "13812345678"]]
    sheet = only_sheet(write_xlsx(tmp_path / "d.xlsx", {"S": rows}))
    assert sheet.columns["phone"] == "手机号"
    assert sheet.data["phone"] == ["13812345678"]
    assert sheet.unmatched_headers == ["电话"]


def test_unknown_columns_are_listed_not_read(tmp_path: Path) -> None:
    rows = [["工号", "姓名", "性别", "备注"], [1, "张伟", "男", "新入职"]]
    sheet = only_sheet(write_xlsx(tmp_path / "u.xlsx", {"S": rows}))
    assert set(sheet.data) == {"employee_no", "name"}
    assert sheet.unmatched_headers == ["性别", "备注"]


CSV_ROWS: list[list[Any]] = [
    ["XX厂职工花名册（2022年5月）", "", "", "", ""],
    ["序号", "工号", "姓名", "部门", "手机号"],
    ["1", "00123", "张伟", "炼钢厂", "13812345678"],
    ["2", "10024", "王芳", "后勤中心，食堂", "138 1234 5601"],
    ["合计", "2人", "", "", ""],
]


@pytest.mark.parametrize(
    ("encoding", "bom", "shown"),
    [
        ("utf-8", False, "utf-8"),
        ("utf-8", True, "utf-8-sig"),
        ("gb18030", False, "gb18030"),
        ("gbk", False, "gb18030"),  # read with the superset: Excel in China writes GBK
        ("utf-16", False, "utf-16"),
    ],
)
def test_csv_encodings_are_detected(tmp_path: Path, encoding: str, bom: bool, shown: str) -> None:
    path = write_csv(tmp_path / "roster.csv", CSV_ROWS, encoding, bom=bom)
    book = read(path)
    assert (book.format, book.encoding) == ("csv", shown)
    sheet = book.sheets[0]
    assert sheet.name == "roster.csv"
    assert sheet.header_row == 2
    assert sheet.row_numbers == [3, 4]
    assert sheet.data["employee_no"] == ["00123", "10024"]
    assert sheet.data["name"] == ["张伟", "王芳"]
    assert sheet.data["department"] == ["炼钢厂", "后勤中心，食堂"]


def test_big5_csv_from_a_traditional_chinese_office(tmp_path: Path) -> None:
    rows = [["工號", "姓名", "部門", "崗位"]] + [
        [f"{20001 + i:06d}", "陳大文", "冷軋廠", "天車工"] for i in range(20)
    ]
    book = read(write_csv(tmp_path / "big5.csv", rows, "big5"))
    assert book.encoding == "cp950"
    assert book.sheets[0].data["name"][0] == "陳大文"
    assert book.sheets[0].data["department"][0] == "冷軋廠"


def test_csv_delimiters_and_excel_text_guard(tmp_path: Path) -> None:
    rows = [["工号", "姓名", "部门"], ['="00123"', "张伟", "炼钢厂"], ["2", "王芳", "运输部"]]
    for delimiter, suffix in ((";", ".csv"), ("\t", ".txt"), ("|", ".csv")):
        path = write_csv(tmp_path / f"d{suffix}", rows, delimiter=delimiter)
        sheet = only_sheet(path)
        assert sheet.data["employee_no"] == ["00123", "2"], delimiter
        assert sheet.data["department"] == ["炼钢厂", "运输部"]


def test_the_content_decides_the_format_not_the_name(tmp_path: Path) -> None:
    real = write_xlsx(tmp_path / "real.xlsx", {"S": [HEADER, *roster_rows(2)]})
    renamed = tmp_path / "roster.csv"
    renamed.write_bytes(real.read_bytes())
    book = read(renamed)
    assert book.format == "xlsx"
    assert book.sheets[0].data["employee_no"] == ["10001", "10002"]
    xls = write_xls(tmp_path / "legacy.xls", {"S": [HEADER, *roster_rows(1)]})
    named_xlsx = tmp_path / "legacy.xlsx"
    named_xlsx.write_bytes(xls.read_bytes())
    assert read(named_xlsx).format == "xls"


def test_workbook_identity(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "id.xlsx", {"S": [HEADER, *roster_rows(1)]})
    book = read(path)
    assert book.file_name == "id.xlsx"
    assert book.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_reader_serves_other_imports_with_their_own_columns(tmp_path: Path) -> None:
    aliases = {"employee_no": ["工号"], "sampled_at": ["采样时间"], "result": ["检测结果"]}
    rows = [
        ["核酸检测结果登记表"],
        ["工号", "采样时间", "检测结果"],
        [10001, datetime(2022, 5, 9, 8, 30), "阴性"],
    ]
    book = read_workbook(
        write_xlsx(tmp_path / "results.xlsx", {"S": rows}),
        aliases,
        ("sampled_at", "result"),
        ImportPolicy(),
    )
    sheet = book.sheets[0]
    assert sheet.data == {
        "employee_no": ["10001"],
        "sampled_at": ["2022-05-09 08:30:00"],
        "result": ["阴性"],
    }
    assert sheet.row_numbers == [3]


def test_a_bilingual_header_and_a_notes_row_are_not_people(tmp_path: Path) -> None:
    rows = [
        ["工号", "姓名", "手机号"],
        ["Employee ID", "Name", "Mobile"],
        ["（必填）", "（必填）", "选填"],
        [1, "张伟", "13812345678"],
    ]
    sheet = only_sheet(write_xlsx(tmp_path / "bi.xlsx", {"S": rows}))
    assert sheet.header_row == 1
    assert sheet.row_numbers == [4]
    assert sheet.columns["employee_no"] == "工号"
    assert sheet.data["employee_no"] == ["1"]


def test_excel_sep_hint_line(tmp_path: Path) -> None:
    path = tmp_path / "hint.csv"
    path.write_text("sep=;\r\n工号;姓名;部门\r\n00123;张伟;炼钢厂,一车间\r\n", encoding="utf-8")
    sheet = only_sheet(path)
    assert sheet.header_row == 1 and sheet.row_numbers == [2]  # Excel hides the hint line
    assert sheet.data["department"] == ["炼钢厂,一车间"]


def test_a_column_that_repeats_its_values_keeps_each_once_and_reads_the_same() -> None:
    from testrota.roster.reader import SHARE_SAMPLE, _column_text

    n = SHARE_SAMPLE * 2
    # each cell its own string object, as calamine hands them over
    body = [
        ["".join(["炼钢", "厂"]) if i % 2 else "".join(["冷轧", "厂"]), f"E{i:06d}"]
        for i in range(n)
    ]
    departments, numbers = _column_text(body, 0), _column_text(body, 1)
    assert departments == [row[0] for row in body]
    assert len({id(text) for text in departments}) == 2
    assert numbers == [f"E{i:06d}" for i in range(n)]
    assert len({id(text) for text in numbers}) == n


SEQ_CELLS: list[Any] = [
    *(1.0, 2.0, -1.0, 0.0, -0.0, 0.5, -0.5, 1e15, 1e20, -1e-300, 5e-324),
    *(float("nan"), float("inf"), float("-inf"), 7, -7, 0, True, False, None),
    *("", " 12", "\u30003", "12a", "-3", "合计", "Total", "序号", "Ａ", "\xa0"),
    *(datetime(2022, 5, 9, 7, 30), date(2022, 5, 9), time(7, 30), timedelta(days=-1)),
]


def test_a_seq_column_is_judged_as_its_texts_would_be() -> None:
    """序号 is never returned, so its cells are not all spelled; the rows it lets through are
    those its spelled texts would: every kind of cell calamine gives, as the lead column
    beside rows that are whole, empty, footers or a repeated header."""
    rng = random.Random(7)
    matcher = HeaderMatcher(ALIASES)
    others = [
        ["10023", "张伟", "炼钢厂"],
        ["", "", ""],
        ["合计", "", ""],
        ["工号", "姓名", "部门"],
        ["", "王芳", ""],
    ]
    rows: list[list[Any]] = [["序号", "工号", "姓名", "部门"]]
    for _ in range(400):
        rows.append([rng.choice(SEQ_CELLS), *rng.choice(others)])
    spelled = [[cell_text(r[0]), *r[1:]] for r in rows]
    lazy = parse_sheet(RawSheet("S", [list(r) for r in rows], []), matcher, REQUIRED_FIELDS)
    eager = parse_sheet(RawSheet("S", spelled, []), matcher, REQUIRED_FIELDS)
    assert isinstance(lazy, Sheet) and isinstance(eager, Sheet)
    assert lazy.row_numbers == eager.row_numbers
    assert lazy.data == eager.data
    assert lazy.dropped_rows == eager.dropped_rows
    assert 0 < len(lazy.row_numbers) < 400


def test_a_seq_column_digit_test_matches_its_cells_texts() -> None:
    texts = _CellTexts([[v] for v in SEQ_CELLS], 0)
    assert texts.digit_first() == ["0" <= cell_text(v)[:1] <= "9" for v in SEQ_CELLS]
    texts[1] = "合计"  # a merged cell filled in over it
    assert texts[1] == "合计" and texts.digit_first()[1] is False
    assert list(texts)[2:4] == ["-1", "0"] and texts[2:4] == ["-1", "0"]
