"""The dashboard's board of emergency modes (issue 15): one row per change that matters to
the reader, with an inherited mode shown on the reader's own top unit and where it was set."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from testrota.org.mode_board import ModeSetting, UnitRow, mode_board
from tests.web_support import make_user, sign_in, soup

pytest_plugins = ("tests.web_fixtures",)

TREE = [
    UnitRow(1, None, "G"),
    UnitRow(2, 1, "G/A"),
    UnitRow(3, 2, "G/A/A1"),
    UnitRow(4, 2, "G/A/A2"),
    UnitRow(5, 1, "G/B"),
    UnitRow(6, 3, "G/A/A1/t1"),
]
MAY9 = date(2022, 5, 9)


def _setting(id: int, unit: int, mode: str, start: date = MAY9, end: date | None = None) -> Any:
    return ModeSetting(id, unit, mode, start, end, f"reason {id}", "cli:hr")


def _under(*tops: str) -> Any:
    return lambda path: any(path == t or path.startswith(t + "/") for t in tops)


def test_the_whole_group_sees_each_change_once_with_the_units_following_it() -> None:
    settings = [_setting(1, 2, "static"), _setting(2, 4, "normal")]
    rows = mode_board(TREE, settings, MAY9, _under("G"))
    assert [(r.path, r.mode, r.below, r.inherited) for r in rows] == [
        ("G/A", "static", 2, False),  # A1 and its team follow it; A2 went back to normal
        ("G/A/A2", "normal", 0, False),
    ]


def test_a_reader_below_a_changed_unit_sees_their_unit_with_where_it_was_set() -> None:
    rows = mode_board(
        TREE, [_setting(1, 2, "static", end=date(2022, 5, 15))], MAY9, _under("G/A/A1")
    )
    [row] = rows
    assert (row.path, row.mode, row.set_on, row.below) == ("G/A/A1", "static", "G/A", 1)
    assert row.end == date(2022, 5, 15) and row.reason == "reason 1"
    assert mode_board(TREE, [_setting(1, 2, "static")], MAY9, _under("G/B")) == []


def test_only_changes_covering_the_day_count_and_the_latest_on_a_unit_wins() -> None:
    settings = [
        _setting(1, 5, "wfh", start=date(2022, 5, 1), end=date(2022, 5, 8)),  # over
        _setting(2, 5, "static"),
        _setting(3, 5, "keep-production"),  # set later: wins
        _setting(4, 2, "onsite", start=date(2022, 5, 10)),  # not yet
    ]
    rows = mode_board(TREE, settings, MAY9, _under("G"))
    assert [(r.path, r.mode) for r in rows] == [("G/B", "keep-production")]
    assert mode_board(TREE, [], MAY9, _under("G")) == []


def test_the_dashboard_says_so_when_every_unit_is_normal(
    client: TestClient, engine: Engine
) -> None:
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    page = soup(client.get("/"))
    assert page.select_one("section.modes p.all-normal") is not None
    assert page.select("table.unit-modes") == []
