"""The group's unit tree (issue 15): from a path column, level columns or a flat roster."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from testrota.db.models import OrgUnit, Person
from testrota.org.config import MAX_DEPTH, OrgConfig
from testrota.org.paths import resolve_path, roster_unit, split_path, unit_chain
from tests.compliance_fixtures import write_xlsx
from tests.conftest import CONFIG_DIR

ORG = OrgConfig(root="本钢集团", levels=["集团", "公司", "厂矿", "车间", "班组"])


def test_a_written_path_reads_the_same_with_any_separator_and_spacing() -> None:
    assert split_path(" 本钢集团／板材公司 \\ 炼钢厂 > 转炉车间/ ") == [
        "本钢集团",
        "板材公司",
        "炼钢厂",
        "转炉车间",
    ]
    assert resolve_path(ORG, "板材公司/炼钢厂") == "本钢集团/板材公司/炼钢厂"
    assert resolve_path(ORG, "本钢集团/板材公司/炼钢厂") == "本钢集团/板材公司/炼钢厂"
    assert resolve_path(ORG, "") == "本钢集团"


def test_level_columns_join_top_down_and_a_slash_inside_a_name_is_not_a_level() -> None:
    assert roster_unit("", ["板材公司", "炼钢厂", "转炉车间"]) == ("板材公司/炼钢厂/转炉车间", None)
    assert roster_unit("", ["", "", "炼钢/连铸车间"]) == ("炼钢∕连铸车间", None)


def test_a_path_deeper_than_the_limit_is_cut_and_the_problem_said() -> None:
    deep = "/".join(f"L{i}" for i in range(12))
    path, problem = roster_unit(deep, [])
    assert path.count("/") + 1 == MAX_DEPTH - 1
    assert problem is not None and "12 levels" in problem


def test_a_person_sits_in_their_grid_unit_under_their_unit_and_the_root_is_never_doubled() -> None:
    chain = unit_chain(ORG, "本钢集团/板材公司/炼钢厂", "炼钢厂", "甲班")
    assert [(u.path, u.level, u.grid) for u in chain] == [
        ("本钢集团", 0, False),
        ("本钢集团/板材公司", 1, False),
        ("本钢集团/板材公司/炼钢厂", 2, False),
        ("本钢集团/板材公司/炼钢厂/甲班", 3, True),
    ]
    flat = unit_chain(ORG, "", "运输部", "")
    assert [u.path for u in flat] == ["本钢集团", "本钢集团/运输部"]
    # a team that is also the grid unit is one unit, not a grid unit inside itself
    team = unit_chain(ORG, "板材公司/炼钢厂/甲班", "", "甲班")
    assert team[-1].path == "本钢集团/板材公司/炼钢厂/甲班" and not team[-1].grid


def _units(cli: Any) -> dict[str, dict[str, Any]]:
    result = cli("units", "--json")
    assert result.exit_code == 0, result.output
    return {u["path"]: u for u in json.loads(result.stdout)}


HEADER = ["工号", "姓名", "部门路径", "网格", "岗位", "手机号"]


def test_a_path_column_builds_the_tree_with_people_counted_below_each_unit(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    rows = [
        ["1001", "张一", "本钢集团/板材公司/炼钢厂/转炉车间", "甲班", "司机", "13800000001"],
        ["1002", "张二", "板材公司/炼钢厂/转炉车间", "乙班", "司机", "13800000002"],
        ["1003", "张三", "板材公司/冷轧厂", "", "保洁", "13800000003"],
        ["1004", "张四", "矿业公司", "", "门卫", "13800000004"],
    ]
    roster = write_xlsx(tmp_path / "r.xlsx", HEADER, rows)
    result = cli("import", str(roster), "--json")
    assert result.exit_code == 0, result.output
    units = _units(cli)
    assert units["本钢集团"]["people"] == 4
    assert units["本钢集团/板材公司"]["people"] == 3
    assert units["本钢集团/板材公司/炼钢厂/转炉车间"]["people"] == 2
    grid = units["本钢集团/板材公司/炼钢厂/转炉车间/甲班"]
    assert (grid["kind"], grid["level"], grid["level_name"], grid["people"]) == (
        "grid",
        4,
        "网格",
        1,
    )
    assert units["本钢集团/板材公司/炼钢厂"]["level_name"] == "厂矿"
    with Session(engine) as s:
        person = s.exec(select(Person).where(Person.employee_no == "1003")).one()[0]
        unit = s.get(OrgUnit, person.unit_id)
        assert unit is not None and unit.path == "本钢集团/板材公司/冷轧厂"
        # a path column alone still gives the department supervisors are scoped by
        assert person.department == "冷轧厂"
    # the same file again changes nobody
    again = json.loads(cli("import", str(roster), "--json").stdout)
    assert (again["updated"], again["unchanged"]) == (0, 4)


def test_level_columns_and_the_department_make_the_path_and_a_move_follows_the_roster(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    header = ["工号", "姓名", "公司", "厂矿", "车间", "班组", "岗位", "手机号"]
    rows = [
        ["2001", "李一", "板材公司", "炼钢厂", "转炉车间", "甲班", "司机", "13800000011"],
        ["2002", "李二", "板材公司", "热连轧厂", "精整车间", "", "司机", "13800000012"],
    ]
    cli("import", str(write_xlsx(tmp_path / "a.xlsx", header, rows)), "--json")
    units = _units(cli)
    assert units["本钢集团/板材公司/炼钢厂/转炉车间/甲班"]["people"] == 1
    assert units["本钢集团/板材公司/热连轧厂/精整车间"]["people"] == 1
    rows[1][3] = "炼钢厂"
    rows[1][4] = "转炉车间"
    moved = cli("import", str(write_xlsx(tmp_path / "b.xlsx", header, rows)), "--json")
    assert json.loads(moved.stdout)["updated"] == 1
    units = _units(cli)
    assert units["本钢集团/板材公司/炼钢厂"]["people"] == 2
    # the old unit stays (its confirmations refer to it) and now holds nobody
    assert units["本钢集团/板材公司/热连轧厂/精整车间"]["people"] == 0


def test_a_flat_roster_gives_one_unit_per_department_under_the_root(
    cli: Any, tmp_path: Path
) -> None:
    header = ["工号", "姓名", "部门", "班组", "岗位", "手机号"]
    rows = [
        ["3001", "王一", "炼钢厂", "一号网格", "司机", "13800000021"],
        ["3002", "王二", "运输部", "", "司机", "13800000022"],
    ]
    cli("import", str(write_xlsx(tmp_path / "f.xlsx", header, rows)), "--json")
    units = _units(cli)
    assert set(units) == {
        "本钢集团",
        "本钢集团/炼钢厂",
        "本钢集团/炼钢厂/一号网格",
        "本钢集团/运输部",
    }


def test_unit_codes_come_from_org_yaml_and_name_a_unit_like_its_path(
    cli: Any, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "org.yaml").write_text(
        "root: 本钢集团\nlevels: [集团, 公司, 厂矿]\ncodes: {板材公司: BC}\n", encoding="utf-8"
    )
    env = {"TESTROTA_CONFIG_DIR": str(config)}
    rows = [["4001", "赵一", "板材公司/炼钢厂", "", "司机", "13800000031"]]
    cli("import", str(write_xlsx(tmp_path / "c.xlsx", HEADER, rows)), "--json", env=env)
    listed = cli("units", "--json", env=env)
    codes = {u["path"]: u["code"] for u in json.loads(listed.stdout)}
    assert codes["本钢集团/板材公司"] == "BC"
    assert codes["本钢集团/板材公司/炼钢厂"] is None


def test_a_too_deep_path_is_reported_against_its_row_and_the_person_kept(
    cli: Any, tmp_path: Path
) -> None:
    deep = "/".join(f"层{i}" for i in range(10))
    rows = [["5001", "钱一", deep, "", "司机", "13800000041"]]
    result = cli("import", str(write_xlsx(tmp_path / "d.xlsx", HEADER, rows)), "--json")
    doc = json.loads(result.stdout)
    assert doc["added"] == 1
    [error] = doc["errors"]
    assert (error["row"], error["column"]) == (2, "部门路径")
    assert "10 levels" in error["message"]


def test_units_lists_as_csv_and_refuses_an_unknown_format(cli: Any, session: Session) -> None:
    from tests.compliance_fixtures import add_person

    add_person(session, "6001", department="运输部", grid_unit="")
    session.commit()
    csv_out = cli("units", "--format", "csv")
    assert csv_out.exit_code == 0, csv_out.output
    assert csv_out.stdout.splitlines()[0].startswith("path,name,level")
    assert "本钢集团/运输部" in csv_out.stdout  # built on first use after an upgrade
    bad = cli("units", "--format", "pdf")
    assert bad.exit_code == 2


@pytest.mark.parametrize("field", ["unit_path", "company", "plant"])
def test_the_unit_columns_are_roster_fields(field: str) -> None:
    from testrota.roster.columns import ROSTER_FIELDS, load_roster_columns

    assert field in ROSTER_FIELDS
    assert load_roster_columns(CONFIG_DIR)[field]


def test_a_new_database_has_the_root_and_an_empty_report(cli: Any) -> None:
    listed = cli("units", "--json")
    assert listed.exit_code == 0, listed.output
    assert [u["path"] for u in json.loads(listed.stdout)] == ["本钢集团"]
    report = cli("report", "daily", "--date", "2022-05-10", "--json")
    assert report.exit_code == 0, report.output
    [root] = json.loads(report.stdout)
    assert (root["path"], root["people"], root["rate"]) == ("本钢集团", 0, None)


def test_the_written_rows_carry_their_unit_without_a_second_pass(
    engine: Engine, tmp_path: Path
) -> None:
    """write_roster given the org places new and moved people as it writes them: nobody is
    left without a unit for sync_units to update after, and a move changes the unit too."""
    from datetime import UTC, datetime

    from testrota.db import tables
    from testrota.roster import service
    from tests.compliance_fixtures import app_at, policy

    app = app_at(engine, datetime(2022, 5, 9, 8, tzinfo=UTC), policy())

    def write(rows: list[list[str]], name: str) -> None:
        book = service.read_roster(
            write_xlsx(tmp_path / name, HEADER, rows), config_dir=CONFIG_DIR, policy=app.policy
        )
        with Session(engine) as session, session.begin():
            comparison = service.compare_roster(
                session,
                book,
                policy=app.policy,
                vocab=app.vocabulary,
                full=False,
                force=False,
                dry_run=False,
            )
            service.write_roster(session, comparison, app.now(), "cli:test", org=app.org)

    def placed() -> dict[str, str | None]:
        p, u = tables.PERSON, tables.ORG_UNIT
        query = select(p.c.employee_no, u.c.path).outerjoin(u, u.c.id == p.c.unit_id)
        with engine.connect() as conn:
            return {str(no): path for no, path in conn.execute(query)}

    rows = [
        ["3001", "王一", "板材公司/炼钢厂", "甲班", "司机", "13800000021"],
        ["3002", "王二", "矿业公司", "", "门卫", "13800000022"],
    ]
    write(rows, "a.xlsx")
    assert placed() == {"3001": "本钢集团/板材公司/炼钢厂/甲班", "3002": "本钢集团/矿业公司"}
    rows[1][2] = "板材公司/冷轧厂"
    rows[0][5] = "13800000031"  # a change that moves nobody, in the same update
    write(rows, "b.xlsx")
    assert placed() == {
        "3001": "本钢集团/板材公司/炼钢厂/甲班",
        "3002": "本钢集团/板材公司/冷轧厂",
    }


def test_a_code_key_is_read_as_a_rosters_path_is(cli: Any, tmp_path: Path) -> None:
    """org.yaml says a path is the same with the root's name or without it: a key written
    with it (or with a full-width slash) named no unit, and the unit had no code."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "org.yaml").write_text(
        "root: 本钢集团\nlevels: [集团, 公司, 厂矿]\n"
        "codes: {本钢集团/板材公司: BC, 板材公司 ／ 炼钢厂: BC-LG}\n",
        encoding="utf-8",
    )
    env = {"TESTROTA_CONFIG_DIR": str(config)}
    rows = [["4001", "赵一", "板材公司/炼钢厂", "", "司机", "13800000031"]]
    cli("import", str(write_xlsx(tmp_path / "c.xlsx", HEADER, rows)), "--json", env=env)
    codes = {u["path"]: u["code"] for u in json.loads(cli("units", "--json", env=env).stdout)}
    assert codes["本钢集团/板材公司"] == "BC"
    assert codes["本钢集团/板材公司/炼钢厂"] == "BC-LG"


@pytest.mark.parametrize(
    ("codes", "says"),
    [
        ("{板材公司: BC, 北营公司: BC}", "'BC' is the code of 板材公司 and of 北营公司"),
        ("{板材公司: BC, 本钢集团/板材公司: B2}", "板材公司 has a code already"),
    ],
)
def test_one_code_for_two_units_is_refused_naming_both(
    cli: Any, tmp_path: Path, codes: str, says: str
) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "org.yaml").write_text(f"root: 本钢集团\ncodes: {codes}\n", encoding="utf-8")
    result = cli("units", "--json", env={"TESTROTA_CONFIG_DIR": str(config)})
    assert result.exit_code == 2, result.stdout
    assert "org.yaml" in result.stderr and says in result.stderr
