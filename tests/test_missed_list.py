"""``testrota missed``: the supervisor's list, its exports, excuses and the status light."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from sqlmodel import Session

from testrota.actions.excuse import OutOfScope
from testrota.db.models import AuditEvent
from testrota.errors import UserError
from tests.compliance_fixtures import CONFIG_DIR, excuse, missed, policy, status, status_of
from tests.missed_world import NOW, NOW_ENV, at, build

P = policy()


def test_missed_list_json_contract_and_both_facts(cli: Any, engine: Engine) -> None:
    world = build(engine)
    result = cli("missed", "--format", "json", env=NOW_ENV)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["employee_no"], r["slot_start"]) for r in rows] == [
        ("1001", "2022-05-09T08:00:00+08:00"),
        ("1002", "2022-05-09T09:00:00+08:00"),
        ("1002", "2022-05-12T09:00:00+08:00"),  # flagged by the list itself (ended 09:30)
        ("2001", "2022-05-10T08:00:00+08:00"),  # never flagged before: the list flags first
    ]
    for r in rows:
        assert set(r) >= {
            "employee_no",
            "name",
            "department",
            "grid_unit",
            "slot_start",
            "tests_this_week",
            "required",
            "role",
            "category",
            "phone",
            "last_test_date",
            "weeks_missed_in_row",
        }
    zhang, li, _, zhao = rows
    # Missed Monday but tested Tuesday and Thursday: compliant for the week, and both shown.
    assert (zhang["tests_this_week"], zhang["required"], zhang["compliant_this_week"]) == (
        2,
        2,
        True,
    )
    assert zhang["test_days"] == ["2022-05-10", "2022-05-12"]
    assert zhang["last_test_date"] == "2022-05-12" and zhang["weeks_missed_in_row"] == 1
    assert (li["name"], li["department"], li["grid_unit"], li["role"], li["category"]) == (
        "李四",
        "炼钢厂",
        "二号网格",
        "厨师",
        "canteen",
    )
    assert li["phone"] == "+8613800000002"
    assert (li["tests_this_week"], li["compliant_this_week"]) == (0, False)
    assert li["weeks_missed_in_row"] == 3 and li["last_test_date"] == "2022-04-20"
    assert zhao["department"] == "物流部" and zhao["last_test_date"] is None
    assert status_of(engine, world.ids["zhao_tue"]) == "missed"


def test_missed_list_by_department_grid_unit_and_week(engine: Engine) -> None:
    build(engine)
    rows = missed(engine, NOW, P, departments=["物流部"])
    assert [r.employee_no for r in rows] == ["2001"]
    rows = missed(engine, NOW, P, departments=["炼钢厂"], grid_unit="二号网格")
    assert {r.employee_no for r in rows} == {"1002"}
    last_week = missed(engine, NOW, P, week="2022-W18")
    assert [(r.employee_no, r.weeks_missed_in_row, r.tests_this_week) for r in last_week] == [
        ("1002", 2, 0)
    ]
    assert missed(engine, NOW, P, departments=[]) == []


def test_cli_missed_department_filter_and_bad_input(cli: Any, engine: Engine) -> None:
    build(engine)
    result = cli("missed", "--department", "物流部", "--format", "json", env=NOW_ENV)
    assert [r["employee_no"] for r in json.loads(result.stdout)] == ["2001"]
    table = cli("missed", "--department", "炼钢厂", env=NOW_ENV)
    assert table.exit_code == 0 and "李四" in table.stdout and "赵六" not in table.stdout
    bad_week = cli("missed", "--week", "2022-19", env=NOW_ENV)
    assert bad_week.exit_code == 2 and "write it like 2022-W19" in bad_week.stderr
    bad_format = cli("missed", "--format", "pdf", env=NOW_ENV)
    assert bad_format.exit_code == 2 and "unknown format" in bad_format.stderr


INJECTIONS = {
    "1001": '=HYPERLINK("http://evil.example/","click me")',
    "role": "+cmd|' /C calc'!A0",
}


def test_xlsx_export_is_formatted_and_formula_safe(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    build(engine, names=INJECTIONS)
    target = tmp_path / "missed.xlsx"
    result = cli("missed", "--format", "xlsx", "--output", str(target), env=NOW_ENV)
    assert result.exit_code == 0, result.output
    assert "4 missed tests written" in result.stderr
    wb = load_workbook(target)
    ws = wb.active
    assert ws is not None
    header = [c.value for c in ws[1]]
    assert header[0] == "工号 Employee no." and "连续漏检周数 Weeks missed in a row" in header
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:N{ws.max_row}"
    assert ws.column_dimensions["B"].width > 8
    name_cell, role_cell = ws["B2"], ws["E2"]
    assert name_cell.value == INJECTIONS["1001"] and name_cell.data_type == "s"
    assert role_cell.value == INJECTIONS["role"] and role_cell.data_type == "s"
    assert name_cell.quotePrefix
    slot = ws["I2"].value
    assert slot is not None and slot.isoformat() == "2022-05-09T08:00:00"
    # No formula anywhere in the file, whatever a spreadsheet program would make of the text.
    with zipfile.ZipFile(target) as z:
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


def test_csv_export_escapes_formulas_but_not_phones(cli: Any, engine: Engine) -> None:
    build(engine, names=INJECTIONS)
    result = cli("missed", "--format", "csv", env=NOW_ENV)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    zhang = next(r for r in rows if r["employee_no"] == "1001")
    assert zhang["name"] == "'" + INJECTIONS["1001"]
    assert zhang["role"] == "'" + INJECTIONS["role"]
    assert zhang["phone"] == "+8613800000001"


def test_default_xlsx_name(cli: Any, engine: Engine, tmp_path: Path, monkeypatch: Any) -> None:
    build(engine)
    monkeypatch.chdir(tmp_path)
    result = cli("missed", "--format", "xlsx", env=NOW_ENV)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "missed-2022-W19.xlsx").exists()


def test_excuse_a_week_of_missed_tests(cli: Any, engine: Engine) -> None:
    world = build(engine)
    result = cli(
        "excuse", "1002", "--week", "2022-W19", "--reason", "病假 sick leave", "--json", env=NOW_ENV
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [e["previous_status"] for e in doc["excused"]] == ["missed", "missed"]
    assert doc["excused_by"].startswith("cli:") and doc["reason"] == "病假 sick leave"
    assert status_of(engine, world.ids["li_mon"]) == "excused"
    assert status_of(engine, world.ids["li_thu"]) == "excused"
    assert "1002" not in {r.employee_no for r in missed(engine, NOW, P)}
    with Session(engine) as s:
        events = list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == "appointment.excused"))
        )
    assert len(events) == 2 and events[0].details["reason"] == "病假 sick leave"
    assert {e.actor for e in events} == {doc["excused_by"]}
    assert {e.entity_id for e in events} == {str(world.ids["li_mon"]), str(world.ids["li_thu"])}
    # Excused slots are taken off what is required: nothing left to do this week.
    assert status(engine, "1002", NOW, P).required == 0

    nothing = cli("excuse", "1002", "--reason", "again", env=NOW_ENV)
    assert nothing.exit_code == 2 and "no missed appointment in 2022-W19" in nothing.stderr
    no_reason = cli("excuse", "1001", "--reason", "  ", env=NOW_ENV)
    assert no_reason.exit_code == 2 and "give a reason" in no_reason.stderr


def test_excuse_a_future_day_and_scope(engine: Engine) -> None:
    world = build(engine)
    out = excuse(engine, "1003", "出差 business trip", NOW, P, on=at(13, 0).date())
    assert [e.previous_status for e in out.excused] == ["scheduled"]
    assert out.excused_by == "web:sup"
    assert status_of(engine, world.ids["wang_fri"]) == "excused"
    with pytest.raises(OutOfScope, match="not one of your departments"):
        excuse(engine, "1002", "sick", NOW, P, departments=["物流部"])
    with pytest.raises(UserError, match="unknown employee number"):
        excuse(engine, "7777", "sick", NOW, P)
    assert status_of(engine, world.ids["li_mon"]) == "missed"


def test_status_light(cli: Any, engine: Engine) -> None:
    build(engine)
    assert status(engine, "1001", NOW, P).status == "green"
    assert status(engine, "1002", NOW, P).status == "red"
    amber = status(engine, "1003", NOW, P)
    assert amber.status == "amber" and amber.required == 1
    assert amber.next_slot_start == at(13, 8)
    result = cli("status", "1002", env=NOW_ENV)
    assert result.exit_code == 0 and result.stdout.startswith("RED: 李四")
    doc = json.loads(cli("status", "1003", "--json", env=NOW_ENV).stdout)
    assert (doc["status"], doc["next_slot_start"], doc["last_test_at"]) == (
        "amber",
        "2022-05-13T08:00:00+08:00",
        None,
    )
    unknown = cli("status", "7777", env=NOW_ENV)
    assert unknown.exit_code == 2 and "unknown employee number" in unknown.stderr


def test_the_page_sorts_real_values(engine: Engine) -> None:
    """Numbers as numbers, dates as dates, a missing last test last (first when descending)."""
    from testrota.compliance.missed_rows import sort_missed as sort_rows

    build(engine)
    rows = missed(engine, NOW, P)
    by_tests = sort_rows(rows, "-tests_this_week")
    assert [r.tests_this_week for r in by_tests] == [2, 0, 0, 0]
    assert by_tests[0].employee_no == "1001"
    by_last = sort_rows(rows, "last_test_date")
    assert [r.employee_no for r in by_last] == ["1002", "1002", "1001", "2001"]
    assert [r.employee_no for r in sort_rows(rows, "-slot_start")][:2] == ["1002", "2001"]


def _page(engine: Engine, sort: str, page: int, size: int) -> Any:
    from testrota.actions.missed import Missed, MissedPageQuery, page_missed
    from tests.compliance_fixtures import app_at

    return page_missed(
        app_at(engine, NOW, P), MissedPageQuery(Missed(), sort=sort, page=page, page_size=size)
    )


@pytest.mark.parametrize("rolled_up", [False, True], ids=["raw-rows", "weekly-rollup"])
@pytest.mark.parametrize("sort", ["department", "-name", "slot_start", "-weeks_missed_in_row"])
def test_a_page_is_the_whole_sorted_list_cut_with_every_fact(
    engine: Engine, sort: str, rolled_up: bool
) -> None:
    """The page reads the facts of its own rows only, and is still exactly the whole list,
    sorted, cut into pages: the same rows, the same facts, the same counts; whether who was
    asked a test is counted from raw rows or read from the weekly roll-up."""
    from testrota.compliance.missed_rows import sort_missed

    world = build(engine)
    with Session(engine) as s:
        # Asked two tests, both excused, and a third slot missed: nothing is asked of them any
        # more, so the missed slot is on no page (the whole list leaves it out as well).
        from tests.compliance_fixtures import add_appt, add_person

        qian = add_person(s, "1004", "钱七", grid_unit="一号网格")
        add_appt(s, qian, at(9, 10), status="excused")
        add_appt(s, qian, at(11, 10), status="excused")
        add_appt(s, qian, at(10, 10), status="missed")
        s.commit()
    if rolled_up:
        from testrota.actions.rollup import RebuildRollup, rebuild_rollup
        from testrota.audit import Actor
        from tests.compliance_fixtures import app_at

        rebuild_rollup(app_at(engine, NOW, P), RebuildRollup(Actor.cli()))
    whole = sort_missed(missed(engine, NOW, P), sort)
    assert "1004" not in {r.employee_no for r in whole} and len(whole) == 4
    pages = [_page(engine, sort, n, 3) for n in (1, 2, 3)]
    assert [(p.total, p.people, p.pages, p.page) for p in pages] == [
        (4, 3, 2, 1),
        (4, 3, 2, 2),
        (4, 3, 2, 2),  # past the end: the last page
    ]
    assert pages[0].rows + pages[1].rows == whole
    assert pages[2].rows == pages[1].rows
    assert world.ids["zhang_mon"] in {r.appointment_id for r in pages[0].rows + pages[1].rows}
    from testrota.org import weekly
    from testrota.weeks import parse_week

    with engine.connect() as conn:
        print_ = weekly.fingerprint(P, CONFIG_DIR)
        assert weekly.held(conn, [parse_week("2022-W19")], print_) is rolled_up


@pytest.mark.parametrize("rolled_up", [False, True], ids=["raw-rows", "weekly-rollup"])
def test_every_sort_cuts_the_pages_of_the_whole_list(engine: Engine, rolled_up: bool) -> None:
    """Numbers, names and units that sort one way by code point and another by language (upper
    and lower case, full-width digits, Chinese), many ties on the column sorted by, and people
    of no category among the missed: every page of every sort, either way, is the whole list
    sorted as sort_missed sorts it, and cut; the database counts and cuts it when the roll-up
    holds the week. On PostgreSQL the texts are compared in a language's collation, as in a
    database created with one (zh_CN.UTF-8, en_US.UTF-8), which orders them otherwise."""
    if engine.dialect.name != "postgresql":
        _every_sort_cuts_the_pages(engine, rolled_up)
        return
    texts = {"employee_no": 64, "name": 200}  # the roll-ups' triggers hold the others

    def collate(collation: str) -> None:
        with engine.begin() as conn:
            for column, length in texts.items():
                conn.exec_driver_sql(
                    f"ALTER TABLE person ALTER COLUMN {column} "
                    f'TYPE varchar({length}) COLLATE "{collation}"'
                )

    collate("und-x-icu")
    try:
        _every_sort_cuts_the_pages(engine, rolled_up)
    finally:
        collate("default")


def _every_sort_cuts_the_pages(engine: Engine, rolled_up: bool) -> None:
    import random

    from testrota.actions.missed import Missed, MissedPageQuery, page_missed
    from testrota.compliance.missed_rows import OUTLINE_SORT_KEYS, sort_missed
    from tests.compliance_fixtures import add_appt, add_person, app_at

    rnd = random.Random(17)
    with Session(engine) as s:
        for i in range(45):
            person = add_person(
                s,
                rnd.choice(["a", "A", "Ｂ", "b", "１", "9", "工"]) + f"{i:03d}",
                rnd.choice(["张三", "Zoe", "zoe", "李四", "Ｅve", "张三丰"]),
                department=rnd.choice(["炼钢厂", "A部", "a部", "物流部"]),
                grid_unit=rnd.choice(["一号网格", "二号网格", "Z组", "z组", ""]),
                category=rnd.choice(["driver", "canteen", "cold_chain", None]),
            )
            if i % 9 == 0:
                person.override_category = rnd.choice(["", "canteen"])
            for day in rnd.sample([9, 10, 11], rnd.randint(1, 2)):
                add_appt(s, person, at(day, 8 + rnd.randrange(3)), status="missed")
        s.commit()
    app = app_at(engine, NOW, P)
    if rolled_up:
        from testrota.actions.rollup import RebuildRollup, rebuild_rollup
        from testrota.audit import Actor

        rebuild_rollup(app, RebuildRollup(Actor.cli()))
    whole = missed(engine, NOW, P)
    assert len(whole) > 30
    size = 7
    for sort in [*OUTLINE_SORT_KEYS, *(f"-{k}" for k in OUTLINE_SORT_KEYS), "bogus"]:
        expected = [r.appointment_id for r in sort_missed(whole, sort)]
        pages = -(-len(expected) // size)
        for n in range(1, pages + 2):
            page = page_missed(app, MissedPageQuery(Missed(), sort=sort, page=n, page_size=size))
            assert (page.total, page.people, page.pages) == (
                len(whole),
                len({r.employee_no for r in whole}),
                pages,
            ), sort
            cut = min(n, pages)
            assert [r.appointment_id for r in page.rows] == expected[
                (cut - 1) * size : cut * size
            ], (sort, n)


@pytest.mark.parametrize("rolled_up", [False, True], ids=["raw-rows", "weekly-rollup"])
def test_a_departments_page_is_its_part_of_the_whole_list(engine: Engine, rolled_up: bool) -> None:
    """A supervisor's page of a department holds that department's rows of the whole list,
    whether it starts from the weekly roll-up's rows of people who missed a slot there (the
    roll-up holds the week) or from the department's people; one moved to another department
    after their slot was missed is listed under the department they are in now."""
    from sqlalchemy import update

    from testrota.actions.missed import Missed, MissedPageQuery, page_missed
    from testrota.actions.rollup import RebuildRollup, rebuild_rollup
    from testrota.audit import Actor
    from testrota.auth.scope import Scope
    from testrota.db import tables
    from tests.compliance_fixtures import app_at

    build(engine)
    app = app_at(engine, NOW, P)
    if rolled_up:
        rebuild_rollup(app, RebuildRollup(Actor.cli()))
    with app.engine.begin() as conn:  # the app's engine: its commit counts the roll-ups again
        conn.execute(
            update(tables.PERSON)
            .where(tables.PERSON.c.employee_no == "1002")
            .values(department="物流部")
        )
    whole = missed(engine, NOW, P)
    departments = {r.department for r in whole}
    assert departments == {"物流部", "炼钢厂"}, departments
    for department in sorted(departments):
        query = Missed(scope=Scope.of([department]))
        page = page_missed(app, MissedPageQuery(query, sort="employee_no", page=1, page_size=50))
        mine = [r for r in whole if r.department == department]
        assert page.rows == sorted(mine, key=lambda r: (r.employee_no, r.slot_start))
        assert page.total == len(mine)
    assert [r.employee_no for r in whole if r.department == "物流部"].count("1002") == 2
    from testrota.org import weekly
    from testrota.weeks import parse_week

    with engine.connect() as conn:  # the pages above read the roll-up when it was built
        print_ = weekly.fingerprint(P, CONFIG_DIR)
        assert weekly.held(conn, [parse_week("2022-W19")], print_) is rolled_up


def test_the_missed_page_shows_one_page_of_rows_with_their_facts(engine: Engine) -> None:
    """The HTML page as a supervisor gets it, a row's facts read for that page alone."""
    from testrota.actions.missed import Missed, MissedPageQuery, page_missed
    from tests.compliance_fixtures import app_at

    build(engine)
    app = app_at(engine, NOW, P)
    page = page_missed(app, MissedPageQuery(Missed(), sort="-slot_start", page=1, page_size=1))
    (row,) = page.rows
    assert (row.employee_no, row.weeks_missed_in_row, row.last_test_date) == (
        "1002",
        3,
        date(2022, 4, 20),
    )
    assert (page.total, page.people, page.pages) == (4, 3, 4)


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Shanghai"])
def test_weeks_in_a_row_are_local_weeks_across_summer_time_and_the_new_year(
    engine: Engine, session: Session, zone: str
) -> None:
    """Each missed slot counts in its local week, by the week's own first instant: a slot at
    Sunday 23:30 is the week before the one at Monday 00:10, across New York's change to
    summer time (13 March 2022) and across the new year (2021-W52 ends on 2 January 2022)."""
    from zoneinfo import ZoneInfo

    from tests.compliance_fixtures import add_appt, add_person, add_site, local

    tz = ZoneInfo(zone)
    pol = policy(timezone=zone)
    add_site(session)
    winter = add_person(session, "3001", "冬")
    spring = add_person(session, "3002", "春")
    slots = [
        (winter, [(2021, 12, 26, 23, 30), (2022, 1, 2, 23, 30), (2022, 1, 3, 0, 10)]),
        # W08, then (not W09) W10's last evening and W11's first minutes
        (spring, [(2022, 2, 27, 23, 30), (2022, 3, 13, 23, 30), (2022, 3, 14, 0, 10)]),
    ]
    for person, starts in slots:
        for start in starts:
            add_appt(session, person, local(tz, *start), status="missed")
    session.commit()
    later = local(tz, 2022, 3, 20, 12, 0)
    in_row = {
        (week, r.employee_no): r.weeks_missed_in_row
        for week in ("2022-W01", "2022-W11", "2022-W10")
        for r in missed(engine, later, pol, week=week)
    }
    assert in_row == {
        ("2022-W01", "3001"): 3,  # W51 (26 December), W52 (2 January), W01
        ("2022-W11", "3002"): 2,
        ("2022-W10", "3002"): 1,
    }
