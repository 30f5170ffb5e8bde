"""Supervisors' departments and units that cover nobody on the roster: the pure check."""

from __future__ import annotations

from testrota.auth.stale import (
    Moves,
    Supervisor,
    as_moves,
    covered_units,
    find_stale,
    move_counts,
)

ROOT = "集团"
OLD_UNIT = "集团/炼钢厂/转炉车间"
NEW_UNIT = "集团/炼钢厂/炼钢一车间"


def test_a_scope_that_still_covers_people_is_not_stale() -> None:
    sups = [
        Supervisor("李主管", departments=("转炉车间",)),
        Supervisor("王主管", units=(OLD_UNIT,)),
    ]
    assert find_stale(sups, {"转炉车间"}, [OLD_UNIT + "/转炉甲班"]) == []


def test_a_renamed_department_names_where_its_people_went() -> None:
    moved = [("转炉车间", "炼钢一车间")] * 120 + [("转炉车间", "质检部")] * 3
    moves = Moves(departments=move_counts(moved))
    [stale] = find_stale([Supervisor("李主管", ("转炉车间",))], {"炼钢一车间", "质检部"}, [], moves)
    assert (stale.user, stale.kind, stale.entry) == ("李主管", "department", "转炉车间")
    assert (stale.moved_to, stale.moved_people) == ("炼钢一车间", 120)
    assert stale.message == (
        "supervisor 李主管's department 转炉车间 no longer has anyone on the roster "
        "(its 120 people are now in 炼钢一车间)"
    )
    assert stale.fix == "testrota users set '李主管' --department '炼钢一车间'"
    assert stale.params == {"user": "李主管", "entry": "转炉车间", "to": "炼钢一车间", "n": 120}


def test_no_suggestion_unless_it_is_clear() -> None:
    halves = [("转炉车间", "一车间")] * 5 + [("转炉车间", "二车间")] * 5
    split = Moves(departments=move_counts(halves))
    [stale] = find_stale([Supervisor("李主管", ("转炉车间",))], {"一车间", "二车间"}, [], split)
    assert stale.moved_to is None and stale.moved_people == 0
    assert "no longer has anyone on the roster: they see no one" in stale.message
    # nothing is known: the command leaves the name to HR
    assert stale.fix == "testrota users set '李主管' --department …"
    # everyone left the roster: no move to suggest
    [left] = find_stale([Supervisor("李主管", ("转炉车间",))], set(), [])
    assert left.moved_to is None


def test_a_suggestion_that_is_empty_itself_is_not_made() -> None:
    moves = Moves(departments={"转炉车间": {"炼钢一车间": 9}})
    [stale] = find_stale([Supervisor("李主管", ("转炉车间",))], set(), [], moves)
    assert stale.moved_to is None


def test_the_fix_keeps_the_other_departments_and_replaces_every_stale_one() -> None:
    moves = Moves(departments={"转炉车间": {"炼钢一车间": 9}, "旧部": {"新部": 4}})
    found = find_stale(
        [Supervisor("李 主管", ("转炉车间", "质检部", "旧部", "空部"))],
        {"炼钢一车间", "质检部", "新部"},
        [],
        moves,
    )
    assert [s.entry for s in found] == ["转炉车间", "旧部", "空部"]
    fix = (
        "testrota users set '李 主管' --department '炼钢一车间' --department '质检部' "
        "--department '新部'"
    )
    assert {s.fix for s in found} == {fix}


def test_a_unit_whose_last_part_was_renamed_suggests_the_new_path() -> None:
    moves = Moves(
        units=move_counts(
            [(OLD_UNIT + "/转炉甲班", NEW_UNIT + "/转炉甲班")] * 40
            + [(OLD_UNIT + "/转炉乙班", NEW_UNIT + "/转炉乙班")] * 38
        )
    )
    occupied = [NEW_UNIT + "/转炉甲班", NEW_UNIT + "/转炉乙班"]
    sups = [
        Supervisor("王主管", units=(OLD_UNIT,)),
        Supervisor("甲班长", units=(OLD_UNIT + "/转炉甲班",)),
        Supervisor("厂长", units=("集团/炼钢厂",)),
    ]
    found = {s.user: s for s in find_stale(sups, set(), occupied, moves)}
    assert set(found) == {"王主管", "甲班长"}  # the plant still has its people
    assert (found["王主管"].moved_to, found["王主管"].moved_people) == (NEW_UNIT, 78)
    assert found["王主管"].kind == "unit"
    assert found["甲班长"].moved_to == NEW_UNIT + "/转炉甲班"
    assert found["王主管"].fix == f"testrota users set '王主管' --unit '{NEW_UNIT}'"


def test_a_supervisor_of_units_is_not_warned_about_departments_they_do_not_read() -> None:
    sup = Supervisor("王主管", departments=("已改名",), units=(OLD_UNIT,))
    assert find_stale([sup], set(), [OLD_UNIT]) == []


def test_covered_units_are_the_occupied_and_everything_above() -> None:
    assert covered_units([OLD_UNIT + "/转炉甲班", "集团/炼钢厂/轧钢车间"]) == {
        ROOT,
        "集团/炼钢厂",
        OLD_UNIT,
        OLD_UNIT + "/转炉甲班",
        "集团/炼钢厂/轧钢车间",
    }


def test_suggestions_read_back_as_moves_suggest_the_same() -> None:
    moves = Moves(units={OLD_UNIT + "/转炉甲班": {NEW_UNIT + "/转炉甲班": 7}})
    first = find_stale([Supervisor("王主管", units=(OLD_UNIT,))], set(), [NEW_UNIT], moves)
    sup = Supervisor("王主管", units=(OLD_UNIT,))
    again = find_stale([sup], set(), [NEW_UNIT], as_moves(first))
    assert again == first
