"""The pure diff behind every import: added, updated, unchanged, deactivated, guarded."""

from __future__ import annotations

from testrota.risk.matcher import RiskMatch
from testrota.roster.sync import (
    ADDED_FIELDS,
    ADDED_NO,
    RISK_FIELDS,
    StoredPerson,
    deactivation_guard,
    diff_roster,
    keep_absent_fields,
    match_key,
    risk_values,
    stored_values,
)
from testrota.roster.validate import PersonRecord

DRIVER = RiskMatch("driver", ("driver",), "title", "司机")
NONE = RiskMatch(None, (), None, None)


def rec(no: str, role: str = "司机", phone: str | None = "+8613812345678") -> PersonRecord:
    return PersonRecord(
        employee_no=no,
        name=f"员工{no}",
        department="运输部",
        grid_unit="一班",
        role=role,
        phone=phone,
        phone_raw=phone or "",
        phone_valid=phone is not None,
        id_number=None,
        person_type="employee",
        host_employee_no=None,
        language="zh",
        shift="day",
        vaccination="",
        booster=None,
        category_column=None,
        sheet="Sheet1",
        row=3,
    )


def matches_for(*records: PersonRecord) -> dict[tuple[str, str, str | None], RiskMatch]:
    return {match_key(r): (DRIVER if r.role == "司机" else NONE) for r in records}


def stored_from(
    record: PersonRecord, pid: int, *, active: bool = True, override: str | None = None
) -> StoredPerson:
    match = DRIVER if record.role == "司机" else NONE
    values = stored_values(record, risk_values(match, override))
    return StoredPerson(pid, record.employee_no, active, override, values)


def test_new_people_are_added_and_counted_by_category() -> None:
    a, b = rec("001"), rec("002", role="炼钢工")
    diff = diff_roster([a, b], matches_for(a, b), {}, full=False, seen_employee_nos=["001", "002"])
    assert [row[ADDED_NO] for row in diff.added] == ["001", "002"]
    assert diff.high_risk == 1
    assert diff.high_risk_by_category == {"driver": 1}
    assert diff.unmatched_roles == {"炼钢工": 1}


def test_new_and_returning_people_in_one_file_count_as_one_pass_over_it_would() -> None:
    # New people are put together title by title, apart from the returning ones: their rows
    # keep the file's order, and the roles nobody matched keep the order the file names them
    # in, which the preview's ties follow.
    back_electrician, back_steel = rec("001", role="电工"), rec("004", role="炼钢工")
    new_steel, new_electrician, new_driver = (
        rec("002", role="炼钢工"),
        rec("003", role="电工", phone=None),
        rec("005"),
    )
    records = [back_electrician, new_steel, new_electrician, back_steel, new_driver]
    stored = {"001": stored_from(back_electrician, 1), "004": stored_from(rec("004"), 4)}
    diff = diff_roster(
        records, matches_for(*records), stored, full=False, seen_employee_nos=["001"]
    )
    assert diff.added == [
        (
            *stored_values(r, risk_values(matches_for(r)[match_key(r)], None)),
            r.employee_no,
            r.phone_raw,
        )
        for r in (new_steel, new_electrician, new_driver)
    ]
    # the write takes them column by column: the same rows, the same order
    columns = diff.added.columns()
    assert list(columns) == list(ADDED_FIELDS)
    assert list(zip(*columns.values(), strict=True)) == list(diff.added)
    assert diff.added[1:] == list(diff.added)[1:] and diff.added[-1][ADDED_NO] == "005"
    assert diff.unchanged == 1 and [u[1] for u in diff.updated] == ["004"]
    assert diff.unmatched_roles.most_common() == [("电工", 2), ("炼钢工", 2)]
    assert diff.high_risk_by_category == {"driver": 1}
    assert [(pid, dept) for pid, dept, _ in diff.not_high_risk] == [(4, "运输部")]


def test_a_title_matched_in_one_department_is_ordered_where_the_file_leaves_it_unmatched() -> None:
    # 电工 is named first by a new person in 运输部, whose override matches it; the returning
    # 炼钢工 comes next and the new 电工 of 炼钢厂 last, both unmatched: the tie follows them.
    matched = rec("001", role="电工")
    back_steel = rec("002", role="炼钢工")
    unmatched = rec("003", role="电工")._replace(department="炼钢厂")
    records = [matched, back_steel, unmatched]
    matches = {
        match_key(matched): RiskMatch(None, (), "override", "电工"),
        match_key(back_steel): NONE,
        match_key(unmatched): NONE,
    }
    stored = {"002": stored_from(back_steel, 2)}
    diff = diff_roster(records, matches, stored, full=False, seen_employee_nos=[])
    assert diff.unmatched_roles.most_common() == [("炼钢工", 1), ("电工", 1)]


