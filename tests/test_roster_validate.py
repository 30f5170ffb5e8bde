"""Validation rules: which rows become people, which are skipped, what each error says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from testrota.db.models import Person
from testrota.policy import ImportPolicy, Policy
from testrota.roster.columns import REQUIRED_FIELDS, load_roster_columns
from testrota.roster.reader import Sheet, Workbook, read_workbook
from testrota.roster.validate import (
    MAX_LENGTHS,
    PersonRecord,
    RowError,
    booster_of,
    id_number_problem,
    validate_workbook,
)
from tests.roster_files import TITLE, write_xlsx

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
POLICY = Policy()

HEADERS = {
    "employee_no": "工号",
    "name": "姓名",
    "department": "部门",
    "grid_unit": "网格",
    "role": "岗位",
    "phone": "手机号",
    "id_number": "身份证号",
    "person_type": "人员类别",
    "host_employee_no": "共同居住职工工号",
    "language": "语言",
    "shift": "班次",
    "vaccination": "疫苗接种",
    "booster": "是否接种加强针",
    "category": "风险类别",
}


def sheet(name: str, rows: list[dict[str, str]], first_row: int = 2) -> Sheet:
    """A read sheet: one dict per row, every field that appears in any row becomes a column."""
    fields = [f for f in HEADERS if any(f in r for r in rows)]
    return Sheet(
        name=name,
        header_row=first_row - 1,
        columns={f: HEADERS[f] for f in fields},
        data={f: [r.get(f, "") for r in rows] for f in fields},
        row_numbers=list(range(first_row, first_row + len(rows))),
    )


def book(*sheets: Sheet) -> Workbook:
    return Workbook("roster.xlsx", "0" * 64, list(sheets), [])


def person(no: str, name: str = "张伟", **fields: str) -> dict[str, str]:
    return {"employee_no": no, "name": name, "phone": "13812345678", **fields}


def check(rows: list[dict[str, str]], known: tuple[str, ...] = ()) -> Any:
    return validate_workbook(book(sheet("花名册", rows)), POLICY, known)


def test_a_complete_row_becomes_a_complete_record() -> None:
    row = person(
        "10023",
        "张　伟",
        department=" 炼钢厂 ",
        grid_unit="甲班",
        role="天车工",
        phone="+86-138-1234-5678",
        id_number="21050219800101008x",
        person_type="正式工",
        shift="三班倒",
        vaccination="已接种3针（含加强针）",
        category="冷链",
    )
    result = check([row])
    assert result.errors == []
    assert (result.rows, result.skipped) == (1, 0)
    assert result.records == [
        PersonRecord(
            employee_no="10023",
            name="张伟",
            department="炼钢厂",
            grid_unit="甲班",
            role="天车工",
            phone="+8613812345678",
            phone_raw="+86-138-1234-5678",
            phone_valid=True,
            id_number="21050219800101008X",
            person_type="employee",
            host_employee_no=None,
            language="zh",
            shift="rotating",
            vaccination="已接种3针（含加强针）",
            booster=True,
            category_column="冷链",
            sheet="花名册",
            row=2,
        )
    ]


def test_missing_employee_number_and_name_skip_the_row() -> None:
    result = check([person("", "张伟"), person("10002", ""), person("", ""), person("10004")])
    assert [r.employee_no for r in result.records] == ["10004"]
    assert (result.rows, result.skipped) == (4, 3)
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (2, "工号", "missing employee number"),
        (3, "姓名", "missing name"),
        (4, "工号", "missing employee number"),
        (4, "姓名", "missing name"),
    ]


def test_duplicate_employee_number_names_both_rows_and_keeps_the_first() -> None:
    first = sheet(
        "一车间", [person("10001", "张伟"), person("10002", "王芳"), person("10001", "李强")]
    )
    second = sheet("二车间", [person("10002", "赵敏"), person("10003")], first_row=4)
    result = validate_workbook(book(first, second), POLICY)
    assert [(r.employee_no, r.name) for r in result.records] == [
        ("10001", "张伟"),
        ("10002", "王芳"),
        ("10003", "张伟"),
    ]
    assert result.skipped == 2
    assert [e.as_dict() for e in result.errors] == [
        {
            "sheet": "一车间",
            "row": 4,
            "column": "工号",
            "value": "10001",
            "message": "duplicate employee number 10001: rows 2 and 4; the later row is skipped",
        },
        {
            "sheet": "二车间",
            "row": 4,
            "column": "工号",
            "value": "10002",
            "message": "duplicate employee number 10002: sheet '一车间' row 3 and sheet '二车间' "
            "row 4; the later row is skipped",
        },
    ]


def test_full_width_employee_numbers_are_the_same_number() -> None:
    result = check([person("１００２３"), person("10023", "王芳")])
    assert [r.employee_no for r in result.records] == ["10023"]
    assert "duplicate employee number 10023" in result.errors[0].message


def test_leading_zeros_make_a_different_employee_number() -> None:
    result = check([person("00123"), person("123", "王芳")])
    assert [r.employee_no for r in result.records] == ["00123", "123"]
    assert result.errors == []


def test_an_invalid_phone_is_an_error_but_the_person_is_kept() -> None:
    result = check([person("1", phone="138 1234 567"), person("2", "王芳", phone="024-45678901")])
    assert [(r.employee_no, r.phone, r.phone_valid) for r in result.records] == [
        ("1", None, False),
        ("2", None, False),
    ]
    assert result.records[0].phone_raw == "138 1234 567"
    assert result.skipped == 0
    assert [(e.row, e.column, e.value) for e in result.errors] == [
        (2, "手机号", "138 1234 567"),
        (3, "手机号", "024-45678901"),
    ]
    assert result.errors[0].message == (
        "not a valid phone number; the person is kept without a phone"
    )
    assert "landline" in result.errors[1].message


def test_an_empty_phone_is_reported_only_when_the_file_has_a_phone_column() -> None:
    with_column = check([person("1", phone=""), person("2", "王芳")])
    assert [e.message for e in with_column.errors] == [
        "no phone number: this person cannot get reminder texts"
    ]
    without = validate_workbook(book(sheet("S", [{"employee_no": "1", "name": "张伟"}])), POLICY)
    assert without.errors == []
    assert without.records[0].phone_valid is False
    assert without.missing_columns == ["phone", "department", "role"]


def test_phones_are_read_in_the_policy_region() -> None:
    us = Policy(phone_region="US")
    result = validate_workbook(book(sheet("S", [person("1", phone="(202) 456-1111")])), us)
    assert result.records[0].phone == "+12024561111"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "employee"),
        ("职工", "employee"),
        ("员工", "employee"),
        ("正式工", "employee"),
        ("職工", "employee"),
        ("員工", "employee"),
        ("Employee", "employee"),
        ("STAFF", "employee"),
        ("第三方", "third_party"),
        ("第三方人员", "third_party"),
        ("外包", "third_party"),
        ("承包商", "third_party"),
        ("劳务派遣", "third_party"),
        ("勞務派遣", "third_party"),
        ("Contractor", "third_party"),
        ("third-party", "third_party"),
        ("共同居住人", "co_resident"),
        ("家属", "co_resident"),
        ("家屬", "co_resident"),
        ("共同居住人員", "co_resident"),
        ("co-resident", "co_resident"),
        ("Co-Resident", "co_resident"),
        ("family member", "co_resident"),
    ],
)
def test_person_types_in_three_scripts(text: str, kind: str) -> None:
    extra = {"host_employee_no": "9"} if kind == "co_resident" else {}
    result = check([person("9", "王芳"), person("1", person_type=text, **extra)])
    assert result.errors == []
    assert result.records[1].person_type == kind


def test_an_unknown_person_type_skips_the_row() -> None:
    result = check([person("1", person_type="访客")])
    assert result.records == [] and result.skipped == 1
    error = result.errors[0]
    assert (error.column, error.value) == ("人员类别", "访客")
    assert "unknown person type '访客'" in error.message


def test_co_resident_hosts() -> None:
    rows = [
        person("JS1", "家属甲", person_type="家属", host_employee_no="10002"),  # host further down
        person("10002", "王芳"),
        person("JS2", "家属乙", person_type="共同居住人", host_employee_no="88888"),  # in the db
        person("JS3", "家属丙", person_type="共同居住人", host_employee_no="77777"),  # nowhere
        person("JS4", "家属丁", person_type="共同居住人"),  # no host at all
        person("JS5", "家属戊", person_type="共同居住人", host_employee_no="JS5"),  # themselves
        person("10006", ""),  # a host row that is itself skipped ...
        person("JS6", "家属己", person_type="家属", host_employee_no="10006"),  # ... is no host
        person("10008", "赵敏", host_employee_no="10002"),  # an employee: the column is ignored
    ]
    result = check(rows, known=("88888",))
    assert [(r.employee_no, r.host_employee_no) for r in result.records] == [
        ("JS1", "10002"),
        ("10002", None),
        ("JS2", "88888"),
        ("10008", None),
    ]
    assert result.skipped == 5
    assert [(e.row, e.column, e.value, e.message.split(";")[0]) for e in result.errors] == [
        (
            5,
            "共同居住职工工号",
            "77777",
            "host employee 77777 is not in this file or among the active people",
        ),
        (6, "共同居住职工工号", "", "co-resident without a host employee number"),
        (7, "共同居住职工工号", "JS5", "a co-resident cannot be their own host employee"),
        (8, "姓名", "", "missing name"),
        (
            9,
            "共同居住职工工号",
            "10006",
            "host employee 10006 is not in this file or among the active people",
        ),
    ]


def test_a_missing_host_column_is_named_in_plain_words() -> None:
    result = check([person("1", person_type="家属")])
    assert result.errors[0].column == "host employee number"


@pytest.mark.parametrize(
    ("name", "language", "expected"),
    [
        ("张伟", "", "zh"),
        ("John Miller", "", "en"),
        ("Wang Wei", "Chinese", "zh"),
        ("张伟", "English", "en"),
        ("张伟", "英文", "en"),
        ("John Miller", "中文", "zh"),
        ("John Miller", "zh-CN", "zh"),
        ("张伟", "Klingon", "zh"),
        ("Anna", "Esperanto", "en"),
        ("買買提·艾力", "", "zh"),
    ],
)
def test_language_from_the_column_else_from_the_name(
    name: str, language: str, expected: str
) -> None:
    result = check([person("1", name, language=language)])
    assert result.records[0].language == expected


@pytest.mark.parametrize(
    ("text", "shift"),
    [
        ("", "day"),
        ("白班", "day"),
        ("常白班", "day"),
        ("Day", "day"),
        ("夜班", "night"),
        ("NIGHT", "night"),
        ("倒班", "rotating"),
        ("三班倒", "rotating"),
        ("四班三运转", "rotating"),
        ("Rotating", "rotating"),
        ("輪班", "rotating"),
    ],
)
def test_shifts(text: str, shift: str) -> None:
    result = check([person("1", shift=text)])
    assert result.errors == []
    assert result.records[0].shift == shift


def test_an_unknown_shift_is_reported_and_day_assumed() -> None:
    result = check([person("1", shift="弹性")])
    assert result.records[0].shift == "day"
    assert result.skipped == 0
    assert result.errors[0].column == "班次"
    assert "unknown shift '弹性'" in result.errors[0].message


@pytest.mark.parametrize(
    ("text", "booster"),
    [
        ("", None),
        ("已接种加强针", True),
        ("已接種加強針", True),
        ("第三针", True),
        ("已接种3针（含加强针）", True),
        ("Booster received", True),
        ("3 doses", True),
        ("已接种2针", False),
        ("2 doses", False),
        ("未接种", False),
        ("未打加强针", False),
        ("加强针待接种", False),
        ("no booster", False),
    ],
)
def test_booster_from_the_vaccination_note(text: str, booster: bool | None) -> None:
    assert booster_of(text) is booster
    result = check([person("1", vaccination=text)])
    assert result.records[0].booster is booster
    assert result.records[0].vaccination == text


@pytest.mark.parametrize(
    ("cell", "vaccination", "booster"),
    [
        ("是", "已接种2针", True),
        ("否", "已接种加强针", False),
        ("√", "", True),
        ("×", "", False),
        ("2022-03-01", "", True),
        ("", "已接种加强针", True),
        ("", "", None),
        ("Yes", "", True),
        ("—", "已接种加强针", True),
        ("—", "", None),
    ],
)
def test_a_booster_column_wins_over_the_note(
    cell: str, vaccination: str, booster: bool | None
) -> None:
    result = check([person("1", booster=cell, vaccination=vaccination)])
    assert result.records[0].booster is booster


def test_names_are_tidied() -> None:
    result = check([person("1", "张　伟"), person("2", "John   Miller"), person("3", "欧阳 娜娜")])
    assert [r.name for r in result.records] == ["张伟", "John Miller", "欧阳娜娜"]


def test_id_numbers() -> None:
    rows = [
        person("1", id_number="21050219800101008X"),
        person("2", id_number="210502198001011000"),  # what Excel leaves of a number cell
        person("3", id_number="210502800101123"),  # an old 15-digit number: kept as is
        person("4", id_number="E12345678"),  # a passport
    ]
    result = check(rows)
    assert [r.id_number for r in result.records] == [
        "21050219800101008X",
        None,
        "210502800101123",
        "E12345678",
    ]
    assert len(result.errors) == 1
    assert result.errors[0].column == "身份证号"
    assert "Excel keeps only 15 digits" in result.errors[0].message
    assert id_number_problem("21050219800101008X") is None
    assert id_number_problem("210502198001011235") is not None
    assert id_number_problem("210502198001011234") is None


def test_over_long_cells() -> None:
    long_no = "9" * 65
    rows = [person(long_no), person("2", department="部" * 201), person("3", "名" * 201)]
    result = check(rows)
    assert [r.employee_no for r in result.records] == ["2"]
    assert result.records[0].department == "部" * 200
    assert [(e.row, e.column) for e in result.errors] == [(2, "工号"), (3, "部门"), (4, "姓名")]


def test_errors_follow_the_file_order_across_sheets() -> None:
    a = sheet("A", [person("1"), person("", "x")])
    b = sheet(
        "B",
        [person("H1", "家属", person_type="家属", host_employee_no="404"), person("2", phone="12")],
    )
    result = validate_workbook(book(a, b), POLICY)
    assert [(e.sheet, e.row) for e in result.errors] == [("A", 3), ("B", 2), ("B", 3)]


def test_validation_is_repeatable() -> None:
    rows = [person("1"), person("2", "王芳", person_type="家属", host_employee_no="1")]
    assert check(rows) == check(rows)


def test_records_and_row_errors_are_frozen() -> None:
    record = PersonRecord(*[f"v{i}" for i in range(len(PersonRecord._fields))])
    with pytest.raises(AttributeError):
        record.name = "x"  # type: ignore[misc]
    assert RowError("S", 2, "工号", "", "m").as_dict() == {
        "sheet": "S",
        "row": 2,
        "column": "工号",
        "value": "",
        "message": "m",
    }


def test_length_limits_match_the_database() -> None:
    columns = Person.__table__.columns  # type: ignore[attr-defined]
    for field, limit in MAX_LENGTHS.items():
        column = "category_column" if field == "category" else field
        assert columns[column].type.length == limit, field


def test_row_numbers_are_the_ones_excel_shows(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        [TITLE],
        ["填报单位：炼钢厂"],
        ["序号", "工号", "姓名", "手机号", "人员类别"],
        [1, 10001, "张伟", 13812345678, "职工"],
        [],
        [2, 10002, "", 13812345679, "职工"],
        [3, 10001, "李强", "138 1234 5680", "职工"],
        [4, 10004, "赵敏", "138", "外星人"],
        [5, 10005, "刘洋", "1381234", "职工"],
        ["合计", "5人"],
    ]
    path = write_xlsx(tmp_path / "r.xlsx", {"一车间": rows})
    aliases = load_roster_columns(CONFIG_DIR)
    workbook = read_workbook(path, aliases, REQUIRED_FIELDS, ImportPolicy())
    result = validate_workbook(workbook, POLICY)
    assert [(e.sheet, e.row, e.column) for e in result.errors] == [
        ("一车间", 6, "姓名"),
        ("一车间", 7, "工号"),
        ("一车间", 8, "人员类别"),
        ("一车间", 9, "手机号"),
    ]
    assert "rows 4 and 7" in result.errors[1].message
    assert [(r.employee_no, r.row) for r in result.records] == [("10001", 4), ("10005", 9)]
    assert (result.rows, result.skipped) == (5, 3)
