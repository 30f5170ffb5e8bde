"""A roster whose employee numbers lost their leading zeros, imported as HR does.

Excel takes 工号 ``000101`` for the number 101 unless the column is formatted as text. Imported
as it is, that row was a new person beside ``000101``: the same name, phone and unit twice,
booked twice and texted twice, without a word. Such a row is refused, with a message that
names both numbers and how to fix the file; nothing else of it is written, and ``--full`` does
not take the stored person off the roster for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from testrota.db.models import Person, RosterImport
from tests.compliance_fixtures import write_xlsx

HEADER = ["工号", "姓名", "部门", "网格", "岗位", "手机号码"]
MONDAY = {"TESTROTA_NOW": "2022-05-09T08:00:00+08:00"}
TUESDAY = {"TESTROTA_NOW": "2022-05-10T10:00:00+08:00"}

# (工号, 姓名, 部门, 网格, 岗位, 手机号码); the numbers as text, zeros kept
ZHANG = ["000101", "张伟", "转炉车间", "转炉甲班", "叉车司机", "13812345671"]
WANG = ["000102", "王芳", "转炉车间", "转炉甲班", "食堂厨师", "13812345672"]
LIU = ["000104", "刘洋", "转炉车间", "转炉乙班", "门卫", "13812345674"]
BASE = [ZHANG, WANG, LIU]


def write(path: Path, rows: list[list[Any]]) -> Path:
    return write_xlsx(path, HEADER, rows)


def lost_zeros(row: list[Any]) -> list[Any]:
    """The row as Excel keeps it when 工号 is a number: 000101 -> 101."""
    return [int(row[0]), *row[1:]]


def run(cli: Any, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = cli(*args, "--json", env=env or MONDAY)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def numbers(engine: Engine, active: bool | None = None) -> list[str]:
    query = select(Person.employee_no)
    if active is not None:
        query = query.where(col(Person.active).is_(active))
    with Session(engine) as s:
        return sorted(s.exec(query))


def test_a_number_without_its_zeros_is_refused_not_a_second_person(
    cli: Any, tmp_path: Path, engine: Engine
) -> None:
    run(cli, "import", str(write(tmp_path / "v1.xlsx", BASE)))
    planned = run(cli, "plan", "--week", "2022-W19")
    assert planned["required"] == 6
    roster = write(tmp_path / "zeros_lost.xlsx", [lost_zeros(ZHANG)])
    preview = run(cli, "import", str(roster), "--dry-run")
    summary = run(cli, "import", str(roster))
    for report in (preview, summary):
        assert (report["added"], report["updated"], report["skipped"]) == (0, 0, 1)
        assert report["changes"]["added"] == []
        [error] = report["errors"]
        assert (error["row"], error["column"], error["value"]) == (2, "工号", "101")
        message = error["message"]
        assert "101" in message and "000101" in message and "张伟" in message
        assert "format the 工号 column as text" in message
    assert numbers(engine) == ["000101", "000102", "000104"]
    with Session(engine) as s:
        last = s.exec(select(RosterImport).order_by(col(RosterImport.id).desc())).first()
        assert last is not None and last.counts["skipped"] == 1 and len(last.errors) == 1
    # Booked once, not twice.
    again = run(cli, "plan", "--week", "2022-W19")
    assert (again["required"], again["added"]) == (6, 0)
    # The number as the lab or the guard types it still finds the one person.
    checked = run(cli, "checkin", "101", env=TUESDAY)
    assert checked["employee_no"] == "000101"
    recorded = run(cli, "results", "add", "101", "--result", "阴性", env=TUESDAY)
    assert recorded["employee_no"] == "000101"


def test_the_refusal_reads_in_chinese(cli: Any, tmp_path: Path) -> None:
    run(cli, "import", str(write(tmp_path / "v1.xlsx", BASE)))
    roster = write(tmp_path / "zeros_lost.xlsx", [lost_zeros(ZHANG)])
    result = cli("import", str(roster), "--json", env={**MONDAY, "TESTROTA_LANG": "zh"})
    assert result.exit_code == 0, result.output
    [error] = json.loads(result.stdout)["errors"]
    assert error["message"].startswith("工号 101 是花名册中已有的 000101（张伟）")
    assert "请将“工号”列设为文本格式" in error["message"]


def test_a_full_import_with_zeros_lost_keeps_everyone(
    cli: Any, tmp_path: Path, engine: Engine
) -> None:
    run(cli, "import", str(write(tmp_path / "v1.xlsx", BASE)))
    # The whole column lost its zeros: every row refused, nobody taken off the roster as a
    # leaver, nobody added.
    roster = write(tmp_path / "all_lost.xlsx", [lost_zeros(r) for r in BASE])
    summary = run(cli, "import", str(roster), "--full")
    assert (summary["added"], summary["deactivated"], summary["skipped"]) == (0, 0, 3)
    assert sorted(e["value"] for e in summary["errors"]) == ["101", "102", "104"]
    # One row lost them (typed again by hand): the others are imported, 000101 stays.
    mixed = write(tmp_path / "one_lost.xlsx", [lost_zeros(ZHANG), WANG, LIU])
    summary = run(cli, "import", str(mixed), "--full")
    assert (summary["added"], summary["deactivated"], summary["unchanged"]) == (0, 0, 2)
    assert numbers(engine, active=True) == ["000101", "000102", "000104"]


def test_case_and_full_width_are_the_same_number_too(
    cli: Any, tmp_path: Path, engine: Engine
) -> None:
    contractor = ["E0012", "李四", "物流部", "物流网格", "叉车司机", "13812345612"]
    run(cli, "import", str(write(tmp_path / "v1.xlsx", [contractor])))
    # typed on a phone: a full-width, lower-case e
    typed = write(tmp_path / "typed.xlsx", [["ｅ００１２", *contractor[1:]]])
    summary = run(cli, "import", str(typed))
    [error] = summary["errors"]
    assert "E0012" in error["message"] and summary["added"] == 0
    assert numbers(engine) == ["E0012"]


def test_a_number_beside_the_stored_one_written_whole_is_someone_else(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    """Review: the file still writes 000101 with its zeros, so its 101 lost none: a new person
    numbered so is added, not refused as 000101 (the advice to write 000101 would be wrong)."""
    run(cli, "import", str(write(tmp_path / "a.xlsx", BASE)))
    other = ["101", "赵敏", "转炉车间", "转炉乙班", "门卫", "13812345679"]
    out = run(cli, "import", str(write(tmp_path / "b.xlsx", [*BASE, other])))
    assert out["added"] == 1 and out["errors"] == []
    assert numbers(engine, active=True) == ["000101", "000102", "000104", "101"]


def test_a_leaver_coming_back_without_zeros_is_refused_not_a_new_person(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    """Review: a leaver's number was not compared: 张伟 (000101) left, came back the next week
    on a roster whose 工号 lost its zeros, and was added as a new person 101 without their
    tests, exemptions or grid-unit history. The row is refused, naming the leaver; typed whole,
    the one person comes back."""
    run(cli, "import", str(write(tmp_path / "v1.xlsx", BASE)))
    run(cli, "import", str(write(tmp_path / "v2.xlsx", [WANG, LIU])), "--full", "--force")
    assert numbers(engine, active=False) == ["000101"]
    back = write(tmp_path / "back.xlsx", [lost_zeros(ZHANG), WANG, LIU])
    summary = run(cli, "import", str(back))
    assert (summary["added"], summary["updated"], summary["skipped"]) == (0, 0, 1)
    [error] = summary["errors"]
    assert (error["row"], error["value"]) == (2, "101")
    assert "000101 (张伟, who left the roster)" in error["message"]
    assert "to bring them back with their history" in error["message"]
    zh = cli("import", str(back), "--json", env={**MONDAY, "TESTROTA_LANG": "zh"})
    [error] = json.loads(zh.stdout)["errors"]
    assert error["message"].startswith("工号 101 是已离开花名册的 000101（张伟）")
    assert numbers(engine) == ["000101", "000102", "000104"]
    summary = run(cli, "import", str(write(tmp_path / "whole.xlsx", BASE)))
    assert (summary["added"], summary["updated"], summary["errors"]) == (0, 1, [])
    assert numbers(engine, active=True) == ["000101", "000102", "000104"]