def test_same_people_are_unchanged() -> None:
    a = rec("001")
    diff = diff_roster(
        [a], matches_for(a), {"001": stored_from(a, 1)}, full=False, seen_employee_nos=["001"]
    )
    assert (diff.added, diff.updated, diff.unchanged) == ([], [], 1)


def test_a_changed_phone_is_an_update_with_old_and_new() -> None:
    old, new = rec("001"), rec("001", phone="+8613900000000")
    diff = diff_roster(
        [new], matches_for(new), {"001": stored_from(old, 7)}, full=False, seen_employee_nos=["001"]
    )
    assert diff.updated == [(7, "001", {"phone": ("+8613812345678", "+8613900000000")})]


def test_a_deactivated_person_in_the_file_is_reactivated() -> None:
    a = rec("001")
    diff = diff_roster(
        [a],
        matches_for(a),
        {"001": stored_from(a, 1, active=False)},
        full=False,
        seen_employee_nos=["001"],
    )
    assert diff.updated == [(1, "001", {"active": (False, True)})]


def test_full_deactivates_only_people_absent_from_the_file() -> None:
    a, b, c = rec("001"), rec("002"), rec("003")
    stored = {r.employee_no: stored_from(r, i) for i, r in enumerate((a, b, c), 1)}
    # 002's row had an error (not in records) but its number is in the file: it stays active.
    diff = diff_roster([a], matches_for(a), stored, full=True, seen_employee_nos=["001", "002"])
    assert diff.deactivated == [(3, "003")]
    partial = diff_roster([a], matches_for(a), stored, full=False, seen_employee_nos=["001"])
    assert partial.deactivated == []


def test_a_person_override_survives_and_wins_over_the_matcher() -> None:
    a = rec("001")
    stored = {"001": stored_from(a, 1, override="")}  # HR said: not high-risk
    diff = diff_roster([a], matches_for(a), stored, full=False, seen_employee_nos=["001"])
    assert diff.unchanged == 1
    assert diff.high_risk == 0
    assert risk_values(DRIVER, "", "送货已外包") == {
        "risk_category": None,
        "risk_categories": "",
        "matched_by": "override",
        "matched_text": "送货已外包",
    }
    assert set(risk_values(DRIVER, None)) == set(RISK_FIELDS)


def test_a_vocabulary_change_reclassifies_as_an_update() -> None:
    a = rec("001")
    stored = {"001": stored_from(a._replace(role="司机"), 1)}
    diff = diff_roster([a], {match_key(a): NONE}, stored, full=False, seen_employee_nos=["001"])
    assert diff.updated and diff.updated[0][2]["risk_category"] == ("driver", None)


def test_deactivation_guard() -> None:
    assert deactivation_guard(20, 100, 0.2, force=False) is None
    refusal = deactivation_guard(21, 100, 0.2, force=False)
    assert refusal is not None and "21 of 100" in str(refusal) and "--force" in str(refusal)
    assert refusal.params["n"] == 21
    assert deactivation_guard(21, 100, 0.2, force=True) is None
    assert deactivation_guard(5, 0, 0.2, force=False) is None


def test_fields_without_a_column_keep_their_stored_values() -> None:
    old = rec("001")._replace(id_number="11010519491231002X", booster=True, shift="night")
    prior = {"001": stored_from(old, 1)}
    # A file with only 工号, 姓名, 岗位: everything else read as blank or default.
    bare = rec("001", phone=None)._replace(
        grid_unit="",
        department="",
        id_number=None,
        booster=None,
        shift="day",
    )
    [kept] = keep_absent_fields([bare], prior, {"Sheet1": {"employee_no", "name", "role"}})
    assert kept == old._replace(phone_raw="")  # phone_raw is written for new people only
    diff = diff_roster([kept], matches_for(kept), prior, full=False, seen_employee_nos=["001"])
    assert diff.unchanged == 1 and not diff.cleared
    # A present column is taken as written, and an empty cell of it clears the stored value.
    [cleared] = keep_absent_fields(
        [bare], prior, {"Sheet1": {"employee_no", "name", "role", "id_number"}}
    )
    assert cleared.id_number is None and cleared.booster is True
    diff = diff_roster(
        [cleared], matches_for(cleared), prior, full=False, seen_employee_nos=["001"]
    )
    assert diff.cleared == {"id_number": ["001"]}
    # New people have nothing stored to keep.
    assert keep_absent_fields([rec("002")], prior, {"Sheet1": set()}) == [rec("002")]
