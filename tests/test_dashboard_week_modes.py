"""The dashboard's emergency modes are those in force during the week being viewed (issue 15):
a past week shows the mode that applied then, with its period, and a mode starting later in the
week viewed is shown although it is not in force today."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from testrota.actions.modes import SetMode, set_mode
from testrota.app import build_app
from testrota.audit import Actor
from testrota.org.mode_board import ModeSetting, UnitRow, week_board
from tests.test_group_scope import _two_companies, _unit_supervisor
from tests.web_support import make_user, sign_in, soup, web_settings_for

pytest_plugins = ("tests.web_fixtures",)


def _mode(engine: Engine, url: str, unit: str, mode: str, start: date, end: date | None) -> None:
    app = build_app(web_settings_for(url), engine=engine)
    set_mode(app, SetMode(unit, mode, start, f"{mode} for {unit}", Actor.cli("hr1"), end=end))


def _rows(page: Any) -> list[tuple[str, str, str]]:
    return [
        (
            str(tr["data-unit"]),
            str(tr["data-mode"]),
            tr.select_one("td.period").get_text(" ", strip=True),
        )
        for tr in page.select("table.unit-modes tbody tr")
    ]


def test_a_past_week_shows_the_modes_in_force_then_with_their_period(
    client: TestClient, engine: Engine, database_url: str
) -> None:
    # today is Wednesday 2022-05-11 (week 19)
    _two_companies(engine)
    _mode(engine, database_url, "板材公司", "static", date(2022, 5, 3), date(2022, 5, 6))
    _mode(engine, database_url, "北营公司", "wfh", date(2022, 5, 13), None)
    _unit_supervisor(engine, "steel", ["本钢集团/板材公司/炼钢厂"])
    make_user(engine, "hr1", "hr")

    sign_in(client, "hr1")
    past = soup(client.get("/?week=2022-W18"))
    assert "2022-W18" in past.select_one("#modes-title").get_text()
    assert _rows(past) == [("本钢集团/板材公司", "static", "2022-05-03 – 2022-05-06")]
    # this week: the static mode is over, the wfh mode starts on Friday
    this = soup(client.get("/?week=2022-W19"))
    assert _rows(this) == [("本钢集团/北营公司", "wfh", "2022-05-13 – until changed")]
    # two weeks back nothing applied
    assert soup(client.get("/?week=2022-W17")).select_one("section.modes p.all-normal")

    client.post("/logout")
    client.cookies.clear()
    sign_in(client, "steel")
    mine = soup(client.get("/?week=2022-W18"))
    assert _rows(mine) == [("本钢集团/板材公司/炼钢厂", "static", "2022-05-03 – 2022-05-06")]
    assert mine.select_one("section.modes p.all-normal") is None
    assert soup(client.get("/?week=2022-W19")).select_one("section.modes p.all-normal")


def test_the_week_board_lists_each_change_over_the_week_once() -> None:
    tree = [UnitRow(1, None, "G"), UnitRow(2, 1, "G/A"), UnitRow(3, 2, "G/A/t")]
    mon = date(2022, 5, 9)
    days = [date(2022, 5, 9 + n) for n in range(7)]
    settings = [
        ModeSetting(1, 2, "static", mon, date(2022, 5, 10), "r1", "hr"),
        ModeSetting(2, 2, "wfh", date(2022, 5, 12), None, "r2", "hr"),
        ModeSetting(3, 1, "onsite", date(2022, 5, 16), None, "r3", "hr"),  # next week
    ]
    rows = week_board(tree, settings, days, lambda path: True)
    assert [(r.path, r.mode, r.start, r.end, r.below) for r in rows] == [
        ("G/A", "static", mon, date(2022, 5, 10), 1),
        ("G/A", "wfh", date(2022, 5, 12), None, 1),
    ]
