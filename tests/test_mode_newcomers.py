"""People added to a week already planned (issue 13, issue 15): they follow their unit's
emergency mode, and in normal mode they join a slot already holding their grid unit before any
other."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from testrota.scheduling.model import FixedAppointment, PlanPerson
from testrota.scheduling.planner import plan_earliest
from tests.compliance_fixtures import write_xlsx
from tests.plan_helpers import MONDAY, make_policy, make_sites, site

HEADER = ["工号", "姓名", "部门路径", "网格", "岗位", "手机号", "是否驻厂"]
FRIDAY = {"TESTROTA_NOW": "2022-05-06T12:00:00+08:00"}
TUESDAY = {"TESTROTA_NOW": "2022-05-10T09:00:00+08:00"}


def _ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if result.stdout.strip().startswith(("{", "[")) else None


def _mode(cli: Any, mode: str, unit: str) -> None:
    _ok(
        cli(
            "mode",
            "set",
            mode,
            "--unit",
            unit,
            "--from",
            "2022-05-09",
            "--to",
            "2022-05-15",
            "--reason",
            "疫情防控通知",
            "--json",
            env=FRIDAY,
        )
    )


def test_newcomers_follow_their_units_mode(cli: Any, engine: Engine, tmp_path: Path) -> None:
    first = [
        ["1001", "张一", "板材公司/炼钢厂", "甲班", "司机", "13800000001", "否"],
        ["1002", "张二", "板材公司/炼钢厂", "乙班", "司机", "13800000002", "否"],
        ["2001", "李一", "运输部", "", "司机", "13800000003", "否"],
        ["3001", "王一", "板材公司/冷轧厂", "丙班", "司机", "13800000004", "是"],
        ["4001", "赵一", "板材公司/热轧厂", "丁班", "司机", "13800000005", "否"],
    ]
    _ok(cli("import", str(write_xlsx(tmp_path / "a.xlsx", HEADER, first)), "--json", env=FRIDAY))
    _ok(cli("plan", "--week", "2022-W19", "--json", env=FRIDAY))
    _mode(cli, "static", "板材公司/炼钢厂")
    _mode(cli, "wfh", "运输部")
    _mode(cli, "onsite", "板材公司/冷轧厂")
    # Tuesday morning HR adds five people (none of them in a high-risk role but the drivers).
    added = [
        ["1003", "张三", "板材公司/炼钢厂", "甲班", "文员", "13800000011", "否"],
        ["2002", "李二", "运输部", "", "司机", "13800000012", "否"],
        ["3002", "王二", "板材公司/冷轧厂", "丙班", "文员", "13800000013", "是"],
        ["3003", "王三", "板材公司/冷轧厂", "丙班", "司机", "13800000014", "否"],
        ["4002", "赵二", "板材公司/热轧厂", "丁班", "司机", "13800000015", "否"],
    ]
    _ok(cli("import", str(write_xlsx(tmp_path / "b.xlsx", HEADER, added)), "--json", env=TUESDAY))
    rows = _ok(cli("schedule", "--week", "2022-W19", "--format", "json", env=TUESDAY))
    mine: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        mine[r["employee_no"]].append(r)
    # static: daily from today, in slots holding their own grid unit only
    days = sorted(r["starts_at"][:10] for r in mine["1003"])
    assert days == [f"2022-05-{d}" for d in range(10, 16)]
    for r in mine["1003"]:
        others = {
            o["grid_unit"]
            for o in rows
            if (o["site"], o["starts_at"]) == (r["site"], r["starts_at"])
        }
        assert others == {"甲班"}
    # wfh: not booked at a site; onsite: the resident daily at the on-site site, the other not
    assert mine["2002"] == [] and mine["3003"] == []
    assert len(mine["3002"]) == 6 and {r["site"] for r in mine["3002"]} == {"DORM"}
    # normal mode: the week's two tests, the first in a slot already holding 丁班
    assert len(mine["4002"]) == 2
    unit_slots = {(r["site"], r["starts_at"]) for r in mine["4001"]}
    assert any((r["site"], r["starts_at"]) in unit_slots for r in mine["4002"])


def test_a_newcomer_joins_their_grid_units_slot_before_an_earlier_one() -> None:
    policy = make_policy()
    sites = make_sites(policy, site("A", {"daily": ["08:00-08:30"]}), capacity=5)
    from testrota.scheduling.sites import week_slots

    slots = week_slots(sites, MONDAY)
    at = {(s.day, s.minute): s.id for s in slots}
    # 甲 (the newcomer's unit) holds Wednesday and Saturday 08:15; 乙 holds Tuesday 08:00.
    occupancy = {
        at[(2, 8 * 60 + 15)]: {"甲": 3},
        at[(5, 8 * 60 + 15)]: {"甲": 3},
        at[(1, 8 * 60)]: {"乙": 2},
    }
    newcomer = PlanPerson(99, "N1", "D1", "甲", "day", "cold_chain", 2)
    monday_noon = datetime(2022, 5, 9, 4, tzinfo=UTC)
    result = plan_earliest(
        [newcomer],
        slots,
        policy,
        monday_noon,
        week_start=MONDAY,
        sites=[s.scope for s in sites],
        occupancy=occupancy,
    )
    booked = sorted(a.slot_id for a in result.assignments)
    assert booked == sorted([at[(2, 8 * 60 + 15)], at[(5, 8 * 60 + 15)]])
    # With one test already done on Monday, the one left is the unit's earliest slot the gap
    # allows (Wednesday 08:15), not Wednesday's first slot nor 乙's on Tuesday:
    done = [FixedAppointment(99, 0, at[(0, 8 * 60)])]
    one = plan_earliest(
        [newcomer],
        slots,
        policy,
        monday_noon,
        week_start=MONDAY,
        sites=[s.scope for s in sites],
        occupancy=occupancy,
        existing=done,
    )
    assert [a.slot_id for a in one.assignments] == [at[(2, 8 * 60 + 15)]]
    # A positive case's contact still gets the earliest test there is, whatever the unit.
    contact = plan_earliest(
        [newcomer],
        slots,
        policy,
        monday_noon,
        week_start=MONDAY,
        sites=[s.scope for s in sites],
        occupancy=occupancy,
        earliest=date(2022, 5, 10),
        extra=True,
    )
    assert [a.slot_id for a in contact.assignments] == [at[(1, 8 * 60)]]


def test_a_static_spell_mid_week_books_its_days_before_the_grid_units_other_days() -> None:
    """Review: static Tuesday to Thursday, set on a planned week's Monday, booked someone of
    no risk category Tue, Wed and Fri: the days their grid unit already tested on came before
    the static days, so Thursday had no test and Friday one nobody asked for."""
    from datetime import timedelta

    from testrota.policy import SurgeRule

    base = make_policy()
    static = [
        SurgeRule(
            name=f"static {day}",
            start=MONDAY + timedelta(days=day),
            end=MONDAY + timedelta(days=day),
            tests_per_week=7,
            person_ids=frozenset({99}),
            min_gap_days=1,
        )
        for day in (1, 2, 3)
    ]
    policy = base.model_copy(update={"testing": base.testing.model_copy(update={"surge": static})})
    sites = make_sites(policy, site("A", {"daily": ["08:00-08:30"]}), capacity=5)
    from testrota.scheduling.sites import week_slots

    slots = week_slots(sites, MONDAY)
    at = {(s.day, s.minute): s.id for s in slots}
    # 甲 (their grid unit) already tests Tuesday, Wednesday and Friday
    occupancy = {at[(d, 8 * 60)]: {"甲": 2} for d in (1, 2, 4)}
    person = PlanPerson(99, "N1", "D1", "甲", "day", None, 0)
    result = plan_earliest(
        [person],
        slots,
        policy,
        datetime(2022, 5, 8, 22, tzinfo=UTC),  # Monday 06:00 in Shanghai
        week_start=MONDAY,
        sites=[s.scope for s in sites],
        occupancy=occupancy,
    )
    days = sorted(next(s.day for s in slots if s.id == a.slot_id) for a in result.assignments)
    assert days == [1, 2, 3]
