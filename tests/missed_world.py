"""A small plant's fortnight, shared by the missed-list and compliance tests.

Week 2022-W19 runs Monday 9 May to Sunday 15 May; "now" is Thursday 12 May 18:00 in Shanghai.
- 1001 张三 (炼钢厂 / 一号网格): missed Monday's slot, tested Tuesday and Thursday: compliant.
- 1002 李四 (炼钢厂 / 二号网格): missed Monday and Thursday, and a slot in W17 and W18 too.
- 1003 王五 (炼钢厂 / 一号网格): Monday excused (leave), Friday still to come.
- 2001 赵六 (物流部, no grid unit): Tuesday's slot still "scheduled" in the database although it
  is long overdue: nothing has flagged it yet, the list must.
- 3001 孙八 (办公室): not high-risk, no appointments: in no report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from tests.compliance_fixtures import SH, add_appt, add_person, add_sample, local

NOW = local(SH, 2022, 5, 12, 18, 0)
NOW_ENV = {"TESTROTA_NOW": "2022-05-12T18:00:00+08:00"}


def at(day: int, hour: int, minute: int = 0, month: int = 5) -> datetime:
    return local(SH, 2022, month, day, hour, minute)


@dataclass
class World:
    ids: dict[str, int]


def build(engine: Engine, *, names: dict[str, str] | None = None) -> World:
    names = names or {}
    ids: dict[str, int] = {}
    with Session(engine, expire_on_commit=False) as s:
        zhang = add_person(
            s,
            "1001",
            names.get("1001", "张三"),
            grid_unit="一号网格",
            phone="+8613800000001",
            role=names.get("role", "司机"),
        )
        li = add_person(
            s,
            "1002",
            "李四",
            grid_unit="二号网格",
            category="canteen",
            role="厨师",
            phone="+8613800000002",
        )
        wang = add_person(s, "1003", "王五", grid_unit="一号网格")
        zhao = add_person(s, "2001", "赵六", department="物流部", grid_unit="")
        add_person(s, "3001", "孙八", department="办公室", grid_unit="", category=None, role="文员")
        # W19
        ids["zhang_mon"] = add_appt(s, zhang, at(9, 8), status="missed").id  # type: ignore[assignment]
        ids["zhang_thu"] = add_appt(s, zhang, at(12, 8), status="done").id  # type: ignore[assignment]
        add_sample(s, zhang, at(10, 7, 50))
        add_sample(s, zhang, at(12, 8, 5))
        add_sample(s, zhang, at(12, 8, 6), source="lab", result="negative")  # same swab
        ids["li_mon"] = add_appt(s, li, at(9, 9), status="missed").id  # type: ignore[assignment]
        ids["li_thu"] = add_appt(s, li, at(12, 9)).id  # type: ignore[assignment]
        ids["wang_mon"] = add_appt(s, wang, at(9, 8), status="excused").id  # type: ignore[assignment]
        ids["wang_fri"] = add_appt(s, wang, at(13, 8)).id  # type: ignore[assignment]
        ids["zhao_tue"] = add_appt(s, zhao, at(10, 8)).id  # type: ignore[assignment]
        # W18 and W17: 李四 missed both; 张三 was fine in W18.
        add_appt(s, li, at(2, 9), status="missed")
        add_appt(s, li, at(26, 9, month=4), status="missed")
        add_appt(s, zhang, at(2, 8), status="done")
        add_sample(s, zhang, at(2, 8, 3))
        add_sample(s, zhang, at(5, 8, 3))
        add_sample(s, li, at(20, 10, month=4), result="negative", source="lab")  # W16
        s.commit()
    return World(ids)


def week_days(start: datetime, days: int) -> list[datetime]:
    return [start + timedelta(days=i) for i in range(days)]
