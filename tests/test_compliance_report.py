"""``testrota compliance``: per department and grid unit, with the trend over recent weeks."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine
from sqlmodel import Session

from testrota.actions.compliance import GroupFigures
from tests.compliance_fixtures import add_appt, add_person, compliance, config_dir, missed, policy
from tests.missed_world import NOW, NOW_ENV, at, build

P = policy()


def _by(rows: list[GroupFigures], *keys: str) -> dict[tuple[Any, ...], GroupFigures]:
    return {tuple(getattr(r, k) for k in keys): r for r in rows}


def test_compliance_per_department_and_grid_unit(engine: Engine) -> None:
    build(engine)
    report = compliance(engine, NOW, P)
    assert report.week == "2022-W19"
    assert report.weeks == ["2022-W16", "2022-W17", "2022-W18", "2022-W19"]
    depts = _by(report.departments, "department")
    steel = depts[("炼钢厂",)]
    # 张三 2 of 2, 李四 0 of 2, 王五 0 of 1 (Monday excused); 孙八 is not high-risk.
    assert {
        k: getattr(steel, k)
        for k in (
            "people",
            "required",
            "scheduled",
            "done",
            "missed",
            "excused",
            "tests",
            "compliant_people",
            "rate",
        )
    } == {
        "people": 3,
        "required": 5,
        "scheduled": 6,
        "done": 1,
        "missed": 3,
        "excused": 1,
        "tests": 2,
        "compliant_people": 1,
        "rate": 0.4,
    }
    assert [t.rate for t in steel.trend] == [0.1667, 0.0, 0.3333, 0.4]
    assert [t.missed for t in steel.trend] == [0, 1, 1, 3]
    logistics = depts[("物流部",)]
    assert (logistics.missed, logistics.rate) == (1, 0.0)  # flagged by the report itself
    assert ("办公室",) not in depts
    units = _by(report.grid_units, "department", "grid_unit")
    assert units[("炼钢厂", "一号网格")].rate == round(2 / 3, 4)
    assert units[("炼钢厂", "二号网格")].missed == 2
    assert units[("物流部", "物流部")].people == 1  # the department stands in
    assert report.total.required == 7 and report.total.missed == 4


def test_department_scope_and_trend_length(engine: Engine) -> None:
    build(engine)
    report = compliance(engine, NOW, P, departments=["物流部"], weeks=2)
    assert [d.department for d in report.departments] == ["物流部"]
    assert report.weeks == ["2022-W18", "2022-W19"]
    assert report.total.people == 1


def test_weeks_before_anything_was_booked_have_no_rate(engine: Engine) -> None:
    # testrota came into use in W19: the three weeks before had nobody booked and no sample, so
    # they have no rate (a gap in the chart), not 0 %; W19's missed test is a real 0 %.
    with Session(engine) as s:
        p = add_person(s, "1001", "张三")
        add_appt(s, p, at(9, 8), status="missed")
        s.commit()
    report = compliance(engine, NOW, P)
    assert [t.rate for t in report.total.trend] == [None, None, None, 0.0]
    [steel] = report.departments
    assert [t.rate for t in steel.trend] == [None, None, None, 0.0]


def test_surge_raises_what_is_required(engine: Engine) -> None:
    with Session(engine) as s:
        p = add_person(s, "1001", "张三")
        for day in (9, 10, 11, 12):
            add_appt(s, p, at(day, 8), status="done")
        s.commit()
    surge = policy(
        surge=[
            {
                "name": "5月静态管控",
                "start": "2022-05-09",
                "end": "2022-05-15",
                "tests_per_week": 7,
                "departments": ["炼钢厂"],
            }
        ]
    )
    report = compliance(engine, NOW, surge, weeks=1)
    [steel] = report.departments
    assert (steel.required, steel.done) == (7, 4)


def test_cli_compliance_formats(cli: Any, engine: Engine) -> None:
    build(engine)
    doc = json.loads(cli("compliance", "--format", "json", env=NOW_ENV).stdout)
    assert doc["total"]["rate"] == round(2 / 7, 4)
    result = cli("compliance", "--format", "csv", "--week", "2022-W19", env=NOW_ENV)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {(r["level"], r["department"], r["grid_unit"]) for r in rows} >= {
        ("department", "炼钢厂", ""),
        ("grid_unit", "炼钢厂", "二号网格"),
        ("total", "", ""),
    }
    steel = next(r for r in rows if r["level"] == "department" and r["department"] == "炼钢厂")
    assert steel["trend"] == "2022-W16=17% 2022-W17=0% 2022-W18=33% 2022-W19=40%"
    table = cli("compliance", "--department", "炼钢厂", env=NOW_ENV)
    assert table.exit_code == 0 and "炼钢厂" in table.stdout and "物流部" not in table.stdout
    bad = cli("compliance", "--weeks", "0", env=NOW_ENV)
    assert bad.exit_code == 2 and "--weeks" in bad.stderr


def test_a_category_that_tests_more_often(engine: Engine, tmp_path: Path) -> None:
    """risk_categories.yaml may ask more of a category; compliance counts as the planner does."""
    config = config_dir(tmp_path)
    path = config / "risk_categories.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for category in data["categories"]:
        if category["code"] == "canteen":
            category["tests_per_week"] = 3
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    build(engine)
    report = compliance(engine, NOW, P, config=config, weeks=1)
    units = _by(report.grid_units, "department", "grid_unit")
    assert units[("炼钢厂", "二号网格")].required == 3  # 李四 works in the canteen
    assert units[("炼钢厂", "一号网格")].required == 3  # drivers: 2 + 1 (王五 excused once)
    [li] = [r for r in missed(engine, NOW, P, config=config) if r.name == "李四"][:1]
    assert li.required == 3


def test_one_rule_for_the_effective_category(engine: Engine) -> None:
    """HR's override wins over the matcher and an empty override means "not high-risk": the
    facts every report reads and the dashboard's head-count apply the same rule."""
    from sqlmodel import select

    from testrota.actions.compliance import DashboardFigures, dashboard_figures
    from testrota.compliance.facts import person_facts_row, select_people
    from testrota.db.models import Person
    from tests.compliance_fixtures import app_at

    with Session(engine) as s:
        add_person(s, "1", category="driver")  # matched
        add_person(s, "2", category="driver")  # matched, HR says not high-risk
        add_person(s, "3", category=None)  # not matched, HR says canteen
        add_person(s, "4", category=None)  # neither
        add_person(s, "5", category="driver", active=False)  # gone
        for no, override in (("2", ""), ("3", "canteen")):
            person = s.exec(select(Person).where(Person.employee_no == no)).one()
            person.override_category = override
            s.add(person)
        s.commit()
    with Session(engine) as s:
        facts = {r.employee_no: person_facts_row(r).category for r in s.execute(select_people())}
    assert facts == {"1": "driver", "2": None, "3": "canteen", "4": None, "5": "driver"}
    figures = dashboard_figures(app_at(engine, NOW, P), DashboardFigures("2022-W19"))
    assert figures.high_risk == 2  # 1 and 3: active, with a category


