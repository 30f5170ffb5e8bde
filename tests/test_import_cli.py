"""``testrota import`` end to end on both databases: atomic, idempotent, audited, guarded."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from testrota.db.models import AuditEvent, Person, RosterImport

HEADER = ["序号", "工号", "姓名", "部门", "班组", "岗位", "手机号", "人员类别", "共同居住人员"]


def person(
    no: str,
    name: str,
    dept: str,
    role: str,
    phone: str = "13812345678",
    kind: str = "职工",
    host: str = "",
    unit: str = "甲班",
) -> list[Any]:
    return [0, no, name, dept, unit, role, phone, kind, host]


BASE = [
    person("0001", "张伟", "运输部", "叉车司机", "138 1234 5601"),
    person("0002", "王芳", "后勤中心", "食堂厨师", "+86-138-1234-5602"),
    person("0003", "李强", "炼钢厂", "炼钢工", "8613812345603"),
    person("0004", "刘洋", "保卫部", "门卫", "13812345604"),
    person("0005", "陈静", "炼钢厂", "天车工", "13812345605"),
]


TITLE = "XX厂职工花名册（2022年5月）"


def write_roster(path: Path, rows: list[list[Any]], title: str = TITLE) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "花名册"
    ws.append([title])
    ws.append(HEADER)
    for i, row in enumerate(rows, 1):
        ws.append([i, *row[1:]])
    ws.append(["合计", f"{len(rows)}人"])
    wb.save(path)
    return path


def run_json(cli: Any, *args: str) -> dict[str, Any]:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_import_then_reimport_changes_nothing(cli: Any, tmp_path: Path, engine: Engine) -> None:
    f = write_roster(tmp_path / "roster.xlsx", BASE)
    first = run_json(cli, "import", str(f))
    assert first["rows"] == 5
    assert (first["added"], first["updated"], first["unchanged"]) == (5, 0, 0)
    assert first["errors"] == []
    assert first["high_risk"] == 3  # forklift driver, canteen cook, gate guard; not 天车工
    again = run_json(cli, "import", str(f))
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 5)
    with Session(engine) as s:
        imports = s.exec(select(RosterImport)).all()
        assert len(imports) == 2
        assert imports[0].sha256 == first["sha256"] and len(first["sha256"]) == 64
        assert imports[0].counts["added"] == 5


def test_people_json_has_the_contract_fields(cli: Any, tmp_path: Path) -> None:
    run_json(cli, "import", str(write_roster(tmp_path / "r.xlsx", BASE)))
    result = cli("people", "--format", "json")
    assert result.exit_code == 0, result.output
    people = {p["employee_no"]: p for p in json.loads(result.stdout)}
    assert set(people) == {"0001", "0002", "0003", "0004", "0005"}  # leading zeros kept
    driver = people["0001"]
    for key in (
        "employee_no",
        "name",
        "department",
        "grid_unit",
        "role",
        "phone",
        "person_type",
        "active",
        "risk_category",
        "matched_by",
    ):
        assert key in driver
    assert driver["phone"] == "+8613812345601"
    assert driver["risk_category"] == "driver"
    assert driver["matched_by"] in ("title", "synonym")
    assert people["0005"]["risk_category"] is None
    high = json.loads(cli("people", "--high-risk", "--format", "json").stdout)
    assert {p["employee_no"] for p in high} == {"0001", "0002", "0004"}
    csv_out = cli("people", "--format", "csv", "--department", "炼钢厂").stdout.splitlines()
    assert csv_out[0].startswith("employee_no,name")
    assert len(csv_out) == 3


def test_a_changed_phone_is_updated_and_audited(cli: Any, tmp_path: Path, engine: Engine) -> None:
    run_json(cli, "import", str(write_roster(tmp_path / "a.xlsx", BASE)))
    changed = [*BASE[:3], person("0004", "刘洋", "保卫部", "门卫", "13900000004"), BASE[4]]
    summary = run_json(cli, "import", str(write_roster(tmp_path / "b.xlsx", changed)))
    assert (summary["updated"], summary["unchanged"]) == (1, 4)
    with Session(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "person.updated")).one()
        assert event.entity_id == "0004"
        assert event.details["phone"] == ["+8613812345604", "+8613900000004"]
        imports = s.exec(select(AuditEvent).where(AuditEvent.action == "roster.imported")).all()
        assert [e.entity_id for e in imports] == [
            str(summary["import_id"] - 1),
            str(summary["import_id"]),
        ]
        assert imports[-1].details == {
            "file": "b.xlsx",
            "rows": 5,
            "added": 0,
            "updated": 1,
            "unchanged": 4,
            "deactivated": 0,
            "skipped": 0,
            "high_risk": 3,
            "released": 0,
        }
        # the person at the terminal, spelled as every door spells its actor
        assert {e.actor for e in [event, *imports]} == {f"cli:{getpass.getuser()}"}


def test_dry_run_writes_nothing(cli: Any, tmp_path: Path, engine: Engine) -> None:
    summary = run_json(cli, "import", str(write_roster(tmp_path / "r.xlsx", BASE)), "--dry-run")
    assert summary["added"] == 5 and summary["dry_run"] is True
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Person)).one() == 0
        assert s.exec(select(func.count()).select_from(RosterImport)).one() == 0


def test_full_import_deactivates_and_guards(cli: Any, tmp_path: Path, engine: Engine) -> None:
    many = [person(f"{i:04d}", f"员工{i}", "炼钢厂", "炼钢工") for i in range(1, 21)]
    run_json(cli, "import", str(write_roster(tmp_path / "all.xlsx", many)))
    # Dropping 4 of 20 (20 %) is allowed.
    summary = run_json(cli, "import", str(write_roster(tmp_path / "a.xlsx", many[4:])), "--full")
    assert summary["deactivated"] == 4
    # Dropping 5 of the 16 still active (31 %) is a partial file uploaded by mistake: refused.
    partial = write_roster(tmp_path / "p.xlsx", many[9:])
    refused = cli("import", str(partial), "--full", "--json")
    assert refused.exit_code == 2
    assert "--force" in refused.output and "Traceback" not in refused.output
    with Session(engine) as s:
        active = s.exec(select(func.count()).select_from(Person).where(col(Person.active))).one()
        assert active == 16
        assert s.exec(select(Person).where(Person.employee_no == "0001")).one().deactivated_at
    forced = run_json(cli, "import", str(partial), "--full", "--force")
    assert forced["deactivated"] == 5
    with Session(engine) as s:
        left = s.exec(select(AuditEvent).where(AuditEvent.action == "person.deactivated")).all()
    assert sorted(e.entity_id for e in left) == [f"{i:04d}" for i in range(1, 10)]
    assert left[0].details == {"reason": "missing from a full roster import"}
    # Deactivated people are kept, with their history, and listed with --all.
    everyone = json.loads(cli("people", "--all", "--format", "json").stdout)
    assert len(everyone) == 20
    assert sum(1 for p in everyone if not p["active"]) == 9


def test_row_errors_are_reported_with_excel_rows(cli: Any, tmp_path: Path, engine: Engine) -> None:
    rows = [
        *BASE,
        person("0006", "", "运输部", "司机"),
        person("0001", "重复", "运输部", "司机"),
        person("0007", "赵六", "运输部", "司机", phone="12345"),
    ]
    summary = run_json(
        cli,
        "import",
        str(write_roster(tmp_path / "e.xlsx", rows)),
        "--errors",
        str(tmp_path / "errors.xlsx"),
    )
    by_row = {e["row"]: e for e in summary["errors"]}
    # Title row 1, header row 2, data from row 3: the 6th, 7th and 8th people are rows 8, 9, 10.
    assert by_row[8]["column"] in ("name", "姓名")
    assert 9 in by_row and "3" in by_row[9]["message"]  # names the first row of the duplicate
    assert by_row[10]["value"] == "12345"
    assert summary["skipped"] == 2
    assert summary["added"] == 6  # the bad phone is still imported, flagged
    assert (tmp_path / "errors.xlsx").exists()
    with Session(engine) as s:
        p = s.exec(select(Person).where(Person.employee_no == "0007")).one()
        assert p.phone is None and p.phone_valid is False


def test_co_resident_host_may_come_from_an_earlier_import(cli: Any, tmp_path: Path) -> None:
    run_json(cli, "import", str(write_roster(tmp_path / "a.xlsx", BASE)))
    family = [
        person("J0001", "张小伟", "运输部", "", kind="共同居住人", host="0001"),
        person("J0002", "某某", "运输部", "", kind="共同居住人", host="9999"),
    ]
    summary = run_json(cli, "import", str(write_roster(tmp_path / "b.xlsx", family)))
    assert summary["added"] == 1
    assert [e["value"] for e in summary["errors"]] == ["9999"]


def test_bad_files_exit_2_and_touch_nothing(cli: Any, tmp_path: Path, engine: Engine) -> None:
    not_a_sheet = tmp_path / "photo.xlsx"
    not_a_sheet.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    no_header = tmp_path / "summary.csv"
    no_header.write_text("foo,bar\n1,2\n", encoding="utf-8")
    for bad in (not_a_sheet, no_header, tmp_path / "missing.xlsx"):
        result = cli("import", str(bad), "--json")
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert result.stdout == ""
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Person)).one() == 0
        assert s.exec(select(func.count()).select_from(RosterImport)).one() == 0


def test_overrides_survive_a_reimport(cli: Any, tmp_path: Path, engine: Engine) -> None:
    roster = write_roster(tmp_path / "r.xlsx", BASE)
    run_json(cli, "import", str(roster))
    # HR: this forklift driver only drives inside the workshop; the gate guard is really a driver.
    assert cli("override", "0001", "none", "--reason", "厂内作业").exit_code == 0
    mapped = cli("roles", "map", "门卫", "driver", "--reason", "兼任司机")
    assert mapped.exit_code == 0, mapped.output
    again = run_json(cli, "import", str(roster))
    assert (again["updated"], again["unchanged"]) == (0, 5)
    with Session(engine) as s:
        people = {p.employee_no: p for p in s.exec(select(Person))}
    assert people["0001"].risk_category is None and people["0001"].matched_by == "override"
    assert people["0004"].risk_category == "driver" and people["0004"].matched_by == "override"


def test_an_explicit_category_column_wins(cli: Any, tmp_path: Path, engine: Engine) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["工号", "姓名", "部门", "岗位", "手机号", "高风险类别"])
    ws.append(["1", "甲", "炼钢厂", "炼钢工", "13812345601", "冷链"])
    ws.append(["2", "乙", "运输部", "司机", "13812345602", "否"])
    ws.append(["3", "丙", "运输部", "司机", "13812345603", ""])
    wb.save(tmp_path / "c.xlsx")
    run_json(cli, "import", str(tmp_path / "c.xlsx"))
    with Session(engine) as s:
        people = {p.employee_no: p for p in s.exec(select(Person))}
    assert (people["1"].risk_category, people["1"].matched_by) == ("cold_chain", "column")
    assert people["2"].risk_category is None and people["2"].matched_by == "column"
    assert people["3"].risk_category == "driver"


def test_newcomers_in_a_planned_week_get_its_earliest_slots(
    cli: Any, tmp_path: Path, engine: Engine
) -> None:
    monday = {"TESTROTA_NOW": "2022-05-09T08:00:00+08:00"}
    run_json(cli, "import", str(write_roster(tmp_path / "a.xlsx", BASE)))
    planned = cli("plan", "--week", "2022-W19", "--json", env=monday)
    assert planned.exit_code == 0, planned.output
    wednesday = {"TESTROTA_NOW": "2022-05-11T09:00:00+08:00"}
    newcomer = person("0009", "新司机", "运输部", "货车司机", "13812345609")
    result = cli(
        "import", str(write_roster(tmp_path / "b.xlsx", [*BASE, newcomer])), "--json", env=wednesday
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["midweek"]["booked"] == 2
    schedule = json.loads(
        cli("schedule", "--week", "2022-W19", "--person", "0009", "--format", "json").stdout
    )
    starts = sorted(row["starts_at"] for row in schedule)
    assert len(starts) == 2
    assert starts[0] >= "2022-05-11T09:00"  # nothing in the past


def test_no_booking_before_the_week_is_planned(cli: Any, tmp_path: Path) -> None:
    summary = run_json(cli, "import", str(write_roster(tmp_path / "a.xlsx", BASE)))
    assert summary["midweek"] is None
