"""A person moves grid unit: their coming appointments go with them, their history stays.

The planner keeps each grid unit's people together in a slot and apart from other units by
the grid unit an appointment carries, and the schedule shows it beside the department. A
coming appointment left with the old unit mixed the new department with the old grid unit
(``刘洋, 连铸车间, 转炉乙班``) and was counted in the unit the person had left.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, update

from testrota.db import tables
from tests.compliance_fixtures import write_xlsx

HEADER = ["工号", "姓名", "部门", "网格", "岗位", "手机号码"]
MONDAY = {"TESTROTA_NOW": "2022-05-09T08:00:00+08:00"}
ZHANG = ["000101", "张伟", "转炉车间", "转炉甲班", "叉车司机", "13812345671"]
LIU = ["000104", "刘洋", "转炉车间", "转炉乙班", "门卫", "13812345674"]
LIU_MOVED = ["000104", "刘洋", "连铸车间", "连铸二班", "门卫", "13812345674"]
CHEN = ["000105", "陈静", "连铸车间", "连铸二班", "食堂厨师", "13812345675"]


def write(path: Path, rows: list[list[Any]]) -> Path:
    return write_xlsx(path, HEADER, rows)


def run(cli: Any, *args: str, at: datetime | None = None) -> Any:
    env = {"TESTROTA_NOW": at.isoformat()} if at else MONDAY
    result = cli(*args, "--json", env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def schedule(cli: Any, employee_no: str) -> list[dict[str, Any]]:
    result = cli("schedule", "--week", "2022-W19", "--person", employee_no, "--format", "json")
    assert result.exit_code == 0, result.output
    return sorted(json.loads(result.stdout), key=lambda r: r["starts_at"])


def test_coming_appointments_follow_a_move_and_past_ones_keep_their_unit(
    cli: Any, tmp_path: Path
) -> None:
    run(cli, "import", str(write(tmp_path / "v1.xlsx", [ZHANG, LIU, CHEN])))
    run(cli, "plan", "--week", "2022-W19")
    first, second, *_ = schedule(cli, "000104")
    tested = datetime.fromisoformat(first["starts_at"]) + timedelta(minutes=5)
    assert run(cli, "checkin", "000104", at=tested)["appointment_id"] == first["appointment_id"]
    # HR's new roster, an hour after that test and before the next.
    moved_at = tested + timedelta(hours=1)
    assert moved_at < datetime.fromisoformat(second["starts_at"])
    summary = run(
        cli, "import", str(write(tmp_path / "v2.xlsx", [ZHANG, LIU_MOVED, CHEN])), at=moved_at
    )
    assert summary["changes"]["updated"][0]["changes"]["grid_unit"] == ["转炉乙班", "连铸二班"]
    rows = {r["appointment_id"]: r for r in schedule(cli, "000104")}
    done = rows[first["appointment_id"]]
    assert (done["status"], done["grid_unit"]) == ("done", "转炉乙班")  # where they were tested
    coming = rows[second["appointment_id"]]
    assert (coming["status"], coming["department"], coming["grid_unit"]) == (
        "scheduled",
        "连铸车间",
        "连铸二班",
    )
    # A re-plan keeps the row (its reminders stay valid) with the unit it now has.
    again = run(cli, "plan", "--week", "2022-W19", at=moved_at)
    assert again["cancelled"] == 0
    rows = {r["appointment_id"]: r for r in schedule(cli, "000104")}
    assert rows[second["appointment_id"]]["grid_unit"] == "连铸二班"


def test_a_replan_gives_kept_rows_the_persons_grid_unit(
    cli: Any, tmp_path: Path, engine: Engine
) -> None:
    run(cli, "import", str(write(tmp_path / "v1.xlsx", [ZHANG, LIU, CHEN])))
    run(cli, "plan", "--week", "2022-W19")
    before = schedule(cli, "000104")
    # A person's unit changed while their appointments kept the old one (as an import before
    # this fix left them): the next plan puts that right in the rows it keeps.
    person = tables.PERSON
    with engine.begin() as conn:
        conn.execute(
            update(person)
            .where(person.c.employee_no == "000104")
            .values(department="连铸车间", grid_unit="连铸二班")
        )
    again = run(cli, "plan", "--week", "2022-W19")
    assert (again["kept"], again["cancelled"]) == (6, 0)
    after = schedule(cli, "000104")
    assert [r["appointment_id"] for r in after] == [r["appointment_id"] for r in before]
    assert {r["grid_unit"] for r in after} == {"连铸二班"}