def test_facts_read_by_position_are_the_facts_read_by_name(engine: Engine) -> None:
    """``selected_facts`` unpacks ``select_people``'s columns in their order (the plan's commit
    and the group's report read 300,000 people so); it must give what reading each by name
    gives, whatever the columns' order becomes, with a column appended as the weekly roll-up
    appends the unit."""
    from sqlmodel import col

    from testrota.compliance.facts import person_facts_row, select_people, selected_facts
    from testrota.db.models import Person

    with Session(engine) as s:
        add_person(s, "P1", "甲", phone="+8613800000001")
        add_person(s, "P2", "乙", category=None, active=False, department="财务部", grid_unit="")
        override = add_person(s, "P3", "丙", category="canteen")
        override.override_category = "driver"
        s.commit()
    rates = {"driver": 3, "canteen": 2}.get
    with engine.connect() as conn:
        rows = conn.execute(select_people().order_by(col(Person.id))).all()
        with_unit = conn.execute(
            select_people().add_columns(col(Person.unit_id)).order_by(col(Person.id))
        ).all()
    by_name = [person_facts_row(r, rates) for r in rows]
    assert [selected_facts(r, rates) for r in rows] == by_name
    assert [selected_facts(r, rates) for r in with_unit] == by_name
    assert [selected_facts(r) for r in rows] == [person_facts_row(r) for r in rows]
    assert [(f.employee_no, f.category, f.weekly_tests, f.active) for f in by_name] == [
        ("P1", "driver", 3, True),
        ("P2", None, None, False),
        ("P3", "driver", 3, True),
    ]
