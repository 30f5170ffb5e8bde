"""What a roster file does not say changes nothing; what it cannot read, it says.

A new-hires file has only 工号, 姓名 and 部门: the ID numbers, boosters, phones, roles and shifts
stored from the full roster must survive it. Only a present, empty cell clears a value, and the
preview says so in words. A column the import does not recognise but whose values look like
phone numbers, ID numbers or employee numbers is named in a warning, never dropped silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.models import Person
from testrota.roster.columns import HeaderMatcher, load_roster_columns
from testrota.roster.sniff import LookAlike, sniff_columns
from tests.conftest import CONFIG_DIR
from tests.roster_files import write_csv, write_xlsx
from tests.web_support import make_user, post_form, sign_in, soup

pytest_plugins = ("tests.web_fixtures",)

FULL_HEADER = [
    "工号",
    "姓名",
    "部门",
    "班组",
    "岗位",
    "手机号",
    "身份证号",
    "人员类别",
    "语言",
    "班次",
    "疫苗接种",
    "是否接种加强针",
    "风险类别",
]
FULL = [
    [
        "1001",
        "张伟",
        "运输部",
        "甲班",
        "叉车司机",
        "13812345601",
        "11010519491231002X",
        "职工",
        "中文",
        "夜班",
        "已接种三针",
        "是",
        "",
    ],
    [
        "1002",
        "王芳",
        "后勤中心",
        "乙班",
        "食堂厨师",
        "13812345602",
        "210502198001011234",
        "外包",
        "英文",
        "倒班",
        "已接种两针",
        "否",
        "",
    ],
    [
        "1003",
        "李强",
        "炼钢厂",
        "丙班",
        "炼钢工",
        "13812345603",
        "310115199003074528",
        "职工",
        "",
        "",
        "",
        "",
        "司机",
    ],
]


def stored(engine: Engine) -> dict[str, dict[str, Any]]:
    with Session(engine) as s:
        return {p.employee_no: p.model_dump() for p in s.exec(select(Person))}


def run_json(cli: Any, *args: str) -> dict[str, Any]:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _full(cli: Any, tmp_path: Path) -> None:
    roster = write_xlsx(tmp_path / "full.xlsx", {"花名册": [FULL_HEADER, *FULL]})
    run_json(cli, "import", str(roster))


KEPT = (
    "department",
    "grid_unit",
    "role",
    "phone",
    "id_number",
    "person_type",
    "language",
    "shift",
    "vaccination",
    "booster",
    "category_column",
    "risk_category",
    "matched_by",
)


def test_a_new_hires_file_without_most_columns_changes_nobody(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    _full(cli, tmp_path)
    before = stored(engine)
    assert before["1001"]["id_number"] == "11010519491231002X"
    assert before["1001"]["booster"] is True and before["1001"]["shift"] == "night"
    assert before["1003"]["risk_category"] == "driver"  # from the category column

    new_hires = write_xlsx(
        tmp_path / "new.xlsx",
        {
            "新员工": [
                ["工号", "姓名", "部门"],
                ["1001", "张伟", "运输部"],
                ["1003", "李强", "炼钢厂"],
                ["2001", "赵六", "运输部"],
            ]
        },
    )
    summary = run_json(cli, "import", str(new_hires))
    assert (summary["added"], summary["updated"], summary["unchanged"]) == (1, 0, 2)
    assert summary["changes"]["cleared"] == []
    after = stored(engine)
    for no in ("1001", "1003"):
        assert {k: after[no][k] for k in KEPT} == {k: before[no][k] for k in KEPT}
    newcomer = after["2001"]
    assert (newcomer["phone"], newcomer["id_number"], newcomer["shift"]) == (None, None, "day")


def test_only_a_present_empty_cell_clears_and_the_preview_says_so(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    _full(cli, tmp_path)
    cleared = write_xlsx(
        tmp_path / "ids.xlsx",
        {
            "花名册": [
                ["工号", "姓名", "身份证号", "手机号"],
                ["1001", "张伟", "", "13812345601"],
                ["1002", "王芳", "", ""],
                ["1003", "李强", "", "13812345603"],
            ]
        },
    )
    preview = run_json(cli, "import", str(cleared), "--dry-run")
    assert preview["updated"] == 3
    by_field = {c["field"]: c for c in preview["changes"]["cleared"]}
    assert set(by_field) == {"id_number", "phone"}
    assert by_field["id_number"]["message"] == "clears the ID number of 3 people"
    assert by_field["id_number"]["employee_nos"] == ["1001", "1002", "1003"]
    assert by_field["phone"]["message"] == "clears the phone number of 1 person"
    assert stored(engine)["1002"]["id_number"] == "210502198001011234"  # a dry run

    human = cli("import", str(cleared), "--dry-run")
    assert human.exit_code == 0, human.output
    assert "clears the ID number of 3 people" in human.stdout
    assert "clears the phone number of 1 person" in human.stdout

    run_json(cli, "import", str(cleared))
    after = stored(engine)
    assert [after[n]["id_number"] for n in ("1001", "1002", "1003")] == [None] * 3
    assert after["1002"]["phone"] is None and after["1001"]["phone"] == "+8613812345601"
    # the columns this file lacks are untouched
    assert after["1001"]["booster"] is True and after["1002"]["person_type"] == "third_party"


@pytest.mark.parametrize(
    ("header", "cell", "field", "old", "new"),
    [
        ("班次", "白班", "shift", "night", "day"),
        ("语言", "英文", "language", "zh", "en"),
        ("班组", "新班", "grid_unit", "甲班", "新班"),
        ("岗位", "办公室文员", "risk_category", "driver", None),
    ],
)
def test_a_present_column_still_updates(
    cli: Any,
    engine: Engine,
    tmp_path: Path,
    header: str,
    cell: str,
    field: str,
    old: Any,
    new: Any,
) -> None:
    _full(cli, tmp_path)
    assert stored(engine)["1001"][field] == old
    f = write_xlsx(tmp_path / "one.xlsx", {"S": [["工号", "姓名", header], ["1001", "张伟", cell]]})
    assert run_json(cli, "import", str(f))["updated"] == 1
    after = stored(engine)["1001"]
    assert after[field] == new
    assert after["id_number"] == "11010519491231002X" and after["phone"] == "+8613812345601"


def test_each_sheet_keeps_what_it_lacks(cli: Any, engine: Engine, tmp_path: Path) -> None:
    _full(cli, tmp_path)
    f = write_xlsx(
        tmp_path / "two.xlsx",
        {
            "甲": [["工号", "姓名", "身份证号"], ["1001", "张伟", ""]],
            "乙": [["工号", "姓名", "班次"], ["1002", "王芳", "白班"]],
        },
    )
    run_json(cli, "import", str(f))
    after = stored(engine)
    assert after["1001"]["id_number"] is None and after["1001"]["shift"] == "night"
    assert after["1002"]["id_number"] == "210502198001011234" and after["1002"]["shift"] == "day"


# ------------------------------------------------------------------------------ columns dropped


@pytest.mark.parametrize(
    "header",
    [
        "手提電話",
        "聯絡電話",
        "行動電話",
        "流動電話",
        "手機號碼",
        "聯繫電話",
        "手提",
        "電話號碼",
        "手提电话",
        "联络电话",
    ],
)
def test_hong_kong_and_taiwan_phone_headers(header: str) -> None:
    matcher = HeaderMatcher(load_roster_columns(CONFIG_DIR))
    hit = matcher.match(header)
    assert hit is not None and hit[0] == "phone"


def test_sniffing_unrecognised_columns() -> None:
    columns = [
        (
            "D",
            "HP",
            ["13812345601", "138 1234 5602", "", "13812345603", "+86 138 1234 5604", "n/a"],
        ),
        ("E", "证件", ["11010519491231002X", "210502198001011234"]),
        ("F", "上级", ["1001", "1001", "1002"]),
        ("G", "", ["13812345601"] * 4 + ["x"]),  # no header: named by its letter
        ("H", "年龄", ["35", "42", "51"]),  # short numbers prove nothing, even if on the roster
        ("I", "备注", ["夜班", "13812345601", "", "", ""]),  # one phone in two notes: 50 %
        ("J", "电话2", ["13812345601"] * 3 + ["x", "y"]),  # 60 %
    ]
    found = sniff_columns(columns, region="CN", employee_nos={"1001", "1002", "35", "42", "51"})
    assert found == [
        LookAlike("D", "HP", "phone", 0.8, 5),
        LookAlike("E", "证件", "id_number", 1.0, 2),
        LookAlike("F", "上级", "employee_no", 1.0, 3),
        LookAlike("G", "", "phone", 0.8, 5),
    ]
    assert [f.name for f in found] == ["HP", "证件", "上级", "column G"]


def test_an_unrecognised_phone_column_is_a_warning_not_a_silent_loss(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    f = write_csv(
        tmp_path / "hk.csv",
        [
            ["工号", "姓名", "部门", "HP", "證號", "备注"],
            ["1001", "張偉", "運輸部", "138 1234 5601", "11010519491231002X", "夜班"],
            ["1002", "王芳", "後勤", "13812345602", "210502198001011234", ""],
            ["1003", "李強", "煉鋼廠", "13812345603", "310115199003074528", "新员工"],
        ],
    )
    summary = run_json(cli, "import", str(f), "--dry-run")
    warnings = {(w["kind"], w.get("column")): w for w in summary["warnings"]}
    assert set(warnings) == {
        ("unrecognised_column", "HP"),
        ("unrecognised_column", "證號"),
        ("no_phone_column", None),
    }
    tel = warnings[("unrecognised_column", "HP")]
    assert (tel["looks_like"], tel["share"], tel["letter"]) == ("phone", 1.0, "D")
    assert "'HP' (column D) was not imported" in tel["message"]
    assert "mobile phone numbers" in tel["message"]
    assert warnings[("unrecognised_column", "證號")]["looks_like"] == "id_number"
    no_phone = warnings[("no_phone_column", None)]
    assert (no_phone["people"], no_phone["of"]) == (3, 3)
    assert "3 of its 3 people cannot get reminder texts" in no_phone["message"]

    human = cli("import", str(f), "--dry-run")
    assert human.exit_code == 0, human.output
    assert "'HP' (column D) was not imported" in " ".join(human.stdout.split())


def test_a_second_phone_column_and_a_host_column_are_named(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    _full(cli, tmp_path)
    f = write_xlsx(
        tmp_path / "more.xlsx",
        {
            "S": [
                ["工号", "姓名", "手机号", "电话", "所属员工"],
                ["1001", "张伟", "13812345601", "13912345601", ""],
                ["3001", "张小伟", "13812345611", "13912345611", "1001"],
                ["3002", "王小芳", "13812345612", "", "1002"],
            ]
        },
    )
    summary = run_json(cli, "import", str(f), "--dry-run")
    named = {w["column"]: w["looks_like"] for w in summary["warnings"]}
    assert named == {"电话": "phone", "所属员工": "employee_no"}


def test_a_sheet_without_phones_counts_only_people_without_a_stored_number(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    _full(cli, tmp_path)
    f = write_xlsx(
        tmp_path / "np.xlsx",
        {
            "S": [
                ["工号", "姓名"],
                ["1001", "张伟"],
                ["1002", "王芳"],
                ["4001", "新人"],
            ]
        },
    )
    [warning] = run_json(cli, "import", str(f))["warnings"]
    assert (warning["kind"], warning["people"], warning["of"]) == ("no_phone_column", 1, 3)
    assert stored(engine)["1001"]["phone"] == "+8613812345601"


def test_web_preview_shows_clears_and_warnings(
    client: TestClient, engine: Engine, cli: Any, tmp_path: Path
) -> None:
    _full(cli, tmp_path)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    f = write_xlsx(
        tmp_path / "ids.xlsx",
        {
            "S": [
                ["工号", "姓名", "身份证号", "H/P"],
                ["1001", "张伟", "", "13812345601"],
                ["1002", "王芳", "", "13812345602"],
            ]
        },
    )
    with f.open("rb") as fh:
        response = post_form(
            client,
            "/upload/roster",
            {"full": ""},
            page="/upload/roster",
            files={"file": ("ids.xlsx", fh.read())},
        )
    assert response.status_code == 303, response.text
    page = soup(client.get(response.headers["location"]))
    cleared = [" ".join(li.get_text().split()) for li in page.select(".cleared li")]
    assert cleared == ["clears the ID number of 2 people: 1001, 1002"]
    warnings = [li.get_text(" ", strip=True) for li in page.select(".import-warnings li")]
    assert any("H/P" in w and "phone" in w for w in warnings), warnings
    assert any("no phone column" in w for w in warnings), warnings


def test_a_co_resident_stays_one_when_the_file_has_no_person_type_column(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    first = write_xlsx(
        tmp_path / "family.xlsx",
        {
            "S": [
                ["工号", "姓名", "人员类别", "共同居住职工工号"],
                ["1001", "张伟", "职工", ""],
                ["1001J", "张小伟", "家属", "1001"],
            ]
        },
    )
    run_json(cli, "import", str(first))
    again = write_xlsx(
        tmp_path / "names.xlsx",
        {
            "S": [
                ["工号", "姓名", "部门"],
                ["1001", "张伟", "运输部"],
                ["1001J", "张小伟", "运输部"],
            ]
        },
    )
    assert run_json(cli, "import", str(again))["updated"] == 2  # the department only
    kid = stored(engine)["1001J"]
    assert (kid["person_type"], kid["host_employee_no"]) == ("co_resident", "1001")


def test_a_file_of_many_look_alike_columns_gives_a_bounded_report(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    """An attacker's (or a broken export's) 1,000 phone columns: at most MAX_WARNINGS lines."""
    from testrota.roster.sniff import MAX_WARNINGS

    width = 1000
    header = ["工号", "姓名", *(f"X{i}" for i in range(width))]
    rows = [[f"{n}", f"人{n}", *(f"1381234{n:04d}" for _ in range(width))] for n in range(20)]
    f = write_csv(tmp_path / "wide.csv", [header, *rows])
    summary = run_json(cli, "import", str(f), "--dry-run")
    assert len(summary["warnings"]) == MAX_WARNINGS
    assert summary["warnings"][0]["column"] == "X0"
