"""Units' emergency modes (issue 15): which mode a unit is in on a day, setting one (audited),
the daily report showing it, and the planner testing a static unit's people daily."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from testrota.actions.modes import SetMode, set_mode
from testrota.audit import Actor
from testrota.db.models import AuditEvent
from testrota.errors import UserError
from testrota.org.modes import ModeChange, modes_on
from tests.compliance_fixtures import SH, add_person, app_at, local, policy, write_xlsx

# root 1 > company 2 > plants 3, 4 > team 5 under plant 3
PARENTS: dict[int, int | None] = {1: None, 2: 1, 3: 2, 4: 2, 5: 3}


def test_a_mode_passes_down_until_a_unit_below_has_its_own_and_the_latest_change_wins() -> None:
    changes = [
        ModeChange(1, 2, "static", date(2022, 5, 10), None),
        ModeChange(2, 3, "normal", date(2022, 5, 12), date(2022, 5, 13)),
        ModeChange(3, 4, "onsite", date(2022, 5, 10), date(2022, 5, 20)),
        ModeChange(4, 4, "wfh", date(2022, 5, 11), date(2022, 5, 11)),  # later: wins that day
    ]
    assert modes_on(PARENTS, changes, date(2022, 5, 9)) == {
        1: "normal",
        2: "normal",
        3: "normal",
        4: "normal",
        5: "normal",
    }
    assert modes_on(PARENTS, changes, date(2022, 5, 10)) == {
        1: "normal",
        2: "static",
        3: "static",
        4: "onsite",
        5: "static",
    }
    assert modes_on(PARENTS, changes, date(2022, 5, 11))[4] == "wfh"
    on_12th = modes_on(PARENTS, changes, date(2022, 5, 12))
    assert (on_12th[3], on_12th[5], on_12th[4]) == ("normal", "normal", "onsite")
    assert modes_on(PARENTS, changes, date(2022, 5, 14))[5] == "static"  # the normal spell ended


def test_set_mode_is_audited_shown_on_the_report_and_refuses_bad_input(
    engine: Engine, session: Session
) -> None:
    from testrota.actions.report import DailyReport, daily_report

    p = add_person(session, "1", department="炼钢厂", grid_unit="")
    p.unit_path = "板材公司/炼钢厂"
    session.add(p)
    add_person(session, "2", department="运输部", grid_unit="")
    session.commit()
    app = app_at(engine, local(SH, 2022, 5, 9, 9, 0), policy())
    done = set_mode(
        app,
        SetMode(
            "板材公司",
            "static",
            date(2022, 5, 10),
            "5月静态管控通知",
            Actor.cli("hr"),
            end=date(2022, 5, 15),
        ),
    )
    assert (done.unit, done.mode) == ("本钢集团/板材公司", "static")
    rows = {r.path: r for r in daily_report(app, DailyReport(date(2022, 5, 11), Actor.cli())).rows}
    assert rows["本钢集团/板材公司/炼钢厂"].mode == "static"
    assert rows["本钢集团/运输部"].mode == "normal"
    before = {r.path: r for r in daily_report(app, DailyReport(date(2022, 5, 9), Actor.cli())).rows}
    assert before["本钢集团/板材公司"].mode == "normal"
    with Session(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "unit.mode_set")).one()[0]
        assert event.details["mode"] == "static" and event.details["to"] == "2022-05-15"
    with pytest.raises(UserError, match="unknown mode 'lockdown'"):
        set_mode(app, SetMode("板材公司", "lockdown", date(2022, 5, 10), "x", Actor.cli()))
    with pytest.raises(UserError, match="give a reason"):
        set_mode(app, SetMode("板材公司", "wfh", date(2022, 5, 10), "  ", Actor.cli()))
    with pytest.raises(UserError, match="is before"):
        set_mode(
            app,
            SetMode("板材公司", "wfh", date(2022, 5, 10), "x", Actor.cli(), end=date(2022, 5, 9)),
        )
    with pytest.raises(UserError, match="no unit"):
        set_mode(app, SetMode("鞍钢", "wfh", date(2022, 5, 10), "x", Actor.cli()))


HEADER = ["工号", "姓名", "部门路径", "网格", "岗位", "手机号"]


def test_the_planner_tests_a_static_unit_daily_and_books_nobody_at_home(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    rows = [
        ["1001", "张一", "板材公司/炼钢厂", "甲班", "司机", "13800000001"],
        ["1002", "张二", "板材公司/炼钢厂", "乙班", "文员", "13800000002"],  # not high-risk
        ["2001", "李一", "运输部", "", "司机", "13800000003"],
        ["2002", "李二", "运输部", "", "文员", "13800000004"],
    ]
    env = {"TESTROTA_NOW": "2022-05-06T12:00:00+08:00"}
    imported = cli("import", str(write_xlsx(tmp_path / "r.xlsx", HEADER, rows)), "--json", env=env)
    assert imported.exit_code == 0, imported.output
    first = cli("plan", "--week", "2022-W19", "--json", env=env)
    assert first.exit_code == 0, first.output
    before = json.loads(cli("schedule", "--week", "2022-W19", "--format", "json", env=env).stdout)
    assert Counter(a["employee_no"] for a in before)["1002"] == 0  # not high-risk
    result = cli(
        "mode",
        "set",
        "static",
        "--unit",
        "板材公司",
        "--from",
        "2022-05-09",
        "--to",
        "2022-05-15",
        "--reason",
        "静态管控",
        "--json",
        env=env,
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["unit"] == "本钢集团/板材公司" and doc["replanned"] == ["2022-W19"]
    at_once = json.loads(cli("schedule", "--week", "2022-W19", "--format", "json", env=env).stdout)
    assert Counter(a["employee_no"] for a in at_once)["1002"] == 7  # re-planned at once
    home = cli(
        "mode",
        "set",
        "wfh",
        "--unit",
        "运输部",
        "--from",
        "2022-05-09",
        "--to",
        "2022-05-11",
        "--reason",
        "居家办公",
        env=env,
    )
    assert home.exit_code == 0, home.output
    planned = cli("plan", "--week", "2022-W19", "--json", env=env)
    assert planned.exit_code == 0, planned.output
    schedule = json.loads(cli("schedule", "--week", "2022-W19", "--format", "json", env=env).stdout)
    tests = Counter(a["employee_no"] for a in schedule)
    assert tests["1001"] == 7 and tests["1002"] == 7  # everyone in the unit, daily
    assert tests["2001"] == 2 and tests["2002"] == 0  # the rest as the categories say
    days = {a["starts_at"][:10] for a in schedule if a["employee_no"] == "1002"}
    assert len(days) == 7
    # working from home Monday to Wednesday: not booked at a site those days
    assert all(a["starts_at"][:10] >= "2022-05-12" for a in schedule if a["employee_no"] == "2001")
    bad = cli(
        "mode", "set", "static", "--unit", "板材公司", "--from", "5/9", "--reason", "x", env=env
    )
    assert bad.exit_code == 2 and "--from" in bad.output


def test_a_static_spell_set_in_a_planned_week_tests_on_its_days_not_others(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    """Review: static from Tuesday to Thursday, set on the Monday of a planned week, booked a
    person of no risk category on the days their grid unit already tested (Tue, Wed, Fri), not
    the static days: nothing on Thursday, a test on Friday when nothing is asked of them."""
    rows = [
        ["1001", "张一", "板材公司/炼钢厂", "甲班", "司机", "13800000001"],
        # not high-risk; in 张一's grid unit, whose plan tests Tuesday and Friday
        ["1002", "张二", "板材公司/炼钢厂", "甲班", "文员", "13800000002"],
    ]
    friday = {"TESTROTA_NOW": "2022-05-06T12:00:00+08:00"}
    monday = {"TESTROTA_NOW": "2022-05-09T06:00:00+08:00"}
    path = str(write_xlsx(tmp_path / "r.xlsx", HEADER, rows))
    assert cli("import", path, "--json", env=friday).exit_code == 0
    assert cli("plan", "--week", "2022-W19", "--json", env=friday).exit_code == 0
    result = cli(
        "mode",
        "set",
        "static",
        "--unit",
        "板材公司/炼钢厂",
        "--from",
        "2022-05-10",
        "--to",
        "2022-05-12",
        "--reason",
        "静态管控",
        "--json",
        env=monday,
    )
    assert result.exit_code == 0, result.output
    schedule = json.loads(
        cli("schedule", "--week", "2022-W19", "--format", "json", env=monday).stdout
    )
    days = sorted(a["starts_at"][:10] for a in schedule if a["employee_no"] == "1002")
    assert days == ["2022-05-10", "2022-05-11", "2022-05-12"]
    high = sorted(a["starts_at"][:10] for a in schedule if a["employee_no"] == "1001")
    assert {"2022-05-10", "2022-05-11", "2022-05-12"} <= set(high)
    # the plan's report counts the spell's two people under each day's rule (the last only
    # before, the others 0)
    report = json.loads(cli("plan", "--week", "2022-W19", "--json", env=monday).stdout)
    assert [(r["start"], r["people"]) for r in report["surge"]] == [
        ("2022-05-10", 2),
        ("2022-05-11", 2),
        ("2022-05-12", 2),
    ]


def test_onsite_tests_the_people_living_on_site_daily_and_books_nobody_else(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    header = ["工号", "姓名", "部门路径", "岗位", "手机号", "是否驻厂"]
    rows = [
        ["3001", "王一", "板材公司/炼钢厂", "文员", "13800000011", "是"],  # lives on site
        ["3002", "王二", "板材公司/炼钢厂", "司机", "13800000012", "否"],  # goes home
        ["3003", "王三", "板材公司/炼钢厂", "司机", "13800000013", "√"],
    ]
    env = {"TESTROTA_NOW": "2022-05-06T12:00:00+08:00"}
    imported = cli("import", str(write_xlsx(tmp_path / "o.xlsx", header, rows)), "--json", env=env)
    assert imported.exit_code == 0, imported.output
    with Session(engine) as s:
        from testrota.db.models import Person

        flags = {p.employee_no: p.on_site for p in s.exec(select(Person)).scalars()}
    assert flags == {"3001": True, "3002": False, "3003": True}
    result = cli(
        "mode",
        "set",
        "onsite",
        "--unit",
        "板材公司",
        "--from",
        "2022-05-09",
        "--to",
        "2022-05-15",
        "--reason",
        "驻厂封闭生产",
        env=env,
    )
    assert result.exit_code == 0, result.output
    planned = cli("plan", "--week", "2022-W19", "--json", env=env)
    assert planned.exit_code == 0, planned.output
    schedule = json.loads(cli("schedule", "--week", "2022-W19", "--format", "json", env=env).stdout)
    tests = Counter(a["employee_no"] for a in schedule)
    assert (tests["3001"], tests["3003"], tests["3002"]) == (7, 7, 0)


def test_a_unit_closed_on_site_then_sent_home_mid_week_books_nobody_living_out(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    """Closed on site Monday to Wednesday, at home from Thursday: someone living out comes to
    no site all week (they were booked on the closed days, the home days' exemption taking
    the place of the closed days'; found in review); those on site test on the closed days."""
    header = ["工号", "姓名", "部门路径", "岗位", "手机号", "是否驻厂"]
    rows = [
        ["3001", "王一", "板材公司/炼钢厂", "司机", "13800000011", "是"],
        ["3002", "王二", "板材公司/炼钢厂", "司机", "13800000012", "否"],
    ]
    env = {"TESTROTA_NOW": "2022-05-06T12:00:00+08:00"}
    imported = cli("import", str(write_xlsx(tmp_path / "o.xlsx", header, rows)), "--json", env=env)
    assert imported.exit_code == 0, imported.output
    for mode, first, last in (("onsite", "09", "11"), ("wfh", "12", "15")):
        result = cli(
            "mode", "set", mode, "--unit", "板材公司", "--from", f"2022-05-{first}",
            "--to", f"2022-05-{last}", "--reason", "封闭生产", env=env,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    planned = cli("plan", "--week", "2022-W19", "--json", env=env)
    assert planned.exit_code == 0, planned.output
    schedule = json.loads(cli("schedule", "--week", "2022-W19", "--format", "json", env=env).stdout)
    days = {(a["employee_no"], a["starts_at"][:10]) for a in schedule}
    assert not [d for no, d in days if no == "3002"]
    assert {d for no, d in days if no == "3001"} <= {"2022-05-09", "2022-05-10", "2022-05-11"}


def test_the_report_says_whether_every_key_post_had_someone_tested(
    cli: Any, engine: Engine, session: Session, tmp_path: Path
) -> None:
    header = ["工号", "姓名", "部门路径", "岗位", "手机号", "关键岗位"]
    rows = [
        ["4001", "赵一", "板材公司/炼钢厂", "炉长", "13800000021", "是"],
        ["4002", "赵二", "板材公司/炼钢厂", "炉长", "13800000022", "是"],
        ["4003", "赵三", "板材公司/炼钢厂", "天车工", "13800000023", "是"],
        ["4004", "赵四", "板材公司/冷轧厂", "司机", "13800000024", "否"],
    ]
    env = {"TESTROTA_NOW": "2022-05-11T09:00:00+08:00"}
    imported = cli("import", str(write_xlsx(tmp_path / "k.xlsx", header, rows)), "--json", env=env)
    assert imported.exit_code == 0, imported.output
    result = cli(
        "mode",
        "set",
        "keep-production",
        "--unit",
        "板材公司",
        "--from",
        "2022-05-10",
        "--reason",
        "保产保供",
        env=env,
    )
    assert result.exit_code == 0, result.output
    checked = cli("checkin", "4002", "--site", "NORTH", "--at", "2022-05-10 09:00", env=env)
    assert checked.exit_code == 0, checked.output
    doc = json.loads(cli("report", "daily", "--date", "2022-05-10", "--json", env=env).stdout)
    rows_by = {r["path"]: r for r in doc}
    steel = rows_by["本钢集团/板材公司/炼钢厂"]
    assert (steel["mode"], steel["key_posts"], steel["key_posts_covered"]) == (
        "keep-production",
        2,
        1,
    )
    assert steel["key_posts_uncovered"] == ["炼钢厂: 天车工"]
    company = rows_by["本钢集团/板材公司"]
    assert (company["key_posts"], company["key_posts_covered"]) == (2, 1)
    assert company["key_posts_uncovered"] == ["炼钢厂: 天车工"]
    assert rows_by["本钢集团/板材公司/冷轧厂"]["key_posts"] == 0
